//! Advice "Each fresh session holds": b and the plateau, model and measured.

use crate::contract::summary::ModeSummary;
use crate::vocab::units::bytes as fmt_bytes;

/// What the retention store keeps of each fresh session after its request, and the plateau:
/// model and measured, each named.
pub(super) fn retention_line(f: &ModeSummary) -> Option<String> {
    let b = f.retained_bytes_per_session?;
    let method = f
        .retained_bytes_method
        .as_deref()
        .unwrap_or("method not recorded");
    let mut line = format!(
        "Each fresh session leaves {} in the retention store after its request, until retention expires it (derived: {method})",
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
        let r = line_with(&lines, "Each fresh session");
        assert!(
            r.contains("leaves 17.9 KiB in the retention store after its request"),
            "{r}"
        );
        assert!(
            r.contains("model plateau R·b·T = 1.02 GiB for 60000 sessions (model:"),
            "{r}"
        );
        assert!(r.contains("not reached in this run"), "{r}");
    }
}
