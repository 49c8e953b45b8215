//! Why a load stopped early, and the thresholds it stops at.

use std::time::Duration;

use crate::tls::session::FailureKind;

/// A start this much after its scheduled time counts as late.
pub const LATE_THRESHOLD: Duration = Duration::from_millis(2);
/// Starts are still made this long after the planned end (a start scheduled just before the
/// end may come a timer tick late); later ones count as not started: the machine fell behind.
pub const END_GRACE: Duration = Duration::from_millis(100);
/// Descriptors kept free below the limit when leak mode decides to stop.
pub const FD_HEADROOM: u64 = 64;
/// Requests in flight under the virtual clock: enough to keep both cores busy.
pub const VIRTUAL_IN_FLIGHT: usize = 8;

/// Why a mode's load stopped before its schedule ended. Its `Display` is the stable text
/// published as `stopped_early`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StopReason {
    /// Ctrl-C, SIGTERM, or the parent closed the worker's stdin.
    #[error("interrupted")]
    Interrupted,
    #[error("fell behind: all {slots} request slots (--max-in-flight) stayed busy until the end; {started} of {planned} requests started")]
    SlotsBusy {
        slots: usize,
        started: u64,
        planned: u64,
    },
    /// The machine could not start requests as fast as scheduled.
    #[error("fell behind: {started} of {planned} requests started within the duration")]
    FellBehind { started: u64, planned: u64 },
    #[error(
        "leak: stopped after {started} sessions at the --max-open bound of {max} open connections"
    )]
    MaxOpen { started: u64, max: u64 },
    #[error("leak: stopped after {started} sessions, before the file-descriptor limit: {open} connections open, RLIMIT_NOFILE soft limit {soft} (hard {hard}); raise it with `ulimit -n` or lower --rate/--seconds")]
    FdLimit {
        started: u64,
        open: u64,
        soft: u64,
        hard: u64,
    },
    /// Shared and resume: the one session could not be built.
    #[error("could not build the session: {0}")]
    NoSession(FailureKind),
}
