//! Process plumbing both binaries share: log setup and signal handling.
//!
//! Logs always go to stdout (what a container runtime collects); with `logging.file` they also
//! go to that file, rotated by size ([`file`]). The format is `--log-json` /
//! `DOCKER_SYNC_LOG_JSON` when given (env and flag over the file), else `logging.format`; the
//! level is `RUST_LOG` when set, else `logging.level`.

use tokio_util::sync::CancellationToken;
use tracing_appender::non_blocking::WorkerGuard;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::{EnvFilter, Layer, Registry};

use crate::config::{LogFormat, LoggingConfig};

mod escaped;
pub mod file;

pub use escaped::EscapedFields;
pub use file::LogFileError;

/// Keeps the log file's writer thread alive: dropped at the end of `main`, it writes out what
/// is still queued, so the last lines before an exit are not lost.
#[must_use = "dropping the guard stops writing the log file"]
pub struct LogGuard {
    _file: Option<WorkerGuard>,
}

type BoxedLayer = Box<dyn Layer<Registry> + Send + Sync>;

/// Installs the process's logger; see the module's text for where its settings come from.
pub fn init(logging: &LoggingConfig, json: Option<bool>) -> Result<LogGuard, LogFileError> {
    let colour = std::io::IsTerminal::is_terminal(&std::io::stdout());
    let (subscriber, guard, warning) = build(logging, json, std::io::stdout, colour)?;
    tracing::subscriber::set_global_default(subscriber)
        .expect("the logger is installed once, first thing in main");
    if let Some(warning) = warning {
        tracing::warn!("{warning}");
    }
    Ok(guard)
}

/// The logger [`init`] installs, writing its stdout part to `stdout`; with a warning to log
/// once it is in place. Apart so tests can read what a configuration writes.
pub fn build<W>(
    logging: &LoggingConfig,
    json: Option<bool>,
    stdout: W,
    colour: bool,
) -> Result<
    (
        impl tracing::Subscriber + Send + Sync,
        LogGuard,
        Option<String>,
    ),
    LogFileError,
>
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new(logging.filter_directive()));
    let (from_file, warning) = logging.format();
    let (format, warning) = match json {
        Some(true) => (LogFormat::Json, None),
        Some(false) => (LogFormat::Text, None),
        None => (from_file, warning),
    };
    // Colours only for a person at a terminal: in a file or a collector they are noise that
    // breaks every grep.
    let mut layers = vec![layer(format, colour, stdout)];
    let mut guard = LogGuard { _file: None };
    if let Some(path) = &logging.file {
        let writer = file::open(path, logging.max_bytes(), logging.backups())?;
        let (writer, worker) = tracing_appender::non_blocking::NonBlockingBuilder::default()
            // A full queue waits rather than drops: the file is the record someone reads later.
            .lossy(false)
            .thread_name("log-file")
            .finish(writer);
        layers.push(layer(format, false, writer));
        guard._file = Some(worker);
    }
    let subscriber = Registry::default().with(layers).with(filter);
    Ok((subscriber, guard, warning))
}

fn layer<W>(format: LogFormat, colour: bool, writer: W) -> BoxedLayer
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    let layer = tracing_subscriber::fmt::layer().with_writer(writer);
    match format {
        LogFormat::Json => layer.json().with_ansi(false).boxed(),
        LogFormat::Text => layer
            .with_ansi(colour)
            .fmt_fields(EscapedFields::default())
            .boxed(),
    }
}

/// Cancels `token` on SIGTERM (Kubernetes) or SIGINT (Ctrl-C).
pub async fn cancel_on_signal(token: CancellationToken) {
    use tokio::signal::unix::{signal, SignalKind};
    let (Ok(mut term), Ok(mut int)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) else {
        tracing::error!("cannot install signal handlers");
        return;
    };
    let name = tokio::select! {
        _ = term.recv() => "SIGTERM",
        _ = int.recv() => "SIGINT",
    };
    tracing::info!(signal = name, "shutting down");
    token.cancel();
}
