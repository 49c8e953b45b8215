//! Heap figures as criterion measurements: bytes and allocations per iteration from the
//! harness's counting allocator, sampled, estimated, stored and compared with the previous run
//! by criterion as it does time.

use std::cell::Cell;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering::Relaxed};
use std::time::Duration;

use criterion::measurement::{Measurement, ValueFormatter};
use criterion::Throughput;
use harness::measure::alloc::{self, ThreadAllocs};
use harness::vocab::units;

/// How long a server-side reading lets the server threads finish their side and park (they
/// publish their counters when they park) before it reads them.
pub(super) const QUIESCE: Duration = Duration::from_millis(50);

/// One heap figure per iteration. The client is the bench thread, the server its runtime's
/// threads (see `support`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Heap {
    /// Bytes the client allocated.
    ClientBytes,
    /// Allocations the client made.
    ClientAllocs,
    /// Bytes the client allocated and had not freed while the steps' outputs were still held:
    /// what a built or a leaked session keeps.
    ClientHeld,
    /// Bytes the server threads allocated.
    ServerBytes,
}

impl Heap {
    pub const ALL: [Heap; 4] = [
        Heap::ClientBytes,
        Heap::ClientAllocs,
        Heap::ClientHeld,
        Heap::ServerBytes,
    ];

    /// The prefix of the figure's benchmark ids, so a filter such as `request/full` selects a
    /// case's time and heap figures together.
    pub fn name(self) -> &'static str {
        match self {
            Heap::ClientBytes => "client-bytes",
            Heap::ClientAllocs => "client-allocs",
            Heap::ClientHeld => "client-held",
            Heap::ServerBytes => "server-bytes",
        }
    }

    fn unit(self) -> &'static str {
        match self {
            Heap::ClientAllocs => "allocs",
            _ => "B",
        }
    }
}

/// The counters at one instant.
#[derive(Debug, Clone, Copy)]
pub struct Counters {
    client: ThreadAllocs,
    server: u64,
    process: u64,
}

impl Measurement for Heap {
    type Intermediate = Counters;
    type Value = f64;

    fn start(&self) -> Counters {
        if *self == Heap::ServerBytes {
            std::thread::sleep(QUIESCE);
        }
        Counters {
            client: alloc::thread_counts().unwrap_or_default(),
            server: server_bytes(),
            process: alloc::heap().map_or(0, |h| h.total_bytes),
        }
    }

    /// The figure since `a`. The server reading also checks that the bench thread is the
    /// whole client: every byte the process allocated meanwhile was allocated on it or on a
    /// server thread (no hidden helper thread, such as a DNS `spawn_blocking`), else it says
    /// how many were not.
    fn end(&self, a: Counters) -> f64 {
        let b = self.start();
        let client = b.client.bytes - a.client.bytes;
        match self {
            Heap::ClientBytes => client as f64,
            Heap::ClientAllocs => (b.client.allocs - a.client.allocs) as f64,
            Heap::ClientHeld => client as f64 - (b.client.freed - a.client.freed) as f64,
            Heap::ServerBytes => {
                let server = b.server - a.server;
                let other = (b.process - a.process) as i64 - (client + server) as i64;
                if other != 0 {
                    eprintln!("note: {other} B allocated on neither the client nor the server");
                }
                server as f64
            }
        }
    }

    fn add(&self, v1: &f64, v2: &f64) -> f64 {
        v1 + v2
    }

    fn zero(&self) -> f64 {
        0.0
    }

    /// Criterion refuses a sample of exactly 0 (it takes one for a broken timer), and a step
    /// that allocates nothing, or frees all it allocates, gives one: the smallest positive
    /// `f64` stands for it, which every output shows as 0.
    fn to_f64(&self, value: &f64) -> f64 {
        if *value == 0.0 {
            f64::MIN_POSITIVE
        } else {
            *value
        }
    }

    fn formatter(&self) -> &dyn ValueFormatter {
        self
    }
}

impl ValueFormatter for Heap {
    /// Exact counts, as the harness prints them: `84,887 B`.
    fn format_value(&self, value: f64) -> String {
        let sign = if value < -0.5 { "-" } else { "" };
        let n = units::count(value.abs().round() as u64);
        format!("{sign}{n} {}", self.unit())
    }

    fn scale_values(&self, typical: f64, values: &mut [f64]) -> &'static str {
        if *self == Heap::ClientAllocs {
            return self.unit();
        }
        let (size, unit) = units::byte_unit(typical);
        values.iter_mut().for_each(|v| *v /= size);
        unit
    }

    fn scale_throughputs(&self, _: f64, _: &Throughput, _: &mut [f64]) -> &'static str {
        self.unit()
    }

    fn scale_for_machines(&self, _: &mut [f64]) -> &'static str {
        self.unit()
    }
}

const SLOTS: usize = 16;
static SERVER_BYTES: [AtomicU64; SLOTS] = [const { AtomicU64::new(0) }; SLOTS];
static NEXT_SLOT: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    static SLOT: Cell<Option<usize>> = const { Cell::new(None) };
}

/// Runs on every server runtime thread at start, park and stop: publishes the thread's
/// cumulative allocated bytes, for [`Heap::ServerBytes`].
pub fn server_thread_checkpoint() {
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
    // A thread beyond SLOTS goes uncounted, and the server reading names its bytes.
    if let Some(i) = slot {
        SERVER_BYTES[i].store(now.bytes, Relaxed);
    }
}

fn server_bytes() -> u64 {
    SERVER_BYTES.iter().map(|a| a.load(Relaxed)).sum()
}
