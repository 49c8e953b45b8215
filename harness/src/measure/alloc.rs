//! The counting global allocator behind every heap figure, OpenSSL's heap counted alongside.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};

/// Process-wide counters of one heap, relaxed atomics.
struct Counters {
    live: AtomicU64,
    total_bytes: AtomicU64,
    total_allocs: AtomicU64,
}

impl Counters {
    const fn new() -> Self {
        Self {
            live: AtomicU64::new(0),
            total_bytes: AtomicU64::new(0),
            total_allocs: AtomicU64::new(0),
        }
    }

    #[inline]
    fn alloc(&self, size: usize) {
        self.live.fetch_add(size as u64, Relaxed);
        self.total_bytes.fetch_add(size as u64, Relaxed);
        self.total_allocs.fetch_add(1, Relaxed);
    }

    fn read(&self) -> HeapStats {
        HeapStats {
            live_bytes: self.live.load(Relaxed),
            total_bytes: self.total_bytes.load(Relaxed),
            total_allocs: self.total_allocs.load(Relaxed),
        }
    }
}

/// Every allocation, Rust's and (when counted) OpenSSL's.
static HEAP: Counters = Counters::new();
/// False in a process that does not install the allocator (a test binary): nothing measured.
static INSTALLED: AtomicBool = AtomicBool::new(false);
static VIA_DHAT: AtomicBool = AtomicBool::new(false);

thread_local! {
    static THREAD: Cell<ThreadAllocs> = const {
        Cell::new(ThreadAllocs { bytes: 0, allocs: 0, freed: 0 })
    };
}

/// The counting allocator. Install with `#[global_allocator] static A: CountingAlloc = CountingAlloc;`.
pub struct CountingAlloc;

/// Updates this thread's counters; `try_with`: thread-locals are gone while a thread is torn down.
#[inline]
fn on_thread(f: impl FnOnce(&mut ThreadAllocs)) {
    let _ = THREAD.try_with(|c| {
        let mut t = c.get();
        f(&mut t);
        c.set(t);
    });
}

#[inline]
fn count_alloc(size: usize) {
    HEAP.alloc(size);
    on_thread(|t| {
        t.bytes += size as u64;
        t.allocs += 1;
    });
}

/// Counts a block of `size` bytes the program got, and passes its pointer on.
#[inline]
fn on_alloc((p, counted): (*mut u8, bool), size: usize) -> *mut u8 {
    if counted && !p.is_null() {
        INSTALLED.store(true, Relaxed);
        count_alloc(size);
    }
    p
}

#[inline]
fn on_dealloc(size: usize) {
    HEAP.live.fetch_sub(size as u64, Relaxed);
    on_thread(|t| t.freed += size as u64);
}

/// dhat's profiler while a `--dhat` profile is being recorded ([`start_dhat`], [`finish_dhat`]).
static DHAT: std::sync::Mutex<Option<dhat::Profiler>> = std::sync::Mutex::new(None);

/// Stack frames dhat records per site (its default: 10): enough to reach the library frame
/// that owns an allocation in a debug build, for `breakdown::RULES`.
pub const DHAT_FRAMES: usize = 64;

/// Starts dhat's heap profiler (`--breakdown`), which [`finish_dhat`] writes to `file`. Never
/// undone, and safe mid-process: dhat ignores frees it never saw (docs/method-breakdown.md).
pub fn start_dhat(file: &std::path::Path) {
    VIA_DHAT.store(true, Relaxed);
    let p = in_dhat(|| {
        dhat::Profiler::builder()
            .file_name(file)
            .trim_backtraces(Some(DHAT_FRAMES))
            .build()
    });
    *DHAT.lock().unwrap_or_else(|e| e.into_inner()) = Some(p);
}

/// Ends and writes the dhat profile (the bytes live now are its "at end" figures); does
/// nothing when none is being recorded, so both the load and the exiting worker call it.
pub fn finish_dhat() {
    let p = DHAT.lock().unwrap_or_else(|e| e.into_inner()).take();
    in_dhat(|| drop(p));
}

thread_local! {
    /// True while this thread is inside dhat (an allocator call, its profiler's start or end).
    static IN_DHAT: Cell<bool> = const { Cell::new(false) };
}

/// Runs `f` as dhat's own work on this thread: what it allocates and frees is not counted.
fn in_dhat<R>(f: impl FnOnce() -> R) -> R {
    let was = IN_DHAT.try_with(|c| c.replace(true)).unwrap_or(true);
    let r = f();
    if !was {
        let _ = IN_DHAT.try_with(|c| c.set(false));
    }
    r
}

/// Makes one allocator call beneath the counters, and says whether it is the program's own:
/// dhat's bookkeeping goes to `System` uncounted, so dhat changes no count.
#[inline]
fn beneath<R>(f: impl FnOnce(&dyn GlobalAlloc) -> R) -> (R, bool) {
    if !VIA_DHAT.load(Relaxed) {
        return (f(&System), true);
    }
    match IN_DHAT.try_with(Cell::get) {
        Ok(true) => (f(&System), false),
        // A thread being torn down has no thread-locals; dhat guards its own re-entry.
        _ => (in_dhat(|| f(&dhat::Alloc)), true),
    }
}

// SAFETY: every method forwards to `System` (directly or through dhat, which forwards to
// `System`) with the caller's arguments unchanged, so the caller's contract is the one
// `System` needs; the counters are side effects only.
unsafe impl GlobalAlloc for CountingAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        on_alloc(beneath(|a| a.alloc(layout)), layout.size())
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        on_alloc(beneath(|a| a.alloc_zeroed(layout)), layout.size())
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        let ((), counted) = beneath(|a| a.dealloc(ptr, layout));
        if counted {
            on_dealloc(layout.size());
        }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let (p, counted) = beneath(|a| a.realloc(ptr, layout, new_size));
        if counted && !p.is_null() {
            on_dealloc(layout.size());
        }
        on_alloc((p, counted), new_size)
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
    is_installed().then(|| HEAP.read())
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
    let before = THREAD.with(Cell::get);
    let out = f();
    let after = THREAD.with(Cell::get);
    let counted = is_installed().then_some(ThreadAllocs {
        bytes: after.bytes - before.bytes,
        allocs: after.allocs - before.allocs,
        freed: after.freed - before.freed,
    });
    (out, counted)
}

/// This thread's cumulative counts (`None`: allocator not installed): two readings charge
/// work done on one thread, a current-thread runtime's say, while other threads allocate.
pub fn thread_counts() -> Option<ThreadAllocs> {
    is_installed().then(|| THREAD.with(Cell::get))
}

// OpenSSL allocates with C `malloc`, which the Rust global allocator never sees: `count_openssl`
// gives it functions that add to these counters and OpenSSL's own.

static OPENSSL_HOOKED: AtomicBool = AtomicBool::new(false);
static OPENSSL: Counters = Counters::new();

thread_local! {
    static THREAD_OPENSSL_BYTES: Cell<u64> = const { Cell::new(0) };
}

/// Why OpenSSL's allocations cannot be counted.
#[derive(Debug, thiserror::Error)]
pub enum OpensslCountError {
    /// OpenSSL refuses a new allocator once it has allocated: nothing is counted, not a part.
    #[error("OpenSSL had already allocated before its allocator could be replaced")]
    TooLate,
    #[error("{}", crate::vocab::client::NATIVE_TLS_NOT_BUILT)]
    NotBuilt,
}

/// Routes every later OpenSSL allocation through the counters; call before anything uses
/// OpenSSL. Idempotent.
pub fn count_openssl() -> Result<(), OpensslCountError> {
    if OPENSSL_HOOKED.load(Relaxed) {
        return Ok(());
    }
    #[cfg(not(feature = "native-tls"))]
    return Err(OpensslCountError::NotBuilt);
    #[cfg(feature = "native-tls")]
    openssl_hook::install()
}

/// OpenSSL's share of the heap, the sizes it asked for (headers not included); `None` when its
/// allocator was not replaced.
pub fn openssl_heap() -> Option<HeapStats> {
    OPENSSL_HOOKED.load(Relaxed).then(|| OPENSSL.read())
}

/// Bytes OpenSSL allocated on this thread (cumulative); `None` when not counted.
pub fn thread_openssl_bytes() -> Option<u64> {
    OPENSSL_HOOKED
        .load(Relaxed)
        .then(|| THREAD_OPENSSL_BYTES.with(Cell::get))
}

/// The functions OpenSSL allocates through once [`count_openssl`] has installed them. Each
/// block carries a header holding its size: OpenSSL's free and realloc do not pass it.
#[cfg(feature = "native-tls")]
mod openssl_hook {
    use super::*;
    use libc::{c_char, c_int, c_void};

    /// Size header in front of every block handed to OpenSSL. 16 keeps the block at malloc's
    /// alignment on 64-bit targets (OpenSSL stores `long double`-aligned data in some blocks).
    const HEADER: usize = 16;
    const ALIGN: usize = 16;

    type Malloc = unsafe extern "C" fn(usize, *const c_char, c_int) -> *mut c_void;
    type Realloc = unsafe extern "C" fn(*mut c_void, usize, *const c_char, c_int) -> *mut c_void;
    type Free = unsafe extern "C" fn(*mut c_void, *const c_char, c_int);

    // OpenSSL ≥ 1.1.0; not declared by openssl-sys, which links libcrypto for us.
    use openssl_sys as _;
    extern "C" {
        fn CRYPTO_set_mem_functions(m: Malloc, r: Realloc, f: Free) -> c_int;
    }

    pub(super) fn install() -> Result<(), OpensslCountError> {
        // SAFETY: the three functions keep malloc/realloc/free's contract (null on failure);
        // OpenSSL refuses them once it has allocated.
        let ok = unsafe { CRYPTO_set_mem_functions(ossl_malloc, ossl_realloc, ossl_free) };
        if ok == 1 {
            OPENSSL_HOOKED.store(true, Relaxed);
            Ok(())
        } else {
            Err(OpensslCountError::TooLate)
        }
    }

    fn ossl_layout(size: usize) -> Option<Layout> {
        Layout::from_size_align(size.checked_add(HEADER)?, ALIGN).ok()
    }

    fn ossl_counted(size: usize) {
        count_alloc(size);
        OPENSSL.alloc(size);
        let _ = THREAD_OPENSSL_BYTES.try_with(|c| c.set(c.get() + size as u64));
    }

    fn ossl_uncounted(size: usize) {
        on_dealloc(size);
        OPENSSL.live.fetch_sub(size as u64, Relaxed);
    }

    /// The block's start and the size OpenSSL asked for. Safety: `p` came from `ossl_malloc`
    /// or `ossl_realloc` and is not freed.
    unsafe fn ossl_block(p: *mut c_void) -> (*mut u8, usize) {
        // SAFETY: the header sits HEADER bytes before `p`, in the same block.
        let base = (p as *mut u8).sub(HEADER);
        (base, (base as *const usize).read())
    }

    unsafe extern "C" fn ossl_malloc(size: usize, _: *const c_char, _: c_int) -> *mut c_void {
        // OpenSSL's own CRYPTO_malloc answers 0 bytes with null; so does this.
        let Some(layout) = ossl_layout(size).filter(|_| size > 0) else {
            return std::ptr::null_mut();
        };
        // SAFETY: a non-zero size and a valid alignment.
        let (base, _) = beneath(|a| a.alloc(layout));
        if base.is_null() {
            return base.cast();
        }
        // SAFETY: the block is at least HEADER bytes and ALIGN-aligned.
        (base as *mut usize).write(size);
        ossl_counted(size);
        base.add(HEADER).cast()
    }

    unsafe extern "C" fn ossl_realloc(
        p: *mut c_void,
        size: usize,
        file: *const c_char,
        line: c_int,
    ) -> *mut c_void {
        if p.is_null() {
            return ossl_malloc(size, file, line);
        }
        if size == 0 {
            ossl_free(p, file, line);
            return std::ptr::null_mut();
        }
        let Some(new_layout) = ossl_layout(size) else {
            return std::ptr::null_mut();
        };
        // SAFETY: OpenSSL hands back only pointers this module returned.
        let (base, old) = ossl_block(p);
        let Some(old_layout) = ossl_layout(old) else {
            return std::ptr::null_mut();
        };
        // SAFETY: `base` was allocated with `old_layout` by `beneath`.
        let (nb, _) = beneath(|a| a.realloc(base, old_layout, new_layout.size()));
        if nb.is_null() {
            return nb.cast();
        }
        // SAFETY: the new block is at least HEADER bytes and ALIGN-aligned.
        (nb as *mut usize).write(size);
        ossl_uncounted(old);
        ossl_counted(size);
        nb.add(HEADER).cast()
    }

    unsafe extern "C" fn ossl_free(p: *mut c_void, _: *const c_char, _: c_int) {
        if p.is_null() {
            return;
        }
        // SAFETY: OpenSSL hands back only pointers this module returned.
        let (base, size) = ossl_block(p);
        if let Some(layout) = ossl_layout(size) {
            // SAFETY: `base` was allocated with this layout by `beneath`.
            beneath(|a| a.dealloc(base, layout));
            ossl_uncounted(size);
        }
    }
}
