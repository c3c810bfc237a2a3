//! Writing a task's log (see [`docker_sync_common::queue::log`]): a lost line is not worth
//! failing a copy for, so errors are logged here and the work goes on.

use docker_sync_common::queue::log::{self, LogLine};
use docker_sync_common::queue::task::TaskMessage;

use crate::parts::Parts;

pub(crate) async fn note(parts: &Parts, msg: &TaskMessage, line: impl Into<String>) {
    write(parts, msg, &[LogLine::now(line)]).await;
}

pub(crate) async fn write(parts: &Parts, msg: &TaskMessage, lines: &[LogLine]) {
    if let Err(e) = log::append(&parts.pool, &parts.keys, &msg.job, &msg.task, lines).await {
        tracing::warn!(task = %msg.task, error = %e, "cannot write the task's log");
    }
}
