//! The registry HTTP client (manifest digests with Basic and Bearer auth) lives in
//! [`docker_sync_common::registry`], shared with the api, which lists tags with it; this path is
//! kept for the worker's code and its tests.
pub use docker_sync_common::registry::{
    ManifestHead, RateLimit, Reach, RegistryClient, RegistryError,
};
