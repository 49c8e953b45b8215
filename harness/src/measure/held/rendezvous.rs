//! A two-party barrier that either side can abandon, with a timeout, and that never allocates.
//! Not allocating keeps it out of both sides' heap readings.

use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

/// Longest wait at a rendezvous for the other side: a guard against a hang.
pub(super) const RENDEZVOUS_TIMEOUT: Duration = Duration::from_secs(120);

/// Why a rendezvous was missed.
pub(super) enum Missed {
    Abandoned,
    TimedOut,
}

/// A two-party barrier that either party can abandon, so that a side that fails never leaves
/// the other waiting. A `std` mutex and condition variable: no allocation at any point, so
/// neither side is charged for it.
#[derive(Default)]
pub(super) struct Rendezvous {
    state: Mutex<Meeting>,
    cv: Condvar,
}

#[derive(Default)]
struct Meeting {
    /// Parties waiting at the current rendezvous (0 or 1).
    waiting: u8,
    /// Rendezvous completed so far.
    generation: u64,
    abandoned: bool,
}

impl Rendezvous {
    fn lock(&self) -> std::sync::MutexGuard<'_, Meeting> {
        // Poisoning would need a panic while holding the lock, and nothing here panics; the
        // state stays consistent either way.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub(super) fn wait(&self) -> Result<(), Missed> {
        let mut g = self.lock();
        if g.abandoned {
            return Err(Missed::Abandoned);
        }
        if g.waiting == 1 {
            g.waiting = 0;
            g.generation += 1;
            self.cv.notify_all();
            return Ok(());
        }
        g.waiting = 1;
        let generation = g.generation;
        let deadline = Instant::now() + RENDEZVOUS_TIMEOUT;
        loop {
            if g.generation != generation {
                return Ok(());
            }
            if g.abandoned {
                return Err(Missed::Abandoned);
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(Missed::TimedOut);
            }
            g = self
                .cv
                .wait_timeout(g, left)
                .map(|(g, _)| g)
                .unwrap_or_else(|p| p.into_inner().0);
        }
    }

    pub(super) fn abandon(&self) {
        self.lock().abandoned = true;
        self.cv.notify_all();
    }
}

/// Abandons the rendezvous when a side's thread ends, a panic included.
pub(super) struct AbandonOnExit(pub(super) Arc<Rendezvous>);

impl Drop for AbandonOnExit {
    fn drop(&mut self) {
        self.0.abandon();
    }
}
