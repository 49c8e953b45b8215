//! "If sessions cannot be shared": the cheapest client setting the knob probe measured, when
//! it is cheaper than the run's own.

use crate::contract::summary::ModeSummary;
use crate::vocab::units::bytes as fmt_bytes;

/// The cheapest client setting the knob probe measured, when it is cheaper than the run's own.
pub(super) fn knob_line(f: &ModeSummary) -> Option<String> {
    let knobs = f.knobs.as_ref()?;
    let base = knobs.iter().find(|k| k.setting.is_empty())?;
    let base_b = base.retained_bytes_per_session?;
    let (k, kb) = knobs
        .iter()
        .filter(|k| !k.setting.is_empty())
        .filter_map(|k| k.retained_bytes_per_session.map(|b| (k, b)))
        .min_by(|a, b| a.1.total_cmp(&b.1))?;
    if kb >= base_b {
        return None;
    }
    let saved = base_b - kb;
    let sessions = if k.sessions == base.sessions {
        format!("{} sessions each", k.sessions)
    } else {
        format!("{} and {} sessions", k.sessions, base.sessions)
    };
    let mut line = format!(
        "If sessions cannot be shared, `{}` is the cheapest setting measured: {} per retained session instead of {} (measured by the knob probe: bytes freed dropping {sessions})",
        k.setting,
        fmt_bytes(kb),
        fmt_bytes(base_b),
    );
    if let Some(n) = f.model_plateau_sessions {
        line.push_str(&format!(
            "; {} less at the model plateau of {n:.0} sessions (model: the difference × R·T sessions)",
            fmt_bytes(saved * n)
        ));
    }
    if let Some(n) = f.measured_plateau_sessions {
        line.push_str(&format!(
            "; {} less at the measured plateau of {n:.0} sessions (derived: the difference × the measured retained count)",
            fmt_bytes(saved * n)
        ));
    }
    line.push('.');
    Some(line)
}

#[cfg(test)]
mod tests {
    use crate::report::advice::advice;
    use crate::report::advice::fixtures::{fresh, line_with, summary};

    #[test]
    fn knob_figures_name_the_model() {
        let lines = advice(&summary(vec![fresh("hyper")]));
        let k = line_with(&lines, "If sessions cannot be shared");
        assert!(k.contains("`--client-cache 0` is the cheapest setting measured: 1.1 KiB per retained session instead of 17.9 KiB"), "{k}");
        assert!(
            k.contains("984 MiB less at the model plateau of 60000 sessions (model:"),
            "{k}"
        );

        // No model sessions: the saving is not computed from the rate instead.
        let mut f = fresh("hyper");
        f.model_plateau_sessions = None;
        f.measured_plateau_sessions = Some(30_000.0);
        let lines = advice(&summary(vec![f]));
        let k = line_with(&lines, "If sessions cannot be shared");
        assert!(!k.contains("model"), "{k}");
        assert!(
            k.contains("492 MiB less at the measured plateau of 30000 sessions (derived:"),
            "{k}"
        );
    }
}
