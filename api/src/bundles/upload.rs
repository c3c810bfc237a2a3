//! A bundle uploaded as a tar (`POST /api/downloads`), written to disk while it arrives. The
//! files land in a hidden folder inside the downloads folder (same filesystem, and the listing
//! skips it), are checked against the bundle's `manifest.json`, and only then is the folder
//! renamed into place in one step: a bundle is either all there and checked, or absent.
//!
//! Only what `/archive` writes is taken: regular files with flat [`SafeName`] names, at the
//! top or all in one folder. A link, a device, a sub-folder, an absolute path or `..` is
//! refused with the entry's name, before anything is written for it.

use std::collections::BTreeMap;
use std::io::{self, Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use docker_sync_common::bundle::disk::rename_no_replace;
use docker_sync_common::bundle::{BundleManifest, SafeName, MANIFEST_FILE};
use sha2::{Digest, Sha256};

/// A manifest larger than this is no manifest this program wrote; it is not read into memory.
const MANIFEST_MAX: u64 = 16 << 20;

#[derive(Debug, thiserror::Error)]
pub enum UploadError {
    /// The tar or its manifest is not a bundle (400).
    #[error("{0}")]
    Invalid(String),
    /// A bundle of that name is there already (409).
    #[error("a bundle named {0} exists already")]
    Exists(String),
    /// The upload grew past what the downloads folder may take (507): `received` bytes so far.
    #[error("the upload passed the room the downloads folder has left")]
    Full { received: u64 },
    /// The request body broke off (the client went away, or sent no tar).
    #[error("reading the upload: {0}")]
    Body(io::Error),
    /// The server's own files (500).
    #[error("{0}")]
    Io(String),
}

/// What was written: each file's name and size.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Received {
    pub files: BTreeMap<String, u64>,
}

/// Reads the tar in `body` into `<root>/<name>/`, writing at most `room` bytes of it. Blocking:
/// run it on a blocking thread. Nothing is left behind when it fails.
pub fn receive(
    root: &Path,
    name: &SafeName,
    body: impl Read,
    room: u64,
) -> Result<Received, UploadError> {
    std::fs::create_dir_all(root).map_err(|e| server(root, e))?;
    let target = root.join(name.as_str());
    if std::fs::symlink_metadata(&target).is_ok() {
        return Err(UploadError::Exists(name.to_string()));
    }
    let temp = TempDir::new(root.join(format!(".upload-{}", uuid::Uuid::new_v4().simple())))?;
    let mut counted = Counted {
        inner: body,
        read: 0,
        room,
        over: false,
    };
    let written = unpack(&mut counted, temp.path());
    let written = match written {
        Err(_) if counted.over => {
            return Err(UploadError::Full {
                received: counted.read,
            })
        }
        other => other?,
    };
    verify(temp.path(), &written)?;
    match rename_no_replace(temp.path(), &target) {
        Ok(()) => {
            temp.keep();
            Ok(Received {
                files: written.into_iter().map(|(n, f)| (n, f.size)).collect(),
            })
        }
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
            Err(UploadError::Exists(name.to_string()))
        }
        Err(e) => Err(server(&target, e)),
    }
}

struct Written {
    size: u64,
    sha256: String,
}

/// Where the tar's entries sit: at the top, or all in one folder (`<bundle>/<file>`, as
/// `/archive` makes it).
#[derive(Debug, PartialEq, Eq)]
enum Layout {
    Unknown,
    Top,
    Folder(String),
}

fn unpack(body: &mut impl Read, dir: &Path) -> Result<BTreeMap<String, Written>, UploadError> {
    let mut archive = tar::Archive::new(body);
    let mut layout = Layout::Unknown;
    let mut written = BTreeMap::new();
    for entry in archive.entries().map_err(UploadError::Body)? {
        let mut entry = entry.map_err(UploadError::Body)?;
        let raw = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
        let kind = entry.header().entry_type();
        if kind.is_pax_global_extensions() {
            continue;
        }
        let is_dir = kind.is_dir();
        if !is_dir && !kind.is_file() && kind != tar::EntryType::Continuous {
            return Err(UploadError::Invalid(format!(
                "entry {raw:?} is {}; a bundle holds only regular files",
                kind_name(kind)
            )));
        }
        let Some(name) = flat_name(&raw, is_dir, &mut layout)? else {
            continue;
        };
        if written.contains_key(name.as_str()) {
            return Err(UploadError::Invalid(format!(
                "entry {raw:?}: {name} appears twice"
            )));
        }
        let executable = entry.header().mode().is_ok_and(|m| m & 0o100 != 0);
        let path = dir.join(name.as_str());
        let file = write_file(&mut entry, &path, executable)?;
        written.insert(name.to_string(), file);
    }
    Ok(written)
}

/// The file name an entry's path gives, None for the one folder the files may sit in.
fn flat_name(
    raw: &str,
    is_dir: bool,
    layout: &mut Layout,
) -> Result<Option<SafeName>, UploadError> {
    let bad = |why: String| UploadError::Invalid(format!("entry {raw:?}: {why}"));
    if raw.starts_with('/') {
        return Err(bad("an absolute path; a bundle's names are relative".into()));
    }
    // `tar -C bundle -cf x.tar .` writes `./file`: the same place, said differently.
    let trimmed = raw.strip_prefix("./").unwrap_or(raw).trim_end_matches('/');
    if is_dir && trimmed.is_empty() {
        return Ok(None);
    }
    let parts: Vec<&str> = trimmed.split('/').collect();
    for part in &parts {
        SafeName::parse(part).map_err(|e| bad(format!("{part:?}: {e}")))?;
    }
    let (folder, file) = match (parts.as_slice(), is_dir) {
        ([folder], true) => (Some(*folder), None),
        ([file], false) => (None, Some(*file)),
        ([folder, file], false) => (Some(*folder), Some(*file)),
        _ => return Err(bad("in a sub-folder; a bundle is one flat folder".into())),
    };
    let here = match folder {
        Some(f) => Layout::Folder(f.to_owned()),
        None => Layout::Top,
    };
    if *layout == Layout::Unknown {
        *layout = here;
    } else if *layout != here {
        return Err(bad(
            "the tar's files must be all in one folder or all at the top".into(),
        ));
    }
    Ok(file.map(|f| SafeName::parse(f).expect("checked above")))
}

fn write_file(
    entry: &mut impl Read,
    path: &Path,
    executable: bool,
) -> Result<Written, UploadError> {
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .map_err(|e| server(path, e))?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 64 * 1024];
    let mut size = 0u64;
    loop {
        let n = entry.read(&mut buf).map_err(UploadError::Body)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        file.write_all(&buf[..n]).map_err(|e| server(path, e))?;
        size += n as u64;
    }
    file.sync_all().map_err(|e| server(path, e))?;
    // Only the executable bit travels (push.sh); no setuid or group-writable file comes in.
    let mode = if executable { 0o755 } else { 0o644 };
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
        .map_err(|e| server(path, e))?;
    Ok(Written {
        size,
        sha256: hasher
            .finalize()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect(),
    })
}

/// The manifest parses and every file it lists is there with its size and sha256.
fn verify(dir: &Path, written: &BTreeMap<String, Written>) -> Result<(), UploadError> {
    let invalid = UploadError::Invalid;
    let manifest = written.get(MANIFEST_FILE).ok_or_else(|| {
        invalid(format!(
            "the tar holds no {MANIFEST_FILE}: a bundle says what it holds there"
        ))
    })?;
    if manifest.size > MANIFEST_MAX {
        return Err(invalid(format!(
            "{MANIFEST_FILE} is {} bytes, more than a bundle's manifest takes",
            manifest.size
        )));
    }
    let path = dir.join(MANIFEST_FILE);
    let json = std::fs::read(&path).map_err(|e| server(&path, e))?;
    let manifest = BundleManifest::parse(&json).map_err(invalid)?;
    for image in &manifest.images {
        let file = written.get(&image.file).ok_or_else(|| {
            invalid(format!(
                "{MANIFEST_FILE} lists {:?} (for {}), which the tar does not hold",
                image.file, image.source
            ))
        })?;
        if file.size != image.size || file.sha256 != image.sha256 {
            return Err(invalid(format!(
                "{}: {MANIFEST_FILE} says {} bytes with sha256 {}, the tar holds {} bytes with \
                 sha256 {}",
                image.file, image.size, image.sha256, file.size, file.sha256
            )));
        }
    }
    Ok(())
}

fn kind_name(kind: tar::EntryType) -> &'static str {
    match kind {
        tar::EntryType::Symlink => "a symbolic link",
        tar::EntryType::Link => "a hard link",
        tar::EntryType::Char | tar::EntryType::Block => "a device",
        tar::EntryType::Fifo => "a pipe",
        _ => "not a regular file",
    }
}

fn server(path: &Path, e: io::Error) -> UploadError {
    UploadError::Io(format!("{}: {e}", path.display()))
}

/// The body, counted: past `room` bytes it fails (and says so in `over`) instead of reading on.
struct Counted<R> {
    inner: R,
    read: u64,
    room: u64,
    over: bool,
}

impl<R: Read> Read for Counted<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read += n as u64;
        if self.read > self.room {
            self.over = true;
            return Err(io::Error::other("the upload is larger than the room left"));
        }
        Ok(n)
    }
}

/// The upload's folder until it is renamed into place; removed with everything in it when the
/// upload fails.
struct TempDir(Option<PathBuf>);

impl TempDir {
    fn new(path: PathBuf) -> Result<TempDir, UploadError> {
        std::fs::create_dir(&path).map_err(|e| server(&path, e))?;
        Ok(TempDir(Some(path)))
    }

    fn path(&self) -> &Path {
        self.0.as_deref().expect("held until kept")
    }

    fn keep(mut self) {
        self.0 = None;
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        if let Some(path) = self.0.take() {
            if let Err(e) = std::fs::remove_dir_all(&path) {
                tracing::warn!(path = %path.display(), error = %e, "cannot remove a failed upload");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use docker_sync_common::bundle::manifest::MANIFEST_VERSION;
    use docker_sync_common::bundle::{ArchiveFormat, BundleImage};

    fn manifest(file: &str, content: &[u8]) -> Vec<u8> {
        let sha: String = Sha256::digest(content)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        serde_json::to_vec(&BundleManifest {
            version: MANIFEST_VERSION,
            job: "job-1".into(),
            created_at_ms: 1,
            format: ArchiveFormat::OciArchive,
            images: vec![BundleImage {
                source: "docker.io/library/a:1".into(),
                target: "library/a:1".into(),
                digest: "sha256:00".into(),
                platform: None,
                file: file.into(),
                size: content.len() as u64,
                sha256: sha,
            }],
        })
        .unwrap()
    }

    /// A tar of (raw path, entry type, content), with paths written as given (the tar crate's
    /// own checks would refuse the hostile ones).
    fn tar_of(entries: &[(&str, tar::EntryType, &[u8])]) -> Vec<u8> {
        let mut builder = tar::Builder::new(Vec::new());
        for (path, kind, content) in entries {
            let mut header = tar::Header::new_gnu();
            let name = &mut header.as_old_mut().name;
            name[..path.len()].copy_from_slice(path.as_bytes());
            header.set_entry_type(*kind);
            header.set_mode(if path.ends_with(".sh") { 0o4755 } else { 0o644 });
            header.set_size(content.len() as u64);
            if *kind == tar::EntryType::Symlink {
                header.set_link_name("/etc/passwd").unwrap();
            }
            header.set_cksum();
            builder.append(&header, *content).unwrap();
        }
        builder.into_inner().unwrap()
    }

    fn good(prefix: &str) -> Vec<u8> {
        let json = manifest("a.oci.tar", b"layers");
        tar_of(&[
            (
                &format!("{prefix}a.oci.tar"),
                tar::EntryType::Regular,
                b"layers",
            ),
            (
                &format!("{prefix}push.sh"),
                tar::EntryType::Regular,
                b"#!/bin/sh\n",
            ),
            (
                &format!("{prefix}manifest.json"),
                tar::EntryType::Regular,
                &json,
            ),
        ])
    }

    fn name(s: &str) -> SafeName {
        SafeName::parse(s).unwrap()
    }

    /// What the downloads folder holds: nothing half-written may stay.
    fn listing(root: &Path) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(root)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn a_bundle_in_one_folder_or_at_the_top_is_put_in_place_checked() {
        let root = tempfile::tempdir().unwrap();
        for (prefix, bundle) in [("job-1/", "first"), ("", "second"), ("./", "third")] {
            let got = receive(root.path(), &name(bundle), &good(prefix)[..], u64::MAX).unwrap();
            assert_eq!(
                got.files.keys().collect::<Vec<_>>(),
                ["a.oci.tar", "manifest.json", "push.sh"],
                "{prefix:?}"
            );
            let dir = root.path().join(bundle);
            assert_eq!(std::fs::read(dir.join("a.oci.tar")).unwrap(), b"layers");
            let mode = |f: &str| std::fs::metadata(dir.join(f)).unwrap().permissions().mode();
            assert_eq!(mode("push.sh") & 0o7777, 0o755, "executable, never setuid");
            assert_eq!(mode("a.oci.tar") & 0o7777, 0o644);
        }
        assert_eq!(listing(root.path()), ["first", "second", "third"]);
        let again = receive(root.path(), &name("first"), &good("")[..], u64::MAX).unwrap_err();
        assert!(matches!(again, UploadError::Exists(_)), "{again}");
    }

    #[test]
    fn entries_that_are_no_flat_regular_file_are_refused_by_name() {
        let root = tempfile::tempdir().unwrap();
        let json = manifest("a.oci.tar", b"layers");
        let reg = tar::EntryType::Regular;
        let cases: Vec<(Vec<u8>, &str)> = vec![
            (
                tar_of(&[("job-1/link", tar::EntryType::Symlink, b"")]),
                "entry \"job-1/link\" is a symbolic link",
            ),
            (
                tar_of(&[("job-1/../../evil", reg, b"x")]),
                "entry \"job-1/../../evil\": \"..\"",
            ),
            (
                tar_of(&[("/etc/cron.d/x", reg, b"x")]),
                "entry \"/etc/cron.d/x\": an absolute path",
            ),
            (
                tar_of(&[("job-1/sub/a", reg, b"x")]),
                "entry \"job-1/sub/a\": in a sub-folder",
            ),
            (
                tar_of(&[("job-1/a", reg, b"x"), ("b", reg, b"x")]),
                "entry \"b\": the tar's files must be all in one folder",
            ),
            (
                tar_of(&[("a", reg, b"x"), ("a", reg, b"y")]),
                "entry \"a\": a appears twice",
            ),
            (
                tar_of(&[("a", reg, b"x")]),
                "the tar holds no manifest.json",
            ),
            (
                tar_of(&[("manifest.json", reg, b"{\"version\": 1}")]),
                "manifest.json: missing field",
            ),
            (
                tar_of(&[("manifest.json", reg, &json)]),
                "manifest.json lists \"a.oci.tar\" (for docker.io/library/a:1), which the tar \
                 does not hold",
            ),
            (
                tar_of(&[("a.oci.tar", reg, b"layerz"), ("manifest.json", reg, &json)]),
                "a.oci.tar: manifest.json says 6 bytes with sha256",
            ),
        ];
        for (tar, expected) in cases {
            let err = receive(root.path(), &name("b1"), &tar[..], u64::MAX).unwrap_err();
            assert!(
                matches!(err, UploadError::Invalid(_)) && err.to_string().contains(expected),
                "{expected}: {err}"
            );
            assert_eq!(listing(root.path()), Vec::<String>::new(), "{expected}");
        }
    }

    #[test]
    fn an_upload_past_its_room_stops_and_leaves_nothing() {
        let root = tempfile::tempdir().unwrap();
        let tar = good("job-1/");
        let err = receive(root.path(), &name("b1"), &tar[..], 1024).unwrap_err();
        assert!(
            matches!(err, UploadError::Full { received } if received > 1024),
            "{err}"
        );
        assert_eq!(listing(root.path()), Vec::<String>::new());
        // Exactly enough room is enough.
        receive(root.path(), &name("b1"), &tar[..], tar.len() as u64).unwrap();
    }

    #[test]
    fn a_body_that_is_no_tar_is_a_clear_error() {
        let root = tempfile::tempdir().unwrap();
        let err = receive(
            root.path(),
            &name("b1"),
            &b"PK\x03\x04 not a tar"[..],
            u64::MAX,
        )
        .unwrap_err();
        assert!(
            matches!(err, UploadError::Body(_) | UploadError::Invalid(_)),
            "{err}"
        );
        assert_eq!(listing(root.path()), Vec::<String>::new());
    }
}
