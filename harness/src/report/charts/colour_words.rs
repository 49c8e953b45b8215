//! Test oracle: the word a person would use for a colour, read off its hue, saturation and
//! value rather than off the palette, so a test can check that each colour a caption names is
//! one the chart draws, and that the palette's names fit its colours.

/// The colour words a caption may use, each as it would appear in one: `(blue)`.
pub(crate) const WORDS: [&str; 11] = [
    "red", "orange", "olive", "green", "cyan", "blue", "purple", "pink", "brown", "grey", "black",
];

/// The word for `#rrggbb` (one of [`WORDS`]).
pub(crate) fn word(r: u8, g: u8, b: u8) -> &'static str {
    let [r, g, b] = [r, g, b].map(|c| f64::from(c) / 255.0);
    let max = r.max(g).max(b);
    let d = max - r.min(g).min(b);
    if max < 0.15 {
        return "black";
    }
    if d / max < 0.15 {
        return "grey";
    }
    let sector = if max == r {
        ((g - b) / d).rem_euclid(6.0)
    } else if max == g {
        (b - r) / d + 2.0
    } else {
        (r - g) / d + 4.0
    };
    match sector * 60.0 {
        h if h < 45.0 && max < 0.6 => "brown",
        h if !(15.0..345.0).contains(&h) => "red",
        h if h < 45.0 => "orange",
        h if h < 75.0 => "olive",
        h if h < 165.0 => "green",
        h if h < 195.0 => "cyan",
        h if h < 255.0 => "blue",
        h if h < 290.0 => "purple",
        _ => "pink",
    }
}

/// The words of the colours `svg` draws its lines in: every `<polyline>` at least 2 pixels
/// wide (plotters writes `stroke="#RRGGBB" stroke-width="2"`), which leaves out the 1-pixel
/// axes and grid.
fn stroked(svg: &str) -> Vec<&'static str> {
    let attr = |element: &str, name: &str| -> Option<String> {
        let rest = element.split(&format!(" {name}=\"")).nth(1)?;
        Some(rest.split('"').next()?.to_string())
    };
    svg.split("<polyline")
        .skip(1)
        .filter_map(|rest| {
            let element = rest.split('>').next()?;
            let width: u32 = attr(element, "stroke-width")?.parse().ok()?;
            let hex = attr(element, "stroke")?;
            let v = u32::from_str_radix(hex.strip_prefix('#')?, 16).ok()?;
            (width >= 2).then(|| word((v >> 16) as u8, (v >> 8) as u8, v as u8))
        })
        .collect()
}

/// Checks that every colour `svg`'s text names as `(word)` is a colour it strokes a line with,
/// and returns the words named (so a caller can check the chart names any at all).
pub(crate) fn assert_named_colours_are_drawn(svg: &str) -> Vec<&'static str> {
    let mut drawn = stroked(svg);
    drawn.dedup();
    let named: Vec<&'static str> = WORDS
        .into_iter()
        .filter(|w| svg.contains(&format!("({w})")))
        .collect();
    for w in &named {
        assert!(
            drawn.contains(w),
            "a caption names {w}, but no line is drawn in {w}; drawn: {drawn:?}"
        );
    }
    named
}
