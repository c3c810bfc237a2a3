//! Registries beyond their configuration: the connection test behind
//! `POST /api/registries/{name}/test`.
pub mod connection;
