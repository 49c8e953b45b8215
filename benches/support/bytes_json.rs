//! The typed form of `<criterion home>/bytes.json`, read from the previous run and written
//! after a full one.

use serde::{Deserialize, Serialize};

use super::conns::Side;
use super::pass::Round;

/// `<criterion home>/bytes.json`: the bytes pass's figures of every benchmark, merged run to
/// run (a filtered run replaces only the entries it measured) so the next run can compare.
/// Typed, so the writer and the reader of the previous run cannot disagree on a field.
#[derive(Debug, Serialize, Deserialize)]
pub(super) struct BytesFile {
    pub(super) schema: u32,
    pub(super) units: String,
    pub(super) pass_iterations: u64,
    pub(super) pass_rounds: usize,
    pub(super) benchmarks: Vec<BytesEntry>,
}

impl BytesFile {
    /// The previous run's file; `None` if there is none or it cannot be read (said on stderr:
    /// its entries are then neither compared with nor kept).
    pub(super) fn read(path: &std::path::Path) -> Option<Self> {
        let bytes = match std::fs::read(path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return None,
            Err(e) => {
                eprintln!("note: cannot read {}: {e}; not compared", path.display());
                return None;
            }
        };
        serde_json::from_slice(&bytes)
            .map_err(|e| {
                eprintln!(
                    "note: {} is not a bytes.json this version reads ({e}); not compared, and \
                     replaced",
                    path.display()
                )
            })
            .ok()
    }
}

/// One benchmark's figures; `*_per_iter` are means over the rounds.
#[derive(Debug, Serialize, Deserialize)]
pub(super) struct BytesEntry {
    /// Criterion's id, `group/function/parameter`.
    pub(super) id: String,
    pub(super) run_at_unix_s: u64,
    /// Criterion's estimate; null in a run that had none.
    pub(super) time_ns_per_iter: Option<f64>,
    pub(super) client_bytes_per_iter: f64,
    pub(super) client_allocs_per_iter: f64,
    pub(super) client_bytes_per_iter_min: f64,
    pub(super) client_bytes_per_iter_max: f64,
    pub(super) client_allocs_per_iter_min: f64,
    pub(super) client_allocs_per_iter_max: f64,
    /// Every round gave the same client bytes and allocations.
    pub(super) deterministic: bool,
    pub(super) step_bytes_min: Option<u64>,
    pub(super) step_bytes_max: Option<u64>,
    /// The most frequent per-step client byte counts (at most 8), most frequent first.
    pub(super) step_bytes_distribution: Vec<StepBytes>,
    pub(super) step_allocs_distribution: Vec<StepAllocs>,
    pub(super) server_bytes_per_iter: f64,
    pub(super) server_allocs_per_iter: f64,
    pub(super) client_held_bytes_per_iter: f64,
    pub(super) server_held_bytes_per_iter: f64,
    pub(super) unattributed_bytes_per_iter: f64,
    pub(super) live_delta_bytes_per_iter: f64,
    pub(super) connections_per_iter: f64,
    pub(super) handshakes_full_per_iter: f64,
    pub(super) handshakes_resumed_per_iter: f64,
    pub(super) connections_counted_by: Side,
    pub(super) rounds: Vec<RoundEntry>,
}

#[derive(Debug, Serialize, Deserialize)]
pub(super) struct StepBytes {
    pub(super) bytes: u64,
    pub(super) steps: usize,
}

#[derive(Debug, Serialize, Deserialize)]
pub(super) struct StepAllocs {
    pub(super) allocs: u64,
    pub(super) steps: usize,
}

/// One round's totals.
#[derive(Debug, Serialize, Deserialize)]
pub(super) struct RoundEntry {
    iters: u64,
    client_bytes: u64,
    client_allocs: u64,
    server_bytes: u64,
    server_allocs: u64,
    client_held_bytes: i64,
    server_held_bytes: i64,
    unattributed_bytes: i64,
    live_delta_bytes: i64,
}

impl From<&Round> for RoundEntry {
    fn from(x: &Round) -> Self {
        Self {
            iters: x.iters,
            client_bytes: x.client_bytes,
            client_allocs: x.client_allocs,
            server_bytes: x.server_bytes,
            server_allocs: x.server_allocs,
            client_held_bytes: x.client_net,
            server_held_bytes: x.server_net,
            unattributed_bytes: x.unattributed_bytes,
            live_delta_bytes: x.live_delta,
        }
    }
}
