//! The report renderer against a hand-built run (`tests/fixtures/report/`): every file is
//! written and well formed, names its series and axes, is byte-for-byte reproducible, and
//! degrades (cut short, empty, many series, long runs) instead of failing.

use std::fs;
use std::path::{Path, PathBuf};

use harness::contract::summary::Summary;
use harness::contract::timeline::{self, TimelineRow};
use harness::contract::wire::{ClientSample, ServerSample};
use harness::report::{self, ReportError, BREAKDOWN_FILE, FILES};

const SVGS: [&str; 5] = [
    "memory.svg",
    "cache.svg",
    "sockets.svg",
    "per-session.svg",
    "latency.svg",
];

fn fixture_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/report")
}

fn fixture() -> (Summary, Vec<TimelineRow>) {
    let dir = fixture_dir();
    let summary = Summary::read(&dir.join("summary.json")).expect("fixture summary.json");
    let rows = timeline::read_csv(&dir.join("timeline.csv")).expect("fixture timeline.csv");
    (summary, rows)
}

fn read(dir: &Path, name: &str) -> String {
    fs::read_to_string(dir.join(name)).unwrap_or_else(|e| panic!("read {name}: {e}"))
}

/// Whether some SVG `<text>` element reads exactly `text` (plotters writes the content on its
/// own line between the tags).
fn has_text(svg: &str, text: &str) -> bool {
    svg.contains(&format!(">\n{text}\n</text>")) || svg.contains(&format!(">{text}</text>"))
}

/// A small well-formedness check (no XML parser in the dependency tree): tags balance, every
/// `&` starts an entity, and there is exactly one root element. HTML void elements count as
/// self-closing.
fn assert_well_formed(name: &str, doc: &str) {
    const VOID: [&str; 3] = ["meta", "br", "img"];
    let mut stack: Vec<String> = Vec::new();
    let mut roots = 0;
    let mut rest = doc;
    while let Some(open) = rest.find('<') {
        check_entities(name, &rest[..open]);
        let after = &rest[open + 1..];
        let close = after
            .find('>')
            .unwrap_or_else(|| panic!("{name}: unterminated tag"));
        let tag = &after[..close];
        rest = &after[close + 1..];
        if tag.starts_with('!') || tag.starts_with('?') {
            continue;
        }
        if let Some(end) = tag.strip_prefix('/') {
            let top = stack
                .pop()
                .unwrap_or_else(|| panic!("{name}: </{end}> closes nothing"));
            assert_eq!(top, end.trim(), "{name}: </{end}> closes <{top}>");
            continue;
        }
        let elem: String = tag
            .chars()
            .take_while(|c| !c.is_whitespace() && *c != '/')
            .collect();
        assert!(!elem.is_empty(), "{name}: empty tag name in <{tag}>");
        assert_eq!(
            tag.matches('"').count() % 2,
            0,
            "{name}: unbalanced quotes in <{tag}>"
        );
        check_entities(name, tag);
        if stack.is_empty() {
            roots += 1;
        }
        if !(tag.ends_with('/') || VOID.contains(&elem.as_str())) {
            stack.push(elem);
        }
    }
    check_entities(name, rest);
    assert!(stack.is_empty(), "{name}: unclosed {stack:?}");
    assert_eq!(roots, 1, "{name}: expected exactly one root element");
}

fn check_entities(name: &str, text: &str) {
    for (i, _) in text.match_indices('&') {
        let ent = &text[i..];
        let ok = ["&amp;", "&lt;", "&gt;", "&quot;", "&#39;", "&apos;"]
            .iter()
            .any(|e| ent.starts_with(e));
        assert!(ok, "{name}: bare & in {:?}", &ent[..ent.len().min(20)]);
    }
}

fn assert_svg(name: &str, svg: &str) {
    assert!(
        svg.trim_start().starts_with("<svg"),
        "{name} starts with <svg"
    );
    assert!(
        svg.trim_end().ends_with("</svg>"),
        "{name} ends with </svg>"
    );
    assert_well_formed(name, svg);
}

fn render_into(summary: &Summary, rows: &[TimelineRow]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    let written = report::render(dir.path(), summary, rows).expect("render");
    let expected: Vec<PathBuf> = FILES.iter().map(|f| dir.path().join(f)).collect();
    assert_eq!(written, expected);
    dir
}

#[test]
fn fixture_deserializes_with_the_real_readers() {
    let (summary, rows) = fixture();
    assert_eq!(summary.modes.len(), 2);
    assert_eq!(rows.len(), 12);
    let fresh = &summary.modes[0];
    let shared = &summary.modes[1];
    assert_eq!(fresh.retained_bytes_per_session, Some(4150.0));
    assert!(fresh.model_plateau_bytes.is_some());
    assert_eq!(shared.retained_bytes_per_session, None);
    assert_eq!(shared.client_alloc_bytes_per_request, None);
    assert!(rows
        .iter()
        .filter(|r| r.mode.as_str() == "shared")
        .all(|r| r.sample.client_rss_bytes.is_none() && r.sample.retained_sessions.is_none()));
}

#[test]
fn render_dir_writes_every_chart_and_the_page() {
    let (summary, _) = fixture();
    let dir = tempfile::tempdir().expect("tempdir");
    for f in ["summary.json", "timeline.csv"] {
        fs::copy(fixture_dir().join(f), dir.path().join(f)).expect("copy fixture");
    }
    let written = report::render_dir(dir.path()).expect("render_dir");
    assert_eq!(written.len(), FILES.len());
    for path in &written {
        assert!(path.is_file(), "{} written", path.display());
    }

    for name in SVGS {
        let svg = read(dir.path(), name);
        assert_svg(name, &svg);
        assert!(has_text(&svg, "fresh"), "{name} names fresh");
        assert!(has_text(&svg, "shared"), "{name} names shared");
        assert!(
            svg.contains("50 req/s, 6 s, retention 3s, real clock"),
            "{name} title has the scenario"
        );
        assert!(!svg.contains("cut short"), "{name} not cut short");
    }

    let memory = read(dir.path(), "memory.svg");
    for text in [
        "RSS (MiB)",
        "live heap (MiB)",
        "time since load start (s)",
        "client",
        "server",
        "model: start + R·b·min(t,T)",
    ] {
        assert!(has_text(&memory, text), "memory.svg has {text:?}");
    }
    assert!(memory.contains("Memory — 50 req/s"));

    let cache = read(dir.path(), "cache.svg");
    assert!(has_text(&cache, "sessions / entries"));
    assert!(has_text(&cache, "time since load start (s)"));

    let sockets = read(dir.path(), "sockets.svg");
    assert!(has_text(&sockets, "open fds"));
    assert!(has_text(&sockets, "open connections"));

    let per_session = read(dir.path(), "per-session.svg");
    assert!(has_text(&per_session, "bytes / request (KiB)"));
    assert!(has_text(&per_session, "bytes / session (KiB)"));
    assert!(has_text(&per_session, "59.8 KiB"), "alloc bytes printed");
    assert!(has_text(&per_session, "4.05 KiB"), "retained bytes printed");
    // shared measured neither: one note per panel, no bar.
    assert_eq!(per_session.matches(">\nnot measured\n</text>").count(), 2);

    let latency = read(dir.path(), "latency.svg");
    for text in [
        "latency (log scale)",
        "requests",
        "p50",
        "p90",
        "p99",
        "max",
        "full handshake",
        "resumed handshake",
        "reused connection",
    ] {
        assert!(has_text(&latency, text), "latency.svg has {text:?}");
    }

    let html = read(dir.path(), "index.html");
    assert_well_formed("index.html", &html);
    assert!(html.contains(&summary.command), "page shows the command");
    for name in SVGS {
        assert!(
            html.contains(&format!("src=\"{name}\"")),
            "page shows {name}"
        );
    }
    for key in summary.method.keys() {
        assert!(html.contains(&format!("<dt>{key}</dt>")), "method {key}");
    }
    assert!(
        html.contains("<span class=\"nm\">n/a</span>"),
        "nulls shown as n/a"
    );
    assert!(!html.contains("cut short"));
    // Self-contained: nothing to fetch.
    for fetch in [
        "<script",
        "<link",
        "@import",
        "src=\"http",
        "href=\"http",
        "url(",
    ] {
        assert!(!html.contains(fetch), "page must not contain {fetch}");
    }
}

/// The answer first: the headline (a card per leg, every value marked, the legend), then the
/// memory and per-session charts, "What to do", the table, the other charts, then the method.
/// `tests/page.rs` checks the same in a browser, from the layout.
#[test]
fn the_page_puts_the_answer_first() {
    let (summary, rows) = fixture();
    let dir = render_into(&summary, &rows);
    let html = read(dir.path(), "index.html");
    let at = |text: &str| {
        html.find(text)
            .unwrap_or_else(|| panic!("the page has no {text:?}"))
    };
    let order = [
        "id=\"headline\"",
        "src=\"memory.svg\"",
        "src=\"per-session.svg\"",
        "<h2>What to do",
        "<h2>Summary per mode</h2>",
        "src=\"cache.svg\"",
        "src=\"sockets.svg\"",
        "src=\"latency.svg\"",
        "<h2>How it was measured</h2>",
        "<h3>Scenario</h3>",
        "<h3>How figures were measured</h3>",
        "<h3>Versions</h3>",
    ];
    for pair in order.windows(2) {
        assert!(at(pair[0]) < at(pair[1]), "{} before {}", pair[0], pair[1]);
    }
    let headline = &html[at("id=\"headline\"")..at("src=\"memory.svg\"")];
    for text in [
        "<h3><span class=\"swatch\" style=\"background:#1f77b4\"></span>fresh</h3>",
        "<dt>b: bytes a session holds</dt><dd>4.05 KiB <span class=\"pv\" title=\"derived\">◐</span></dd>",
        "608 KiB <span class=\"pv\" title=\"model\">○</span> / 625 KiB <span class=\"pv\" title=\"measured\">●</span>",
        // shared measured no allocations: n/a, unmarked.
        "<dt>bytes allocated / request</dt><dd><span class=\"nm\">n/a</span></dd>",
        "● measured · ◐ derived from measured figures · ○ model",
    ] {
        assert!(headline.contains(text), "the headline has {text:?}:\n{headline}");
    }
}

#[test]
fn rendering_twice_gives_identical_bytes() {
    let (summary, rows) = fixture();
    let a = render_into(&summary, &rows);
    let b = render_into(&summary, &rows);
    for name in FILES {
        assert_eq!(
            fs::read(a.path().join(name)).expect("a"),
            fs::read(b.path().join(name)).expect("b"),
            "{name} differs between two renders"
        );
    }
}

#[test]
fn interrupted_run_shows_a_banner_and_flags_every_chart() {
    let (mut summary, rows) = fixture();
    summary.interrupted = true;
    summary.stopped_reason = Some("SIGINT after 3 s".into());
    let half: Vec<TimelineRow> = rows.into_iter().filter(|r| r.sample.t_s <= 3.1).collect();
    let dir = render_into(&summary, &half);
    let html = read(dir.path(), "index.html");
    assert!(html.contains("class=\"banner\""));
    assert!(html.contains("cut short"));
    assert!(html.contains("SIGINT after 3 s"));
    for name in SVGS {
        let svg = read(dir.path(), name);
        assert_svg(name, &svg);
        assert!(svg.contains("(cut short)"), "{name} title says cut short");
    }
}

/// A leg whose per-session figures are not sound: the table and the page mark exactly its
/// per-session cells and say why under the table; the advice names it instead of advising.
#[test]
fn a_marked_leg_is_marked_in_the_table_and_the_page() {
    let (mut summary, rows) = fixture();
    let why = "rate-bound: could not keep --rate 20: 3 of 40 planned requests started";
    summary.modes[0].rate_bound = Some(why.into());
    summary.modes[0].per_session_unsound = Some(why.into());
    let table = report::table::render(&summary, report::table::View::Detail, 100);
    let row = |label: &str| {
        table
            .lines()
            .find(|l| l.starts_with(label))
            .unwrap_or_else(|| panic!("{label} row in {table}"))
            .to_string()
    };
    let b = row("bytes allocated / request");
    assert_eq!(b.matches(" !").count(), 1, "only the marked leg: {b}");
    assert!(!row("requests ok / failed").contains(" !"), "{table}");
    assert!(
        table.contains(&format!(
            "per-session figures marked ! are not sound: {why}"
        )),
        "{table}"
    );
    assert!(table.contains("No conclusion from the"), "{table}");
    let dir = render_into(&summary, &rows);
    let html = read(dir.path(), "index.html");
    let marked = html.matches("<td class=\"unsound\">").count();
    let measured = report::figures::MODE_FIGURES
        .iter()
        .filter(|f| f.per_session && !f.cell(&summary.modes[0]).plain().starts_with("n/a"))
        .count();
    assert!(measured > 3, "the fixture measures per-session figures");
    assert_eq!(
        marked, measured,
        "one marked cell per measured per-session figure"
    );
    assert!(
        !table.contains("n/a !"),
        "nothing unmeasured is marked: {table}"
    );
    assert!(html.contains("are not sound: rate-bound"), "page says why");
}

#[test]
fn empty_timeline_renders_no_samples_charts() {
    let (summary, _) = fixture();
    let dir = render_into(&summary, &[]);
    for name in ["memory.svg", "cache.svg", "sockets.svg"] {
        let svg = read(dir.path(), name);
        assert_svg(name, &svg);
        assert!(has_text(&svg, "no samples"), "{name} says no samples");
    }
    // The summary charts do not need the timeline.
    let per_session = read(dir.path(), "per-session.svg");
    assert!(has_text(&per_session, "4.05 KiB"));
    assert_well_formed("index.html", &read(dir.path(), "index.html"));
}

#[test]
fn summary_without_modes_renders() {
    let (mut summary, _) = fixture();
    summary.modes.clear();
    summary.method.clear();
    let dir = render_into(&summary, &[]);
    for name in SVGS {
        assert_svg(name, &read(dir.path(), name));
    }
    let latency = read(dir.path(), "latency.svg");
    assert!(has_text(&latency, "no modes"));
}

/// Eight (mode, client) series over a ten-minute virtual-clock run.
fn eight_series_long_run() -> (Summary, Vec<TimelineRow>) {
    let (mut summary, _) = fixture();
    summary.clock = harness::vocab::clock::Clock::Virtual;
    summary.scenario.rate = 100.0;
    summary.scenario.duration_s = 600.0;
    summary.scenario.retention_s = Some(600.0);
    let template = summary.modes[0].clone();
    summary.modes.clear();
    let mut rows = Vec::new();
    for (c, client) in ["hyper", "reqwest"].into_iter().enumerate() {
        for (i, mode) in ["fresh", "leak", "shared", "resume"]
            .into_iter()
            .enumerate()
        {
            // Each series grows at its own rate so the lines can be told apart.
            let k = (c * 4 + i + 1) as f64 / 8.0;
            let leak = mode == "leak";
            let mut m = template.clone();
            m.mode = mode.parse().expect("mode");
            m.client = client.parse().expect("client");
            m.model_plateau_bytes = Some(100.0 * 4150.0 * 600.0 * k);
            m.retained_bytes_per_session = Some(4150.0 * k);
            m.client_alloc_bytes_per_request = Some(61234.5 * k);
            if mode == "shared" {
                m.load.latency_us = None;
            }
            summary.modes.push(m);
            for t in 0..=600u32 {
                let t = f64::from(t);
                rows.push(TimelineRow {
                    mode: mode.parse().expect("mode"),
                    client: client.parse().expect("client"),
                    sample: ClientSample {
                        t_s: t / 20.0,
                        virtual_t_s: t,
                        client_rss_bytes: Some(9_000_000 + (t * 400_000.0 * k) as u64),
                        client_heap_live_bytes: Some(1_800_000 + (t * 415_000.0 * k) as u64),
                        client_open_fds: Some(
                            12 + if leak {
                                (t * 100.0 * k) as u64
                            } else {
                                i as u64
                            },
                        ),
                        client_open_conns: Some(if leak { (t * 100.0 * k) as u64 } else { 1 }),
                        retained_sessions: Some((t * 100.0 * k) as u64),
                        ..Default::default()
                    },
                    server: Some(ServerSample {
                        server_cache_entries: (t * 10.0).min(256.0 * k) as u64,
                        server_open_fds: Some(10 + c as u64 + i as u64),
                        ..Default::default()
                    }),
                    ..Default::default()
                });
            }
        }
    }
    (summary, rows)
}

#[test]
fn eight_series_over_ten_minutes_stay_labelled() {
    let (summary, rows) = eight_series_long_run();
    let dir = render_into(&summary, &rows);
    let memory = read(dir.path(), "memory.svg");
    assert!(has_text(&memory, "virtual time since load start (min)"));
    assert!(has_text(&memory, "RSS (MiB)"));
    assert!(has_text(&memory, "mode/client"));
    for name in SVGS {
        let svg = read(dir.path(), name);
        assert_svg(name, &svg);
        for label in ["fresh/hyper", "leak/reqwest", "resume/reqwest"] {
            assert!(has_text(&svg, label), "{name} names {label}");
        }
        assert!(
            svg.contains("virtual clock"),
            "{name} title says which clock"
        );
    }
    // The leak lines are drawn thicker than the others.
    let sockets = read(dir.path(), "sockets.svg");
    assert!(sockets.contains("stroke-width=\"4\""));
    assert!(!memory.contains("stroke-width=\"4\""));
}

#[test]
fn command_is_escaped_in_the_page() {
    let (mut summary, rows) = fixture();
    summary.command = "harness run --target 'https://h/?a=1&b=<2>'".into();
    let dir = render_into(&summary, &rows);
    let html = read(dir.path(), "index.html");
    assert!(html.contains("harness run --target &#39;https://h/?a=1&amp;b=&lt;2&gt;&#39;"));
    assert_well_formed("index.html", &html);
}

#[test]
fn missing_inputs_name_the_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let err = report::render_dir(dir.path()).expect_err("no summary.json");
    assert!(matches!(err, ReportError::Summary { .. }));
    let msg = err.to_string();
    assert!(msg.contains("summary.json"), "{msg}");
    assert!(
        msg.contains("cannot read") && !msg.contains("write"),
        "reading says read: {msg}"
    );

    fs::copy(
        fixture_dir().join("summary.json"),
        dir.path().join("summary.json"),
    )
    .expect("copy");
    let err = report::render_dir(dir.path()).expect_err("no timeline.csv");
    assert!(matches!(err, ReportError::Timeline { .. }));
    assert!(err.to_string().contains("timeline.csv"));
}

/// `harness report` on a directory that is not there: one line saying so, exit 2 (usage).
#[test]
fn report_of_a_missing_directory_says_so_and_exits_2() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let missing = tmp.path().join("no-such-run");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_harness"))
        .arg("report")
        .arg(&missing)
        .output()
        .expect("run harness report");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("no such directory"), "{err}");
    assert!(!err.contains("write"), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(!missing.exists(), "nothing is created");
}

/// A real `--breakdown` run's summary (two runs' legs, hyper and reqwest, trimmed).
fn breakdown_fixture() -> Summary {
    Summary::read(&fixture_dir().join("breakdown-summary.json")).expect("breakdown fixture")
}

#[test]
fn a_breakdown_run_gets_breakdown_svg_before_the_page() {
    let summary = breakdown_fixture();
    let dir = tempfile::tempdir().expect("tempdir");
    let written = report::render(dir.path(), &summary, &[]).expect("render");
    let mut expected: Vec<&str> = FILES[..5].to_vec();
    expected.extend([BREAKDOWN_FILE, "index.html"]);
    let expected: Vec<PathBuf> = expected.iter().map(|f| dir.path().join(f)).collect();
    assert_eq!(written, expected);

    let svg = read(dir.path(), BREAKDOWN_FILE);
    assert_svg(BREAKDOWN_FILE, &svg);
    for label in [
        "fresh/hyper",
        "leak/hyper",
        "shared/reqwest",
        "leak/reqwest",
    ] {
        assert!(has_text(&svg, label), "names {label}");
    }
    for owner in [
        "hyper",
        "rustls_resumption_store",
        "reqwest",
        "harness",
        "remainder",
    ] {
        assert!(has_text(&svg, owner), "legend has {owner}");
    }
    assert!(has_text(&svg, "123 KiB (remainder −11.9 B)"));

    let html = read(dir.path(), "index.html");
    assert_well_formed("index.html", &html);
    assert!(html.contains(&format!("src=\"{BREAKDOWN_FILE}\"")));

    let again = tempfile::tempdir().expect("tempdir");
    report::render(again.path(), &summary, &[]).expect("render again");
    assert_eq!(svg, read(again.path(), BREAKDOWN_FILE), "deterministic");
}

#[test]
fn a_run_without_breakdown_writes_no_breakdown_svg() {
    let (summary, rows) = fixture();
    let dir = render_into(&summary, &rows);
    assert!(!dir.path().join(BREAKDOWN_FILE).exists());
    assert!(!read(dir.path(), "index.html").contains(BREAKDOWN_FILE));
}

/// Not a check: writes the fixture and its hard variants under `$REPORT_LOOK_DIR` so a person
/// can open them in a browser (`REPORT_LOOK_DIR=/tmp/report-look cargo test -p harness --test
/// report -- --ignored`).
#[test]
#[ignore = "not a check: writes report variants for a person to look at (needs REPORT_LOOK_DIR)"]
fn write_variants_for_inspection() {
    let root = std::env::var_os("REPORT_LOOK_DIR")
        .map(PathBuf::from)
        .expect("REPORT_LOOK_DIR names where to write the variants");
    let (summary, rows) = fixture();
    report::render(&root.join("fixture"), &summary, &rows).expect("fixture");

    let (long, long_rows) = eight_series_long_run();
    report::render(&root.join("eight"), &long, &long_rows).expect("eight");

    let mut cut = summary.clone();
    cut.interrupted = true;
    cut.stopped_reason = Some("SIGINT after 3 s".into());
    let half: Vec<TimelineRow> = rows
        .iter()
        .filter(|r| r.sample.t_s <= 3.1)
        .cloned()
        .collect();
    report::render(&root.join("cut"), &cut, &half).expect("cut");

    report::render(&root.join("empty"), &summary, &[]).expect("empty");

    report::render(&root.join("breakdown"), &breakdown_fixture(), &[]).expect("breakdown");
}
