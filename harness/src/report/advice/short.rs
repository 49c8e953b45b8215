//! The terminal's short form of an advice line, by one rule (docs/figures.md).

use crate::report::figures::Provenance;

/// How many advice lines the brief view prints; the rest are counted and left to the page.
pub const MAX_LINES: usize = 5;

/// The words a provenance part opens with, and the kind each names. An extrapolation carries
/// measured growth past the run, as R·b·T carries b to the configured rate and retention: a
/// model, not arithmetic on what was measured.
pub const KINDS: &[(&str, Provenance)] = &[
    ("measured", Provenance::Measured),
    ("derived", Provenance::Derived),
    ("difference derived", Provenance::Derived),
    ("model", Provenance::Model),
    ("extrapolation", Provenance::Model),
];

/// The kind a part of a parenthesis opens with.
fn kind(part: &str) -> Option<Provenance> {
    let t = part.trim_start();
    KINDS
        .iter()
        .find(|(word, _)| {
            t.strip_prefix(word)
                .is_some_and(|rest| !rest.starts_with(char::is_alphanumeric))
        })
        .map(|(_, p)| *p)
}

/// The parenthesis `inner` (without its brackets) as the brief form shows it: when a part
/// names a kind, the parts that do not, bracketed, and the weakest kind's mark; else `None`
/// (the parenthesis is an aside and stays as written).
fn compact(inner: &str) -> Option<String> {
    let parts: Vec<&str> = inner.split("; ").collect();
    let p = parts.iter().filter_map(|part| kind(part)).max()?;
    let head: Vec<&str> = parts
        .into_iter()
        .filter(|part| kind(part).is_none())
        .collect();
    Some(match head.is_empty() {
        true => p.mark().to_string(),
        false => format!("({}) {}", head.join("; "), p.mark()),
    })
}

/// The brief form of one advice line: every provenance parenthesis replaced by its mark,
/// every other one kept.
pub fn brief(line: &str) -> String {
    let mut out = String::new();
    let mut rest = line;
    while let Some(open) = rest.find('(') {
        // The matching close, nested parentheses included.
        let mut depth = 0;
        let close = rest[open..].char_indices().find_map(|(i, c)| {
            depth += match c {
                '(' => 1,
                ')' => -1,
                _ => 0,
            };
            (depth == 0).then_some(open + i)
        });
        let Some(close) = close else { break };
        match compact(&rest[open + 1..close]) {
            Some(short) => {
                out.push_str(rest[..open].trim_end());
                out.push(' ');
                out.push_str(&short);
            }
            None => out.push_str(&rest[..=close]),
        }
        rest = &rest[close + 1..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::advice::advice;
    use crate::report::advice::fixtures::every_line;

    /// The number tokens of `s`, as written (`3,000`, `1.02`), a trailing `.` or `,` left off.
    fn numbers(s: &str) -> Vec<String> {
        let mut out = Vec::new();
        let mut cur = String::new();
        for c in s.chars().chain([' ']) {
            if c.is_ascii_digit() || (!cur.is_empty() && matches!(c, '.' | ',')) {
                cur.push(c);
            } else if !cur.is_empty() {
                out.push(cur.trim_end_matches(['.', ',']).to_string());
                cur.clear();
            }
        }
        out
    }

    /// `s` without its parenthesised text, nested parentheses included.
    fn outside_parentheses(s: &str) -> String {
        let mut depth = 0usize;
        s.chars()
            .filter(|c| {
                match c {
                    '(' => depth += 1,
                    ')' => depth = depth.saturating_sub(1),
                    _ => return depth == 0,
                }
                false
            })
            .collect()
    }

    /// Qualifiers that change what a line means: a brief line keeps each its full line has.
    const QUALIFIERS: &[&str] = &[
        "not memory held",
        "not reached in this run",
        "not measured in this run",
        "no client setting moves it",
        "No conclusion",
    ];

    #[test]
    fn provenance_becomes_its_weakest_mark_and_asides_stay() {
        let l = "Share one session: allocation traffic (bytes allocated per request, not memory held) was 112 KiB fresh vs 13.7 KiB shared, 98.8 KiB less per request when shared (measured: client allocator totals ÷ completed requests; difference derived); 3000 full handshakes fresh vs 8 shared (measured: client count).";
        assert_eq!(
            brief(l),
            "Share one session: allocation traffic (bytes allocated per request, not memory held) was 112 KiB fresh vs 13.7 KiB shared, 98.8 KiB less per request when shared ◐; 3000 full handshakes fresh vs 8 shared ●."
        );
        assert_eq!(
            brief("`x` holds 15 KiB of the 17 KiB (87.3 %; measured: the profile (dhat))"),
            "`x` holds 15 KiB of the 17 KiB (87.3 %) ●"
        );
        assert_eq!(
            brief("plateau 1 GiB (model: rate × T); gone ~370 s after (extrapolation of growth: (9 − 1) ÷ 2)"),
            "plateau 1 GiB ○; gone ~370 s after ○"
        );
        assert_eq!(brief("1 B (derived: a; model: b)"), "1 B ○");
        assert_eq!(brief("1 B (model: a; measured: b)"), "1 B ○");
        // Not a kind: "not measured …", "measurement", "modelled" are asides.
        for aside in [
            "`k` moves it (not measured in this run: no probe).",
            "1 B (measurements agree)",
            "1 B (modelled elsewhere)",
        ] {
            assert_eq!(brief(aside), aside);
        }
    }

    /// Every line of the fixtures, in full and brief.
    fn lines() -> Vec<(String, String)> {
        let lines = advice(&every_line());
        lines
            .into_iter()
            .map(|l| {
                let b = brief(&l);
                (l, b)
            })
            .collect()
    }

    #[test]
    fn the_fixtures_give_every_kind_of_line() {
        let all: Vec<String> = lines().into_iter().map(|(l, _)| l).collect();
        for start in [
            "[hyper] No conclusion from the leak leg",
            "[hyper] Share one session",
            "[hyper] Building a session",
            "[hyper] The harness's retention model",
            "[hyper] If sessions cannot be shared",
            "[hyper] Where b goes",
            "[reqwest] Where b goes",
            "[reqwest] Never invalidating",
        ] {
            assert!(
                all.iter().any(|l| l.starts_with(start)),
                "{start}: {all:#?}"
            );
        }
        for q in QUALIFIERS {
            assert!(all.iter().any(|l| l.contains(q)), "{q}: {all:#?}");
        }
        assert!(all.iter().any(|l| l.contains("extrapolation")), "{all:#?}");
    }

    #[test]
    fn a_brief_line_states_its_full_lines_numbers_verbatim_and_all_of_them() {
        for (full, b) in lines() {
            let stated = numbers(&full);
            for n in numbers(&b) {
                assert!(
                    stated.contains(&n),
                    "{n} is not in the full line:\n{full}\n{b}"
                );
            }
            // Only a provenance parenthesis goes: every figure outside brackets stays.
            let kept = numbers(&b);
            for n in numbers(&outside_parentheses(&full)) {
                assert!(kept.contains(&n), "{n} was dropped:\n{full}\n{b}");
            }
            for q in QUALIFIERS {
                assert!(
                    !full.contains(q) || b.contains(q),
                    "{q:?} was dropped:\n{full}\n{b}"
                );
            }
            assert!(!b.contains('…'), "nothing is cut: {b}");
            assert!(!b.contains("(measured") && !b.contains("(derived"), "{b}");
        }
    }

    #[test]
    fn a_brief_lines_mark_is_the_weakest_provenance_it_covers() {
        let all = lines();
        let brief_of = |start: &str| {
            all.iter()
                .find(|(l, _)| l.starts_with(start))
                .map(|(_, b)| b.clone())
                .unwrap_or_else(|| panic!("{start}"))
        };
        let share = brief_of("[hyper] Share one session");
        // Bytes per request are derived (the table marks them so), and so is their difference.
        assert!(share.contains("less per request when shared ◐;"), "{share}");
        assert!(
            share.contains("617 KiB shared in this 30 s run ●; the fresh peak includes"),
            "{share}"
        );
        let retention = brief_of("[hyper] The harness's retention model");
        assert!(retention.contains("for 60000 sessions ○;"), "{retention}");
        let leak = brief_of("[reqwest] Never invalidating");
        assert!(leak.contains("holds 48.8 KiB ◐;"), "{leak}");
        assert!(
            leak.contains("over 30.0 s ◐") || leak.contains("per s ◐"),
            "{leak}"
        );
        // Growth carried past the run is a model, not arithmetic on what was measured.
        assert!(leak.contains("after the run's end ○"), "{leak}");
        assert!(!leak.contains("after the run's end ◐"), "{leak}");
        let owner = brief_of("[hyper] Where b goes");
        assert!(owner.contains("(87.3 %) ●"), "{owner}");
    }
}
