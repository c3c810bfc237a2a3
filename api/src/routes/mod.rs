//! One file per resource. `api_routes` is everything under `/api`, kept apart so the auth
//! layer can wrap exactly these.
pub mod health;
pub mod jobs;
pub mod metrics;
pub mod registries;
