//! The page in a real browser: a short run's `index.html` and an exec check's, opened in
//! headless Chromium at 1280×800, must show the answer (the headline) and the first chart in
//! the first view, and cut off no table. What is checked is the layout Chromium computed (each
//! element's box), which no string check on the HTML can see.
//!
//! How, without a WebDriver crate: the page is copied beside itself with a `<script>` appended
//! that measures the boxes once the page (and its charts) loaded and writes them, as JSON, into
//! a `<pre id="probe">`; `chromium --dump-dom` prints the DOM after the script ran, and the
//! test reads the JSON back. The report's own page stays script-free (`tests/report.rs`).

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

/// The view a person opens the page in: a common laptop window.
const VIEW: (u32, u32) = (1280, 800);

/// Measures the page once it loaded, and writes what it found into `<pre id="probe">`.
const PROBE: &str = r#"<script>
window.addEventListener('load', function () {
  function box(e) {
    var r = e.getBoundingClientRect();
    return { top: r.top, bottom: r.bottom, left: r.left, right: r.right };
  }
  var out = {
    view: [document.documentElement.clientWidth, window.innerHeight],
    page_scroll_width: document.documentElement.scrollWidth
  };
  var h = document.getElementById('headline');
  out.headline = h ? box(h) : null;
  var charts = Array.prototype.filter.call(document.images, function (i) {
    return /\.svg$/.test(i.getAttribute('src') || '');
  });
  out.first_chart = charts.length ? {
    src: charts[0].getAttribute('src'),
    loaded: charts[0].complete && charts[0].naturalWidth > 0,
    box: box(charts[0])
  } : null;
  out.tables = Array.prototype.map.call(document.querySelectorAll('table'), function (t) {
    var scroller = null;
    for (var e = t.parentElement; e && e !== document.body; e = e.parentElement) {
      var o = getComputedStyle(e).overflowX;
      if (o === 'auto' || o === 'scroll') { scroller = e; break; }
    }
    var first = t.querySelector('tbody tr > :first-child');
    var name = t.querySelector('th, td');
    return {
      first_cell: name ? name.textContent.trim().slice(0, 40) : '',
      box: box(t),
      scroll_width: t.scrollWidth,
      client_width: t.clientWidth,
      scroller: scroller ? {
        box: box(scroller),
        scroll_width: scroller.scrollWidth,
        client_width: scroller.clientWidth
      } : null,
      first_column_sticky: first ? getComputedStyle(first).position === 'sticky' : false
    };
  });
  var pre = document.createElement('pre');
  pre.id = 'probe';
  pre.textContent = JSON.stringify(out);
  document.body.appendChild(pre);
});
</script>
"#;

/// Opens `dir/index.html` (with [`PROBE`]) in headless Chromium at [`VIEW`] and returns what
/// the probe measured.
fn measure(dir: &Path, profile: &Path) -> Value {
    let page = std::fs::read_to_string(dir.join("index.html")).expect("index.html");
    let probed = match page.rfind("</body>") {
        Some(at) => format!("{}{PROBE}{}", &page[..at], &page[at..]),
        None => format!("{page}{PROBE}"),
    };
    // Beside the page, so the charts' relative paths resolve.
    let copy = dir.join("probe.html");
    std::fs::write(&copy, probed).expect("write probe.html");
    let out = chromium(&copy, profile);
    let start = out.find("<pre id=\"probe\">").unwrap_or_else(|| {
        panic!(
            "the probe wrote nothing (did the page load?); DOM:\n{}",
            &out[..out.len().min(2000)]
        )
    }) + "<pre id=\"probe\">".len();
    let end = start + out[start..].find("</pre>").expect("</pre>");
    let json = out[start..end]
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&amp;", "&");
    serde_json::from_str(&json).unwrap_or_else(|e| panic!("probe JSON ({e}): {json}"))
}

/// `chromium --dump-dom` of `file`, bounded (a browser that hangs fails the test, not CI).
fn chromium(file: &Path, profile: &Path) -> String {
    let mut child = Command::new("chromium")
        .args(["--headless", "--no-sandbox", "--disable-gpu"])
        .arg(format!("--window-size={},{}", VIEW.0, VIEW.1))
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(["--virtual-time-budget=5000", "--dump-dom"])
        .arg(format!("file://{}", file.display()))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("chromium starts");
    let mut stdout = child.stdout.take().expect("stdout");
    let reader = std::thread::spawn(move || {
        let mut s = String::new();
        std::io::Read::read_to_string(&mut stdout, &mut s).map(|_| s)
    });
    let deadline = Instant::now() + Duration::from_secs(180);
    loop {
        match child.try_wait().expect("wait for chromium") {
            Some(status) => {
                assert!(status.success(), "chromium exited with {status}");
                break;
            }
            None if Instant::now() > deadline => {
                let _ = child.kill();
                panic!("chromium did not finish within 180 s");
            }
            None => std::thread::sleep(Duration::from_millis(100)),
        }
    }
    reader
        .join()
        .expect("reader thread")
        .expect("chromium's stdout is UTF-8")
}

fn f(v: &Value, path: &[&str]) -> f64 {
    let mut at = v;
    for k in path {
        at = match k.parse::<usize>() {
            Ok(i) => &at[i],
            Err(_) => &at[*k],
        };
    }
    at.as_f64()
        .unwrap_or_else(|| panic!("{} in {v}", path.join(".")))
}

/// Every layout problem the probe's measurements show, in words (empty: the page passes).
fn problems(m: &Value) -> Vec<String> {
    // The width is the page's own (the window's, less a scrollbar); the height is the view's
    // as asked: Chromium's window keeps some of it for its own bars, and the first 800 px of
    // the page are what a 1280×800 screen shows, whatever the window keeps.
    let (w, h) = (f(m, &["view", "0"]), f64::from(VIEW.1));
    let mut out = Vec::new();
    match &m["headline"] {
        Value::Null => out.push("no headline (#headline) on the page".into()),
        hl => {
            let (top, bottom) = (f(hl, &["top"]), f(hl, &["bottom"]));
            if top < 0.0 || bottom > h {
                out.push(format!(
                    "the headline spans {top:.0}–{bottom:.0} px: not inside the first {h:.0} px"
                ));
            }
        }
    }
    match &m["first_chart"] {
        Value::Null => out.push("no chart on the page".into()),
        c => {
            let (top, bottom) = (f(c, &["box", "top"]), f(c, &["box", "bottom"]));
            let src = c["src"].as_str().unwrap_or("?");
            if top < 0.0 || bottom > h {
                out.push(format!(
                    "the first chart ({src}) spans {top:.0}–{bottom:.0} px: not inside the first {h:.0} px"
                ));
            }
            if c["loaded"] != Value::Bool(true) {
                out.push(format!("the first chart ({src}) did not load"));
            }
        }
    }
    let page = f(m, &["page_scroll_width"]);
    if page > w + 0.5 {
        out.push(format!(
            "the page is {page:.0} px wide in a {w:.0} px view: its right edge is cut off"
        ));
    }
    for t in m["tables"].as_array().expect("tables") {
        let name = t["first_cell"].as_str().unwrap_or("");
        let name = format!("the table starting {name:?}");
        let right = f(t, &["box", "right"]);
        match &t["scroller"] {
            Value::Null => {
                if right > w + 0.5 || f(t, &["scroll_width"]) > f(t, &["client_width"]) + 0.5 {
                    out.push(format!(
                        "{name} ends at {right:.0} px in a {w:.0} px view, in no scrolling box: cut off"
                    ));
                }
            }
            s => {
                let box_right = f(s, &["box", "right"]);
                if box_right > w + 0.5 {
                    out.push(format!(
                        "{name}'s scrolling box ends at {box_right:.0} px in a {w:.0} px view"
                    ));
                }
                let scrolls = f(s, &["scroll_width"]) > f(s, &["client_width"]) + 0.5;
                if scrolls && t["first_column_sticky"] != Value::Bool(true) {
                    out.push(format!(
                        "{name} scrolls sideways but its figure names do not stay (position: sticky)"
                    ));
                }
            }
        }
    }
    out
}

fn assert_fits(dir: &Path, what: &str) {
    let profile = tempfile::tempdir().expect("chromium profile dir");
    let m = measure(dir, profile.path());
    println!("{what}: {m}");
    let p = problems(&m);
    assert!(
        p.is_empty(),
        "{what} at {}×{} in Chromium:\n- {}",
        VIEW.0,
        VIEW.1,
        p.join("\n- ")
    );
}

fn latest(tmp: &Path) -> PathBuf {
    std::fs::canonicalize(tmp.join("reports/latest")).expect("reports/latest")
}

#[test_with::executable(chromium)]
#[test]
fn a_runs_page_shows_the_answer_and_a_chart_first_and_cuts_no_table() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let out = common::harness_in(tmp.path())
        .args(["--rate", "20", "--seconds", "2", "--quiet"])
        .args(["--mode", "fresh,shared,resume,leak"])
        .output()
        .expect("run harness");
    assert!(
        out.status.success(),
        "exit {:?}\nstderr:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    assert_fits(&latest(tmp.path()), "a four-mode run's index.html");
}

#[test_with::executable(chromium)]
#[test]
fn an_exec_checks_page_shows_the_verdict_and_a_chart_first() {
    // docs/openssl.md's own example client (built by `cargo test` beside this test), a session
    // per request: no tool beyond Chromium is needed.
    let exe = Path::new(env!("CARGO_BIN_EXE_harness"))
        .parent()
        .expect("target dir")
        .join("examples/reqwest_client");
    assert!(
        exe.is_file(),
        "{} is missing: `cargo test --workspace` builds it; alone, `cargo build -p harness --example reqwest_client`",
        exe.display()
    );
    let tmp = tempfile::tempdir().expect("tempdir");
    let out = Command::new(env!("CARGO_BIN_EXE_harness"))
        .arg("exec")
        .arg("--out")
        .arg(tmp.path().join("reports"))
        .arg("--certs-dir")
        .arg(tmp.path().join("certs"))
        .args(["--quiet", "--duration", "120s", "--"])
        .arg(&exe)
        .args(["per-request", "20"])
        .stdin(Stdio::null())
        .output()
        .expect("harness exec runs");
    assert_eq!(
        out.status.code(),
        Some(0),
        "stderr:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_fits(&latest(tmp.path()), "an exec check's index.html");
}
