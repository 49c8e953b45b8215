//! Lines of the brief view fitted to the terminal: broken between words, with a hanging indent.

use crate::report::figures::Provenance;

/// The width the brief view fits when standard output is not a terminal (a pipe, a file).
pub const NOT_A_TERMINAL: usize = 100;

/// How far a continuation is indented past its line's own indent.
const HANG: usize = 2;

/// The width of the terminal standard output is, or [`NOT_A_TERMINAL`].
pub fn terminal_width() -> usize {
    console::Term::stdout()
        .size_checked()
        .map_or(NOT_A_TERMINAL, |(_rows, cols)| usize::from(cols))
}

/// `line` broken between words into lines of at most `width` characters, each continuation
/// indented [`HANG`] past the line's own leading spaces. A word longer than a line is left
/// whole on a line of its own: it is never split.
pub fn wrap(line: &str, width: usize) -> Vec<String> {
    if line.chars().count() <= width {
        return vec![line.to_string()];
    }
    let body = line.trim_start_matches(' ');
    let indent = line.len() - body.len();
    let hang = " ".repeat(indent + HANG);
    let mut out = Vec::new();
    let mut current = " ".repeat(indent);
    // Whether `current` holds a word yet.
    let mut has_word = false;
    for word in words(body) {
        if has_word && current.chars().count() + 1 + word.chars().count() > width {
            out.push(current.trim_end().to_string());
            current = hang.clone();
            has_word = false;
        }
        if has_word {
            current.push(' ');
        }
        current.push_str(&word);
        has_word |= !word.is_empty();
    }
    out.push(current.trim_end().to_string());
    out
}

/// The words of `body` split at single spaces, a provenance mark (`●;`) kept with the word
/// before it: a mark names how the figure before it was obtained, so it never starts a line.
fn words(body: &str) -> Vec<String> {
    let is_mark = |w: &str| Provenance::ALL.iter().any(|p| w.starts_with(p.mark()));
    let mut out: Vec<String> = Vec::new();
    for w in body.split(' ') {
        match out.last_mut() {
            Some(prev) if is_mark(w) && !prev.is_empty() => {
                prev.push(' ');
                prev.push_str(w);
            }
            _ => out.push(w.to_string()),
        }
    }
    out
}

/// Every line of `text` wrapped to `width` ([`wrap`]), each ending in a newline.
pub fn wrap_all(text: &str, width: usize) -> String {
    let lines = text.lines().flat_map(|line| wrap(line, width));
    lines.map(|l| l + "\n").collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_long_line_breaks_between_words_with_a_hanging_indent() {
        let line = "- Share one session: allocation traffic was 112 KiB fresh vs 13.7 KiB shared, 98.8 KiB less";
        let lines = wrap(line, 40);
        assert!(lines.len() > 1, "{lines:#?}");
        assert!(lines.iter().all(|l| l.chars().count() <= 40), "{lines:#?}");
        assert!(lines[1..]
            .iter()
            .all(|l| l.starts_with("  ") && !l.starts_with("   ")));
        // Nothing lost, nothing split: the words, in order, are the line's.
        let words: Vec<&str> = lines.iter().flat_map(|l| l.split_whitespace()).collect();
        assert_eq!(words, line.split_whitespace().collect::<Vec<_>>());
    }

    #[test]
    fn an_indented_line_hangs_under_its_indent_and_a_short_one_is_kept() {
        let lines = wrap("    aaaa bbbb cccc dddd", 14);
        assert_eq!(lines, ["    aaaa bbbb", "      cccc", "      dddd"]);
        assert_eq!(wrap("short", 14), ["short"]);
        // A mark stays with the figure it marks.
        assert_eq!(wrap("- a 12 KiB ●; b", 11), ["- a 12", "  KiB ●; b"]);
        // A word wider than the line stays whole.
        assert_eq!(
            wrap("a 1234567890123 b", 8),
            ["a", "  1234567890123", "  b"]
        );
    }
}
