//! Advice "If sessions cannot be shared": the cheapest client setting the knob probe measured.

use super::sound_knob as sound;
use crate::contract::summary::ModeSummary;
use crate::vocab::units::bytes as fmt_bytes;

/// The cheapest client setting the knob probe measured, when it is cheaper than the run's own.
/// A variant with failed sessions is skipped, and the line is dropped when the run's own
/// settings had any: their figures cover other sessions than the ones asked about.
pub(super) fn knob_line(f: &ModeSummary) -> Option<String> {
    let knobs = f.knobs.as_ref()?;
    let base = knobs.iter().find(|k| k.setting.is_empty())?;
    let base_b = sound(base)?;
    let (k, kb) = knobs
        .iter()
        .filter(|k| !k.setting.is_empty())
        .filter_map(|k| sound(k).map(|b| (k, b)))
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
        "If sessions cannot be shared, `{}` is the cheapest setting measured: {} per retained session instead of {}, over {sessions} (derived by the knob probe: bytes freed dropping them, per session)",
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
    // The measured plateau is the load's: not quoted from a leg whose per-session figures
    // are marked (the knob figures themselves come from the probe, after the load).
    if let Some(n) = f
        .measured_plateau_sessions
        .filter(|_| f.per_session_unsound.is_none())
    {
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
    use crate::report::advice::fixtures::{fresh, knob, line_with, summary};

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

    #[test]
    fn variants_with_failed_sessions_are_not_compared() {
        // The cheapest variant had a failed session: the next cheapest sound one is named.
        let mut f = fresh("hyper");
        let knobs = f.knobs.as_mut().expect("fixture knobs");
        knobs.push(knob("--roots ca", 9_000.0));
        knobs[1].failed = 1;
        let lines = advice(&summary(vec![f.clone()]));
        let k = line_with(&lines, "If sessions cannot be shared");
        assert!(
            k.contains("`--roots ca` is the cheapest setting measured: 8.79 KiB per retained session instead of 17.9 KiB"),
            "{k}"
        );
        // The run's own settings had a failed session: no comparison at all.
        f.knobs.as_mut().expect("fixture knobs")[0].failed = 2;
        let lines = advice(&summary(vec![f]));
        assert!(
            !lines
                .iter()
                .any(|l| l.starts_with("If sessions cannot be shared")),
            "{lines:#?}"
        );
    }
}
