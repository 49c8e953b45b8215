//! The terminal's grid: a label column and one right-aligned column per leg.

use std::fmt::Write;

use crate::contract::summary::Summary;

/// Each mode's column name ([`crate::vocab::mode::Mode::leg_label`]).
pub fn leg_labels(summary: &Summary) -> Vec<String> {
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
pub fn grid(out: &mut String, names: &[String], rows: &[(impl AsRef<str>, Vec<String>)]) {
    let label_w = rows
        .iter()
        .map(|(label, _)| label.as_ref().chars().count())
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
        let label = label.as_ref();
        let pad = label_w - label.chars().count();
        let _ = write!(out, "{label}{}", " ".repeat(pad));
        for (c, w) in cells.iter().zip(&col_w) {
            let _ = write!(out, "{c:>w$}", w = *w);
        }
        out.push('\n');
    }
}
