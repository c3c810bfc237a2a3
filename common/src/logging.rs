//! Process plumbing both binaries share: log setup and signal handling.

use tokio_util::sync::CancellationToken;
use tracing_subscriber::EnvFilter;

use crate::config::LoggingConfig;

/// `RUST_LOG`, when set, wins over `logging.level` from registries.yaml (env last).
pub fn init(logging: &LoggingConfig, json: bool) {
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new(logging.filter_directive()));
    // Colours only for a person at a terminal: in a log file or a collector they are noise
    // that breaks every grep.
    let colour = std::io::IsTerminal::is_terminal(&std::io::stdout());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(colour);
    if json {
        builder.json().init();
    } else {
        builder.init();
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
