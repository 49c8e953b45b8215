//! Waiting, by yielding, until dropped connections close or spawned tasks end.

use std::time::{Duration, Instant};

use tokio::runtime::Handle;

use crate::tls::connector::ConnStats;

/// How long to wait before giving up: only something stuck takes ten seconds.
pub const LIMIT: Duration = Duration::from_secs(10);

/// Yields between checks of the clock, which costs more than a yield.
const SPINS_PER_CLOCK_CHECK: u32 = 1024;

/// Why waiting stopped before its target was reached.
#[derive(Debug, thiserror::Error)]
pub enum SettleError {
    #[error("connections did not close within {LIMIT:?}: {open} open, expected at most {target}")]
    Connections { open: u64, target: u64 },
    #[error("tasks did not finish within {LIMIT:?}: {alive} alive, expected at most {target}")]
    Tasks { alive: usize, target: usize },
    #[error("not inside a tokio runtime, so there are no tasks to count")]
    NoRuntime,
}

/// Yields until at most `target` of `stats`' connections are open: a dropped session's socket
/// closes only when its connection task runs. The server's counters stand in for a client
/// whose connections are not visible (reqwest).
pub async fn connections(stats: &ConnStats, target: u64) -> Result<(), SettleError> {
    wait_until(|| stats.open() <= target)
        .await
        .map_err(|()| SettleError::Connections {
            open: stats.open(),
            target,
        })
}

/// Yields until at most `target` tasks are alive on the current runtime: how to know a dropped
/// reqwest client has closed its connections (their tasks end once they have).
pub async fn tasks(target: usize) -> Result<(), SettleError> {
    let handle = Handle::try_current().map_err(|_| SettleError::NoRuntime)?;
    let alive = || handle.metrics().num_alive_tasks();
    wait_until(|| alive() <= target)
        .await
        .map_err(|()| SettleError::Tasks {
            alive: alive(),
            target,
        })
}

/// Tasks alive on the current runtime (a target for [`tasks`]); `None` outside one.
pub fn alive_tasks() -> Option<usize> {
    Handle::try_current()
        .ok()
        .map(|h| h.metrics().num_alive_tasks())
}

/// Yields until `done()`; `Err` after [`LIMIT`].
async fn wait_until(mut done: impl FnMut() -> bool) -> Result<(), ()> {
    let t0 = Instant::now();
    let mut spins = 0u32;
    while !done() {
        tokio::task::yield_now().await;
        spins = spins.wrapping_add(1);
        if spins.is_multiple_of(SPINS_PER_CLOCK_CHECK) && t0.elapsed() > LIMIT {
            return Err(());
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::Ordering::Relaxed;
    use std::sync::Arc;

    #[tokio::test(flavor = "current_thread")]
    async fn connections_returns_once_a_task_closes_them() {
        let stats = Arc::new(ConnStats::default());
        stats.opened.store(2, Relaxed);
        let closer = stats.clone();
        tokio::spawn(async move {
            for _ in 0..2 {
                tokio::task::yield_now().await;
                closer.closed.fetch_add(1, Relaxed);
            }
        });
        connections(&stats, 0).await.expect("settles");
        assert_eq!(stats.open(), 0);
    }

    #[tokio::test(flavor = "current_thread")]
    async fn tasks_waits_for_spawned_tasks_to_end() {
        let before = alive_tasks().expect("inside a runtime");
        for _ in 0..3 {
            tokio::spawn(async {
                tokio::task::yield_now().await;
            });
        }
        assert!(alive_tasks().expect("runtime") >= before + 3);
        tasks(before).await.expect("settles");
        assert!(alive_tasks().expect("runtime") <= before);
    }

    #[test]
    fn outside_a_runtime_there_are_no_tasks_to_count() {
        assert_eq!(alive_tasks(), None);
    }
}
