//! The downloads folder as the api sees it: bundles to list, a file to serve, a bundle to
//! delete, old bundles to expire, and the quota a new export must fit in. Every name from a
//! request is a [`SafeName`] before it is joined to the folder, so no request reaches a path
//! outside it; bundles are plain folders, so an operator can also look with `ls`.

use std::io;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use docker_sync_common::bundle::{BundleManifest, SafeName, MANIFEST_FILE};
use serde::Serialize;

#[derive(Debug, Clone)]
pub struct Downloads {
    root: PathBuf,
}

/// A bundle as `GET /api/downloads` lists it.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct BundleSummary {
    pub id: String,
    /// Absent while the export still runs (its manifest is written when the job ends).
    #[schema(value_type = Option<Object>)]
    pub manifest: Option<BundleManifest>,
    pub files: Vec<FileEntry>,
    pub size: u64,
    pub modified_ms: u64,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct FileEntry {
    pub name: String,
    pub size: u64,
}

impl Downloads {
    pub fn new(root: impl Into<PathBuf>) -> Downloads {
        Downloads { root: root.into() }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// A bundle's folder; None when there is no such bundle.
    pub fn bundle_dir(&self, id: &SafeName) -> Option<PathBuf> {
        let dir = self.root.join(id.as_str());
        // Not followed through a symlink: a bundle is a real folder below the root.
        let meta = std::fs::symlink_metadata(&dir).ok()?;
        meta.file_type().is_dir().then_some(dir)
    }

    /// A file of a bundle; None when either does not exist or the file is not a regular file
    /// (a symlink someone put there is not followed).
    pub fn file(&self, id: &SafeName, name: &SafeName) -> Option<PathBuf> {
        let path = self.bundle_dir(id)?.join(name.as_str());
        let meta = std::fs::symlink_metadata(&path).ok()?;
        meta.file_type().is_file().then_some(path)
    }

    /// Every bundle, newest first. Entries that are not bundle folders are skipped.
    pub fn list(&self) -> io::Result<Vec<BundleSummary>> {
        let mut out = Vec::new();
        let entries = match std::fs::read_dir(&self.root) {
            Ok(entries) => entries,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(out),
            Err(e) => return Err(e),
        };
        for entry in entries.flatten() {
            let Some(id) = entry
                .file_name()
                .to_str()
                .and_then(|n| SafeName::parse(n).ok())
            else {
                continue;
            };
            if entry.file_type().is_ok_and(|t| t.is_dir()) {
                out.push(self.summary(&id)?);
            }
        }
        out.sort_by(|a, b| b.modified_ms.cmp(&a.modified_ms).then(a.id.cmp(&b.id)));
        Ok(out)
    }

    pub fn summary(&self, id: &SafeName) -> io::Result<BundleSummary> {
        let dir = self.root.join(id.as_str());
        let mut files = Vec::new();
        for entry in std::fs::read_dir(&dir)?.flatten() {
            let meta = entry.metadata()?;
            if meta.is_file() {
                if let Some(name) = entry.file_name().to_str() {
                    files.push(FileEntry {
                        name: name.to_owned(),
                        size: meta.len(),
                    });
                }
            }
        }
        files.sort_by(|a, b| a.name.cmp(&b.name));
        let manifest = std::fs::read(dir.join(MANIFEST_FILE))
            .ok()
            .and_then(|json| BundleManifest::parse(&json).ok());
        Ok(BundleSummary {
            id: id.to_string(),
            manifest,
            size: files.iter().map(|f| f.size).sum(),
            files,
            modified_ms: modified_ms(&std::fs::metadata(&dir)?),
        })
    }

    /// Removes a bundle and its files; false when there was none.
    pub fn delete(&self, id: &SafeName) -> io::Result<bool> {
        match self.bundle_dir(id) {
            Some(dir) => std::fs::remove_dir_all(dir).map(|()| true),
            None => Ok(false),
        }
    }

    /// Removes bundles last changed longer than `keep` ago; returns their ids.
    pub fn expire(&self, keep: Duration, now: SystemTime) -> io::Result<Vec<String>> {
        let cutoff = now
            .checked_sub(keep)
            .unwrap_or(SystemTime::UNIX_EPOCH)
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap_or_default()
            .as_millis() as u64;
        let mut removed = Vec::new();
        for bundle in self.list()? {
            if bundle.modified_ms < cutoff {
                let id = SafeName::parse(&bundle.id).expect("listed names are safe");
                match self.delete(&id) {
                    Ok(_) => removed.push(bundle.id),
                    // Another api replica expired it first: the folder is shared.
                    Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                    Err(e) => return Err(e),
                }
            }
        }
        Ok(removed)
    }

    /// Bytes every bundle takes together.
    pub fn used(&self) -> io::Result<u64> {
        Ok(self.list()?.iter().map(|b| b.size).sum())
    }
}

fn modified_ms(meta: &std::fs::Metadata) -> u64 {
    meta.modified()
        .ok()
        .and_then(|t| t.duration_since(SystemTime::UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_millis() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(s: &str) -> SafeName {
        SafeName::parse(s).unwrap()
    }

    #[test]
    fn bundles_list_newest_first_and_only_safe_regular_files_are_served() {
        let root = tempfile::tempdir().unwrap();
        let downloads = Downloads::new(root.path());
        assert_eq!(downloads.list().unwrap(), vec![]);
        std::fs::create_dir(root.path().join("job-a")).unwrap();
        std::fs::write(root.path().join("job-a/a.oci.tar"), b"12345").unwrap();
        std::fs::create_dir(root.path().join(".partial")).unwrap();
        std::fs::write(root.path().join("stray.txt"), b"x").unwrap();
        std::os::unix::fs::symlink("/etc/passwd", root.path().join("job-a/link")).unwrap();

        let listed = downloads.list().unwrap();
        assert_eq!(listed.len(), 1, "{listed:?}");
        assert_eq!(listed[0].id, "job-a");
        assert_eq!(listed[0].size, 5);
        assert_eq!(listed[0].manifest, None);
        assert!(downloads.file(&name("job-a"), &name("a.oci.tar")).is_some());
        assert!(downloads.file(&name("job-a"), &name("link")).is_none());
        assert!(downloads.file(&name("job-b"), &name("a.oci.tar")).is_none());
        assert_eq!(downloads.used().unwrap(), 5);
    }

    #[test]
    fn expiry_removes_only_bundles_older_than_the_retention() {
        let root = tempfile::tempdir().unwrap();
        let downloads = Downloads::new(root.path());
        std::fs::create_dir(root.path().join("old")).unwrap();
        let now = SystemTime::now();
        let day = Duration::from_secs(86_400);
        assert_eq!(downloads.expire(day, now).unwrap(), Vec::<String>::new());
        assert_eq!(downloads.expire(day, now + 2 * day).unwrap(), vec!["old"]);
        assert!(downloads.bundle_dir(&name("old")).is_none());
        assert!(!downloads.delete(&name("old")).unwrap());
    }
}
