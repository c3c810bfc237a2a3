//! `logging.file`: a log file rotated by size, keeping `backup_count` old files named
//! `<file>.1` (the newest) to `<file>.<backup_count>` (the oldest).

use std::fs::OpenOptions;
use std::path::{Path, PathBuf};

use file_rotate::compression::Compression;
use file_rotate::suffix::AppendCount;
use file_rotate::{ContentLimit, FileRotate};

#[derive(Debug, thiserror::Error)]
#[error("logging.file {}: {reason}", path.display())]
pub struct LogFileError {
    pub path: PathBuf,
    pub reason: String,
}

/// The rotating file at `path`, checked first: file-rotate creates missing folders and
/// panics when it cannot, where a mistyped path should be an error that names it.
pub fn open(
    path: &Path,
    max_bytes: u64,
    backups: u32,
) -> Result<FileRotate<AppendCount>, LogFileError> {
    let error = |reason: String| LogFileError {
        path: path.to_owned(),
        reason,
    };
    let folder = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    if !folder.is_dir() {
        return Err(error(format!(
            "the folder {} does not exist (create it, or mount a volume there)",
            folder.display()
        )));
    }
    OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(|e| error(format!("cannot write: {e}")))?;
    let max_bytes = usize::try_from(max_bytes).unwrap_or(usize::MAX);
    Ok(FileRotate::new(
        path,
        AppendCount::new(backups as usize),
        // Rotated after the write that passes the size, never inside one: each write is a
        // whole log line, so no line is split across two files.
        ContentLimit::BytesSurpassed(max_bytes),
        Compression::None,
        None,
    ))
}
