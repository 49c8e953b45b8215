//! Formatting the final table: times, numbers, column layout, and the small statistics
//! (distribution, mean, spread) its notes use.

use std::fmt::Write as _;

pub(super) fn fmt_time(ns: Option<f64>) -> String {
    match ns {
        None => "-".into(),
        Some(ns) if ns < 1e3 => format!("{ns:.0} ns"),
        Some(ns) if ns < 1e6 => format!("{:.2} µs", ns / 1e3),
        Some(ns) => format!("{:.3} ms", ns / 1e6),
    }
}

pub(super) fn fmt_num(v: f64) -> String {
    if (v - v.round()).abs() < 1e-6 && v.abs() < 1e15 {
        let s = format!("{}", v.abs().round() as u64);
        let mut out = String::new();
        for (i, ch) in s.chars().enumerate() {
            if i > 0 && (s.len() - i) % 3 == 0 {
                out.push(',');
            }
            out.push(ch);
        }
        if v < 0.0 {
            out.insert(0, '-');
        }
        out
    } else {
        format!("{v:.1}")
    }
}

/// One table line: the benchmark id left-aligned, figures right-aligned, the note last.
pub(super) fn line(cols: &[&str; 13]) -> String {
    const WIDTHS: [usize; 11] = [10, 9, 7, 8, 9, 7, 8, 6, 5, 4, 4];
    let mut out = format!("{:<24}", cols[0]);
    for (c, w) in cols[1..12].iter().zip(WIDTHS) {
        let _ = write!(out, " {c:>w$}");
    }
    let _ = write!(out, "  {}", cols[12]);
    out
}

/// Distinct values with their counts, most frequent first (ties: smaller value first).
pub(super) fn distribution(xs: impl Iterator<Item = u64>) -> Vec<(u64, usize)> {
    let mut m = std::collections::BTreeMap::new();
    for x in xs {
        *m.entry(x).or_insert(0usize) += 1;
    }
    let mut v: Vec<(u64, usize)> = m.into_iter().collect();
    v.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    v
}

pub(super) fn mean(xs: impl Iterator<Item = f64>) -> f64 {
    let v: Vec<f64> = xs.collect();
    v.iter().sum::<f64>() / v.len().max(1) as f64
}

pub(super) fn spread(xs: impl Iterator<Item = f64>) -> (f64, f64) {
    xs.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), x| {
        (lo.min(x), hi.max(x))
    })
}
