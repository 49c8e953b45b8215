//! The terminal's short form of an advice line (issue 21): the same claims and figures, each
//! figure's provenance as its mark instead of its wording, and no longer than [`MAX_CHARS`].
//!
//! Derived from the full line by one rule, so the two cannot say different things. Every
//! advice line names how each figure was obtained in a parenthesis that opens with the kind:
//! `(measured: …)`, `(derived: …)`, `(model: …)`, `(extrapolation of …)`, or a parenthesis
//! whose last part is one (`(87.3 %; measured: …)`). That parenthesis becomes the kind's mark
//! ([`Provenance::mark`]), keeping what precedes the kind (`(87.3 %) ●`); any other
//! parenthesis (an aside, a caveat the page spells out) is left out. Then, if the line is
//! still too long, its trailing `; ` clauses are dropped and an ellipsis says so: the whole
//! line is on the page and under `--detail`.

use crate::report::headline::Provenance;

/// The longest brief line, in characters.
pub const MAX_CHARS: usize = 160;

/// How many advice lines the brief view prints; the rest are counted and left to the page.
pub const MAX_LINES: usize = 5;

/// The kind a provenance parenthesis opens with, and its mark.
fn kind(text: &str) -> Option<Provenance> {
    let t = text.trim_start();
    [
        ("measured", Provenance::Measured),
        ("derived", Provenance::Derived),
        ("difference derived", Provenance::Derived),
        ("extrapolation", Provenance::Derived),
        ("model", Provenance::Model),
    ]
    .into_iter()
    .find(|(word, _)| t.starts_with(word))
    .map(|(_, p)| p)
}

/// The parenthesis `inner` (without its brackets) as the brief form shows it: a provenance
/// becomes its mark, anything else (an aside, a caveat the page spells out) is left out.
fn compact(inner: &str) -> String {
    if let Some(p) = kind(inner) {
        return p.mark().to_string();
    }
    // `(87.3 %; measured: …)`: the part before the provenance stays.
    match inner
        .rsplit_once("; ")
        .and_then(|(head, last)| Some((head, kind(last)?)))
    {
        Some((head, p)) => format!("({head}) {}", p.mark()),
        None => String::new(),
    }
}

/// The line with every provenance parenthesis replaced by its mark and every other
/// parenthesis left out.
fn marked(line: &str) -> String {
    let mut out = String::new();
    let mut rest = line;
    while let Some(open) = rest.find('(') {
        // The matching close, nested parentheses included.
        let mut depth = 0usize;
        let mut close = None;
        for (i, c) in rest[open..].char_indices() {
            match c {
                '(' => depth += 1,
                ')' => {
                    depth -= 1;
                    if depth == 0 {
                        close = Some(open + i);
                        break;
                    }
                }
                _ => {}
            }
        }
        let Some(close) = close else { break };
        out.push_str(rest[..open].trim_end());
        let short = compact(&rest[open + 1..close]);
        if !short.is_empty() {
            out.push(' ');
            out.push_str(&short);
        }
        rest = &rest[close + 1..];
    }
    out.push_str(rest);
    out
}

/// The brief form of one advice line.
pub fn brief(line: &str) -> String {
    let short = marked(line);
    if short.chars().count() <= MAX_CHARS {
        return short;
    }
    // Whole clauses from the start, while the line and its ellipsis fit.
    let mut kept = String::new();
    for clause in short.split("; ") {
        let next = if kept.is_empty() {
            clause.to_string()
        } else {
            format!("{kept}; {clause}")
        };
        if next.chars().count() + 2 > MAX_CHARS {
            break;
        }
        kept = next;
    }
    if kept.is_empty() {
        // One clause longer than the limit: cut at a word.
        let cut: String = short.chars().take(MAX_CHARS - 2).collect();
        kept = cut
            .rsplit_once(' ')
            .map_or(cut.clone(), |(a, _)| a.to_string());
    }
    format!("{} …", kept.trim_end_matches(['.', ';', ' ']))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::advice::advice;
    use crate::report::advice::fixtures::{fresh, leak, shared, summary};

    #[test]
    fn provenance_becomes_its_mark_and_other_parentheses_go() {
        let l = "Share one session: allocation traffic (bytes allocated per request, not memory held) was 112 KiB fresh vs 13.7 KiB shared (measured: client allocator totals ÷ completed requests; difference derived); 3000 full handshakes fresh vs 8 shared (measured: client count).";
        assert_eq!(
            brief(l),
            "Share one session: allocation traffic was 112 KiB fresh vs 13.7 KiB shared ●; 3000 full handshakes fresh vs 8 shared ●."
        );
        assert_eq!(
            marked("`x` holds 15 KiB of the 17 KiB (87.3 %; measured: the profile (dhat))"),
            "`x` holds 15 KiB of the 17 KiB (87.3 %) ●"
        );
        assert_eq!(
            marked("plateau 1 GiB (model: rate × T); gone ~370 s after (extrapolation of growth)"),
            "plateau 1 GiB ○; gone ~370 s after ◐"
        );
    }

    #[test]
    fn every_advice_line_of_a_full_run_fits_and_keeps_a_figure_and_a_mark() {
        let lines = advice(&summary(vec![
            fresh("hyper"),
            shared("hyper"),
            leak("hyper"),
        ]));
        assert!(!lines.is_empty());
        for l in &lines {
            let b = brief(l);
            assert!(
                b.chars().count() <= MAX_CHARS,
                "{} chars: {b}",
                b.chars().count()
            );
            assert!(b.chars().any(|c| c.is_ascii_digit()), "a figure: {b}");
            assert!(
                Provenance::ALL.iter().any(|p| b.contains(p.mark())),
                "a mark: {b}"
            );
            assert!(!b.contains("(measured"), "{b}");
        }
    }

    #[test]
    fn a_line_too_long_keeps_its_first_clauses_and_says_so() {
        let clause = "x".repeat(60);
        let l = format!("Lead: {clause} (measured: a); {clause} (derived: b); {clause}.");
        let b = brief(&l);
        assert!(b.ends_with(" …"), "{b}");
        assert!(b.starts_with("Lead: "), "{b}");
        assert!(b.chars().count() <= MAX_CHARS, "{b}");
    }
}
