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

/// The width of the widest of `texts`, in characters (0 for none): what a column pads to.
pub fn widest<'a>(texts: impl IntoIterator<Item = &'a str>) -> usize {
    let counts = texts.into_iter().map(|t| t.chars().count());
    counts.max().unwrap_or(0)
}

/// Writes a grid: a label column as wide as the longest label plus 2, then one column per
/// leg, right-aligned, as wide as its name or widest cell plus 3. `rows` hold one cell per leg.
pub fn grid(out: &mut String, names: &[String], rows: &[(impl AsRef<str>, Vec<String>)]) {
    let label_w = widest(rows.iter().map(|(label, _)| label.as_ref())) + 2;
    let column = |i: usize| rows.iter().map(move |(_, c)| c[i].as_str());
    let col_w: Vec<usize> = (names.iter().enumerate())
        .map(|(i, name)| widest(column(i).chain([name.as_str()])) + 3)
        .collect();
    let lines = rows.iter().map(|(label, c)| (label.as_ref(), c.as_slice()));
    for (label, cells) in std::iter::once(("", names)).chain(lines) {
        let _ = write!(out, "{label:label_w$}");
        for (c, w) in cells.iter().zip(&col_w) {
            let _ = write!(out, "{c:>w$}", w = *w);
        }
        out.push('\n');
    }
}
