//! Server-thread allocation counters: every server runtime thread publishes its cumulative
//! allocator counters at start, park and stop, so the bytes pass can charge the server its
//! share.

use std::cell::Cell;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering::Relaxed};

use harness::measure::alloc::{self, ThreadAllocs};

const SLOTS: usize = 16;
static SERVER_BYTES: [AtomicU64; SLOTS] = [const { AtomicU64::new(0) }; SLOTS];
static SERVER_ALLOCS: [AtomicU64; SLOTS] = [const { AtomicU64::new(0) }; SLOTS];
static SERVER_FREED: [AtomicU64; SLOTS] = [const { AtomicU64::new(0) }; SLOTS];
static NEXT_SLOT: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    static SLOT: Cell<Option<usize>> = const { Cell::new(None) };
}

/// Runs on every server runtime thread at start, park and stop: publishes the thread's
/// cumulative allocator counters so the bytes pass can charge the server its share.
pub(super) fn server_thread_checkpoint() {
    let Some(now) = alloc::thread_counts() else {
        return;
    };
    let slot = SLOT.with(|s| match s.get() {
        Some(i) => Some(i),
        None => {
            let i = NEXT_SLOT.fetch_add(1, Relaxed);
            (i < SLOTS).then(|| {
                s.set(Some(i));
                i
            })
        }
    });
    // A thread beyond SLOTS goes uncounted and shows up as "unattributed".
    if let Some(i) = slot {
        SERVER_BYTES[i].store(now.bytes, Relaxed);
        SERVER_ALLOCS[i].store(now.allocs, Relaxed);
        SERVER_FREED[i].store(now.freed, Relaxed);
    }
}

pub(super) fn server_counts() -> ThreadAllocs {
    ThreadAllocs {
        bytes: SERVER_BYTES.iter().map(|a| a.load(Relaxed)).sum(),
        allocs: SERVER_ALLOCS.iter().map(|a| a.load(Relaxed)).sum(),
        freed: SERVER_FREED.iter().map(|a| a.load(Relaxed)).sum(),
    }
}
