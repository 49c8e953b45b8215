//! Advice "Where b goes": the owner holding most of b and what its knob measured (`--breakdown`).

use super::sound_knob as sound;
use crate::contract::probes::{Knob, Settings};
use crate::contract::summary::{ModeSummary, Summary};
use crate::vocab::mode::Mode;
use crate::vocab::owner::Owner;
use crate::vocab::units::bytes as fmt_bytes;

/// The knob of the knob probe ([`crate::run::knobs`]) that changes an owner's bytes; owners
/// without one are moved only by sharing or dropping the session.
const OWNER_KNOBS: &[(Owner, Knob)] = &[
    (Owner::ResumptionStore, Knob::NoResumption),
    (Owner::Tickets, Knob::NoResumption),
    (Owner::Config, Knob::RootsCa),
    (Owner::KeyExchange, Knob::KxX25519),
];

/// The run's own client settings, from the plan the summary publishes (`None`: a summary
/// that does not record one of them).
fn plan_settings(summary: &Summary, m: &ModeSummary) -> Option<Settings> {
    Some(Settings {
        roots: m.roots,
        client_cache: summary.scenario.client_cache?,
        kx: summary.scenario.kx?,
    })
}

/// `--breakdown`: the owner holding most of b in mode `m`, and what the knob that moves it
/// measured (the knob probe runs in the fresh leg `probe` of the same client).
pub(super) fn owner_line(
    summary: &Summary,
    m: &ModeSummary,
    probe: &ModeSummary,
) -> Option<String> {
    let b = m.retained_bytes_per_session?;
    let top = m
        .retained_breakdown
        .as_ref()?
        .iter()
        .filter(|s| s.owner != Owner::Remainder)
        .max_by(|a, b| a.bytes.total_cmp(&b.bytes))?;
    let what = match m.mode {
        Mode::Leak => "kept session",
        _ => "retained session",
    };
    let mut line = format!(
        "Where b goes: `{}` holds {} of the {} per {what} ({}; measured: the load's dhat heap profile, live bytes by owner ÷ sessions held)",
        top.owner,
        fmt_bytes(top.bytes),
        fmt_bytes(b),
        crate::vocab::units::percent(top.share),
    );
    let Some(knob) = OWNER_KNOBS
        .iter()
        .find(|(o, _)| *o == top.owner)
        .map(|(_, k)| *k)
    else {
        line.push_str(
            "; no client setting moves it: it is held while the session lives, and goes when the session is dropped.",
        );
        return Some(line);
    };
    let k = knob.setting();
    if plan_settings(summary, m).is_some_and(|s| knob.in_use(&s)) {
        line.push_str(&format!(
            "; this run already uses `{k}`, the setting that moves it; sharing the session is what remains."
        ));
        return Some(line);
    }
    let figures = probe.knobs.as_ref();
    let find = |setting: &str| figures?.iter().find(|f| f.setting == setting);
    let (base, with) = (find(""), find(&k));
    match (base.and_then(sound), with.and_then(sound)) {
        (Some(base), Some(with)) => line.push_str(&format!(
            "; `{k}` moves it: {} instead of {} per retained session (derived by the knob probe: bytes freed ÷ sessions).",
            fmt_bytes(with),
            fmt_bytes(base)
        )),
        _ => {
            let why = if figures.is_none() {
                "the knob probe runs in a fresh hyper leg against the built-in server"
            } else if base.into_iter().chain(with).any(|f| f.failed > 0) {
                "the knob probe's requests failed for it"
            } else {
                "the knob probe has no figure for it"
            };
            line.push_str(&format!(
                "; `{k}` is the setting that moves it (not measured in this run: {why})."
            ));
        }
    }
    Some(line)
}

#[cfg(test)]
mod tests {
    use crate::report::advice::advice;
    use crate::report::advice::fixtures::{fresh, leak, share, summary};
    use crate::vocab::owner::Owner;

    #[test]
    fn the_biggest_owner_is_named_with_the_knob_the_probe_measured() {
        let mut f = fresh("hyper");
        f.retained_breakdown = Some(vec![
            share(Owner::ResumptionStore, 16_000.0, 18_329.0),
            share(Owner::Config, 1_100.0, 18_329.0),
            share(Owner::Tickets, 1_229.0, 18_329.0),
        ]);
        let mut l = leak("hyper");
        l.retained_breakdown = Some(vec![
            share(Owner::ResumptionStore, 16_000.0, 50_000.0),
            share(Owner::Http, 28_000.0, 50_000.0),
            share(Owner::Remainder, 6_000.0, 50_000.0),
        ]);
        let lines = advice(&summary(vec![f.clone(), l]));
        let fresh_line = lines
            .iter()
            .find(|l| l.starts_with("Where b goes") && l.contains("per retained session"))
            .expect("an owner line for fresh");
        assert!(
            fresh_line.contains("`rustls_resumption_store` holds 15.6 KiB of the 17.9 KiB"),
            "{fresh_line}"
        );
        assert!(
            fresh_line.contains("`--client-cache 0` moves it: 1.1 KiB instead of 17.9 KiB"),
            "{fresh_line}"
        );
        let leak_line = lines
            .iter()
            .find(|l| l.starts_with("Where b goes") && l.contains("per kept session"))
            .expect("an owner line for leak");
        // The remainder is never "the biggest owner"; hyper has no knob.
        assert!(
            leak_line.contains("`hyper` holds 27.3 KiB of the 48.8 KiB"),
            "{leak_line}"
        );
        assert!(
            leak_line.contains("no client setting moves it"),
            "{leak_line}"
        );
        // Without a breakdown, no owner line; without the probe's figure, the knob is named
        // as not measured, never given a number.
        assert!(!advice(&summary(vec![fresh("hyper")]))
            .iter()
            .any(|l| l.starts_with("Where b goes")));
        // A variant with a failed session is not quoted.
        let mut failing = f.clone();
        failing.knobs.as_mut().expect("fixture knobs")[1].failed = 1;
        let lines = advice(&summary(vec![failing]));
        let line = lines
            .iter()
            .find(|l| l.starts_with("Where b goes"))
            .expect("owner line");
        assert!(
            line.contains("`--client-cache 0` is the setting that moves it (not measured in this run: the knob probe's requests failed for it)"),
            "{line}"
        );
        // The run's own setting, read from the plan the summary records.
        let mut own = f.clone();
        own.retained_breakdown = Some(vec![share(Owner::Config, 1_114.0, 1_114.0)]);
        own.retained_bytes_per_session = Some(1_114.0);
        let lines = advice(&summary(vec![own.clone()]));
        let line = lines
            .iter()
            .find(|l| l.starts_with("Where b goes"))
            .expect("owner line");
        assert!(
            line.contains("this run already uses `--roots ca`"),
            "{line}"
        );
        // A missing figure is not "already uses": with webpki roots planned and no `--roots
        // ca` figure, the setting is named as not measured.
        let mut other = own.clone();
        other.roots = crate::vocab::tls::RootsChoice::Webpki;
        let lines = advice(&summary(vec![other]));
        let line = lines
            .iter()
            .find(|l| l.starts_with("Where b goes"))
            .expect("owner line");
        assert!(
            line.contains("`--roots ca` is the setting that moves it (not measured in this run: the knob probe has no figure for it)"),
            "{line}"
        );
        f.knobs = None;
        let lines = advice(&summary(vec![f]));
        let line = lines
            .iter()
            .find(|l| l.starts_with("Where b goes"))
            .expect("owner line");
        assert!(line.contains("not measured in this run"), "{line}");
    }
}
