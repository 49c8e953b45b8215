//! A cheap counting global allocator: the source of every heap figure the harness prints.
//!
//! It wraps the system allocator and keeps, with relaxed atomics, the live heap bytes and the
//! cumulative bytes and allocations since the process started, plus the same cumulative
//! counts per thread (so a synchronous piece of work, such as building a session, can be
//! charged exactly the bytes it allocated even while other threads allocate too).
//! dhat's backtrace-recording allocator is far more expensive and is kept out of timed runs.
//!
//! The binary installs it with `#[global_allocator]`; in a process that does not (a test
//! binary, say), [`is_installed`] is false and every reading is reported as not measured.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};

static LIVE: AtomicU64 = AtomicU64::new(0);
static TOTAL_BYTES: AtomicU64 = AtomicU64::new(0);
static TOTAL_ALLOCS: AtomicU64 = AtomicU64::new(0);
static INSTALLED: AtomicBool = AtomicBool::new(false);
static VIA_DHAT: AtomicBool = AtomicBool::new(false);

thread_local! {
    static THREAD_BYTES: Cell<u64> = const { Cell::new(0) };
    static THREAD_ALLOCS: Cell<u64> = const { Cell::new(0) };
    static THREAD_FREED: Cell<u64> = const { Cell::new(0) };
}

/// The counting allocator. Install with `#[global_allocator] static A: CountingAlloc = CountingAlloc;`.
pub struct CountingAlloc;

#[inline]
fn on_alloc(size: usize) {
    INSTALLED.store(true, Relaxed);
    LIVE.fetch_add(size as u64, Relaxed);
    TOTAL_BYTES.fetch_add(size as u64, Relaxed);
    TOTAL_ALLOCS.fetch_add(1, Relaxed);
    // `try_with`: thread-locals are gone while a thread is being torn down.
    let _ = THREAD_BYTES.try_with(|c| c.set(c.get() + size as u64));
    let _ = THREAD_ALLOCS.try_with(|c| c.set(c.get() + 1));
}

#[inline]
fn on_dealloc(size: usize) {
    LIVE.fetch_sub(size as u64, Relaxed);
    let _ = THREAD_FREED.try_with(|c| c.set(c.get() + size as u64));
}

/// Routes every later allocation through dhat's profiling allocator as well, for `--dhat`.
/// Call once, early in a worker, before starting a `dhat::Profiler`; never undone. dhat
/// passes through to the system allocator and ignores frees of blocks it never saw, so the
/// switch is safe mid-process. It slows allocation a lot: runs with it are not timed runs.
pub fn route_through_dhat() {
    VIA_DHAT.store(true, Relaxed);
}

#[inline]
fn inner() -> &'static dyn GlobalAlloc {
    if VIA_DHAT.load(Relaxed) {
        &dhat::Alloc
    } else {
        &System
    }
}

// SAFETY: every method forwards to `System` (directly or through dhat, which forwards to
// `System`) with the caller's arguments unchanged; the counters are side effects only.
unsafe impl GlobalAlloc for CountingAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { inner().alloc(layout) };
        if !p.is_null() {
            on_alloc(layout.size());
        }
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { inner().alloc_zeroed(layout) };
        if !p.is_null() {
            on_alloc(layout.size());
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { inner().dealloc(ptr, layout) };
        on_dealloc(layout.size());
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let p = unsafe { inner().realloc(ptr, layout, new_size) };
        if !p.is_null() {
            on_dealloc(layout.size());
            on_alloc(new_size);
        }
        p
    }
}

/// Process-wide heap counters at one instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct HeapStats {
    /// Bytes allocated and not yet freed.
    pub live_bytes: u64,
    /// Bytes allocated since the process started (a realloc counts its new size).
    pub total_bytes: u64,
    /// Allocations since the process started (a realloc counts as one).
    pub total_allocs: u64,
}

/// Whether the counting allocator is the global allocator of this process.
pub fn is_installed() -> bool {
    INSTALLED.load(Relaxed)
}

/// The process-wide counters now, or `None` when the counting allocator is not installed.
pub fn heap() -> Option<HeapStats> {
    is_installed().then(|| HeapStats {
        live_bytes: LIVE.load(Relaxed),
        total_bytes: TOTAL_BYTES.load(Relaxed),
        total_allocs: TOTAL_ALLOCS.load(Relaxed),
    })
}

/// Bytes and allocations made by the current thread between two points.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ThreadAllocs {
    pub bytes: u64,
    pub allocs: u64,
    /// Bytes freed on this thread (a realloc frees its old size).
    pub freed: u64,
}

/// Runs `f` and returns what it allocated on this thread. Exact for synchronous work, whatever
/// other threads do meanwhile; `None` when the counting allocator is not installed.
pub fn measure_thread<T>(f: impl FnOnce() -> T) -> (T, Option<ThreadAllocs>) {
    let before = thread_counts_raw();
    let out = f();
    let after = thread_counts_raw();
    let counted = is_installed().then_some(ThreadAllocs {
        bytes: after.bytes - before.bytes,
        allocs: after.allocs - before.allocs,
        freed: after.freed - before.freed,
    });
    (out, counted)
}

/// This thread's cumulative bytes and allocations, or `None` when the counting allocator is
/// not installed. Subtract two readings to charge work done on one thread (for example a
/// current-thread tokio runtime driving a client) while other threads allocate freely.
pub fn thread_counts() -> Option<ThreadAllocs> {
    is_installed().then(thread_counts_raw)
}

fn thread_counts_raw() -> ThreadAllocs {
    ThreadAllocs {
        bytes: THREAD_BYTES.with(Cell::get),
        allocs: THREAD_ALLOCS.with(Cell::get),
        freed: THREAD_FREED.with(Cell::get),
    }
}
