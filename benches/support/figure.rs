//! The suite's figures as one criterion measurement: wall time and the counting allocator's.

use std::cell::Cell;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering::Relaxed};
use std::time::{Duration, Instant};

use criterion::measurement::{Measurement, ValueFormatter, WallTime};
use criterion::{Criterion, Throughput};
use harness::measure::alloc::{self, ThreadAllocs};
use harness::vocab::units;

/// How long a server-side reading lets the server threads park (publishing their counters).
const QUIESCE: Duration = Duration::from_millis(50);

/// One figure per iteration, each its own criterion instance, so criterion samples, stores and
/// compares it as it does time (docs/benchmarks.md, "Benchmarks").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Figure {
    /// Wall time, as criterion's `WallTime` measures and prints it.
    Time,
    /// Bytes the client allocated.
    ClientBytes,
    /// Allocations the client made.
    ClientAllocs,
    /// Bytes the client allocated and had not freed while the steps' outputs were held.
    ClientHeld,
    /// Bytes the server threads allocated.
    ServerBytes,
}

impl Figure {
    pub const ALL: [Figure; 5] = [
        Figure::Time,
        Figure::ClientBytes,
        Figure::ClientAllocs,
        Figure::ClientHeld,
        Figure::ServerBytes,
    ];

    /// The group `name` in this figure, prefixed unless time, so a filter such as
    /// `request/full` selects a case's figures together.
    pub fn group(self, name: &str) -> String {
        let prefix = match self {
            Figure::Time => return name.to_string(),
            Figure::ClientBytes => "client-bytes",
            Figure::ClientAllocs => "client-allocs",
            Figure::ClientHeld => "client-held",
            Figure::ServerBytes => "server-bytes",
        };
        format!("{prefix}/{name}")
    }

    /// Heap figures are deterministic or nearly, so 10 short samples show them and their
    /// spread; `server-bytes` takes two quiesces per sample. The command line overrides these.
    pub fn criterion(self) -> Criterion<Figure> {
        let ms = Duration::from_millis;
        let (samples, warm_up, measurement) = match self {
            Figure::Time => (20, Duration::from_secs(1), Duration::from_secs(2)),
            Figure::ServerBytes => (10, ms(100), QUIESCE * 2 * 12),
            _ => (10, ms(100), ms(300)),
        };
        Criterion::default()
            .with_measurement(self)
            .without_plots()
            .sample_size(samples)
            .warm_up_time(warm_up)
            .measurement_time(measurement)
            .configure_from_args()
    }

    fn unit(self) -> &'static str {
        match self {
            Figure::ClientAllocs => "allocs",
            _ => "B",
        }
    }
}

/// The clock and the counters at one instant.
#[derive(Debug, Clone, Copy)]
pub struct Counters {
    client: ThreadAllocs,
    server: u64,
    process: u64,
    at: Instant,
}

impl Measurement for Figure {
    type Intermediate = Counters;
    type Value = f64;

    fn start(&self) -> Counters {
        if *self == Figure::ServerBytes {
            std::thread::sleep(QUIESCE);
        }
        // The clock last here and first in `end`: time does not include the counters.
        Counters {
            client: alloc::thread_counts().unwrap_or_default(),
            server: SERVER_BYTES.iter().map(|a| a.load(Relaxed)).sum(),
            process: alloc::heap().map_or(0, |h| h.total_bytes),
            at: Instant::now(),
        }
    }

    /// The figure since `a`, time in nanoseconds. The server reading also says how many bytes
    /// neither the bench thread nor a server thread allocated (a hidden helper thread).
    fn end(&self, a: Counters) -> f64 {
        let elapsed = a.at.elapsed();
        if *self == Figure::Time {
            return elapsed.as_nanos() as f64;
        }
        let b = self.start();
        let client = b.client.bytes - a.client.bytes;
        match self {
            Figure::Time | Figure::ClientBytes => client as f64,
            Figure::ClientAllocs => (b.client.allocs - a.client.allocs) as f64,
            Figure::ClientHeld => client as f64 - (b.client.freed - a.client.freed) as f64,
            Figure::ServerBytes => {
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

    /// Criterion refuses a sample of exactly 0 (a broken timer to it), which a step that
    /// allocates nothing gives: the smallest positive `f64` stands in, shown as 0.
    fn to_f64(&self, value: &f64) -> f64 {
        if *value == 0.0 {
            f64::MIN_POSITIVE
        } else {
            *value
        }
    }

    fn formatter(&self) -> &dyn ValueFormatter {
        static WALL_TIME: WallTime = WallTime;
        match self {
            Figure::Time => WALL_TIME.formatter(),
            _ => self,
        }
    }
}

/// The heap figures' formatter (time's is criterion's own).
impl ValueFormatter for Figure {
    /// Exact counts, as the harness prints them: `84,887 B`.
    fn format_value(&self, value: f64) -> String {
        let sign = if value < -0.5 { "-" } else { "" };
        let n = units::count(value.abs().round() as u64);
        format!("{sign}{n} {}", self.unit())
    }

    fn scale_values(&self, typical: f64, values: &mut [f64]) -> &'static str {
        if *self == Figure::ClientAllocs {
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
/// allocated bytes. A thread beyond `SLOTS` goes uncounted, and the server reading says so.
pub fn server_thread_checkpoint() {
    let Some(now) = alloc::thread_counts() else {
        return;
    };
    let slot = SLOT.with(|s| {
        s.get().or_else(|| {
            let i = NEXT_SLOT.fetch_add(1, Relaxed);
            (i < SLOTS).then(|| {
                s.set(Some(i));
                i
            })
        })
    });
    if let Some(i) = slot {
        SERVER_BYTES[i].store(now.bytes, Relaxed);
    }
}
