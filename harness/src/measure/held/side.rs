//! One side of a pass on its own thread and current-thread runtime, and the context its code
//! carries (pass and side for errors, a hang guard per step, the rendezvous).

use std::future::Future;
use std::io;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use crate::measure::held::error::{HeldError, Pass, Side, Step, Which};
use crate::measure::held::rendezvous::{AbandonOnExit, Missed, Rendezvous, RENDEZVOUS_TIMEOUT};

/// Longest wait for one step of one connection (connect, handshake, a read…): only a guard
/// against a hang, never a measurement.
const STEP_TIMEOUT: Duration = Duration::from_secs(30);

/// Live-byte growth of a side's thread over its held connections; `None` when not measured.
pub(super) type Delta = Option<i64>;

/// What a side's code needs: where it is, for errors, and the rendezvous.
pub(super) struct SideCtx {
    pass: Pass,
    side: Side,
    rv: Arc<Rendezvous>,
}

impl SideCtx {
    /// Marks the rendezvous abandoned, so the other side stops waiting, and returns `e`.
    pub(super) fn fail(&self, e: HeldError) -> HeldError {
        self.rv.abandon();
        e
    }

    /// Runs one step of one connection with a hang guard, naming it in any error.
    pub(super) async fn step<T>(
        &self,
        which: Which,
        step: Step,
        fut: impl Future<Output = io::Result<T>>,
    ) -> Result<T, HeldError> {
        let out = tokio::time::timeout(STEP_TIMEOUT, fut)
            .await
            .unwrap_or_else(|_| {
                Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    format!("no progress within {} s", STEP_TIMEOUT.as_secs()),
                ))
            });
        out.map_err(|source| {
            self.fail(HeldError::Io {
                pass: self.pass,
                side: self.side,
                which,
                step,
                source,
            })
        })
    }

    /// Waits until the other side reaches the same point.
    pub(super) fn meet(&self) -> Result<(), HeldError> {
        self.rv.wait().map_err(|why| {
            self.fail(match why {
                Missed::Abandoned => HeldError::Abandoned {
                    pass: self.pass,
                    side: self.side,
                },
                Missed::TimedOut => HeldError::Stalled {
                    pass: self.pass,
                    side: self.side,
                    waited: RENDEZVOUS_TIMEOUT,
                },
            })
        })
    }
}

/// Starts one side: its own OS thread and current-thread runtime, `body` run to completion on
/// it. The rendezvous is marked abandoned when the thread ends, however it ends (after both
/// sides are done nobody waits any more, and after a failure or a panic the other side must
/// stop waiting).
pub(super) fn spawn_side<F, Fut>(
    pass: Pass,
    side: Side,
    rv: Arc<Rendezvous>,
    body: F,
) -> Result<JoinHandle<Result<Delta, HeldError>>, HeldError>
where
    F: FnOnce(SideCtx) -> Fut + Send + 'static,
    Fut: Future<Output = Result<Delta, HeldError>>,
{
    std::thread::Builder::new()
        .name(format!("held-{side}"))
        .spawn(move || {
            let _abandon = AbandonOnExit(rv.clone());
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|source| HeldError::Runtime { pass, side, source })?;
            rt.block_on(body(SideCtx { pass, side, rv }))
        })
        .map_err(|source| HeldError::Spawn { pass, side, source })
}

pub(super) fn join(
    pass: Pass,
    side: Side,
    handle: JoinHandle<Result<Delta, HeldError>>,
) -> Result<Delta, HeldError> {
    handle.join().unwrap_or_else(|panic| {
        let message = panic
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "(no message)".into());
        Err(HeldError::Panicked {
            pass,
            side,
            message,
        })
    })
}
