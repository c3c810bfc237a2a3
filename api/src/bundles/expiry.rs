//! Removes bundles older than `--downloads-retention-days`, once at start and then hourly. Every
//! api replica sweeps the shared folder; a bundle another one removed first is simply gone.

use std::time::{Duration, SystemTime};

use tokio_util::sync::CancellationToken;

use crate::state::AppState;

const EVERY: Duration = Duration::from_secs(3600);

pub fn spawn(state: AppState, shutdown: CancellationToken) {
    tokio::spawn(async move {
        loop {
            let downloads = state.downloads.clone();
            let keep = state.downloads_retention;
            match tokio::task::spawn_blocking(move || downloads.expire(keep, SystemTime::now()))
                .await
            {
                Ok(Ok(removed)) if !removed.is_empty() => {
                    tracing::info!(bundles = ?removed, "removed bundles past their retention");
                }
                Ok(Ok(_)) => {}
                Ok(Err(e)) => tracing::warn!(error = %e, "cannot expire old bundles"),
                Err(e) => tracing::warn!(error = %e, "bundle expiry stopped"),
            }
            tokio::select! {
                _ = tokio::time::sleep(EVERY) => {}
                _ = shutdown.cancelled() => return,
            }
        }
    });
}
