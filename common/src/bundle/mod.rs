//! Offline bundles (issue 14): the archives one export job writes into the downloads folder
//! (`DOCKER_SYNC_DOWNLOADS`, shared by the api and the workers), one file per image, with a
//! `manifest.json` that says what each file holds. A bundle is a folder named after its job:
//! `<downloads>/<job id>/`.
//!
//! Names here are the only ones that reach the file system: a bundle's folder is a job id the
//! api made, a file's name is made by [`names::file_name`] at plan time, and every name that
//! comes back in a request goes through [`names::SafeName`] first.

pub mod disk;
pub mod format;
pub mod manifest;
pub mod names;
pub mod quota;

pub use format::ArchiveFormat;
pub use manifest::{BundleImage, BundleManifest, MANIFEST_FILE};
pub use names::{file_name, NameError, SafeName};
pub use quota::{Needed, Quota, QuotaError, Usage};
