//! How much the downloads folder may hold: an optional quota on the bytes its bundles take
//! (`DOCKER_SYNC_DOWNLOADS_QUOTA`) and a floor of free space its filesystem keeps
//! (`DOCKER_SYNC_DOWNLOADS_MIN_FREE`). An export or an upload is refused before it starts when
//! its size does not fit, and an upload is cut when it grows past what fits, so the disk never
//! fills: a full disk would also stop Redis' neighbours, the logs and the other bundles' writes.

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

use serde::Serialize;

use super::disk::free_bytes;

/// `--downloads-min-free` when not given.
pub const DEFAULT_MIN_FREE: u64 = 1 << 30;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quota {
    /// Bytes every file below the downloads folder may take together; None: no quota.
    pub limit: Option<u64>,
    /// Bytes the filesystem keeps free.
    pub min_free: u64,
}

/// What the downloads folder holds and may still take, as `GET /api/downloads/usage` shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Usage {
    /// Every file below the downloads folder, unfinished exports and uploads included.
    pub used_bytes: u64,
    /// Absent: no quota.
    pub quota_bytes: Option<u64>,
    /// Available on the downloads filesystem.
    pub free_bytes: u64,
    pub min_free_bytes: u64,
}

/// How much more a refused export or upload needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Needed {
    /// Known before it starts (the sum of the image sizes, a Content-Length).
    About(u64),
    /// An upload cut while it was sent: it had this much and was not done.
    MoreThan(u64),
    /// An export: its archives' sizes are known only once written (estimating them would
    /// cost a manifest GET per image, a pull on Docker Hub), so it needs room at all: the
    /// quota not reached and the free-space floor not touched.
    Room,
}

#[derive(Debug, thiserror::Error)]
pub enum QuotaError {
    #[error(
        "the downloads folder holds {} of its {} quota; this {what} needs {needed}: delete old \
         bundles (DELETE /api/downloads/{{bundle}}) or raise DOCKER_SYNC_DOWNLOADS_QUOTA",
        human(*used), human(*quota)
    )]
    Quota {
        used: u64,
        quota: u64,
        needed: Needed,
        what: &'static str,
    },
    #[error(
        "the downloads filesystem has {} free and keeps at least {} free; this {what} needs \
         {needed}: delete old bundles (DELETE /api/downloads/{{bundle}}), free space there or \
         lower DOCKER_SYNC_DOWNLOADS_MIN_FREE",
        human(*free), human(*min_free)
    )]
    Disk {
        free: u64,
        min_free: u64,
        needed: Needed,
        what: &'static str,
    },
    /// The folder could not be measured: the server's fault, not the request's.
    #[error("measuring the downloads folder {}: {source}", path.display())]
    Io { path: PathBuf, source: io::Error },
}

impl Quota {
    pub fn new(limit: Option<u64>, min_free: u64) -> Quota {
        Quota { limit, min_free }
    }

    /// What `downloads_dir` holds now. A folder not made yet holds nothing.
    pub fn usage(&self, downloads_dir: &Path) -> Result<Usage, QuotaError> {
        let io_error = |source| QuotaError::Io {
            path: downloads_dir.to_owned(),
            source,
        };
        Ok(Usage {
            used_bytes: used_bytes(downloads_dir).map_err(io_error)?,
            quota_bytes: self.limit,
            free_bytes: free_bytes(downloads_dir).map_err(io_error)?,
            min_free_bytes: self.min_free,
        })
    }

    /// Whether an export of about `extra_bytes` fits; the usage it was measured against.
    pub fn check(&self, downloads_dir: &Path, extra_bytes: u64) -> Result<Usage, QuotaError> {
        self.check_for(downloads_dir, extra_bytes, "export")
    }

    /// Whether an export may start (or write its next archive): see [`Needed::Room`].
    pub fn check_export(&self, downloads_dir: &Path) -> Result<Usage, QuotaError> {
        let usage = self.usage(downloads_dir)?;
        match usage.refuse(Needed::Room, "export") {
            Some(refused) => Err(refused),
            None => Ok(usage),
        }
    }

    /// [`Self::check`] for something other than an export (`what`: "upload"), named so in the
    /// message.
    pub fn check_for(
        &self,
        downloads_dir: &Path,
        extra_bytes: u64,
        what: &'static str,
    ) -> Result<Usage, QuotaError> {
        let usage = self.usage(downloads_dir)?;
        match usage.refuse(Needed::About(extra_bytes), what) {
            Some(refused) => Err(refused),
            None => Ok(usage),
        }
    }
}

impl Usage {
    /// Bytes that may still be written: under the quota and above the free-space floor.
    pub fn room(&self) -> u64 {
        let disk = self.free_bytes.saturating_sub(self.min_free_bytes);
        match self.quota_bytes {
            Some(quota) => disk.min(quota.saturating_sub(self.used_bytes)),
            None => disk,
        }
    }

    /// The refusal for `needed` more bytes, or None when they fit. The quota is named first:
    /// it is the operator's own limit, the easier one to change.
    pub fn refuse(&self, needed: Needed, what: &'static str) -> Option<QuotaError> {
        let bytes = match needed {
            Needed::About(n) => n,
            // Past `n` bytes and not done: it needs at least one more.
            Needed::MoreThan(n) => n.saturating_add(1),
            Needed::Room => 1,
        };
        if let Some(quota) = self.quota_bytes {
            if self.used_bytes.saturating_add(bytes) > quota {
                return Some(QuotaError::Quota {
                    used: self.used_bytes,
                    quota,
                    needed,
                    what,
                });
            }
        }
        (self.free_bytes < bytes.saturating_add(self.min_free_bytes)).then_some(QuotaError::Disk {
            free: self.free_bytes,
            min_free: self.min_free_bytes,
            needed,
            what,
        })
    }
}

impl fmt::Display for Needed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Needed::About(n) => write!(f, "about {}", human(*n)),
            Needed::MoreThan(n) => write!(f, "more than {}", human(*n)),
            Needed::Room => f.write_str("room for its archives"),
        }
    }
}

/// Regular files below `dir`, in any depth (bundles are flat, but an unfinished upload is a
/// hidden folder of its own). Symlinks are not followed: what they point at is not ours.
fn used_bytes(dir: &Path) -> io::Result<u64> {
    let mut total = 0u64;
    let mut folders = vec![dir.to_owned()];
    while let Some(folder) = folders.pop() {
        let entries = match std::fs::read_dir(&folder) {
            Ok(entries) => entries,
            // Not made yet, or removed by another replica's expiry while we walked.
            Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
            Err(e) => return Err(e),
        };
        for entry in entries {
            let entry = entry?;
            let meta = match std::fs::symlink_metadata(entry.path()) {
                Ok(meta) => meta,
                Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
                Err(e) => return Err(e),
            };
            if meta.is_dir() {
                folders.push(entry.path());
            } else if meta.is_file() {
                total = total.saturating_add(meta.len());
            }
        }
    }
    Ok(total)
}

/// `48.2 GiB`, `50 GiB`, `512 B`: one decimal at most, in 1024s as the settings count.
pub fn human(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    let text = format!("{value:.1}");
    let text = text.strip_suffix(".0").unwrap_or(&text);
    format!("{text} {}", UNITS[unit])
}

#[cfg(test)]
mod tests {
    use super::*;

    const GIB: u64 = 1 << 30;

    fn usage(used: u64, quota: Option<u64>, free: u64) -> Usage {
        Usage {
            used_bytes: used,
            quota_bytes: quota,
            free_bytes: free,
            min_free_bytes: GIB,
        }
    }

    #[test]
    fn sizes_read_as_people_write_them() {
        assert_eq!(human(0), "0 B");
        assert_eq!(human(512), "512 B");
        assert_eq!(human(50 * GIB), "50 GiB");
        assert_eq!(human(48 * GIB + GIB / 5), "48.2 GiB");
        assert_eq!(human(3 * (1 << 40)), "3 TiB");
    }

    #[test]
    fn an_export_past_the_quota_is_refused_with_the_numbers() {
        let now = usage(48 * GIB + GIB / 5, Some(50 * GIB), 500 * GIB);
        assert!(now.refuse(Needed::About(GIB), "export").is_none());
        let refused = now
            .refuse(Needed::About(3 * GIB + GIB / 10), "export")
            .unwrap();
        assert_eq!(
            refused.to_string(),
            "the downloads folder holds 48.2 GiB of its 50 GiB quota; this export needs about \
             3.1 GiB: delete old bundles (DELETE /api/downloads/{bundle}) or raise \
             DOCKER_SYNC_DOWNLOADS_QUOTA"
        );
        assert_eq!(now.room(), 50 * GIB - (48 * GIB + GIB / 5));
    }

    #[test]
    fn the_free_space_floor_holds_without_a_quota() {
        let now = usage(0, None, 3 * GIB);
        assert!(now.refuse(Needed::About(2 * GIB), "upload").is_none());
        let refused = now.refuse(Needed::MoreThan(2 * GIB), "upload").unwrap();
        assert!(matches!(refused, QuotaError::Disk { .. }));
        assert!(
            refused.to_string().starts_with(
                "the downloads filesystem has 3 GiB free and keeps at least 1 GiB free; this \
                 upload needs more than 2 GiB"
            ),
            "{refused}"
        );
        assert_eq!(now.room(), 2 * GIB);
        assert_eq!(usage(0, None, GIB / 2).room(), 0);
    }

    #[test]
    fn usage_counts_every_file_below_the_folder_but_no_symlink_target() {
        let dir = tempfile::tempdir().unwrap();
        let quota = Quota::new(Some(100), 0);
        assert_eq!(
            quota.usage(&dir.path().join("missing")).unwrap().used_bytes,
            0
        );
        std::fs::create_dir_all(dir.path().join("job-1")).unwrap();
        std::fs::create_dir_all(dir.path().join(".upload-x")).unwrap();
        std::fs::write(dir.path().join("job-1/a.tar"), [0u8; 40]).unwrap();
        std::fs::write(dir.path().join(".upload-x/part"), [0u8; 30]).unwrap();
        let big = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(big.path(), [0u8; 1000]).unwrap();
        std::os::unix::fs::symlink(big.path(), dir.path().join("job-1/link")).unwrap();

        let used = quota.check(dir.path(), 30).unwrap();
        assert_eq!((used.used_bytes, used.quota_bytes), (70, Some(100)));
        let err = quota.check(dir.path(), 31).unwrap_err();
        assert!(
            err.to_string().contains("holds 70 B of its 100 B quota"),
            "{err}"
        );
    }
}
