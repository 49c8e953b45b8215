//! "What to do": advice lines that quote only figures the run measured or derived from them.

#[cfg(test)]
pub(crate) mod fixtures;
mod lines;
pub mod short;

use crate::contract::probes::KnobFigure;
use crate::contract::summary::{ModeSummary, Summary};
use crate::vocab::client::ClientKind;
use crate::vocab::mode::Mode;
use lines::{build_line, knob_line, leak_line, owner_line, retention_line, share_line};

/// The advice lines, each tagged `[client] ` when the run measured more than one client: first
/// every leg's reason it gives no advice from its per-session figures (they bound how the rest
/// is read, and the brief view prints only the first lines), then each client's advice.
pub fn advice(summary: &Summary) -> Vec<String> {
    let mut clients: Vec<ClientKind> = Vec::new();
    for m in &summary.modes {
        if !clients.contains(&m.client) {
            clients.push(m.client);
        }
    }
    let many = clients.len() > 1;
    let tag = |client: ClientKind| match many {
        true => format!("[{client}] "),
        false => String::new(),
    };
    let mut out: Vec<String> = summary
        .modes
        .iter()
        .filter_map(|m| unsound_line(m).map(|l| format!("{}{l}", tag(m.client))))
        .collect();
    for client in clients {
        out.extend(
            advice_for(summary, client)
                .into_iter()
                .map(|l| format!("{}{l}", tag(client))),
        );
    }
    out
}

fn advice_for(summary: &Summary, client: ClientKind) -> Vec<String> {
    let find = |mode: Mode| {
        summary
            .modes
            .iter()
            .find(|m| m.mode == mode && m.client == client)
    };
    // A leg whose per-session figures are marked (rate-bound, or requests failed) gives no
    // advice from them: its own line says why instead.
    let (fresh, shared, leak) = (find(Mode::Fresh), find(Mode::Shared), find(Mode::Leak));
    let retention = summary.scenario.retention_s;
    let mut out = Vec::new();
    if let (Some(f), Some(s)) = (sound(fresh), sound(shared)) {
        out.extend(share_line(f, s, retention));
    }
    if let Some(f) = sound(fresh) {
        out.extend(build_line(summary, f, shared));
        out.extend(retention_line(f, retention));
    }
    // The knob probe measures after the load, one session at a time: its figures are its own,
    // not the leg's.
    out.extend(fresh.and_then(knob_line));
    out.extend(sound(fresh).and_then(|f| owner_line(summary, f, f)));
    if let Some(l) = sound(leak) {
        out.extend(leak_line(summary, l));
        out.extend(owner_line(summary, l, fresh.unwrap_or(l)));
    }
    out
}

/// The leg, when its per-session figures are not marked.
fn sound(m: Option<&ModeSummary>) -> Option<&ModeSummary> {
    m.filter(|m| m.per_session_unsound.is_none())
}

/// A knob variant's figure the advice may quote: measured, and from sessions that all
/// succeeded.
fn sound_knob(k: &KnobFigure) -> Option<f64> {
    k.retained_bytes_per_session.filter(|_| k.failed == 0)
}

/// Why a leg's per-session figures give no advice, when they do not.
fn unsound_line(m: &ModeSummary) -> Option<String> {
    let why = m.per_session_unsound.as_deref()?;
    let again = if m.rate_bound.is_some() {
        " Measure it again at a rate this machine keeps (a lower --rate)."
    } else {
        ""
    };
    // Unknown is not "do not": a leg whose rate was not measured may have kept it.
    let describe = if m.rate_bound.is_some() || m.load.requests_failed > 0 {
        "do not describe"
    } else {
        "are not known to describe"
    };
    Some(format!(
        "No conclusion from the {} leg's per-session figures (b, bytes per request and per build, the plateau): they {describe} a session at the planned rate: {why}.{again}",
        m.mode
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::advice::fixtures::{fresh, leak, line_with, shared, summary};

    #[test]
    fn no_figure_comes_from_the_configured_rate() {
        let modes = vec![fresh("hyper"), shared("hyper"), leak("hyper")];
        let mut s = summary(modes);
        let at_100 = advice(&s);
        assert_eq!(at_100.len(), 5, "{at_100:#?}");
        s.scenario.rate = 12_345.0;
        let at_other = advice(&s);
        assert_eq!(at_100, at_other);
        assert!(at_other.iter().all(|l| !l.contains("12345")));
    }

    #[test]
    fn a_marked_leg_gives_no_advice_from_its_per_session_figures() {
        let mut l = leak("hyper");
        l.rate_bound = Some("rate-bound: could not keep --rate 100: …".into());
        l.per_session_unsound = l.rate_bound.clone();
        let mut f = fresh("hyper");
        f.measured_plateau_sessions = Some(30_000.0);
        f.per_session_unsound = Some("3 of 3,000 started requests failed (timeout: 3)".into());
        let lines = advice(&summary(vec![f, shared("hyper"), l]));
        for gone in [
            "Share one session",
            "Building a session",
            "The harness's retention model",
            "Never invalidating",
        ] {
            assert!(
                !lines.iter().any(|l| l.starts_with(gone)),
                "{gone}: {lines:#?}"
            );
        }
        // The knob probe's own figures still count; the leg's measured plateau does not.
        let knob = line_with(&lines, "If sessions cannot be shared");
        assert!(!knob.contains("measured plateau"), "{knob}");
        let fresh_line = line_with(&lines, "No conclusion from the fresh leg");
        assert!(fresh_line.ends_with("(timeout: 3)."), "{fresh_line}");
        let leak_line = line_with(&lines, "No conclusion from the leak leg");
        assert!(
            leak_line.contains("rate-bound") && leak_line.contains("a lower --rate"),
            "{leak_line}"
        );
    }

    #[test]
    fn the_legs_that_give_no_advice_say_so_first() {
        let mut s = crate::report::advice::fixtures::every_line();
        // Both clients' leak legs: the second client's line is not left behind the first
        // client's advice.
        let why = s.modes[2].per_session_unsound.clone();
        assert!(why.is_some(), "the fixture's first leak leg is marked");
        s.modes[5].per_session_unsound = why;
        let lines = advice(&s);
        assert!(
            lines[0].starts_with("[hyper] No conclusion from the leak leg"),
            "{lines:#?}"
        );
        assert!(
            lines[1].starts_with("[reqwest] No conclusion from the leak leg"),
            "{lines:#?}"
        );
        assert!(
            lines[2..].iter().all(|l| !l.contains("No conclusion")),
            "{lines:#?}"
        );
    }

    #[test]
    fn several_clients_are_tagged() {
        let s = summary(vec![leak("hyper"), leak("reqwest")]);
        let lines = advice(&s);
        assert_eq!(lines.len(), 2);
        assert!(lines[0].starts_with("[hyper] Never invalidating"));
        assert!(lines[1].starts_with("[reqwest] Never invalidating"));
        let one = advice(&summary(vec![leak("hyper")]));
        assert!(one[0].starts_with("Never invalidating"));
    }
}
