//! The end-of-run summary table printed to the terminal: one row per figure of
//! [`crate::report::figures::MODE_FIGURES`], one column per mode.

use std::fmt::Write;

use crate::contract::summary::Summary;
use crate::report::figures::{Cell, MODE_FIGURES, UNSOUND_MARK};
use crate::vocab::client::ClientKind;
use crate::vocab::tls::RootsChoice;

/// Each mode's column name ([`crate::vocab::mode::Mode::leg_label`]).
pub(crate) fn leg_labels(summary: &Summary) -> Vec<String> {
    let several = summary
        .modes
        .iter()
        .any(|m| m.client != summary.modes[0].client);
    summary
        .modes
        .iter()
        .map(|m| m.mode.leg_label(m.client, several))
        .collect()
}

/// Writes a grid: a label column as wide as the longest label plus 2, then one column per
/// leg, right-aligned, as wide as its name or widest cell plus 3. `rows` hold one cell per leg.
fn grid(out: &mut String, names: &[String], rows: &[(&str, Vec<String>)]) {
    let label_w = rows
        .iter()
        .map(|(label, _)| label.chars().count())
        .max()
        .unwrap_or(0)
        + 2;
    let col_w: Vec<usize> = names
        .iter()
        .enumerate()
        .map(|(i, name)| {
            rows.iter()
                .map(|(_, cells)| cells[i].chars().count())
                .chain([name.chars().count()])
                .max()
                .unwrap_or(0)
                + 3
        })
        .collect();
    let _ = write!(out, "{:label_w$}", "");
    for (name, w) in names.iter().zip(&col_w) {
        let _ = write!(out, "{name:>w$}", w = *w);
    }
    out.push('\n');
    for (label, cells) in rows {
        let pad = label_w - label.chars().count();
        let _ = write!(out, "{label}{}", " ".repeat(pad));
        for (c, w) in cells.iter().zip(&col_w) {
            let _ = write!(out, "{c:>w$}", w = *w);
        }
        out.push('\n');
    }
}

/// Renders the per-mode table and the "What to do" block.
pub fn render(summary: &Summary) -> String {
    let names = leg_labels(summary);
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
    grid(&mut out, &names, &rows);
    for (m, name) in summary.modes.iter().zip(&names) {
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
        grid(&mut out, &names, &rows);
    }
    for (m, name) in summary.modes.iter().zip(&names) {
        if let Some(line) = crate::report::figures::held_line(m) {
            let _ = writeln!(out, "\n{name}: {line}");
        }
        for e in [&m.breakdown_error, &m.held_connection_error]
            .into_iter()
            .flatten()
        {
            let _ = writeln!(out, "{name}: --breakdown: {e}");
        }
    }
    let advice = crate::report::advice::advice(summary);
    if !advice.is_empty() {
        out.push_str("\nWhat to do (from this run's figures):\n");
        for a in advice {
            let _ = writeln!(out, "- {a}");
        }
    }
    out
}
