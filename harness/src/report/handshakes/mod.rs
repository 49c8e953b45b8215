//! `harness handshakes`'s terminal report: the published method's figures per series, then
//! the reconciliation table, every row a measured figure or a difference of two, with its
//! cause (docs/handshakes.md explains each row).

pub mod published;

use std::fmt::Write;

use crate::contract::lockstep::{
    variant_tls, HandshakesSummary, LockstepSeries, ReconciliationRow,
};
use crate::report::grid::grid;
use crate::vocab::tls::{ConfigSharing, KxChoice, TlsLibrary, TlsVersion};
use crate::vocab::units::bytes;
use published::PUBLISHED;

fn b(v: Option<f64>) -> String {
    v.map_or_else(|| "n/a".into(), bytes)
}

fn diff(a: Option<f64>, c: Option<f64>) -> Option<f64> {
    Some(a? - c?)
}

/// The series of `library` at `tls` with `kx` and `config`.
fn find(
    s: &HandshakesSummary,
    library: TlsLibrary,
    tls: TlsVersion,
    kx: KxChoice,
    config: ConfigSharing,
) -> Option<&LockstepSeries> {
    s.series.iter().find(|x| {
        x.library == library
            && x.tls == tls
            && x.kx == kx
            && x.config == config
            && !x.release_buffers
    })
}

fn base(s: &HandshakesSummary, library: TlsLibrary, tls: TlsVersion) -> Option<&LockstepSeries> {
    find(s, library, tls, KxChoice::Default, ConfigSharing::Shared)
}

/// The version the variant series ran at, by the rule that chose it (`variant_tls`); the
/// peak-to-heap steps and the library comparison are given at it too.
fn main_tls(s: &HandshakesSummary) -> Option<TlsVersion> {
    let versions: Vec<TlsVersion> = TlsVersion::ALL
        .iter()
        .copied()
        .filter(|t| s.series.iter().any(|x| x.tls == *t))
        .collect();
    variant_tls(&versions)
}

/// The `rustls-bench` binaries run, in the order given.
fn benches(s: &HandshakesSummary) -> Vec<&str> {
    let mut out: Vec<&str> = Vec::new();
    for p in &s.rustls_bench {
        if !out.contains(&p.argv[0].as_str()) {
            out.push(&p.argv[0]);
        }
    }
    out
}

/// Slope of one `rustls-bench memory` binary's peak RSS at `tls`, between the smallest and
/// largest N it ran (derived).
pub fn rustls_bench_slope(s: &HandshakesSummary, bench: &str, tls: TlsVersion) -> Option<f64> {
    let mut pts: Vec<(u64, u64)> = s
        .rustls_bench
        .iter()
        .filter(|p| p.tls == tls && p.argv[0] == bench)
        .filter_map(|p| Some((p.sessions, p.peak_rss_bytes?)))
        .collect();
    pts.sort();
    let (&(n0, r0), &(n1, r1)) = (pts.first()?, pts.last()?);
    (n1 > n0).then(|| (r1 as f64 - r0 as f64) / (n1 - n0) as f64)
}

/// The whole report.
pub fn render(s: &HandshakesSummary) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Per-session memory by the published method: N sessions = N/2 clients + N/2 servers in one process, lockstep full handshakes in memory, one process per N. Bytes per session (one side), slopes between the smallest and largest N (derived)."
    );
    let names: Vec<String> = [
        "N",
        "peak RSS",
        "RSS/N",
        "malloc peak",
        "heap peak",
        "heap at rest",
        "client/conn",
        "server/conn",
    ]
    .map(String::from)
    .to_vec();
    let rows: Vec<(String, Vec<String>)> = s
        .series
        .iter()
        .map(|x| {
            (
                x.name(),
                vec![
                    format!("{}→{}", x.from_sessions, x.to_sessions),
                    b(x.peak_rss_slope),
                    b(x.peak_rss_per_session),
                    b(x.malloc_peak_slope),
                    b(x.heap_peak_slope),
                    b(x.heap_at_rest_slope),
                    b(x.client_bytes_per_connection),
                    b(x.server_bytes_per_connection),
                ],
            )
        })
        .collect();
    grid(&mut out, &names, &rows);
    out.push('\n');
    reconcile(&mut out, s);
    out
}

type Row = ReconciliationRow;

fn row(label: impl Into<String>, bytes: Option<f64>, how: impl Into<String>) -> Row {
    ReconciliationRow {
        label: label.into(),
        bytes,
        how: how.into(),
    }
}

/// Prints the reconciliation rows of `s`.
fn reconcile(out: &mut String, s: &HandshakesSummary) {
    let _ = writeln!(
        out,
        "Reconciliation: the published figures, this machine by their method, and this tool's own figures (bytes per session, one side, unless a row says per client)."
    );
    let rows: Vec<(String, String, &str)> = s
        .reconciliation
        .iter()
        .map(|r| (r.label.clone(), b(r.bytes), r.how.as_str()))
        .collect();
    let label_w = rows
        .iter()
        .map(|(l, _, _)| l.chars().count())
        .max()
        .unwrap_or(0)
        + 2;
    let bytes_w = rows
        .iter()
        .map(|(_, v, _)| v.chars().count())
        .max()
        .unwrap_or(0);
    for (label, bytes, how) in rows {
        let pad = label_w - label.chars().count();
        let _ = writeln!(out, "{label}{}{bytes:>bytes_w$}   {how}", " ".repeat(pad));
    }
}

/// The reconciliation table's rows, computed once from the readings (`summary.json` keeps
/// them; the terminal prints them): the published figures, this machine by their method,
/// the steps from peak RSS to the exact heap, the measured differences, this tool's own
/// figures.
pub fn reconciliation(s: &HandshakesSummary) -> Vec<ReconciliationRow> {
    let mut rows: Vec<Row> = Vec::new();
    for p in PUBLISHED {
        rows.push(row(
            format!("published {}: {} TLS {}", p.year, p.library, p.tls),
            p.slope(),
            format!(
                "{}, {}: peak RSS slope {} (derived from its table)",
                p.source,
                p.build,
                p.span()
            ),
        ));
    }
    let programs = benches(s);
    for &bench in &programs {
        let name = std::path::Path::new(bench)
            .file_name()
            .map_or(bench.into(), |n| n.to_string_lossy().into_owned());
        for &tls in TlsVersion::ALL {
            let Some(v) = rustls_bench_slope(s, bench, tls) else {
                continue;
            };
            let ours = base(s, TlsLibrary::Rustls, tls).and_then(|x| x.peak_rss_slope);
            let ratio = ours.map_or("n/a".into(), |o| format!("{:.2}", o / v));
            rows.push(row(
                format!("{name} memory here: TLS {tls}"),
                Some(v),
                format!("rustls's own program, peak RSS slope (GNU time); ours ÷ theirs = {ratio}"),
            ));
        }
    }
    // Two builds of rustls-bench (say jemalloc and glibc malloc): their difference.
    if let [a, b] = programs[..] {
        for &tls in TlsVersion::ALL {
            if let (Some(x), Some(y)) =
                (rustls_bench_slope(s, a, tls), rustls_bench_slope(s, b, tls))
            {
                rows.push(row(
                    format!("rustls-bench, first − second build: TLS {tls}"),
                    Some(x - y),
                    format!("{a} − {b}: the same program built two ways (e.g. allocator)"),
                ));
            }
        }
    }
    for lib in TlsLibrary::ALL {
        for &tls in TlsVersion::ALL {
            if let Some(x) = base(s, *lib, tls) {
                rows.push(row(
                    format!("ours, their method: {lib} TLS {tls}"),
                    x.peak_rss_slope,
                    format!("peak RSS slope N {}→{}", x.from_sessions, x.to_sessions),
                ));
            }
        }
    }
    for lib in TlsLibrary::ALL {
        let Some(tls) = main_tls(s) else { break };
        let Some(x) = base(s, *lib, tls) else {
            continue;
        };
        let p = format!("  {lib} TLS {tls}: ");
        rows.push(row(
            format!("{p}peak RSS"),
            x.peak_rss_slope,
            "the published metric",
        ));
        rows.push(row(
            format!("{p}− allocator and pages"),
            diff(x.peak_rss_slope, x.malloc_peak_slope),
            "peak RSS − malloc in use at its peak (mallinfo2): allocator overhead (+), pages allocated but never touched (−)",
        ));
        rows.push(row(
            format!("{p}− C heap the counter misses"),
            diff(x.malloc_peak_slope, x.heap_peak_slope),
            match lib {
                TlsLibrary::Rustls => "malloc peak − counted heap peak: aws-lc's C mallocs (record keys) and glibc's header per block",
                TlsLibrary::Openssl => "malloc peak − counted heap peak: the counter's 16-byte header per OpenSSL block and glibc's header per block",
            },
        ));
        rows.push(row(
            format!("{p}− handshake transients"),
            diff(x.heap_peak_slope, x.heap_at_rest_slope),
            "counted heap at its peak (read when all pairs are made and after each round) − at rest",
        ));
        rows.push(row(
            format!("{p}= heap at rest (exact)"),
            x.heap_at_rest_slope,
            format!(
                "counting allocator; per connection: client {}, server {}",
                b(x.client_bytes_per_connection),
                b(x.server_bytes_per_connection)
            ),
        ));
    }
    differences(&mut rows, s);
    own_figures(&mut rows, s);
    rows
}

/// TLS version, key exchange, per-connection config, and library: each a difference of two
/// measured series.
fn differences(rows: &mut Vec<Row>, s: &HandshakesSummary) {
    let Some(v) = main_tls(s) else { return };
    let rest = |x: Option<&LockstepSeries>| x.and_then(|x| x.heap_at_rest_slope);
    let rss = |x: Option<&LockstepSeries>| x.and_then(|x| x.peak_rss_slope);
    let peak = |x: Option<&LockstepSeries>| x.and_then(|x| x.heap_peak_slope);
    let mpeak = |x: Option<&LockstepSeries>| x.and_then(|x| x.malloc_peak_slope);
    let free = |x: Option<&LockstepSeries>| x.and_then(|x| x.malloc_free_at_rest_slope);
    let r12 = base(s, TlsLibrary::Rustls, TlsVersion::V12);
    let r13 = base(s, TlsLibrary::Rustls, TlsVersion::V13);
    if r12.is_some() && r13.is_some() {
        rows.push(row(
            "rustls TLS 1.2 − TLS 1.3, heap at rest",
            diff(rest(r12), rest(r13)),
            format!("peak RSS: {}", b(diff(rss(r12), rss(r13)))),
        ));
    }
    let rustls = base(s, TlsLibrary::Rustls, v);
    let x25519 = find(
        s,
        TlsLibrary::Rustls,
        v,
        KxChoice::X25519,
        ConfigSharing::Shared,
    );
    if x25519.is_some() {
        rows.push(row(
            "rustls X25519MLKEM768 − X25519, peak RSS",
            diff(rss(rustls), rss(x25519)),
            format!(
                "TLS {v} default groups vs X25519 alone; live at no reading (heap peak {}, malloc peak {}): freed key shares kept by malloc (free at rest {})",
                b(diff(peak(rustls), peak(x25519))),
                b(diff(mpeak(rustls), mpeak(x25519))),
                b(diff(free(rustls), free(x25519)))
            ),
        ));
    }
    for lib in TlsLibrary::ALL {
        let own = find(s, *lib, v, KxChoice::Default, ConfigSharing::PerConnection);
        if let (Some(own), Some(shared)) = (own, base(s, *lib, v)) {
            rows.push(row(
                format!("{lib} config per client − shared, per client"),
                diff(
                    own.client_bytes_per_connection,
                    shared.client_bytes_per_connection,
                ),
                "what a per-request client builds and the benchmark shares: config, root store, resumption store with its tickets",
            ));
        }
    }
    let openssl = base(s, TlsLibrary::Openssl, v);
    if openssl.is_some() {
        rows.push(row(
            format!("OpenSSL − rustls TLS {v}, heap at rest"),
            diff(rest(openssl), rest(rustls)),
            format!("peak RSS: {}", b(diff(rss(openssl), rss(rustls)))),
        ));
    }
    if let (Some(rb), Some(o)) = (released(s), openssl) {
        rows.push(row(
            "OpenSSL client releasing its buffers − default, per client",
            diff(rb.client_bytes_per_connection, o.client_bytes_per_connection),
            "SSL_MODE_RELEASE_BUFFERS, which native-tls (reqwest-native) sets: idle record buffers freed",
        ));
    }
}

/// The OpenSSL series whose clients set `SSL_MODE_RELEASE_BUFFERS` (at [`main_tls`]).
fn released(s: &HandshakesSummary) -> Option<&LockstepSeries> {
    let v = main_tls(s)?;
    s.series
        .iter()
        .find(|x| x.library == TlsLibrary::Openssl && x.tls == v && x.release_buffers)
}

/// This tool's own per-session figures, and what separates each from the lockstep client.
fn own_figures(rows: &mut Vec<Row>, s: &HandshakesSummary) {
    for h in &s.held {
        let lock = base(s, TlsLibrary::Rustls, h.tls).and_then(|x| x.client_bytes_per_connection);
        let lock_server =
            base(s, TlsLibrary::Rustls, h.tls).and_then(|x| x.server_bytes_per_connection);
        rows.push(row(
            format!("idle held connection TLS {}, per client", h.tls),
            h.tls_client_bytes,
            match &h.error {
                Some(e) => format!("not measured: {e}"),
                None => format!(
                    "measure::held, tokio-rustls over TCP ({} connections); − lockstep client = {} (tokio stream, socket registration); server side {}, − lockstep server = {}",
                    h.connections,
                    b(diff(h.tls_client_bytes, lock)),
                    b(h.tls_server_bytes),
                    b(diff(h.tls_server_bytes, lock_server))
                ),
            },
        ));
    }
    let Some(p) = &s.per_request else {
        rows.push(row(
            "fresh b, leak b",
            None,
            s.per_request_error.clone().unwrap_or_default(),
        ));
        return;
    };
    let own = find(
        s,
        TlsLibrary::Rustls,
        p.tls,
        KxChoice::Default,
        ConfigSharing::PerConnection,
    )
    .and_then(|x| x.client_bytes_per_connection);
    let shared = base(s, TlsLibrary::Rustls, p.tls).and_then(|x| x.client_bytes_per_connection);
    let config = diff(own, shared);
    let held = s
        .held
        .iter()
        .find(|h| h.tls == p.tls)
        .and_then(|h| h.tls_client_bytes);
    rows.push(row(
        format!("fresh b (run {}), per client", p.run_id),
        p.fresh_b,
        format!(
            "retained per fresh hyper session after its connection closed; − config per client (roots, resumption store, stored tickets) = {} (the rest: hyper's client)",
            b(diff(p.fresh_b, config))
        ),
    ));
    rows.push(row(
        format!("leak b (run {}), per client", p.run_id),
        p.leak_b,
        format!(
            "kept hyper session with its connection; − held connection − own config = {} (hyper's connection task and buffers)",
            b(diff(p.leak_b, held.and_then(|h| Some(h + config?))))
        ),
    ));
    if let (Some(native), Some(rustls)) = (p.reqwest_native_leak_b, p.reqwest_leak_b) {
        let released = released(s);
        let lock = diff(
            released.and_then(|x| x.client_bytes_per_connection),
            released
                .and_then(|x| base(s, TlsLibrary::Rustls, x.tls))
                .and_then(|x| x.client_bytes_per_connection),
        );
        let at = released.map_or("n/a".into(), |x| format!("TLS {}", x.tls));
        rows.push(row(
            format!("leak b reqwest-native − reqwest (run {}), per client", p.run_id),
            Some(native - rustls),
            format!(
                "a kept OpenSSL client − a kept rustls one ({} − {}); the lockstep clients (OpenSSL releasing its buffers − rustls, {at}) differ by {}, the rest {} (configs, reqwest's two TLS stacks)",
                b(Some(native)),
                b(Some(rustls)),
                b(lock),
                b(diff(Some(native - rustls), lock))
            ),
        ));
    }
}
