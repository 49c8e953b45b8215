//! The scenario line and the chart titles every view names a run with.

use crate::contract::summary::Summary;
use crate::vocab::units::{duration, rate, retention};

/// The scenario in one line, e.g. `100 req/s, 30 s, retention 10m, real clock`.
pub fn scenario_line(summary: &Summary) -> String {
    let sc = &summary.scenario;
    let retention = match sc.retention_s {
        Some(t) => format!("retention {}", retention(t)),
        None => "no retention model".to_string(),
    };
    format!(
        "{}, {}, {retention}, {} clock",
        rate(sc.rate),
        duration(sc.duration_s),
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
