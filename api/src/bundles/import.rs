//! Pushing a bundle into a registry: its `manifest.json` read back into a job whose tasks
//! read the archives. The images are planned like a sync of their original names (the
//! registry's naming rules, the request's namespace and replacement level, the filters), so
//! an import lands where a sync of the same images would have; the digest each archive holds
//! is what the worker checks the target against.

use docker_sync_common::bundle::{ArchiveFormat, BundleManifest, SafeName, MANIFEST_FILE};
use docker_sync_common::config::Config;
use docker_sync_common::image::mapping::ReplaceLevel;
use docker_sync_common::image::selection::Repository;
use serde::Deserialize;

use crate::error::AppError;
use crate::jobs::plan::{expand, Images, Import, JobRequest, Plan};
use crate::jobs::tags::ListTags;
use crate::state::AppState;

/// `POST /api/downloads/{bundle}/push`: where the bundle's images go.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PushRequest {
    /// Name of a configured registry.
    pub target: String,
    #[serde(default)]
    #[schema(value_type = String, example = "skip")]
    pub replace_level: ReplaceLevel,
    /// Defaults to the registry's namespace / project / repository.
    #[serde(default)]
    pub namespace: Option<String>,
}

/// A bundle's manifest as written in its folder.
pub async fn read_manifest(
    state: &AppState,
    bundle: &SafeName,
) -> Result<BundleManifest, AppError> {
    let folder = state
        .downloads
        .bundle_dir(bundle)
        .ok_or_else(|| AppError::NotFound(format!("no bundle `{bundle}`")))?;
    let path = folder.join(MANIFEST_FILE);
    let bytes = match tokio::fs::read(&path).await {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(AppError::Conflict(format!(
                "bundle `{bundle}` has no {MANIFEST_FILE} yet: its export job has not finished, \
                 or the folder is not a bundle"
            )))
        }
        Err(e) => return Err(AppError::Internal(format!("{}: {e}", path.display()))),
    };
    BundleManifest::parse(&bytes)
        .map_err(|e| AppError::BadRequest(format!("bundle `{bundle}`: {e}")))
}

/// The import job for `bundle`: one task per image of its manifest whose archive is there.
pub async fn plan(
    state: &AppState,
    config: &Config,
    bundle: &SafeName,
    req: &PushRequest,
) -> Result<Plan, AppError> {
    let manifest = read_manifest(state, bundle).await?;
    if manifest.images.is_empty() {
        return Err(AppError::BadRequest(format!(
            "bundle `{bundle}` holds no image (every export of its job failed)"
        )));
    }
    for image in &manifest.images {
        let present = SafeName::parse(&image.file)
            .ok()
            .and_then(|file| state.downloads.file(bundle, &file));
        if present.is_none() {
            return Err(AppError::BadRequest(format!(
                "bundle `{bundle}`: {MANIFEST_FILE} lists `{}` ({}), which is not in the folder",
                image.file, image.source
            )));
        }
    }
    let request = JobRequest {
        images: Images::List(manifest.images.iter().map(|i| i.source.clone()).collect()),
        target: req.target.clone(),
        export: None,
        replace_level: req.replace_level,
        namespace: req.namespace.clone(),
        platform: None,
        // An archive has no source registry to find signatures in.
        with_signatures: false,
    };
    let mut plan = expand(&request, config, &NoListing).await?.into_plan()?;
    let files = plan
        .tasks
        .iter()
        .map(|task| {
            let image = &manifest.images[task.line - 1];
            // A docker-archive is re-encoded on the way in: only an OCI archive keeps the
            // manifest, and so the digest, the target ends up with.
            let digest = (manifest.format == ArchiveFormat::OciArchive && !image.digest.is_empty())
                .then(|| image.digest.clone());
            (image.file.clone(), digest)
        })
        .collect();
    plan.import = Some(Import {
        format: manifest.format,
        bundle: bundle.to_string(),
        files,
    });
    Ok(plan)
}

/// A manifest names each image by tag or digest, never by pattern: nothing is listed.
struct NoListing;

impl ListTags for NoListing {
    async fn list_tags(&self, repository: &Repository) -> Result<Vec<String>, String> {
        Err(format!(
            "`{repository}` is a pattern; a bundle's manifest names images by tag or digest"
        ))
    }
}
