//! Advice "The harness's retention model keeps": b and the plateau, model and measured.

use crate::contract::summary::ModeSummary;
use crate::vocab::units;
use crate::vocab::units::bytes as fmt_bytes;

/// What the harness's retention model keeps of each fresh session, and the plateau: model and
/// measured, each named. The store is the harness's, standing in for a platform's session
/// cache, so the line names it as the model rather than as something the session does.
pub(super) fn retention_line(f: &ModeSummary, retention_s: Option<f64>) -> Option<String> {
    let b = f.retained_bytes_per_session?;
    let method = f
        .retained_bytes_method
        .as_deref()
        .unwrap_or("method not recorded");
    let held_for = retention_s.map_or("for the configured retention".to_string(), |t| {
        format!("for {} (--retention)", units::seconds(t))
    });
    let mut line = format!(
        "The harness's retention model keeps each fresh session's TLS state {held_for}: {} per session (derived: {method})",
        fmt_bytes(b)
    );
    if let Some(model) = f.model_plateau_bytes {
        let sessions = f
            .model_plateau_sessions
            .map(|n| format!(" for {n:.0} sessions"))
            .unwrap_or_default();
        line.push_str(&format!(
            "; model plateau R·b·T = {}{sessions} (model: configured rate × retention × the measured b)",
            fmt_bytes(model)
        ));
    }
    match (f.measured_plateau_bytes, f.measured_plateau_sessions) {
        (Some(bytes), Some(n)) => line.push_str(&format!(
            "; measured plateau {} over {n:.0} retained sessions (measured: mean client live heap above its start, and retained count, on the plateau samples)",
            fmt_bytes(bytes)
        )),
        (Some(bytes), None) => line.push_str(&format!(
            "; measured plateau {} (measured: mean client live heap above its start on the plateau samples)",
            fmt_bytes(bytes)
        )),
        (None, _) if f.model_plateau_bytes.is_some() => {
            line.push_str("; the plateau was not reached in this run")
        }
        (None, _) => {}
    }
    line.push('.');
    Some(line)
}

#[cfg(test)]
mod tests {
    use crate::report::advice::advice;
    use crate::report::advice::fixtures::{fresh, line_with, summary};

    #[test]
    fn plateau_figures_name_the_model() {
        let lines = advice(&summary(vec![fresh("hyper")]));
        let r = line_with(&lines, "The harness's retention model");
        assert!(
            r.contains("retention model keeps each fresh session's TLS state for 600 s (--retention): 17.9 KiB per session"),
            "{r}"
        );
        assert!(
            r.contains("model plateau R·b·T = 1.02 GiB for 60000 sessions (model:"),
            "{r}"
        );
        assert!(r.contains("not reached in this run"), "{r}");
    }
}
