//! A whole bundle as one tar or zip, written while it is sent: a bundle is gigabytes, so it is
//! never built in memory or on disk. The archive is written on a blocking thread into one end
//! of a pipe; the response body reads the other end, so a slow client slows the writer instead
//! of filling memory.

use std::io::Write;
use std::path::PathBuf;

use axum::body::Body;
use futures::StreamExt;
use tokio::io::DuplexStream;
use tokio_util::io::{ReaderStream, SyncIoBridge};

/// Bytes in flight between the archive writer and the response.
const PIPE: usize = 256 * 1024;

/// The archive kinds `GET /api/downloads/{bundle}/archive?format=` offers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Packing {
    Tar,
    Zip,
}

impl Packing {
    pub fn parse(text: &str) -> Result<Packing, String> {
        match text {
            "tar" => Ok(Packing::Tar),
            "zip" => Ok(Packing::Zip),
            other => Err(format!("format {other:?} is not one of tar, zip")),
        }
    }

    pub fn extension(self) -> &'static str {
        match self {
            Packing::Tar => "tar",
            Packing::Zip => "zip",
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            Packing::Tar => "application/x-tar",
            Packing::Zip => "application/zip",
        }
    }
}

/// `files` (path, name in the archive) under `prefix/`, packed as `packing`. A file that
/// cannot be read ends the body with an error (the connection is cut), so the client sees a
/// broken download, never a short one that looks whole.
pub fn archive_body(packing: Packing, prefix: String, files: Vec<(PathBuf, String)>) -> Body {
    piped(move |out| match packing {
        Packing::Tar => write_tar(out, &prefix, &files),
        Packing::Zip => write_zip(out, &prefix, &files),
    })
}

fn write_tar(
    out: SyncIoBridge<DuplexStream>,
    prefix: &str,
    files: &[(PathBuf, String)],
) -> std::io::Result<()> {
    let mut tar = tar::Builder::new(out);
    tar.mode(tar::HeaderMode::Deterministic);
    files
        .iter()
        .try_for_each(|(path, name)| {
            tar.append_path_with_name(path, format!("{prefix}/{name}"))
                .map_err(|e| in_file(path, e))
        })
        .and_then(|()| tar.finish())
}

/// Entries are stored, not deflated: the archives are compressed already, and a stored entry
/// costs no CPU. Each entry is zip64 when its file is past what 32 bits hold; the writer adds
/// the zip64 end records itself when the archive as a whole is.
fn write_zip(
    out: SyncIoBridge<DuplexStream>,
    prefix: &str,
    files: &[(PathBuf, String)],
) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    use zip::write::SimpleFileOptions;

    let mut zip = zip::ZipWriter::new_stream(out);
    for (path, name) in files {
        let mut file = std::fs::File::open(path).map_err(|e| in_file(path, e))?;
        let meta = file.metadata().map_err(|e| in_file(path, e))?;
        let options = SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Stored)
            // push.sh keeps its executable bit, as in the tar.
            .unix_permissions(meta.permissions().mode() & 0o777)
            .large_file(meta.len() >= u64::from(u32::MAX));
        zip.start_file(format!("{prefix}/{name}"), options)
            .map_err(|e| in_file(path, std::io::Error::other(e)))?;
        let copied = std::io::copy(&mut file, &mut zip).map_err(|e| in_file(path, e))?;
        if copied != meta.len() {
            // A file that changed while it was sent: its zip64 choice and the reader's
            // expectations no longer hold.
            return Err(in_file(
                path,
                std::io::Error::other(format!(
                    "changed while it was sent ({copied} bytes, {} before)",
                    meta.len()
                )),
            ));
        }
    }
    let mut out = zip.finish().map_err(std::io::Error::other)?;
    out.flush()
}

fn in_file(path: &std::path::Path, e: std::io::Error) -> std::io::Error {
    std::io::Error::new(e.kind(), format!("{}: {e}", path.display()))
}

/// The body `write` produces on a blocking thread; its error, if any, ends the body as one.
fn piped<F>(write: F) -> Body
where
    F: FnOnce(SyncIoBridge<DuplexStream>) -> std::io::Result<()> + Send + 'static,
{
    let (writer, reader) = tokio::io::duplex(PIPE);
    let (ended, outcome) = tokio::sync::oneshot::channel::<std::io::Result<()>>();
    tokio::task::spawn_blocking(move || {
        // `write` owns the writer and drops it when it returns, which ends the reader; the
        // outcome says how.
        let written = write(SyncIoBridge::new(writer));
        if let Err(e) = &written {
            tracing::warn!(error = %e, "bundle download stopped");
        }
        let _ = ended.send(written);
    });
    let tail = futures::stream::once(async move {
        match outcome.await {
            Ok(Err(e)) => Some(Err(e)),
            _ => None,
        }
    })
    .filter_map(std::future::ready);
    Body::from_stream(ReaderStream::new(reader).chain(tail))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_tar_holds_every_file_under_the_bundle_name() {
        let dir = tempfile::tempdir().unwrap();
        let big = vec![7u8; 3 * PIPE + 11];
        std::fs::write(dir.path().join("a.oci.tar"), &big).unwrap();
        std::fs::write(dir.path().join("manifest.json"), b"{}").unwrap();
        let body = archive_body(
            Packing::Tar,
            "job-1".into(),
            vec![
                (dir.path().join("a.oci.tar"), "a.oci.tar".into()),
                (dir.path().join("manifest.json"), "manifest.json".into()),
            ],
        );
        let bytes = axum::body::to_bytes(body, usize::MAX).await.unwrap();
        let mut archive = tar::Archive::new(&bytes[..]);
        let mut seen = Vec::new();
        for entry in archive.entries().unwrap() {
            let mut entry = entry.unwrap();
            let mut content = Vec::new();
            std::io::Read::read_to_end(&mut entry, &mut content).unwrap();
            seen.push((entry.path().unwrap().display().to_string(), content.len()));
        }
        assert_eq!(
            seen,
            vec![
                ("job-1/a.oci.tar".to_owned(), big.len()),
                ("job-1/manifest.json".to_owned(), 2)
            ]
        );
    }

    #[tokio::test]
    async fn the_zip_stores_every_file_with_its_mode_under_the_bundle_name() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let big: Vec<u8> = (0..3 * PIPE + 11).map(|i| (i % 251) as u8).collect();
        std::fs::write(dir.path().join("a.oci.tar"), &big).unwrap();
        std::fs::write(dir.path().join("push.sh"), b"#!/bin/sh\n").unwrap();
        std::fs::set_permissions(
            dir.path().join("push.sh"),
            std::fs::Permissions::from_mode(0o755),
        )
        .unwrap();
        let body = archive_body(
            Packing::Zip,
            "job-1".into(),
            vec![
                (dir.path().join("a.oci.tar"), "a.oci.tar".into()),
                (dir.path().join("push.sh"), "push.sh".into()),
            ],
        );
        let bytes = axum::body::to_bytes(body, usize::MAX).await.unwrap();
        let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes)).unwrap();
        assert_eq!(zip.len(), 2);
        let mut first = zip.by_index(0).unwrap();
        assert_eq!(first.name().unwrap(), "job-1/a.oci.tar");
        assert_eq!(first.compression(), zip::CompressionMethod::Stored);
        let mut content = Vec::new();
        std::io::Read::read_to_end(&mut first, &mut content).unwrap();
        assert!(content == big, "the bytes come back as they were");
        drop(first);
        let script = zip.by_index(1).unwrap();
        assert_eq!(script.name().unwrap(), "job-1/push.sh");
        assert_eq!(script.unix_mode().map(|m| m & 0o777), Some(0o755));
    }

    #[tokio::test]
    async fn a_missing_file_breaks_the_body_instead_of_ending_it_short() {
        let dir = tempfile::tempdir().unwrap();
        for packing in [Packing::Tar, Packing::Zip] {
            let body = archive_body(
                packing,
                "job-1".into(),
                vec![(dir.path().join("gone"), "gone".into())],
            );
            let err = axum::body::to_bytes(body, usize::MAX).await.unwrap_err();
            assert!(format!("{err:?}").contains("gone"), "{packing:?}: {err:?}");
        }
    }

    #[test]
    fn an_unknown_format_is_named() {
        assert_eq!(Packing::parse("zip"), Ok(Packing::Zip));
        assert_eq!(
            Packing::parse("rar"),
            Err("format \"rar\" is not one of tar, zip".into())
        );
    }
}
