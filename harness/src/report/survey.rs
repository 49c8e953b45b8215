//! The survey's report: the table (terminal and `table.txt`), its chart, `index.html`, JSON.

use std::fmt::Write as _;
use std::path::Path;

use crate::contract::survey::{SurveyRow, SurveySummary};
use crate::report::grid::widest;
use crate::report::html::{esc, STYLE};
use crate::report::{json_text, write_files};
use crate::vocab::exec::HeapTool;
use crate::vocab::runtime::{RowStatus, SurveyEnd};
use crate::vocab::units::{self, opt};

/// The chart's file in a survey directory.
pub const CHART_FILE: &str = "survey.svg";
/// The table's file.
pub const TABLE_FILE: &str = "table.txt";

/// The table's column heads.
fn heads(heap: bool) -> Vec<String> {
    let mut h = vec![
        "runtime",
        "library",
        "habit",
        "conn/req",
        "full / resumed",
        "left open",
        "RSS growth/req",
        "CPU/req",
    ];
    h.extend(heap.then_some("C heap/conn"));
    h.push("verdict");
    h.into_iter().map(String::from).collect()
}

/// One row's cells, in [`heads`]' order.
fn cells(r: &SurveyRow, heap: bool) -> Vec<String> {
    let mut c = vec![
        r.runtime.to_string(),
        r.library.clone(),
        r.habit.clone(),
        opt(r.connections_per_request, units::per_request),
        opt(r.handshakes_full.zip(r.handshakes_resumed), |(f, s)| {
            format!("{f} / {s}")
        }),
        opt(r.connections_left_open.zip(r.connections), |(l, c)| {
            format!("{l} of {c}")
        }),
        opt(r.rss_growth_per_request_bytes, units::bytes),
        opt(r.cpu_per_request_s, |s| units::micros(s * 1e6)),
    ];
    c.extend(heap.then(|| opt(r.heap_per_connection_bytes, units::bytes)));
    c.push(r.verdict.clone());
    c
}

/// The table as text, with a line saying how the survey ended.
pub fn table(s: &SurveySummary) -> String {
    let heap = s.heap_tool == HeapTool::Valgrind;
    let heads = heads(heap);
    let rows: Vec<Vec<String>> = s.rows.iter().map(|r| cells(r, heap)).collect();
    let widths: Vec<usize> = (0..heads.len())
        .map(|i| {
            widest(
                rows.iter()
                    .map(|r| r[i].as_str())
                    .chain([heads[i].as_str()]),
            )
        })
        .collect();
    // The verdict last, unpadded; the figures (from the fourth column) right-aligned.
    let line = |cells: &[String]| -> String {
        let mut out = String::new();
        for (i, (c, &w)) in cells.iter().zip(&widths).enumerate() {
            let _ = match i {
                _ if i + 1 == cells.len() => write!(out, "{c}"),
                3.. => write!(out, "{c:>w$}  "),
                _ => write!(out, "{c:<w$}  "),
            };
        }
        out.trim_end().to_string() + "\n"
    };
    let mut out = format!(
        "harness survey: {} habits, {} requests each, {} ({})\n\n",
        s.rows.len(),
        s.requests_per_habit,
        units::seconds(s.elapsed_s),
        s.ended
    );
    out.push_str(&line(&heads));
    for r in &rows {
        out.push_str(&line(r));
    }
    out.push('\n');
    out.push_str(&crate::report::wrap::wrap_all(
        "full / resumed and left open (of connections, open at the program's last request): \
         counted by the harness's server; conn/req: derived, connections ÷ requests; RSS \
         growth/req: derived, the tree's sampled RSS after the last request − after the first, ÷ \
         requests between; CPU/req: derived, CPU of the command and every descendant it waited \
         for (getrusage RUSAGE_CHILDREN) ÷ requests, start-up included.",
        100,
    ));
    if heap {
        out.push_str("C heap/conn: derived, DHAT's heap peaks summed ÷ connections; valgrind does not see:\n");
        let mut seen = std::collections::BTreeSet::new();
        for r in &s.rows {
            let first = |_: &&str| seen.insert(r.runtime);
            if let Some(blind) = r.heap_blind_spot.as_deref().filter(first) {
                let _ = writeln!(out, "  {}: {blind}", r.runtime);
            }
        }
    }
    if s.ended == SurveyEnd::Interrupted {
        out.push_str("interrupted: the rows above are the habits checked before Ctrl-C\n");
    }
    out
}

/// The survey's page.
fn page(s: &SurveySummary, chart: bool) -> String {
    let heap = s.heap_tool == HeapTool::Valgrind;
    let mut h = String::new();
    let _ = write!(
        h,
        "<!doctype html><html lang=en><head><meta charset=utf-8><title>harness survey {id}</title>\
         <style>{STYLE}table.modes td.v{{text-align:left;white-space:normal;min-width:18rem}}</style></head><body><h1>Client habits across runtimes</h1>\
         <p class=sub>{n} habits, {req} requests each, {t} ({end}) · <code>{cmd}</code></p>",
        id = esc(&s.run_id),
        n = s.rows.len(),
        req = s.requests_per_habit,
        t = esc(&units::seconds(s.elapsed_s)),
        end = s.ended,
        cmd = esc(&s.harness_command),
    );
    if s.ended == SurveyEnd::Interrupted {
        h.push_str(
            "<p class=banner>Interrupted: only the habits checked before Ctrl-C are here.</p>",
        );
    }
    if chart {
        let _ = write!(
            h,
            "<figure><img src=\"{CHART_FILE}\" alt=\"connections held to the end and RSS growth per request, per habit\">\
             <figcaption>Per habit: connections the program held to the end per request, and RSS growth per request (n/a: not measured).</figcaption></figure>"
        );
    }
    h.push_str("<h2>Table</h2><div class=scroll><table class=modes><thead><tr>");
    for head in heads(heap) {
        let _ = write!(h, "<th>{}</th>", esc(&head));
    }
    h.push_str("<th>report</th></tr></thead><tbody>");
    for r in &s.rows {
        h.push_str("<tr>");
        let row = cells(r, heap);
        let last = row.len() - 1;
        for (i, c) in row.iter().enumerate() {
            let _ = match (i, c.as_str()) {
                (..3, _) => write!(h, "<th scope=row>{}</th>", esc(c)),
                _ if i == last => write!(h, "<td class=v>{}</td>", esc(c)),
                (_, units::NOT_MEASURED) => write!(h, "<td class=nm>{}</td>", esc(c)),
                _ => write!(h, "<td>{}</td>", esc(c)),
            };
        }
        let _ = match &r.report {
            Some(p) => write!(h, "<td><a href=\"{0}/index.html\">{0}</a></td>", esc(p)),
            None => write!(h, "<td class=nm>n/a</td>"),
        };
        h.push_str("</tr>");
    }
    h.push_str("</tbody></table></div><h2>How each figure was measured</h2><dl>");
    for (k, v) in &s.method {
        let _ = write!(h, "<dt>{}</dt><dd>{}</dd>", esc(k), esc(v));
    }
    h.push_str("</dl>");
    let not_measured = |r: &&SurveyRow| r.status != RowStatus::Measured;
    let mut missing = s.rows.iter().filter(not_measured).peekable();
    if missing.peek().is_some() {
        h.push_str("<h2>Not measured</h2><ul>");
        for r in missing {
            let _ = write!(
                h,
                "<li>{} {}: {}</li>",
                esc(r.runtime.as_str()),
                esc(&r.habit),
                esc(r.why.as_deref().unwrap_or_default())
            );
        }
        h.push_str("</ul>");
    }
    h.push_str("</body></html>\n");
    h
}

/// Writes `summary.json`, `table.txt`, the chart and `index.html` into `dir`; returns what
/// could not be written.
pub fn write(dir: &Path, s: &SurveySummary) -> Vec<String> {
    let chart = super::charts::survey_chart::chart(s).map_err(|e| e.0);
    let page = page(s, chart.is_ok());
    write_files(
        dir,
        [
            ("summary.json", json_text(s)),
            (TABLE_FILE, Ok(table(s))),
            (CHART_FILE, chart),
            ("index.html", Ok(page)),
        ],
    )
}
