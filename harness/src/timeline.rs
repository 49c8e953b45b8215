//! One row per mode per sample: the raw, re-plottable record of a run (`timeline.csv`).
//!
//! Client columns come from the client worker's own sample; server columns are the server
//! worker's latest sample taken at or before it (both sample on the same interval). Cells a
//! run could not measure are empty in the CSV (`None` here), never 0.

use std::io;
use std::path::Path;

use serde::{Deserialize, Serialize};

/// A row of `timeline.csv`. Counters are cumulative since the mode's load started unless the
/// name says `interval`; times are seconds since the mode's load started.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TimelineRow {
    /// Session mode of this row (`fresh`, `leak`, `shared`, `resume`).
    pub mode: String,
    /// Session implementation (`hyper`).
    pub client: String,
    /// Wall-clock seconds since the mode's load started.
    pub t_s: f64,
    /// Virtual seconds (request i stamped at i/R) when `--clock virtual`, else equal to `t_s`.
    pub virtual_t_s: f64,
    pub requests_ok: u64,
    pub requests_failed: u64,
    /// Requests completed in this interval divided by the interval's length.
    pub interval_rps: f64,
    /// Requests that started ≥ 2 ms after their scheduled time, or had to wait for a slot.
    pub late_starts: u64,
    pub client_rss_bytes: Option<u64>,
    pub client_heap_live_bytes: u64,
    pub client_alloc_bytes_total: u64,
    pub client_allocs_total: u64,
    pub client_cpu_s: Option<f64>,
    pub client_open_fds: Option<u64>,
    pub client_open_conns: Option<u64>,
    /// Sessions the client keeps after their request (leak mode's kept sessions, or the
    /// retention store's entries); `None` when the mode keeps none by design.
    pub retained_sessions: Option<u64>,
    pub retained_bytes: Option<u64>,
    /// Handshakes seen by the client, by kind (`None` where not visible: reqwest).
    pub handshakes_full: Option<u64>,
    pub handshakes_resumed: Option<u64>,
    pub requests_reused_conn: Option<u64>,
    /// Latency of requests completed in this interval, µs (`None`: none completed).
    pub latency_p50_us: Option<u64>,
    pub latency_p99_us: Option<u64>,
    pub latency_max_us: Option<u64>,
    pub server_rss_bytes: Option<u64>,
    pub server_heap_live_bytes: Option<u64>,
    pub server_cpu_s: Option<f64>,
    pub server_open_fds: Option<u64>,
    pub server_open_conns: Option<u64>,
    pub server_handshakes_full: Option<u64>,
    pub server_handshakes_resumed: Option<u64>,
    pub server_cache_entries: Option<u64>,
    pub server_cache_bytes: Option<u64>,
}

/// Errors reading or writing `timeline.csv`.
#[derive(Debug, thiserror::Error)]
pub enum TimelineError {
    #[error("cannot write {path}: {source}")]
    Write { path: String, source: csv::Error },
    #[error("cannot read {path}: {source}")]
    Read { path: String, source: csv::Error },
    #[error("cannot flush {path}: {source}")]
    Flush { path: String, source: io::Error },
}

/// Writes `rows` to `path` as CSV with a header row.
pub fn write_csv(path: &Path, rows: &[TimelineRow]) -> Result<(), TimelineError> {
    let p = path.display().to_string();
    let mut w = csv::Writer::from_path(path).map_err(|source| TimelineError::Write {
        path: p.clone(),
        source,
    })?;
    for row in rows {
        w.serialize(row).map_err(|source| TimelineError::Write {
            path: p.clone(),
            source,
        })?;
    }
    w.flush()
        .map_err(|source| TimelineError::Flush { path: p, source })
}

/// Reads a `timeline.csv` written by [`write_csv`].
pub fn read_csv(path: &Path) -> Result<Vec<TimelineRow>, TimelineError> {
    let p = path.display().to_string();
    let mut r = csv::Reader::from_path(path).map_err(|source| TimelineError::Read {
        path: p.clone(),
        source,
    })?;
    r.deserialize()
        .collect::<Result<Vec<TimelineRow>, _>>()
        .map_err(|source| TimelineError::Read { path: p, source })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_round_trips_with_empty_cells_for_unmeasured() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("timeline.csv");
        let rows = vec![
            TimelineRow {
                mode: "fresh".into(),
                client: "hyper".into(),
                t_s: 1.0,
                virtual_t_s: 1.0,
                requests_ok: 10,
                latency_p50_us: Some(900),
                ..Default::default()
            },
            TimelineRow {
                mode: "shared".into(),
                client: "hyper".into(),
                t_s: 1.0,
                server_rss_bytes: None,
                ..Default::default()
            },
        ];
        write_csv(&path, &rows).expect("write");
        let text = std::fs::read_to_string(&path).expect("read text");
        assert!(text.starts_with("mode,client,t_s,"));
        assert_eq!(read_csv(&path).expect("read"), rows);
    }
}
