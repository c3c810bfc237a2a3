//! `logging` from registries.yaml writing real files: rotation by size with a bounded number of
//! old files, the format key, the flag over the file, and errors that name the path.

use std::io;
use std::path::Path;
use std::sync::{Arc, Mutex};

use docker_sync_common::config::{Config, LoggingConfig};
use docker_sync_common::logging;

fn logging_of(yaml: &str) -> LoggingConfig {
    Config::parse(yaml, Path::new("registries.yaml"), false)
        .unwrap()
        .logging
}

#[derive(Clone, Default)]
struct Buffer(Arc<Mutex<Vec<u8>>>);

impl io::Write for Buffer {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Buffer {
    fn text(&self) -> String {
        String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
    }
}

/// Logs `lines` info lines through the logger `logging` and `json` make, then drops it and its
/// guard (flushing the file); returns what stdout got.
fn log_lines(logging: &LoggingConfig, json: Option<bool>, lines: usize) -> String {
    let stdout = Buffer::default();
    let writer = stdout.clone();
    let (subscriber, guard, _) =
        logging::build(logging, json, move || writer.clone(), false).unwrap();
    tracing::subscriber::with_default(subscriber, || {
        for i in 0..lines {
            tracing::info!(line = i, "padding the log file with line number {i:05}");
        }
    });
    drop(guard);
    stdout.text()
}

fn names_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    names
}

#[test]
fn the_file_is_rotated_by_size_keeping_backup_count_old_files() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("sync.log");
    let logging = logging_of(&format!(
        "logging:\n  level: INFO\n  file: {:?}\n  max_size: 2KB\n  backup_count: 3\n",
        file.display()
    ));
    // ~100 bytes a line: 2,000 lines are ~100 files' worth, far more than 1 + 3 files hold.
    let stdout = log_lines(&logging, None, 2000);
    assert_eq!(stdout.lines().count(), 2000, "stdout gets every line");
    assert_eq!(
        names_in(dir.path()),
        ["sync.log", "sync.log.1", "sync.log.2", "sync.log.3"]
    );
    let longest_line = stdout.lines().map(str::len).max().unwrap() + 1;
    for name in names_in(dir.path()) {
        let text = std::fs::read_to_string(dir.path().join(&name)).unwrap();
        assert!(text.len() <= 2048 + longest_line, "{name}: {}", text.len());
        assert!(text.ends_with('\n'), "{name} ends inside a line");
        assert!(!text.contains('\u{1b}'), "{name} has colours");
    }
    let newest = std::fs::read_to_string(&file).unwrap();
    assert!(newest.contains("line number 01999"), "{newest}");
    let older = std::fs::read_to_string(dir.path().join("sync.log.1")).unwrap();
    assert!(!older.contains("line number 01999"));
}

#[test]
fn format_json_writes_json_lines_and_the_flag_wins_over_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("api.log");
    let yaml = |format: &str| {
        format!(
            "logging:\n  format: {format:?}\n  file: {:?}\n",
            file.display()
        )
    };
    let stdout = log_lines(&logging_of(&yaml("json")), None, 3);
    let written = std::fs::read_to_string(&file).unwrap();
    for text in [&stdout, &written] {
        assert_eq!(text.lines().count(), 3, "{text}");
        for line in text.lines() {
            let value: serde_json::Value = serde_json::from_str(line).unwrap();
            assert_eq!(value["level"], "INFO", "{line}");
        }
    }
    std::fs::remove_file(&file).unwrap();
    // The spec's Python layout is text; `--log-json=false` over `format: json` is text too.
    let python = "%(asctime)s - %(name)s - %(levelname)s - %(message)s";
    for (format, flag) in [(python, None), ("json", Some(false))] {
        let stdout = log_lines(&logging_of(&yaml(format)), flag, 1);
        assert!(serde_json::from_str::<serde_json::Value>(&stdout).is_err());
        assert!(stdout.contains(" INFO ") && stdout.contains("line number 00000"));
    }
    let stdout = log_lines(&logging_of(&yaml(python)), Some(true), 1);
    serde_json::from_str::<serde_json::Value>(&stdout).unwrap();
}

#[test]
fn a_missing_or_unwritable_folder_is_an_error_naming_the_path() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("no-such-folder/sync.log");
    let logging = logging_of(&format!("logging:\n  file: {:?}\n", missing.display()));
    let err = logging::build(&logging, None, io::sink, false)
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains(&missing.display().to_string()), "{err}");
    assert!(err.contains("does not exist"), "{err}");
    assert!(
        !missing.parent().unwrap().exists(),
        "not created behind the operator's back"
    );

    let folder_as_file = dir.path().to_owned();
    let logging = logging_of(&format!(
        "logging:\n  file: {:?}\n",
        folder_as_file.display()
    ));
    let err = logging::build(&logging, None, io::sink, false)
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains("cannot write"), "{err}");
}

#[test]
fn the_example_config_loads_unchanged() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(
        concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../config/registries.yaml.example"
        ),
        dir.path().join("registries.yaml"),
    )
    .unwrap();
    let config = Config::load(dir.path()).unwrap();
    let (_, _, warning) = logging::build(&config.logging, None, io::sink, false).unwrap();
    assert_eq!(warning, None);
}
