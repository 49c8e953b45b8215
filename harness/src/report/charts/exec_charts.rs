//! The charts of `harness exec`: the command's memory and its connections over time.

use crate::contract::exec::ExecRow;
use crate::report::charts::canvas::{render_svg, titled, DrawError};
use crate::report::charts::legend::Dash;
use crate::report::charts::lines::{draw_panel, Line, LinePanel, Quantity};
use crate::report::charts::series::{TimeAxis, PALETTE};

fn line(i: usize, points: Vec<(f64, f64)>) -> Line {
    Line {
        colour: PALETTE[i % PALETTE.len()],
        width: 2,
        dash: Dash::Solid,
        points,
    }
}

fn points(rows: &[ExecRow], f: impl Fn(&ExecRow) -> Option<f64>) -> Vec<(f64, f64)> {
    rows.iter().filter_map(|r| Some((r.t_s, f(r)?))).collect()
}

fn two_panels(title: &str, rows: &[ExecRow], panels: [LinePanel; 2]) -> Result<String, DrawError> {
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
pub(crate) fn memory(rows: &[ExecRow]) -> Result<String, DrawError> {
    two_panels(
        "Memory of the command's processes (sampled from /proc)",
        rows,
        [
            LinePanel {
                caption: "RSS, summed over the tree".into(),
                quantity: Quantity::Bytes,
                y_desc: "RSS".into(),
                lines: vec![line(
                    0,
                    points(rows, |r| r.tree.rss_bytes.map(|b| b as f64)),
                )],
            },
            LinePanel {
                caption: "PSS (shared pages split among sharers)".into(),
                quantity: Quantity::Bytes,
                y_desc: "PSS".into(),
                lines: vec![line(
                    1,
                    points(rows, |r| r.tree.pss_bytes.map(|b| b as f64)),
                )],
            },
        ],
    )
}

/// `connections.svg`: connections the command holds (seen in /proc) and the server's count of
/// connections opened and open.
pub(crate) fn connections(rows: &[ExecRow]) -> Result<String, DrawError> {
    two_panels(
        "Connections of the command to the harness's server",
        rows,
        [
            LinePanel {
                caption: "open now: held by the command (/proc, blue), open on the server (orange)"
                    .into(),
                quantity: Quantity::Count,
                y_desc: "connections".into(),
                lines: vec![
                    line(0, points(rows, |r| r.tree.tcp_to_server.map(|n| n as f64))),
                    line(
                        1,
                        points(rows, |r| {
                            r.server.as_ref().map(|s| s.server_open_conns as f64)
                        }),
                    ),
                ],
            },
            LinePanel {
                caption: "cumulative: connections accepted (blue), requests answered (orange)"
                    .into(),
                quantity: Quantity::Count,
                y_desc: "count".into(),
                lines: vec![
                    line(
                        0,
                        points(rows, |r| {
                            r.server.as_ref().map(|s| s.server_connections as f64)
                        }),
                    ),
                    line(
                        1,
                        points(rows, |r| {
                            r.server.as_ref().map(|s| s.server_requests as f64)
                        }),
                    ),
                ],
            },
        ],
    )
}
