//! The charts of `harness exec`: the command's memory and its connections over time.

use crate::contract::exec::ExecRow;
use crate::report::charts::canvas::{render_svg, titled, Drawn};
use crate::report::charts::legend::Dash;
use crate::report::charts::lines::{draw_panel, Line, LinePanel, Quantity};
use crate::report::charts::series::{Hue, TimeAxis, PALETTE};

/// One figure of a row, `None` where it was not read.
type Figure = fn(&ExecRow) -> Option<f64>;

fn line(hue: Hue, rows: &[ExecRow], figure: impl Fn(&ExecRow) -> Option<f64>) -> Line {
    let points = rows.iter().filter_map(|r| Some((r.t_s, figure(r)?)));
    Line::new(hue.rgb, 2, Dash::Solid, points.collect())
}

/// A panel of two counts, its caption naming each line's colour from the hue the line is drawn
/// with: `lead: what (blue), what (red)`.
fn keyed_panel(
    rows: &[ExecRow],
    lead: &str,
    y_desc: &str,
    lines: [(&str, Figure); 2],
) -> LinePanel {
    // Line i is drawn in PALETTE[i] and named by it: one choice for both.
    let key: Vec<String> = (lines.iter().zip(PALETTE))
        .map(|((what, _), hue)| format!("{what} ({})", hue.name))
        .collect();
    let caption = format!("{lead}: {}", key.join(", "));
    LinePanel {
        lines: (lines.iter().zip(PALETTE))
            .map(|((_, figure), hue)| line(hue, rows, figure))
            .collect(),
        ..LinePanel::new(&caption, Quantity::Count, y_desc)
    }
}

fn two_panels(title: &str, rows: &[ExecRow], panels: [LinePanel; 2]) -> Drawn<String> {
    let time = TimeAxis::wall(
        rows.iter().map(|r| r.t_s).fold(0.0, f64::max),
        "the command started",
    );
    render_svg((1000, 900), |root| {
        let body = titled(root, title)?;
        let (top, bottom) = body.split_vertically(body.dim_in_pixel().1 / 2);
        draw_panel(&top, &panels[0], &time)?;
        draw_panel(&bottom, &panels[1], &time)
    })
}

/// `memory.svg`: RSS and PSS of the command's process tree.
pub(crate) fn memory(rows: &[ExecRow]) -> Drawn<String> {
    let panel =
        |caption: &str, y_desc: &str, hue: Hue, get: fn(&ExecRow) -> Option<u64>| LinePanel {
            lines: vec![line(hue, rows, |r| get(r).map(|b| b as f64))],
            ..LinePanel::new(caption, Quantity::Bytes, y_desc)
        };
    two_panels(
        "Memory of the command's processes (sampled from /proc)",
        rows,
        [
            panel("RSS, summed over the tree", "RSS", PALETTE[0], |r| {
                r.tree.rss_bytes
            }),
            panel(
                "PSS (shared pages split among sharers)",
                "PSS",
                PALETTE[1],
                |r| r.tree.pss_bytes,
            ),
        ],
    )
}

/// `connections.svg`: connections the command holds and the server's counts.
pub(crate) fn connections(rows: &[ExecRow]) -> Drawn<String> {
    let open: [(&str, Figure); 2] = [
        ("held by the command, from /proc", |r| {
            r.tree.tcp_to_server.map(|n| n as f64)
        }),
        ("open on the server", |r| {
            r.server.as_ref().map(|s| s.server_open_conns as f64)
        }),
    ];
    let cumulative: [(&str, Figure); 2] = [
        ("connections accepted", |r| {
            r.server.as_ref().map(|s| s.server_connections as f64)
        }),
        ("requests answered", |r| {
            r.server.as_ref().map(|s| s.server_requests as f64)
        }),
    ];
    two_panels(
        "Connections of the command to the harness's server",
        rows,
        [
            keyed_panel(rows, "open now", "connections", open),
            keyed_panel(rows, "cumulative", "count", cumulative),
        ],
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::contract::exec::TreeSample;
    use crate::contract::wire::ServerSample;
    use crate::report::charts::colour_words::assert_named_colours_are_drawn;

    fn rows() -> Vec<ExecRow> {
        (0..5u64)
            .map(|i| ExecRow {
                t_s: i as f64,
                tree: TreeSample {
                    processes: 1,
                    rss_bytes: Some(1_000_000 + i * 1000),
                    pss_bytes: Some(900_000 + i * 1000),
                    tcp_to_server: Some(i),
                    ..Default::default()
                },
                server: Some(ServerSample {
                    server_open_conns: i,
                    server_connections: 2 * i,
                    server_requests: 3 * i,
                    ..Default::default()
                }),
            })
            .collect()
    }

    /// Each chart's text, as written to its file: every colour a caption names is the colour of
    /// a line drawn.
    #[test]
    fn every_colour_a_caption_names_is_drawn() {
        let svg = connections(&rows()).expect("connections.svg");
        let named = assert_named_colours_are_drawn(&svg);
        assert!(
            named.len() >= 2,
            "the connection captions name their lines' colours: {named:?}"
        );
        assert_named_colours_are_drawn(&memory(&rows()).expect("memory.svg"));
    }
}
