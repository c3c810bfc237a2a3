//! The two file-system calls bundles need beyond `std`: the free space of the downloads
//! filesystem (statvfs) and a rename that never replaces a folder already there.

use std::io;
use std::path::Path;

/// Bytes an unprivileged process may still write on the filesystem holding `path` (what `df`
/// shows as available: the blocks kept for root are not ours). A folder not made yet is
/// measured at its nearest existing parent, which is where it will be made.
pub fn free_bytes(path: &Path) -> io::Result<u64> {
    let mut at = path;
    loop {
        let probe = if at.as_os_str().is_empty() {
            Path::new(".")
        } else {
            at
        };
        match rustix::fs::statvfs(probe) {
            Ok(stat) => return Ok(stat.f_bavail.saturating_mul(stat.f_frsize)),
            Err(rustix::io::Errno::NOENT) => match probe.parent() {
                Some(parent) if probe != Path::new(".") => at = parent,
                _ => return Err(io::Error::from(rustix::io::Errno::NOENT)),
            },
            Err(e) => return Err(io::Error::from(e)),
        }
    }
}

/// Moves `from` to `to` in one step, failing with `AlreadyExists` when `to` exists: a plain
/// rename would silently replace an empty folder, and another api replica may be putting a
/// bundle of the same name in place at the same moment.
pub fn rename_no_replace(from: &Path, to: &Path) -> io::Result<()> {
    rustix::fs::renameat_with(
        rustix::fs::CWD,
        from,
        rustix::fs::CWD,
        to,
        rustix::fs::RenameFlags::NOREPLACE,
    )
    .map_err(io::Error::from)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn free_space_is_measured_where_a_missing_folder_would_be_made() {
        let dir = tempfile::tempdir().unwrap();
        let here = free_bytes(dir.path()).unwrap();
        assert!(here > 0);
        let later = free_bytes(&dir.path().join("not/yet")).unwrap();
        // Other processes write meanwhile: the same filesystem within a few MiB.
        assert!(here.abs_diff(later) < 64 << 20, "{here} vs {later}");
    }

    #[test]
    fn a_rename_onto_an_existing_folder_fails_even_when_it_is_empty() {
        let dir = tempfile::tempdir().unwrap();
        let (from, to) = (dir.path().join("from"), dir.path().join("to"));
        std::fs::create_dir(&from).unwrap();
        std::fs::write(from.join("f"), b"x").unwrap();
        std::fs::create_dir(&to).unwrap();
        let err = rename_no_replace(&from, &to).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::AlreadyExists);
        assert!(from.join("f").exists());
        std::fs::remove_dir(&to).unwrap();
        rename_no_replace(&from, &to).unwrap();
        assert!(to.join("f").exists() && !from.exists());
    }
}
