//! When an export job ends, its bundle gets what makes it usable away from here: the
//! `manifest.json` of the archives its tasks wrote, `push.sh`, `README.md` and `SHA256SUMS`.
//! Called by the job-ends reader (one api replica per end, see [`crate::jobs::ends`]),
//! so it is written once, and again harmlessly if a replica died before acknowledging the end.
//! Each file is written under a hidden name and renamed, so a download never sees half of one.

use std::path::{Path, PathBuf};

use docker_sync_common::bundle::{ArchiveFormat, SafeName};
use docker_sync_common::bundle::{BundleImage, BundleManifest, MANIFEST_FILE};
use docker_sync_common::queue::job::JobRecord;
use docker_sync_common::queue::read;
use docker_sync_common::queue::task::{TaskRecord, TaskStatus};

use crate::bundles::{push_script, readme};
use crate::error::AppError;
use crate::state::AppState;

/// The bundle files of `job` when it is an export; nothing for other jobs, or an export none
/// of whose images got written (there is no folder then).
pub async fn job_ended(state: &AppState, job: &str) -> Result<(), AppError> {
    let Some((record, tasks)) = read::job(&state.pool, &state.keys, job).await? else {
        return Ok(());
    };
    let Some(manifest) = manifest_of(&record, &tasks) else {
        return Ok(());
    };
    let Ok(name) = SafeName::parse(&record.id) else {
        return Ok(());
    };
    let Some(folder) = state.downloads.bundle_dir(&name) else {
        // Every image failed, or the bundle was deleted already.
        return Ok(());
    };
    let images = manifest.images.len();
    tokio::task::spawn_blocking(move || write_all(&folder, &manifest))
        .await
        .map_err(|e| AppError::Internal(e.to_string()))?
        .map_err(|e| AppError::Internal(format!("writing bundle {job}: {e}")))?;
    tracing::info!(job, images, "bundle written");
    Ok(())
}

/// The manifest of an export job's written archives, in the job's order.
pub fn manifest_of(job: &JobRecord, tasks: &[TaskRecord]) -> Option<BundleManifest> {
    let format = ArchiveFormat::parse(job.export.as_deref()?)?;
    let images = tasks
        .iter()
        .filter(|t| t.status == TaskStatus::Succeeded)
        .filter_map(|t| {
            Some(BundleImage {
                source: t.source.clone(),
                target: t.target.clone(),
                digest: t.digest.clone().unwrap_or_default(),
                platform: job.platform.clone(),
                file: t.file.clone()?,
                size: t.size?,
                sha256: t.sha256.clone()?,
            })
        })
        .collect();
    Some(BundleManifest {
        version: docker_sync_common::bundle::manifest::MANIFEST_VERSION,
        job: job.id.clone(),
        created_at_ms: job.created_at_ms,
        format,
        images,
    })
}

fn write_all(folder: &Path, manifest: &BundleManifest) -> std::io::Result<()> {
    let json = serde_json::to_string_pretty(manifest).expect("a manifest serialises");
    write(folder, MANIFEST_FILE, &json, 0o644)?;
    write(folder, "push.sh", &push_script::render(manifest), 0o755)?;
    write(folder, "README.md", &readme::render(manifest), 0o644)?;
    write(folder, "SHA256SUMS", &readme::sha256sums(manifest), 0o644)
}

fn write(folder: &Path, name: &str, text: &str, mode: u32) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let partial: PathBuf = folder.join(format!(".{name}.partial"));
    std::fs::write(&partial, text)?;
    std::fs::set_permissions(&partial, std::fs::Permissions::from_mode(mode))?;
    std::fs::rename(&partial, folder.join(name))
}
