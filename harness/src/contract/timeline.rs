//! `timeline.csv`: one row per leg per sample, its writer and reader.

use std::io;
use std::path::Path;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::contract::wire::{ClientSample, ServerSample};
use crate::vocab::client::ClientKind;
use crate::vocab::mode::Mode;

/// A row of `timeline.csv`. Counters are cumulative since the mode's load started unless the
/// name says `interval`; times are seconds since the mode's load started.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct TimelineRow {
    pub mode: Mode,
    pub client: ClientKind,
    #[serde(flatten)]
    pub sample: ClientSample,
    /// Derived, not measured: `retained_sessions` × the mode's measured bytes per retained
    /// session (`b`), so the memory chart can draw the model beside the measured heap.
    pub retained_bytes: Option<u64>,
    /// The server's latest sample (`None`: no server sample yet, or an external target).
    #[serde(flatten)]
    pub server: Option<ServerSample>,
}

/// Errors reading or writing `timeline.csv`, each with the file's path first.
#[derive(Debug, thiserror::Error)]
pub enum TimelineError {
    #[error("cannot write {0}: {1}")]
    Write(String, #[source] csv::Error),
    #[error("cannot read {0}: {1}")]
    Read(String, #[source] csv::Error),
    #[error("{0} is not a timeline.csv of this layout: {1}")]
    Layout(String, String),
    #[error("cannot flush {0}: {1}")]
    Flush(String, #[source] io::Error),
}

/// The CSV header: every column a row can have, in row order.
pub fn columns() -> Vec<String> {
    let full = TimelineRow {
        server: Some(ServerSample::default()),
        ..Default::default()
    };
    match serde_json::to_value(full) {
        Ok(Value::Object(m)) => m.into_iter().map(|(k, _)| k).collect(),
        _ => Vec::new(),
    }
}

/// Writes `rows` to `path` as CSV with a header row; unmeasured cells are empty.
pub fn write_csv(path: &Path, rows: &[TimelineRow]) -> Result<(), TimelineError> {
    let p = path.display().to_string();
    let werr = |e| TimelineError::Write(p.clone(), e);
    let mut w = csv::Writer::from_path(path).map_err(werr)?;
    let header = columns();
    w.write_record(&header).map_err(werr)?;
    for row in rows {
        let Ok(Value::Object(cells)) = serde_json::to_value(row) else {
            continue;
        };
        w.write_record(header.iter().map(|k| cell_text(cells.get(k))))
            .map_err(werr)?;
    }
    w.flush().map_err(|e| TimelineError::Flush(p, e))
}

pub(crate) fn cell_text(v: Option<&Value>) -> String {
    match v {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    }
}

/// A CSV cell as the JSON value serde reads a row from: empty is absent (unmeasured), a
/// number is a number, anything else text.
fn cell_value(s: &str) -> Option<Value> {
    if s.is_empty() {
        return None;
    }
    if let Ok(n) = s.parse::<u64>() {
        return Some(Value::from(n));
    }
    if let Some(n) = s.parse::<f64>().ok().and_then(serde_json::Number::from_f64) {
        return Some(Value::Number(n));
    }
    Some(Value::String(s.to_string()))
}

/// Reads a `timeline.csv` written by [`write_csv`]. Unknown columns are an error, so a file
/// from a different layout is refused rather than half read.
pub fn read_csv(path: &Path) -> Result<Vec<TimelineRow>, TimelineError> {
    let p = path.display().to_string();
    let rerr = |e| TimelineError::Read(p.clone(), e);
    let mut r = csv::Reader::from_path(path).map_err(rerr)?;
    let header = r.headers().map_err(rerr)?.clone();
    let known = columns();
    if let Some(unknown) = header.iter().find(|h| !known.iter().any(|k| k == h)) {
        let reason = format!("unknown column `{unknown}`");
        return Err(TimelineError::Layout(p, reason));
    }
    r.records()
        .enumerate()
        .map(|(i, record)| {
            let record = record.map_err(rerr)?;
            let cells: Map<String, Value> = header
                .iter()
                .zip(record.iter())
                .filter_map(|(k, v)| cell_value(v).map(|v| (k.to_string(), v)))
                .collect();
            serde_json::from_value(Value::Object(cells))
                .map_err(|e| TimelineError::Layout(p.clone(), format!("row {}: {e}", i + 2)))
        })
        .collect()
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
                mode: Mode::Fresh,
                client: ClientKind::Hyper,
                sample: ClientSample {
                    t_s: 1.0,
                    virtual_t_s: 1.0,
                    requests_ok: 10,
                    interval_rps: 9.5,
                    latency_p50_us: Some(900),
                    ..Default::default()
                },
                retained_bytes: Some(4096),
                server: Some(ServerSample {
                    server_t_s: 1.2,
                    server_open_conns: 3,
                    server_cpu_s: Some(0.25),
                    ..Default::default()
                }),
            },
            TimelineRow {
                mode: Mode::Shared,
                client: ClientKind::Reqwest,
                sample: ClientSample {
                    t_s: 1.0,
                    ..Default::default()
                },
                ..Default::default()
            },
        ];
        write_csv(&path, &rows).expect("write");
        let text = std::fs::read_to_string(&path).expect("read text");
        assert!(text.starts_with("mode,client,t_s,"), "{text}");
        // The second row has no server sample: its server cells are empty, not 0.
        let header: Vec<&str> = text.lines().next().expect("header").split(',').collect();
        let second: Vec<&str> = text
            .lines()
            .nth(2)
            .expect("second row")
            .split(',')
            .collect();
        for (name, cell) in header.iter().zip(&second) {
            if name.starts_with("server_") || name.starts_with("client_") {
                assert_eq!(*cell, "", "{name} of an unmeasured row");
            }
        }
        assert_eq!(read_csv(&path).expect("read"), rows);
    }

    #[test]
    fn an_unknown_column_is_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("timeline.csv");
        std::fs::write(&path, "mode,client,t_s,bogus\nfresh,hyper,1,2\n").expect("write");
        let e = read_csv(&path).expect_err("unknown column");
        assert!(e.to_string().contains("bogus"), "{e}");
    }
}
