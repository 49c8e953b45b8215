//! "Where b goes": the owner holding most of b in a mode (`--breakdown`), and what the knob
//! that moves it measured.

use crate::contract::summary::ModeSummary;
use crate::vocab::mode::Mode;
use crate::vocab::owner::Owner;
use crate::vocab::units::bytes as fmt_bytes;

/// The client setting of the knob probe ([`crate::run::knobs`]) that changes an owner's bytes,
/// as its `KnobFigure::setting` reads; owners without one are moved only by sharing or
/// dropping the session.
const OWNER_KNOBS: &[(Owner, &str)] = &[
    (Owner::ResumptionStore, "--client-cache 0"),
    (Owner::Tickets, "--client-cache 0"),
    (Owner::Config, "--roots ca"),
    (Owner::KeyExchange, "--kx x25519"),
];

/// `--breakdown`: the owner holding most of b in mode `m`, and what the knob that moves it
/// measured (the knob probe runs in the fresh leg `probe` of the same client).
pub(super) fn owner_line(m: &ModeSummary, probe: &ModeSummary) -> Option<String> {
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
    let knob = OWNER_KNOBS
        .iter()
        .find(|(o, _)| *o == top.owner)
        .map(|(_, k)| *k);
    let figures = probe.knobs.as_ref();
    let measured = knob.and_then(|k| {
        let base = figures?.iter().find(|f| f.setting.is_empty())?;
        let with = figures?.iter().find(|f| f.setting == k)?;
        Some((
            base.retained_bytes_per_session?,
            with.retained_bytes_per_session?,
        ))
    });
    match (knob, measured) {
        (Some(k), Some((base, with))) => line.push_str(&format!(
            "; `{k}` moves it: {} instead of {} per retained session (measured by the knob probe).",
            fmt_bytes(with),
            fmt_bytes(base)
        )),
        // The probe measures every variant that differs from the run's own settings: a
        // missing one is the run's own.
        (Some(k), None) if figures.is_some() => line.push_str(&format!(
            "; this run already uses `{k}`, the setting that moves it; sharing the session is what remains."
        )),
        (Some(k), None) => line.push_str(&format!(
            "; `{k}` is the setting that moves it (not measured in this run: the knob probe runs in a fresh hyper leg against the built-in server)."
        )),
        (None, _) => line.push_str(
            "; no client setting moves it: it is held while the session lives, and goes when the session is dropped.",
        ),
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
        // The run's own setting: the probe measured no variant for it.
        let mut own = f.clone();
        own.retained_breakdown = Some(vec![share(Owner::Config, 1_114.0, 1_114.0)]);
        own.retained_bytes_per_session = Some(1_114.0);
        let lines = advice(&summary(vec![own]));
        let line = lines
            .iter()
            .find(|l| l.starts_with("Where b goes"))
            .expect("owner line");
        assert!(
            line.contains("this run already uses `--roots ca`"),
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
