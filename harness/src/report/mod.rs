//! What a reader sees, drawn from the contract alone: charts, `index.html`, terminal views.

pub mod advice;
pub mod brief;
pub(crate) mod charts;
pub mod figures;
pub mod grid;
pub mod handshakes;
pub mod headline;
pub(crate) mod html;
pub mod survey;
pub mod table;
pub mod wrap;

use charts::{breakdown_chart, canvas, series, summary_charts, timeline_charts};
use std::path::{Path, PathBuf};

use crate::contract::summary::{Summary, SummaryError};
use crate::contract::timeline::{self, TimelineError, TimelineRow};
use crate::vocab::units;

/// Why a report could not be produced, naming the file or chart involved so the user knows
/// which input to fix or which output failed.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error("{0}: no such directory (`harness report DIR` reads a run's summary.json and timeline.csv from DIR)")]
    NoDir(PathBuf),
    #[error("cannot load the run summary {path}: {source}")]
    Summary {
        path: PathBuf,
        #[source]
        source: SummaryError,
    },
    #[error("cannot load the run timeline {path}: {source}")]
    Timeline {
        path: PathBuf,
        #[source]
        source: TimelineError,
    },
    #[error("cannot create report directory {path}: {source}")]
    CreateDir {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot draw {chart}: {message}")]
    Draw {
        chart: &'static str,
        message: String,
    },
    #[error("{0} is a `harness exec` report: its charts and page are written when the check runs, and `harness report` re-draws run reports only")]
    ExecReport(PathBuf),
    #[error("cannot write {path}: {source}")]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// File names the report writes, in the order [`render`] returns them.
pub const FILES: [&str; 6] = [
    "memory.svg",
    "cache.svg",
    "sockets.svg",
    "per-session.svg",
    "latency.svg",
    "index.html",
];

/// Where the bytes go, by owner: written (before `index.html`) only when a leg of the summary
/// has a breakdown (`--breakdown`).
pub const BREAKDOWN_FILE: &str = "breakdown.svg";

/// Draws every SVG and `index.html` into `dir`; returns the paths written ([`FILES`], with
/// [`BREAKDOWN_FILE`] before `index.html` when drawn). Everything is drawn before anything is
/// written, so a failure leaves no half-updated report.
pub fn render(
    dir: &Path,
    summary: &Summary,
    timeline: &[TimelineRow],
) -> Result<Vec<PathBuf>, ReportError> {
    let documents = documents(summary, timeline)?;
    std::fs::create_dir_all(dir).map_err(|source| ReportError::CreateDir {
        path: dir.to_path_buf(),
        source,
    })?;
    (documents.into_iter())
        .map(|(name, text)| {
            let path = dir.join(name);
            std::fs::write(&path, text).map_err(|source| ReportError::Write {
                path: path.clone(),
                source,
            })?;
            Ok(path)
        })
        .collect()
}

/// Every chart and the page, drawn: `(file name, text)` in [`render`]'s order.
fn documents(
    summary: &Summary,
    timeline: &[TimelineRow],
) -> Result<Vec<(&'static str, String)>, ReportError> {
    let series = series::collect(summary, timeline);
    let time = series::TimeAxis::new(summary, timeline);
    let draw = |chart: &'static str, r: canvas::Drawn<String>| {
        r.map(|svg| (chart, svg)).map_err(|e| ReportError::Draw {
            chart,
            message: e.0,
        })
    };
    let mut documents = vec![
        draw(FILES[0], timeline_charts::memory(summary, &series, &time))?,
        draw(FILES[1], timeline_charts::cache(summary, &series, &time))?,
        draw(FILES[2], timeline_charts::sockets(summary, &series, &time))?,
        draw(FILES[3], summary_charts::per_session(summary, &series))?,
        draw(FILES[4], summary_charts::latency(summary, &series))?,
    ];
    if let Some(chart) = breakdown_chart::breakdown(summary, &series) {
        documents.push(draw(BREAKDOWN_FILE, chart)?);
    }
    documents.push((FILES[5], html::page(summary, &series)));
    Ok(documents)
}

/// The scenario in one line, e.g. `100 req/s, 30 s, retention 10m, real clock`.
pub fn scenario_line(summary: &Summary) -> String {
    let sc = &summary.scenario;
    let retention = sc.retention_s.map_or("no retention model".into(), |t| {
        format!("retention {}", units::retention(t))
    });
    format!(
        "{}, {}, {retention}, {} clock",
        units::rate(sc.rate),
        units::duration(sc.duration_s),
        summary.clock
    )
}

/// A chart title: what the chart shows, then the scenario, flagged when the run was cut short.
pub fn chart_title(what: &str, summary: &Summary) -> String {
    let cut = if summary.interrupted {
        " (cut short)"
    } else {
        ""
    };
    format!("{what} — {}{cut}", scenario_line(summary))
}

/// Reads `dir/summary.json` and `dir/timeline.csv` and renders the report into `dir`: what
/// `harness report DIR` runs to re-draw a finished (or interrupted) run.
pub fn render_dir(dir: &Path) -> Result<Vec<PathBuf>, ReportError> {
    if !dir.is_dir() {
        return Err(ReportError::NoDir(dir.to_path_buf()));
    }
    let summary_path = dir.join("summary.json");
    let is_exec = std::fs::read_to_string(&summary_path)
        .ok()
        .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
        .is_some_and(|v| v["mode"] == crate::vocab::exec::ExecMode::Exec.as_str());
    if is_exec {
        return Err(ReportError::ExecReport(dir.to_path_buf()));
    }
    let summary = Summary::read(&summary_path).map_err(|source| ReportError::Summary {
        path: summary_path,
        source,
    })?;
    let timeline_path = dir.join("timeline.csv");
    let rows = timeline::read_csv(&timeline_path).map_err(|source| ReportError::Timeline {
        path: timeline_path,
        source,
    })?;
    render(dir, &summary, &rows)
}

/// A `summary.json`'s text: pretty, with a final newline.
pub fn json_text(s: &impl serde::Serialize) -> Result<String, String> {
    serde_json::to_string_pretty(s)
        .map(|t| t + "\n")
        .map_err(|e| e.to_string())
}

/// Writes each file under `dir`; returns the problems, each naming its file (a text that could
/// not be made is not written).
pub fn write_files<'a>(
    dir: &Path,
    files: impl IntoIterator<Item = (&'a str, Result<String, String>)>,
) -> Vec<String> {
    let put = |(name, text): (&str, Result<String, String>)| {
        let path = dir.join(name);
        let text = text.map_err(|e| format!("{}: {e}", path.display()))?;
        std::fs::write(&path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))
    };
    files.into_iter().filter_map(|f| put(f).err()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// No chart of a run report names a colour it does not draw (their legends draw each
    /// colour beside its name instead of naming it).
    #[test]
    fn every_colour_a_chart_names_is_drawn() {
        let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/report");
        let summary = Summary::read(&fixture.join("summary.json")).expect("fixture summary");
        let rows = timeline::read_csv(&fixture.join("timeline.csv")).expect("fixture timeline");
        for (name, text) in documents(&summary, &rows).expect("drawn") {
            if name.ends_with(".svg") {
                charts::colour_words::assert_named_colours_are_drawn(&text);
            }
        }
    }
}
