//! Offline bundles on the api's side (issue 14): what it writes into a bundle when its export
//! job ends (`manifest.json`, `push.sh`, `README.md`), and serving, receiving (an upload),
//! deleting and expiring them.
//! The names and formats both sides share are in `docker_sync_common::bundle`.

pub mod archive;
pub mod expiry;
pub mod finalize;
pub mod import;
pub mod push_script;
pub mod readme;
pub mod store;
pub mod upload;
