//! Registry access, shared by the api and the worker.
//!
//! [`RegistryClient`] is a small client for the registry HTTP API (the distribution spec):
//!
//! - `HEAD /v2/<name>/manifests/<ref>` for a manifest digest: the cheap check that lets the worker
//!   skip an unchanged image without a Docker Hub pull (HEAD is not counted);
//! - `GET /v2/<name>/tags/list`, following `Link: <...>; rel="next"` pages, for the api to expand
//!   tag patterns (`nginx:1.25*`) and `@latest=N` when a job is submitted;
//! - `GET /v2/<name>/manifests/<digest>` of a multi-arch index, for the worker to learn the digest
//!   of the one platform a job copies ([`RegistryClient::manifest_kind`]).
//!
//! It handles both auth flows of the spec: `Basic` and `Bearer` (a token fetched from the realm
//! named in `WWW-Authenticate`, [`token`]). Tokens are cached per host and repository. Errors
//! ([`RegistryError`]) say what went wrong in the words of [`explain`].
//!
//! Beside it: how a registry is reached (scheme, certificate checks, proxy: [`reach`]), the
//! manifest types and index entries, pull limits, Harbor's project API ([`harbor`]) and the
//! arguments of a `skopeo copy` ([`copy`]), an image's signatures and referrers ([`referrers`]).

mod challenge;
mod client;
pub mod copy;
mod error;
pub mod explain;
pub mod harbor;
mod manifest;
mod rate_limit;
pub mod reach;
pub mod referrers;
pub mod token;

pub use challenge::Challenge;
pub use client::{basic_auth, RegistryClient, TAGS_PAGE_SIZE};
pub use error::{error_chain, RegistryError};
pub use manifest::{
    is_index_media_type, parse_index, IndexEntry, Manifest, ManifestHead, ManifestKind,
};
pub use rate_limit::{parse_quota, reported, retry_after, RateLimit, Reported};
pub use reach::{Clients, Reach, Scheme, Transport};
pub use referrers::{
    has_referrers_api, merge_referrers_index, related, CopyBy, CosignSuffix, Related, RelatedKind,
};
