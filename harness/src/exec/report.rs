//! A check's report files, terminal table and live line: [`FIGURES`], then the heap owners.

use std::path::Path;

use indicatif::{ProgressBar, ProgressStyle};
use serde::Serialize;
use serde_json::Value;

use crate::contract::exec::{
    ConditionResult, ConnectionRow, ExecRow, ExecSummary, HeapBytes, HeapOwner,
};
use crate::contract::timeline::cell_text;
use crate::exec::closing;
use crate::exec::summary::Observed;
use crate::report::charts::exec_charts;
use crate::report::grid::widest;
use crate::report::html::esc;
use crate::report::{json_text, write_files};
use crate::run::orchestrator::progress_target;
use crate::vocab::owner::Owner;
use crate::vocab::units::{self, opt_bytes};

/// Files a check writes, beside `summary.json`.
pub const FILES: [&str; 5] = [
    "timeline.csv",
    "connections.csv",
    "memory.svg",
    "connections.svg",
    "index.html",
];

/// A row of the terminal table and the page: label and formatted value.
type Row = (&'static str, fn(&ExecSummary) -> String);

fn count(v: Option<u64>) -> String {
    units::opt(v, units::count)
}

/// Figures read together, as `a / b`.
fn slashed<T, const N: usize>(figures: [T; N], f: impl Fn(T) -> String) -> String {
    figures.map(f).join(" / ")
}

const HANDSHAKES: Row = ("handshakes full / resumed / failed", |s| {
    let handshakes = [s.handshakes_full, s.handshakes_resumed, s.handshakes_failed];
    slashed(handshakes, count)
});
const NEW_CONNECTIONS_PER_REQUEST: Row = ("new connections per request (derived)", |s| {
    units::opt(s.new_connections_per_request, units::sig3)
});
const REQUESTS_PER_CONNECTION: Row = ("requests per connection (derived)", |s| {
    units::opt(s.requests_per_connection, units::sig3)
});
const OPEN_AT_LAST_REQUEST: Row = ("connections open at the last request", |s| {
    let per = s
        .connections_open_at_last_request_per_request
        .map_or(String::new(), |p| {
            format!(" ({} per request, derived)", units::sig3(p))
        });
    format!("{}{per}", count(s.connections_open_at_last_request))
});
const RSS: Row = ("RSS peak / last sample", |s| {
    slashed([s.rss_peak_bytes, s.rss_end_bytes], opt_bytes)
});

/// The figure rows of the terminal table and the page, in order.
pub const FIGURES: &[Row] = &[
    ("witness (server's record)", |s| s.witness.to_string()),
    ("requests (server)", |s| count(s.requests)),
    ("connections (server)", |s| count(s.connections)),
    HANDSHAKES,
    NEW_CONNECTIONS_PER_REQUEST,
    REQUESTS_PER_CONNECTION,
    OPEN_AT_LAST_REQUEST,
    ("connections closed at exit or never", |s| {
        count(s.connections_open_at_exit)
    }),
    ("before the end: last seen running / last sample", |s| {
        let ms = |v: Option<f64>| units::opt(v, |w| format!("{} ms", units::sig3(w)));
        let before_end = [
            s.last_seen_running_before_end_ms,
            s.last_sample_before_end_ms,
        ];
        slashed(before_end, ms)
    }),
    ("connections open at once, peak", |s| {
        count(s.connections_open_peak)
    }),
    ("connection lifetime p50 / p99", |s| {
        units::opt(s.connection_lifetime_ms.as_ref(), |l| {
            format!("{} ms / {} ms", l.p50, l.p99)
        })
    }),
    ("processes, peak", |s| count(s.processes_peak)),
    RSS,
    ("PSS peak", |s| opt_bytes(s.pss_peak_bytes)),
    ("RSS growth per request (derived)", |s| {
        units::opt(s.rss_growth_per_request_bytes, |b| {
            let sign = if b < 0.0 { "−" } else { "" };
            format!("{sign}{}", units::bytes(b.abs()))
        })
    }),
    ("open descriptors, peak", |s| count(s.open_fds_peak)),
    ("TCP to the server held, peak / last sample (/proc)", |s| {
        slashed([s.tcp_to_server_peak, s.tcp_to_server_last_sample], count)
    }),
    ("CPU (command and waited children)", |s| {
        units::opt(s.cpu_s, |c| format!("{c:.3} s"))
    }),
    ("heap peaks / at exits, summed per process (derived)", |s| {
        let sums = [s.heap_peaks_summed_bytes, s.heap_at_exits_summed_bytes];
        slashed(sums, opt_bytes)
    }),
    ("valgrind: processes seen / profiles read", |s| {
        slashed([s.heap_processes_seen, s.heap_profiles_read], count)
    }),
    ("sampler CPU", |s| {
        units::opt(s.sampler_cpu_us_total, |us| units::micros(us as f64))
    }),
];

/// The terminal summary: the verdict, the figures, the conditions.
pub fn table(s: &ExecSummary) -> String {
    let mut out = format!(
        "\nharness exec: {} ({}{} after {})\n\n",
        s.command.join(" "),
        s.ended,
        match (s.exit_code, s.exit_signal) {
            (Some(c), _) => format!(", exit status {c}"),
            (None, Some(sig)) => format!(", signal {sig}"),
            _ => String::new(),
        },
        units::seconds(s.elapsed_s),
    );
    let width = widest(FIGURES.iter().map(|(l, _)| *l));
    for (label, get) in FIGURES {
        out.push_str(&format!("  {label:<width$}  {}\n", get(s)));
    }
    out.push_str(&owner_rows(s).map(|r| owners_table(&r)).unwrap_or_default());
    out.push_str("\nVerdict\n");
    for line in &s.verdict {
        out.push_str(&format!("  - {line}\n"));
    }
    if !s.conditions.is_empty() {
        out.push_str("\n--fail-if\n");
        for c in &s.conditions {
            let mark = if c.failed { "FAILED" } else { "ok" };
            out.push_str(&format!("  {mark:<6} {} ({})\n", c.condition, measured(c)));
        }
    }
    out
}

/// `measured 3`, or `not measured: <why>`.
pub fn measured(c: &ConditionResult) -> String {
    let why = c.unmeasured.as_deref().unwrap_or(units::NOT_MEASURED);
    match c.value {
        Some(v) => format!("measured {}", units::sig3(v)),
        None => format!("not measured: {why}"),
    }
}

/// Writes every file of the report; returns the problems (each naming its file).
pub fn write(dir: &Path, s: &ExecSummary, o: &Observed) -> Vec<String> {
    // None when the witness was lost: the header alone.
    let conns = o.conns.as_deref().unwrap_or_default();
    let conn_rows = closing::rows(conns, o.start_ns, o.end, o.last_sample.as_ref());
    write_files(
        dir,
        [
            ("summary.json", json_text(s)),
            (FILES[0], csv_text(&o.rows)),
            (FILES[1], connections_csv(&conn_rows)),
            (FILES[2], exec_charts::memory(&o.rows).map_err(|e| e.0)),
            (FILES[3], exec_charts::connections(&o.rows).map_err(|e| e.0)),
            (FILES[4], Ok(page(s))),
        ],
    )
}

/// Rows as CSV, the header the union of the rows' fields (a flattened `None` leaves its columns
/// out of that row only); empty = unmeasured.
fn csv_text<T: Serialize>(rows: &[T]) -> Result<String, String> {
    let objects: Vec<serde_json::Map<String, Value>> = rows
        .iter()
        .filter_map(|r| match serde_json::to_value(r) {
            Ok(Value::Object(m)) => Some(m),
            _ => None,
        })
        .collect();
    let mut header: Vec<String> = Vec::new();
    for k in objects.iter().flat_map(|m| m.keys()) {
        if !header.contains(k) {
            header.push(k.clone());
        }
    }
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(&header).map_err(|e| e.to_string())?;
    for m in &objects {
        w.write_record(header.iter().map(|k| cell_text(m.get(k))))
            .map_err(|e| e.to_string())?;
    }
    let bytes = w.into_inner().map_err(|e| e.to_string())?;
    String::from_utf8(bytes).map_err(|e| e.to_string())
}

/// The self-contained `index.html` in the run page's style, the answer first: the verdict,
/// [`HEADLINE`] and `--fail-if`, the charts, every figure, then how it was measured.
fn page(s: &ExecSummary) -> String {
    let mut h = format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>harness exec</title>\n<style>{}.failed{{color:#b00}}</style>\n</head>\n<body>\n\
         <h1>harness exec</h1>\n<p class=\"sub\"><code>{}</code>: {} after {}</p>\n\
         <section id=\"headline\">\n<h2>Verdict</h2>\n<ul>\n",
        crate::report::html::STYLE,
        esc(&s.command.join(" ")),
        esc(s.ended.as_str()),
        esc(&units::seconds(s.elapsed_s))
    );
    for l in &s.verdict {
        h.push_str(&format!("<li>{}</li>\n", esc(l)));
    }
    // The --fail-if conditions are the verdict a CI job acts on: with it, not below the charts.
    for c in &s.conditions {
        let mark = if c.failed { "FAILED" } else { "ok" };
        h.push_str(&format!(
            "<li class=\"{}\">--fail-if {mark}: <code>{}</code> ({})</li>\n",
            mark.to_lowercase(),
            esc(&c.condition),
            esc(&measured(c))
        ));
    }
    h.push_str("</ul>\n<div class=\"legs figs\">\n");
    for (label, get) in HEADLINE {
        let (label, value) = (esc(label), esc(&get(s)));
        h.push_str(&format!(
            "<div class=\"leg\"><dl><dt>{label}</dt><dd>{value}</dd></dl></div>\n"
        ));
    }
    h.push_str("</div>\n</section>\n<div class=\"lead\">\n");
    for (file, caption) in [
        (
            FILES[2],
            "Memory of the command's process tree over time: RSS and PSS, summed over the tree.",
        ),
        (
            FILES[3],
            "Connections over time: open now (held by the command, open on the server) and \
             cumulative (accepted, requests answered).",
        ),
    ] {
        h.push_str(&format!(
            "<figure><img src=\"{file}\" alt=\"{caption}\"><figcaption>{caption}</figcaption></figure>\n"
        ));
    }
    h.push_str(
        "</div>\n<h2>Figures</h2>\n<div class=\"scroll\"><table class=\"modes\">\n<tbody>\n",
    );
    for (label, get) in FIGURES {
        let (label, value) = (esc(label), esc(&get(s)));
        h.push_str(&format!(
            "<tr><th scope=\"row\">{label}</th><td>{value}</td></tr>\n"
        ));
    }
    h.push_str("</tbody>\n</table></div>\n");
    h.push_str(&owner_rows(s).map(|r| owners_html(&r)).unwrap_or_default());
    h.push_str("<h2>How it was measured</h2>\n<dl>\n");
    for (k, v) in &s.method {
        h.push_str(&format!("<dt>{}</dt><dd>{}</dd>\n", esc(k), esc(v)));
    }
    h.push_str(
        "</dl>\n<p>Raw data: summary.json, timeline.csv, connections.csv.</p>\n</body>\n</html>\n",
    );
    h
}

/// The figures under the verdict: how the command connects, what it leaves open, its memory.
const HEADLINE: &[Row] = &[
    HANDSHAKES,
    NEW_CONNECTIONS_PER_REQUEST,
    REQUESTS_PER_CONNECTION,
    OPEN_AT_LAST_REQUEST,
    RSS,
];

/// `connections.csv`; with no connection (or a lost witness), its header alone.
fn connections_csv(rows: &[ConnectionRow]) -> Result<String, String> {
    if rows.is_empty() {
        return Ok("conn,peer_port,opened_s,closed_s,handshake,requests,closed_before_end_ms,held_at_last_sample,open_at_exit,open_at_last_request\n".into());
    }
    csv_text(rows)
}

/// The live line on stderr while the command runs (shown only when asked for, on a terminal).
pub(super) fn progress_bar(progress: bool) -> ProgressBar {
    let style = ProgressStyle::with_template("{spinner} exec {elapsed:>4} {msg}");
    ProgressBar::with_draw_target(None, progress_target(progress))
        .with_style(style.unwrap_or_else(|_| ProgressStyle::default_spinner()))
}

/// One sample, as the live line's message.
pub(super) fn show_progress(pb: &ProgressBar, row: &ExecRow) {
    let server = row.server.as_ref();
    pb.set_message(format!(
        "requests {}  connections {} (open {})  processes {}  rss {}  fds {}",
        count(server.map(|s| s.server_requests)),
        count(server.map(|s| s.server_connections)),
        count(server.map(|s| s.server_open_conns)),
        row.tree.processes,
        opt_bytes(row.tree.rss_bytes),
        count(row.tree.open_fds),
    ));
    pb.tick();
}

/// The owner table's title, as the terminal and the page show it.
pub const HEAP_OWNERS_TITLE: &str = "Heap by owner (--heap valgrind --breakdown)";

/// The owner table's column headers; each cell reads `allocated / at peaks / at exits`.
pub const HEAP_OWNERS_HEADER: [&str; 4] = [
    "owner",
    "in all (allocated / at peaks / at exits)",
    "per connection (derived)",
    "per request (derived)",
];

/// One row per owner, `other` (the unattributed remainder) last, then the total, which is the
/// heap sums (`None`: no breakdown).
pub fn owner_rows(s: &ExecSummary) -> Option<Vec<[String; 4]>> {
    let owners = s.heap_breakdown.as_ref()?;
    let three = |b: HeapBytes<f64>| [b.allocated, b.at_peaks, b.at_exits];
    let whole = |b: HeapBytes<u64>| [b.allocated, b.at_peaks, b.at_exits].map(|v| v as f64);
    // The three columns of figures: in all, per connection, per request.
    let columns = |o: &HeapOwner| {
        [
            Some(whole(o.bytes)),
            o.per_connection.map(three),
            o.per_request.map(three),
        ]
    };
    let cell = |b: Option<[f64; 3]>| units::opt(b, |b| b.map(units::bytes).join(" / "));
    let mut rows: Vec<[String; 4]> = owners
        .iter()
        .map(|o| {
            let name = match o.owner {
                Owner::Other => "other (no rule: unattributed)".to_string(),
                owner => owner.as_str().to_string(),
            };
            let [a, b, c] = columns(o).map(cell);
            [name, a, b, c]
        })
        .collect();
    // A column's total is null when any owner's figure is.
    let totals: [Option<[f64; 3]>; 3] = std::array::from_fn(|i| {
        let each: Option<Vec<[f64; 3]>> = owners.iter().map(|o| columns(o)[i]).collect();
        each.map(|e| std::array::from_fn(|j| e.iter().map(|v| v[j]).sum()))
    });
    let [a, b, c] = totals.map(cell);
    rows.push(["all owners (= the heap sums)".into(), a, b, c]);
    Some(rows)
}

/// The owner table under the terminal's figures.
fn owners_table(rows: &[[String; 4]]) -> String {
    let header = HEAP_OWNERS_HEADER.map(String::from);
    let [w0, w1, w2, w3]: [usize; 4] =
        std::array::from_fn(|i| widest(rows.iter().chain([&header]).map(|r| r[i].as_str())));
    let mut out = format!("\n{HEAP_OWNERS_TITLE}\n");
    for r in std::iter::once(&header).chain(rows) {
        let [a, b, c, d] = r;
        out.push_str(&format!("  {a:<w0$}  {b:>w1$}  {c:>w2$}  {d:>w3$}\n"));
    }
    out
}

/// The owner table under the page's figures.
fn owners_html(rows: &[[String; 4]]) -> String {
    let mut h = format!(
        "<h2>{}</h2>\n<div class=\"scroll\"><table class=\"modes\">\n<thead><tr>",
        esc(HEAP_OWNERS_TITLE)
    );
    for c in HEAP_OWNERS_HEADER {
        h.push_str(&format!("<th scope=\"col\">{}</th>", esc(c)));
    }
    h.push_str("</tr></thead>\n<tbody>\n");
    for r in rows {
        let [a, b, c, d] = r.each_ref().map(|c| esc(c));
        h.push_str(&format!(
            "<tr><th scope=\"row\">{a}</th><td>{b}</td><td>{c}</td><td>{d}</td></tr>\n"
        ));
    }
    h.push_str("</tbody>\n</table></div>\n");
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_connections_csv_has_the_rows_header() {
        let one = ConnectionRow {
            conn: 1,
            peer_port: 2,
            opened_s: 0.0,
            closed_s: None,
            handshake: crate::vocab::handshake::Handshake::Full,
            requests: 1,
            closed_before_end_ms: None,
            held_at_last_sample: None,
            open_at_exit: true,
            open_at_last_request: Some(true),
        };
        let full = connections_csv(&[one]).expect("csv");
        let empty = connections_csv(&[]).expect("csv");
        assert_eq!(full.lines().next(), empty.lines().next());
    }

    #[test]
    fn csv_leaves_unmeasured_cells_empty() {
        #[derive(Serialize)]
        struct R {
            a: u64,
            b: Option<u64>,
        }
        let t = csv_text(&[R { a: 1, b: None }, R { a: 2, b: Some(3) }]).expect("csv");
        assert_eq!(t, "a,b\n1,\n2,3\n");
    }

    /// The owner table, on the terminal as on the page: one row per owner, `other` named as
    /// the unattributed remainder, and a total that is the heap sums; none without a breakdown.
    #[test]
    fn the_heap_owner_table_lists_every_owner_and_their_sum() {
        use crate::contract::exec::{HeapBytes, HeapOwner};
        let mut s = crate::exec::summary::assemble(&crate::exec::summary::Observed::default());
        assert_eq!(owner_rows(&s), None);
        assert!(!table(&s).contains(HEAP_OWNERS_TITLE) && !page(&s).contains(HEAP_OWNERS_TITLE));
        let owner = |owner, bytes: u64| HeapOwner {
            owner,
            sites: 1,
            bytes: HeapBytes {
                allocated: bytes * 4,
                at_peaks: bytes * 2,
                at_exits: bytes,
            },
            per_connection: Some(HeapBytes {
                allocated: bytes as f64 * 2.0,
                at_peaks: bytes as f64,
                at_exits: bytes as f64 / 2.0,
            }),
            per_request: None,
        };
        s.heap_breakdown = Some(vec![owner(Owner::OpenSsl, 1024), owner(Owner::Other, 512)]);
        let rows = owner_rows(&s).expect("rows");
        assert_eq!(rows.len(), 3);
        assert_eq!(rows[0][0], "openssl");
        assert_eq!(rows[0][1], "4 KiB / 2 KiB / 1 KiB");
        assert_eq!(rows[1][0], "other (no rule: unattributed)");
        assert_eq!(rows[2][1], "6 KiB / 3 KiB / 1.5 KiB", "the sum");
        assert_eq!(rows[2][2], "3 KiB / 1.5 KiB / 768 B");
        assert_eq!(rows[2][3], "n/a", "unmeasured stays n/a, never 0");
        let t = table(&s);
        assert!(page(&s).contains("<h2>Heap by owner") && page(&s).contains("openssl"));
        assert!(
            t.contains(HEAP_OWNERS_TITLE) && t.contains("all owners (= the heap sums)"),
            "{t}"
        );
        assert!(t.find(HEAP_OWNERS_TITLE) < t.find("Verdict"), "{t}");
    }
}
