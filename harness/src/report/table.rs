//! The terminal views of a finished run: the brief one by default, every figure with `--detail`.

use std::fmt::Write;

use crate::contract::summary::{ModeSummary, Summary};
use crate::report::figures::{unsound_note, wall_time_note, Cell, MODE_FIGURES, UNSOUND_MARK};
use crate::report::grid::{grid, leg_labels};
use crate::vocab::client::ClientKind;
use crate::vocab::tls::RootsChoice;
use crate::vocab::units;

/// Which terminal view to print.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum View {
    /// The answer first ([`crate::report::brief`]), the notes, the owners in one line per leg,
    /// what to do; fitted to the width it is given.
    #[default]
    Brief,
    /// Every figure of [`MODE_FIGURES`], the owner tables in full, what to do.
    Detail,
}

/// Renders the terminal view: [`View::Brief`], fitted to `width` columns
/// ([`crate::report::wrap::terminal_width`]), or [`View::Detail`], every line whole.
pub fn render(summary: &Summary, view: View, width: usize) -> String {
    use crate::report::advice::short::{brief, MAX_LINES};
    let names = leg_labels(summary);
    let advice = crate::report::advice::advice(summary);
    let mut out = match view {
        View::Brief => crate::report::brief::render(summary, width),
        View::Detail => detail_grid(summary, &names),
    };
    notes(&mut out, summary, &names);
    match view {
        View::Brief => owner_lines(&mut out, summary, &names),
        View::Detail => owner_grids(&mut out, summary, &names),
    }
    if !advice.is_empty() {
        out.push_str("\nWhat to do (from this run's figures):\n");
    }
    if view == View::Detail {
        for a in advice {
            let _ = writeln!(out, "- {a}");
        }
        return out;
    }
    for a in advice.iter().take(MAX_LINES) {
        let _ = writeln!(out, "- {}", brief(a));
    }
    let more = advice.len().saturating_sub(MAX_LINES);
    if more > 0 {
        let _ = writeln!(out, "- … {more} more: on the page and with --detail");
    }
    out.push_str(
        "Every figure and each advice line in full: --detail, summary.json and the page.\n",
    );
    crate::report::wrap::wrap_all(&out, width)
}

/// Every figure of [`MODE_FIGURES`], one row each.
fn detail_grid(summary: &Summary, names: &[String]) -> String {
    let rows: Vec<(&str, Vec<String>)> = MODE_FIGURES
        .iter()
        .map(|f| {
            let cells = summary
                .modes
                .iter()
                .map(|m| match f.cell(m) {
                    // Long words (failure kinds, stop reasons) are listed below the table.
                    Cell::Text(Some(t)) if t.chars().count() > 24 => "see below".to_string(),
                    c if f.marked(m) => format!("{} {UNSOUND_MARK}", c.plain()),
                    c => c.plain(),
                })
                .collect();
            (f.label, cells)
        })
        .collect();
    let mut out = String::new();
    grid(&mut out, names, &rows);
    out
}

/// What a leg's cells cannot say: what its wall time is under the virtual clock, why it
/// stopped early, what bounds its rate, its failures.
fn notes(out: &mut String, summary: &Summary, names: &[String]) {
    for (m, name) in summary.modes.iter().zip(names) {
        let why = m.load.stopped_early.as_ref();
        let stopped = why.map(|why| format!("stopped early: {why}"));
        let notes = [wall_time_note(m), stopped, unsound_note(m)];
        for note in notes.iter().flatten() {
            let _ = writeln!(out, "{name}: {note}");
        }
        for (kind, n) in &m.load.failures_by_kind {
            let _ = writeln!(out, "{name}: {n} failed: {kind}");
        }
        // A native-tls build: reqwest's certificates go through OpenSSL as well (the summary's
        // method says so once; here it is said where the figures are).
        if m.client == ClientKind::Reqwest
            && m.roots != RootsChoice::Webpki
            && summary
                .method
                .contains_key(crate::contract::summary::METHOD_REQWEST_NATIVE_TLS)
        {
            let _ = writeln!(
                out,
                "{name}: built with --features native-tls: this rustls client's builds include OpenSSL parsing its certificates (method.reqwest_native_tls)"
            );
        }
    }
}

/// `--breakdown` in full: each owner table, the held-connection line, why a leg has none.
fn owner_grids(out: &mut String, summary: &Summary, names: &[String]) {
    for t in crate::report::figures::owner_tables(&summary.modes) {
        let _ = writeln!(out, "\n{}:", t.title);
        grid(out, names, &t.rows);
    }
    for (m, name) in summary.modes.iter().zip(names) {
        if let Some(line) = crate::report::figures::held_line(m) {
            let _ = writeln!(out, "\n{name}: {line}");
        }
        breakdown_errors(out, m, name);
    }
}

/// `--breakdown` in brief: per leg, b's three biggest owners and the rest in one line.
fn owner_lines(out: &mut String, summary: &Summary, names: &[String]) {
    let mut first = true;
    for (m, name) in summary.modes.iter().zip(names) {
        if let Some(shares) = &m.retained_breakdown {
            let top: Vec<String> = shares
                .iter()
                .take(3)
                .map(|s| format!("{} {}", s.owner, units::bytes(s.bytes)))
                .collect();
            let rest = units::bytes(shares.iter().skip(3).map(|s| s.bytes).sum());
            if std::mem::take(&mut first) {
                out.push('\n');
            }
            let top = top.join(", ");
            let _ = writeln!(out, "{name}: b by owner: {top}, other owners {rest}");
        }
        breakdown_errors(out, m, name);
    }
}

fn breakdown_errors(out: &mut String, m: &ModeSummary, name: &str) {
    for e in m.breakdown_error.iter().chain(&m.held_connection_error) {
        let _ = writeln!(out, "{name}: --breakdown: {e}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::advice::fixtures::{every_line, RATE_BOUND};
    use crate::report::advice::short::MAX_LINES;

    /// The advice entries of a brief view: each `- ` line with its wrapped continuation.
    fn advice_entries(out: &str) -> Vec<String> {
        let block = out
            .split_once("What to do (from this run's figures):\n")
            .map(|(_, rest)| rest)
            .unwrap_or_else(|| panic!("an advice block:\n{out}"));
        let mut entries: Vec<String> = Vec::new();
        // Up to the count of lines left to the page.
        for line in block.lines().take_while(|l| !l.starts_with("- … ")) {
            match line.strip_prefix("- ") {
                Some(l) => entries.push(l.to_string()),
                None if line.starts_with("  ") => {
                    let last = entries.last_mut().expect("a continuation follows an entry");
                    last.push(' ');
                    last.push_str(line.trim_start());
                }
                None => break,
            }
        }
        entries
    }

    #[test]
    fn no_line_of_the_brief_view_is_wider_than_its_width() {
        let s = every_line();
        // One leg's column of the brief table needs 62: narrower, a table row cannot wrap.
        for width in [100, 80, 62] {
            let out = render(&s, View::Brief, width);
            for l in out.lines() {
                assert!(l.chars().count() <= width, "{width}: {l:?}\n{out}");
            }
        }
        // Wrapping loses no word: the entries, joined again, are the brief lines.
        let out = render(&s, View::Brief, 62);
        let lines = crate::report::advice::advice(&s);
        let entries = advice_entries(&out);
        for (entry, full) in entries.iter().zip(&lines) {
            assert_eq!(entry, &crate::report::advice::short::brief(full));
        }
    }

    #[test]
    fn unsound_leg_lines_come_first_in_the_brief_view() {
        let mut s = every_line();
        // The second client's leak leg too: its line is the last of its client's lines in
        // the full list's per-client order, and still among the first of the brief view.
        let leak = s
            .modes
            .iter_mut()
            .rfind(|m| m.mode == crate::vocab::mode::Mode::Leak)
            .expect("a leak leg");
        leak.rate_bound = Some(RATE_BOUND.into());
        leak.per_session_unsound = leak.rate_bound.clone();
        let out = render(&s, View::Brief, 100);
        let entries = advice_entries(&out);
        assert_eq!(entries.len(), MAX_LINES, "{out}");
        let more = crate::report::advice::advice(&s).len() - MAX_LINES;
        assert!(out.contains(&format!("- … {more} more")), "{out}");
        assert!(
            entries[0].starts_with("[hyper] No conclusion from the leak leg"),
            "{out}"
        );
        assert!(
            entries[1].starts_with("[reqwest] No conclusion from the leak leg"),
            "{out}"
        );
        assert!(
            entries[1].contains("274 of 3,000 requests started late"),
            "{out}"
        );
        assert!(
            entries[2..].iter().all(|e| !e.contains("No conclusion")),
            "{out}"
        );
    }
}
