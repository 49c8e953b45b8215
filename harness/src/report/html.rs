//! `index.html`: one self-contained page (no scripts, no external CSS or fonts), the answer first.

use std::fmt::Write;

use crate::contract::summary::{ModeSummary, Summary};
use crate::report::charts::series::Series;
use crate::report::figures::{unsound_note, wall_time_note, Cell, Provenance, MODE_FIGURES};
use crate::report::figures::{STOPPED_EARLY, UNSOUND_MARK};
use crate::report::headline;
use crate::report::{BREAKDOWN_FILE, FILES};
use crate::vocab::{units as format, units};

/// What each chart shows, in [`FILES`]' order and then the breakdown's: its caption on the page.
const CAPTIONS: [&str; 6] = [
    "Memory over time: RSS and live heap per mode; client solid, server dashed, the \
     retention model (heap at start + R·b·min(t, T)) dotted.",
    "Sessions held over time: client sessions retained (solid) and server session-cache \
     entries (dashed).",
    "Open file descriptors and open connections over time; the leak mode is drawn thick.",
    "Heap bytes allocated per request and bytes retained per session, per mode.",
    "Latency percentiles per mode (log scale) and how requests got a connection.",
    "Where the bytes go (--breakdown): b and heap bytes allocated per request, by owner.",
];

/// The charts shown beside the headline, in the first view: what a session holds over time,
/// and per session and request. The others follow the table.
const LEAD_CHARTS: [&str; 2] = [FILES[0], FILES[3]];

/// The page's style, shared with `harness exec`'s page so both read alike.
pub(crate) const STYLE: &str = "\
body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;color:#222;\
line-height:1.45;max-width:1200px;margin:.75rem auto;padding:0 1rem}\
h1{font-size:1.4rem;margin:0 0 .1rem}\
.sub{margin:0;color:#555;font-size:.9rem}\
h2{font-size:1.2rem;margin-top:2rem;border-bottom:1px solid #ddd;padding-bottom:.2rem}\
#headline h2{margin:.5rem 0 .4rem;font-size:1.1rem}\
.legs{display:grid;grid-template-columns:repeat(auto-fit,minmax(15rem,1fr));gap:.6rem}\
.figs{grid-template-columns:repeat(auto-fit,minmax(11rem,1fr))}\
.leg{border:1px solid #ddd;border-radius:4px;padding:.35rem .6rem}\
.leg h3{font-size:1rem;margin:0 0 .15rem}\
.leg dl{display:block;margin:0}.leg dt{font-weight:normal;color:#555;font-size:.8rem}\
.leg dd{margin:0 0 .1rem;font-weight:600;font-variant-numeric:tabular-nums}\
.pv{color:#777;font-weight:normal}\
.legend{color:#555;font-size:.8rem;margin:.3rem 0 0}\
.lead{display:grid;grid-template-columns:1fr 1fr;gap:1rem;margin-top:.6rem}\
.lead figure{margin:0}.lead img{max-height:28rem;width:auto}\
pre{background:#f5f5f5;padding:.6rem .8rem;white-space:pre-wrap;word-break:break-all;\
border-radius:4px}\
table{border-collapse:collapse;font-size:.9rem}\
th,td{border:1px solid #ddd;padding:.3rem .55rem;vertical-align:top}\
thead th{background:#f5f5f5;white-space:nowrap}\
table.modes{font-size:.85rem}table.modes td{text-align:right;white-space:nowrap}\
table.modes th,table.modes td{padding:.25rem .4rem}\
th[scope=row]{text-align:left;font-weight:normal;background:#fafafa;white-space:nowrap}\
table.modes th[scope=row],table.modes thead th:first-child{position:sticky;left:0}\
.scroll{overflow-x:auto;max-width:100%}\
.nm{color:#888;font-style:italic}\
.small{color:#666;font-size:.8rem;white-space:normal;display:block;max-width:13rem;\
margin-left:auto}\
.banner{background:#fde2e1;border:2px solid #d62728;color:#7a1010;padding:.8rem 1rem;\
font-weight:600;border-radius:4px;margin:1rem 0}\
.stopped{background:#fff4d6}\
.unsound{background:#fde2e1}\
.swatch{display:inline-block;width:.75em;height:.75em;margin-right:.35em;border-radius:2px}\
figure{margin:1.5rem 0}figure img{max-width:100%;height:auto;border:1px solid #eee}\
figcaption{color:#555;font-size:.9rem}\
dl{display:grid;grid-template-columns:max-content 1fr;gap:.3rem 1rem}dt{font-weight:600}dd{margin:0}";

/// Builds the page for `summary`; `series` gives each mode's label and colour as the charts use
/// them.
pub(crate) fn page(summary: &Summary, series: &[Series<'_>]) -> String {
    let title = format!("TLS session cost — run {}", esc(&summary.run_id));
    let mut out = format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <title>{title}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n<h1>{title}</h1>\n\
         <p class=\"sub\">{} · started {}</p>\n",
        esc(&crate::report::scenario_line(summary)),
        esc(&summary.started_at)
    );
    if summary.interrupted {
        let reason = summary.stopped_reason.as_deref();
        let _ = writeln!(
            out,
            "<div class=\"banner\" role=\"alert\">This run was cut short: {}. \
             Figures and charts cover only the part that ran.</div>",
            reason.map_or_else(|| "no reason recorded".to_string(), esc)
        );
    }
    headline_section(&mut out, summary, series);
    out.push_str("<div class=\"lead\">\n");
    for file in LEAD_CHARTS {
        chart(&mut out, file);
    }
    out.push_str("</div>\n");
    let advice = crate::report::advice::advice(summary);
    if !advice.is_empty() {
        out.push_str("<h2>What to do (from this run's figures)</h2>\n<ul>\n");
        for line in advice {
            let _ = writeln!(out, "<li>{}</li>", esc(&line));
        }
        out.push_str("</ul>\n");
    }
    modes_table(&mut out, summary, series);
    owner_tables(&mut out, summary);
    if super::breakdown_chart::any(summary) {
        chart(&mut out, BREAKDOWN_FILE);
    }
    out.push_str("<h2>More charts</h2>\n");
    for file in FILES[..5].iter().filter(|f| !LEAD_CHARTS.contains(f)) {
        chart(&mut out, file);
    }
    out.push_str("<h2>How it was measured</h2>\n<h3>Command</h3>\n");
    let _ = writeln!(out, "<pre><code>{}</code></pre>", esc(&summary.command));
    scenario(&mut out, summary);
    method(&mut out, summary);
    versions(&mut out, summary);
    out.push_str("</body>\n</html>\n");
    out
}

/// One chart as a figure, its caption of [`CAPTIONS`] as its alt text.
fn chart(out: &mut String, file: &str) {
    let files = FILES[..5].iter().chain([&BREAKDOWN_FILE]);
    let caption = files.zip(CAPTIONS).find(|(f, _)| **f == file);
    let caption = esc(caption.map_or("", |(_, c)| c));
    let _ = writeln!(
        out,
        "<figure><img src=\"{file}\" alt=\"{caption}\"><figcaption>{caption}</figcaption></figure>"
    );
}

/// A leg's name and colour as the charts draw it (grey when no series has it).
fn leg_style(m: &ModeSummary, series: &[Series<'_>]) -> (String, String) {
    let s = series
        .iter()
        .find(|s| s.summary.is_some_and(|x| std::ptr::eq(x, m)));
    match s {
        Some(s) => (
            s.label.clone(),
            format!("#{:02x}{:02x}{:02x}", s.colour.0, s.colour.1, s.colour.2),
        ),
        None => (m.mode.to_string(), "#777777".to_string()),
    }
}

fn swatch(colour: &str) -> String {
    format!("<span class=\"swatch\" style=\"background:{colour}\"></span>")
}

/// The answer first: a card per leg with its [`headline::headline`] figures, each value marked,
/// and the marks' legend.
fn headline_section(out: &mut String, summary: &Summary, series: &[Series<'_>]) {
    out.push_str(
        "<section id=\"headline\">\n<h2>What a session costs here</h2>\n<div class=\"legs\">\n",
    );
    let legs = headline::headline(summary);
    if legs.is_empty() {
        out.push_str("<p class=\"nm\">The summary lists no modes.</p>\n");
    }
    let mark = |p: Provenance| {
        let (word, mark) = (p.word(), p.mark());
        format!("<span class=\"pv\" title=\"{word}\">{mark}</span>")
    };
    for leg in legs {
        let (_, colour) = leg_style(leg.leg, series);
        let head = format!("{}{}", swatch(&colour), esc(&leg.name));
        let _ = write!(out, "<div class=\"leg\"><h3>{head}</h3><dl>");
        for f in &leg.figures {
            let value = f.render(na, esc, mark);
            let _ = write!(out, "<dt>{}</dt><dd>{value}</dd>", esc(f.label));
        }
        out.push_str("</dl></div>\n");
    }
    let _ = writeln!(
        out,
        "</div>\n<p class=\"legend\">{} — how each was measured: below, under “How it was measured”.</p>\n</section>",
        esc(&headline::legend())
    );
}

/// Escapes text for HTML content and attribute values.
pub(crate) fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

/// What a value not measured reads: "n/a" in grey.
fn na() -> String {
    format!("<span class=\"nm\">{}</span>", units::NOT_MEASURED)
}

/// A heading and a table of `(name, value)` rows, both escaped.
fn rows_table(
    out: &mut String,
    heading: &str,
    rows: impl IntoIterator<Item = (&'static str, String)>,
) {
    let _ = writeln!(out, "<h3>{heading}</h3>\n<table>");
    for (k, v) in rows {
        let _ = writeln!(
            out,
            "<tr><th scope=\"row\">{}</th><td>{}</td></tr>",
            esc(k),
            esc(&v)
        );
    }
    out.push_str("</table>\n");
}

fn scenario(out: &mut String, summary: &Summary) {
    let sc = &summary.scenario;
    let or = |v: Option<String>, none: &str| v.unwrap_or_else(|| none.to_string());
    let rows = [
        ("target rate", format::rate(sc.rate)),
        ("duration per mode", format::duration(sc.duration_s)),
        (
            "retention (T)",
            or(sc.retention_s.map(format::retention), "not modelled"),
        ),
        ("clock", summary.clock.to_string()),
        ("TLS", sc.tls.to_string()),
        ("key-exchange groups", sc.kx_groups.join(", ")),
        ("max in flight", format::count(sc.max_in_flight)),
        (
            "sample interval",
            format!("{} s", format::sig3(sc.sample_interval_s)),
        ),
        (
            "response body",
            format::bytes(sc.response_body_bytes as f64),
        ),
        ("target", or(sc.target.clone(), units::NOT_MEASURED)),
        ("fd limit", or(sc.fd_limit.map(format::count), "unknown")),
        ("run id", summary.run_id.clone()),
        ("schema", summary.schema.to_string()),
    ];
    rows_table(out, "Scenario", rows);
}

/// A table of one column per leg under a row of their heads; `heads` and each row's cells are
/// markup already, a row's label is escaped here.
fn legs_table(
    out: &mut String,
    heads: impl IntoIterator<Item = String>,
    rows: impl IntoIterator<Item = (&'static str, String)>,
) {
    out.push_str("<div class=\"scroll\"><table class=\"modes\">\n<thead><tr><th></th>");
    for head in heads {
        let _ = write!(out, "<th scope=\"col\">{head}</th>");
    }
    out.push_str("</tr></thead>\n<tbody>\n");
    for (label, cells) in rows {
        let _ = writeln!(out, "<tr><th scope=\"row\">{}</th>{cells}</tr>", esc(label));
    }
    out.push_str("</tbody>\n</table></div>\n");
}

fn modes_table(out: &mut String, summary: &Summary, series: &[Series<'_>]) {
    out.push_str("<h2>Summary per mode</h2>\n");
    if summary.modes.is_empty() {
        out.push_str("<p class=\"nm\">The summary lists no modes.</p>\n");
        return;
    }
    let heads = summary.modes.iter().map(|m| {
        let (label, colour) = leg_style(m, series);
        format!("{}{}", swatch(&colour), esc(&label))
    });
    let rows = MODE_FIGURES.iter().map(|figure| {
        let cells = summary.modes.iter().map(|m| {
            // A stop reason is words, never a per-session figure: it is never marked.
            let cell = figure.cell(m);
            let value = cell.render(na, esc);
            match cell {
                Cell::Text(Some(_)) if figure.label == STOPPED_EARLY.label => {
                    format!("<td class=\"stopped\">{value}</td>")
                }
                _ if figure.marked(m) => {
                    format!("<td class=\"unsound\">{value} {UNSOUND_MARK}</td>")
                }
                _ => format!("<td>{value}</td>"),
            }
        });
        (figure.label, cells.collect())
    });
    legs_table(out, heads, rows);
    let names = crate::report::grid::leg_labels(summary);
    for (m, name) in summary.modes.iter().zip(&names) {
        let notes = [
            ("", wall_time_note(m)),
            (" class=\"unsound\"", unsound_note(m)),
        ];
        for (class, note) in notes {
            if let Some(note) = note {
                let _ = writeln!(out, "<p{class}>{}: {}</p>", esc(name), esc(&note));
            }
        }
    }
}

/// The `--breakdown` tables ([`crate::report::figures::owner_tables`]), one column per mode.
fn owner_tables(out: &mut String, summary: &Summary) {
    let tables = crate::report::figures::owner_tables(&summary.modes);
    if tables.is_empty() {
        return;
    }
    out.push_str("<h2>Where the bytes go</h2>\n");
    let names = crate::report::grid::leg_labels(summary);
    for (m, name) in summary.modes.iter().zip(&names) {
        if let Some(line) = crate::report::figures::held_line(m) {
            let _ = writeln!(out, "<p>{}: {}</p>", esc(name), esc(&line));
        }
    }
    for t in tables {
        let _ = writeln!(out, "<h3>{}</h3>", esc(t.title));
        let rows = t.rows.iter().map(|(owner, cells)| {
            (
                *owner,
                cells
                    .iter()
                    .map(|c| format!("<td>{}</td>", esc(c)))
                    .collect(),
            )
        });
        legs_table(out, names.iter().map(|n| esc(n)), rows);
    }
}

fn method(out: &mut String, summary: &Summary) {
    out.push_str("<h3>How figures were measured</h3>\n");
    if summary.method.is_empty() {
        out.push_str("<p class=\"nm\">The summary records no method notes.</p>\n");
        return;
    }
    out.push_str("<dl>\n");
    // BTreeMap: keys come out sorted, so the page is the same every time.
    for (k, v) in &summary.method {
        let _ = writeln!(out, "<dt>{}</dt><dd>{}</dd>", esc(k), esc(v));
    }
    out.push_str("</dl>\n");
}

fn versions(out: &mut String, summary: &Summary) {
    let v = &summary.versions;
    let rows = [
        ("harness", Some(&v.harness)),
        ("rustls", v.rustls.as_ref()),
        ("hyper", v.hyper.as_ref()),
        ("hyper-util", v.hyper_util.as_ref()),
        ("tokio-rustls", v.tokio_rustls.as_ref()),
        ("crypto provider", v.crypto_provider.as_ref()),
        ("reqwest", v.reqwest.as_ref()),
        ("webpki-roots", v.webpki_roots.as_ref()),
        ("build profile", v.build_profile.as_ref()),
    ];
    let or_na =
        |v: Option<&String>| v.map_or_else(|| units::NOT_MEASURED.to_string(), String::clone);
    rows_table(out, "Versions", rows.map(|(k, v)| (k, or_na(v))));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup() {
        assert_eq!(esc("a<b & \"c\"'"), "a&lt;b &amp; &quot;c&quot;&#39;");
    }

    #[test]
    fn cells_mark_unmeasured() {
        let nm = "<span class=\"nm\">n/a</span>";
        let cell_html = |c: Cell| c.render(na, esc);
        assert_eq!(cell_html(Cell::Parts(vec![None, None])), nm);
        assert_eq!(
            cell_html(Cell::Parts(vec![Some("1".into()), None])),
            format!("1 / {nm}")
        );
    }
}
