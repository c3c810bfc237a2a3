//! One file per resource. `api_routes` is everything under `/api`, kept apart so the auth
//! layer can wrap exactly these.
pub mod audit;
pub mod auth;
pub mod downloads;
pub mod health;
pub mod imports;
pub mod jobs;
pub mod metrics;
pub mod preview;
pub mod registries;
pub mod rerun;
pub mod rules;
pub mod scripts;
pub mod secret_key;
pub mod stats;
pub mod tokens;
pub mod users;
pub mod webhooks;
