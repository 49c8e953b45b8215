//! The terminal views of a finished run: the brief one by default ([`View::Brief`], the answer
//! first) and every figure of [`crate::report::figures::MODE_FIGURES`] with `--detail`.

use std::fmt::Write;

use crate::contract::summary::{ModeSummary, Summary};
use crate::report::figures::{Cell, MODE_FIGURES, UNSOUND_MARK};
use crate::report::grid::{grid, leg_labels};
use crate::vocab::client::ClientKind;
use crate::vocab::tls::RootsChoice;
use crate::vocab::units;

/// Which terminal view to print.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum View {
    /// The answer first: the grouped brief figures ([`crate::report::brief`]), the notes, the
    /// owners in one line per leg, what to do. Fits 100 columns for two legs, 120 for four.
    #[default]
    Brief,
    /// Every figure of [`MODE_FIGURES`], the owner tables in full, what to do.
    Detail,
}

/// Renders the terminal view: [`View::Brief`] or [`View::Detail`].
pub fn render(summary: &Summary, view: View) -> String {
    let names = leg_labels(summary);
    let mut out = match view {
        View::Brief => crate::report::brief::render(summary),
        View::Detail => detail_grid(summary, &names),
    };
    notes(&mut out, summary, &names);
    match view {
        View::Brief => owner_lines(&mut out, summary, &names),
        View::Detail => owner_grids(&mut out, summary, &names),
    }
    let advice = crate::report::advice::advice(summary);
    if !advice.is_empty() {
        out.push_str("\nWhat to do (from this run's figures):\n");
        match view {
            View::Brief => {
                use crate::report::advice::brief::{brief, MAX_LINES};
                for a in advice.iter().take(MAX_LINES) {
                    let _ = writeln!(out, "- {}", brief(a));
                }
                let more = advice.len().saturating_sub(MAX_LINES);
                if more > 0 {
                    let _ = writeln!(out, "- … {more} more: on the page and with --detail");
                }
            }
            View::Detail => {
                for a in advice {
                    let _ = writeln!(out, "- {a}");
                }
            }
        }
    }
    if view == View::Brief {
        out.push_str(
            "Every figure and each advice line in full: --detail, summary.json and the page.\n",
        );
    }
    out
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

/// What a leg's cells cannot say: why it stopped early, what bounds its rate, its failures.
fn notes(out: &mut String, summary: &Summary, names: &[String]) {
    for (m, name) in summary.modes.iter().zip(names) {
        if let Some(why) = &m.load.stopped_early {
            let _ = writeln!(out, "{name}: stopped early: {why}");
        }
        if let Some(why) = &m.per_session_unsound {
            let _ = writeln!(
                out,
                "{name}: per-session figures marked {UNSOUND_MARK} are not sound: {why}"
            );
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
        let rows: Vec<(&str, Vec<String>)> = t
            .rows
            .iter()
            .map(|(owner, cells)| {
                let cells = cells
                    .iter()
                    .map(|c| c.clone().unwrap_or_else(|| "–".to_string()))
                    .collect();
                (owner.as_str(), cells)
            })
            .collect();
        grid(out, names, &rows);
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
            let rest: f64 = shares.iter().skip(3).map(|s| s.bytes).sum();
            if std::mem::take(&mut first) {
                out.push('\n');
            }
            let _ = writeln!(
                out,
                "{name}: b by owner: {}, other owners {}",
                top.join(", "),
                units::bytes(rest)
            );
        }
        breakdown_errors(out, m, name);
    }
}

fn breakdown_errors(out: &mut String, m: &ModeSummary, name: &str) {
    for e in [&m.breakdown_error, &m.held_connection_error]
        .into_iter()
        .flatten()
    {
        let _ = writeln!(out, "{name}: --breakdown: {e}");
    }
}
