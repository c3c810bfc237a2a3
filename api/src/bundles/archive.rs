//! A whole bundle as one tar, written while it is sent: a bundle is gigabytes, so it is never
//! built in memory or on disk. The tar is written on a blocking thread into one end of a pipe;
//! the response body reads the other end, so a slow client slows the writer instead of filling
//! memory.

use std::path::PathBuf;

use axum::body::Body;
use futures::StreamExt;
use tokio_util::io::{ReaderStream, SyncIoBridge};

/// Bytes in flight between the tar writer and the response.
const PIPE: usize = 256 * 1024;

/// A tar of `files` (path, name in the archive) under `prefix/`. A file that cannot be read
/// ends the body with an error (the connection is cut), so the client sees a broken download,
/// never a short one that looks whole.
pub fn tar_body(prefix: String, files: Vec<(PathBuf, String)>) -> Body {
    let (writer, reader) = tokio::io::duplex(PIPE);
    let (ended, outcome) = tokio::sync::oneshot::channel::<std::io::Result<()>>();
    tokio::task::spawn_blocking(move || {
        let mut tar = tar::Builder::new(SyncIoBridge::new(writer));
        tar.mode(tar::HeaderMode::Deterministic);
        let written = files
            .iter()
            .try_for_each(|(path, name)| {
                tar.append_path_with_name(path, format!("{prefix}/{name}"))
                    .map_err(|e| std::io::Error::new(e.kind(), format!("{}: {e}", path.display())))
            })
            .and_then(|()| tar.finish());
        if let Err(e) = &written {
            tracing::warn!(error = %e, "bundle download stopped");
        }
        // Dropping the writer (with `tar`) ends the reader; the outcome says how.
        drop(tar);
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
        let body = tar_body(
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
    async fn a_missing_file_breaks_the_body_instead_of_ending_it_short() {
        let dir = tempfile::tempdir().unwrap();
        let body = tar_body(
            "job-1".into(),
            vec![(dir.path().join("gone"), "gone".into())],
        );
        let err = axum::body::to_bytes(body, usize::MAX).await.unwrap_err();
        assert!(format!("{err:?}").contains("gone"), "{err:?}");
    }
}
