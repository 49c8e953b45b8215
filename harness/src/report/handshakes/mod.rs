//! `harness handshakes`'s terminal report and reconciliation rows (docs/handshakes.md).

pub mod published;

use std::fmt::Write;

use crate::contract::lockstep::{
    slope, span, variant_tls, ForeignPoint, HandshakesSummary, LockstepSeries,
    ReconciliationRow as Row,
};
use crate::report::grid::{grid, widest};
use crate::vocab::client::ClientKind;
use crate::vocab::mode::Mode;
use crate::vocab::tls::{ConfigSharing, KxChoice, TlsLibrary, TlsVersion};
use crate::vocab::units::{bytes, count, percent};
use published::PUBLISHED;

/// How far (client + server) / 2 may be from the heap at rest, as a share of it, before the
/// difference gets its own "not attributed" row.
const ATTRIBUTION_TOLERANCE: f64 = 0.02;

/// What a difference no reading of this run explains is called.
const REMAINDER: &str = "remainder (not measured further)";

/// A difference of two readings smaller than this share of the difference it is set against
/// counts as none ("not in the largest heap or malloc reading").
const NEGLIGIBLE: f64 = 0.1;

/// Two differences within this share of each other are "about as much".
const AGREES: f64 = 0.25;

fn b(v: Option<f64>) -> String {
    v.map_or_else(|| "n/a".into(), bytes)
}

fn diff(a: Option<f64>, c: Option<f64>) -> Option<f64> {
    Some(a? - c?)
}

type Figure = fn(&LockstepSeries) -> Option<f64>;
const REST: Figure = |x| x.heap_at_rest_slope;
const RSS: Figure = |x| x.peak_rss_slope;
const CLIENT: Figure = |x| x.client_bytes_per_connection;
const SERVER: Figure = |x| x.server_bytes_per_connection;

/// `figure` of series `a` − of series `b`.
fn gap(a: Option<&LockstepSeries>, b: Option<&LockstepSeries>, figure: Figure) -> Option<f64> {
    diff(a.and_then(figure), b.and_then(figure))
}

/// A series' key exchange, client config sharing and whether OpenSSL releases its buffers.
type Setup = (KxChoice, ConfigSharing, bool);
const BASE: Setup = (KxChoice::Default, ConfigSharing::Shared, false);
const X25519: Setup = (KxChoice::X25519, ConfigSharing::Shared, false);
const PER_CLIENT: Setup = (KxChoice::Default, ConfigSharing::PerConnection, false);
const RELEASED: Setup = (KxChoice::Default, ConfigSharing::Shared, true);

fn find(
    s: &HandshakesSummary,
    library: TlsLibrary,
    tls: TlsVersion,
    setup: Setup,
) -> Option<&LockstepSeries> {
    s.series.iter().find(|x| {
        let k = x.key;
        (k.library, k.tls) == (library, tls) && (k.kx, k.config, x.release_buffers) == setup
    })
}

/// The series of the published setup: the default key exchange, one shared client config.
fn base(s: &HandshakesSummary, library: TlsLibrary, tls: TlsVersion) -> Option<&LockstepSeries> {
    find(s, library, tls, BASE)
}

/// The version the variant series ran at (`variant_tls`), where the chain and the comparisons are
/// given.
fn main_tls(s: &HandshakesSummary) -> Option<TlsVersion> {
    let ran = |t: &TlsVersion| s.series.iter().any(|x| x.key.tls == *t);
    let versions: Vec<TlsVersion> = TlsVersion::ALL.iter().copied().filter(ran).collect();
    variant_tls(&versions)
}

/// Slopes between consecutive points, each named by its span: how straight the line is.
fn steps(points: &[(u64, f64)]) -> String {
    let step = |w: &[(u64, f64)]| {
        let (from, to) = (count(w[0].0), count(w[1].0));
        format!("{from}→{to} {}", b(slope(w[0], w[1])))
    };
    let parts: Vec<String> = points.windows(2).map(step).collect();
    format!("steps {}", parts.join(", "))
}

/// The measured `(N, peak RSS)` of series `x`, ascending N: its slopes' points.
fn peaks(s: &HandshakesSummary, x: &LockstepSeries) -> Vec<(u64, f64)> {
    let series = (x.key, x.release_buffers);
    let ours = s.readings.iter().filter(|r| r.point.series() == series);
    let mut points: Vec<(u64, f64)> = ours
        .filter_map(|r| Some((r.point.sessions, r.peak_rss_bytes? as f64)))
        .collect();
    points.sort_by_key(|p| p.0);
    points
}

/// The slope between `from` and `to` among `points`, when both were measured.
fn between(points: &[(u64, f64)], from: u64, to: u64) -> Option<f64> {
    let at = |n: u64| points.iter().copied().find(|p| p.0 == n);
    slope(at(from)?, at(to)?)
}

/// The points of `bench` at `tls`, ascending N, failed ones included.
fn bench_points<'a>(
    s: &'a HandshakesSummary,
    bench: &str,
    tls: TlsVersion,
) -> Vec<&'a ForeignPoint> {
    let mut points: Vec<&ForeignPoint> = s
        .rustls_bench
        .iter()
        .filter(|p| p.tls == tls && p.argv[0] == bench)
        .collect();
    points.sort_by_key(|p| p.sessions);
    points
}

fn measured(points: &[&ForeignPoint]) -> Vec<(u64, f64)> {
    points
        .iter()
        .filter_map(|p| Some((p.sessions, p.peak_rss_bytes? as f64)))
        .collect()
}

const COLUMNS: &str = "N, peak RSS, peak RSS steps, RSS/N, malloc max, heap max, heap at rest, client/conn, server/conn";

pub fn render(s: &HandshakesSummary) -> String {
    let mut out = String::from("Per-session memory by the published method: N sessions = N/2 clients + N/2 servers in one process, lockstep full handshakes in memory, one process per N. Bytes per session (one side); each slope between the N its span names (derived), and the slope between each pair of consecutive N (steps: equal when the line is straight). RSS/N is the largest N's peak RSS ÷ N (derived, fixed costs included); the malloc and heap columns are the largest of their readings (before, once all pairs exist, after each round, at rest), not a continuous peak.\n");
    let names: Vec<String> = COLUMNS.split(", ").map(String::from).collect();
    let rows: Vec<(String, Vec<String>)> = s
        .series
        .iter()
        .map(|x| {
            let steps: Vec<String> = x.peak_rss_steps.iter().map(|v| b(*v)).collect();
            (
                x.key.name(x.release_buffers),
                vec![
                    span(x.from_sessions, x.to_sessions),
                    b(x.peak_rss_slope),
                    steps.join(" / "),
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
    if let Some(run) = &s.load_run {
        let _ = writeln!(out, "load run: {run}");
    }
    out.push_str("Reconciliation: the published figures, this machine by their method, and this tool's own figures (bytes per session, one side, unless a row says per client). A difference row names the two measured figures it subtracts; it names a cause only where a reading of this run measured one. The steps from peak RSS to the heap at rest add up by construction (each is a difference of two of the figures), so that they add up checks nothing.\n");
    let rec = &s.reconciliation;
    let label_w = widest(rec.iter().map(|r| r.label.as_str())) + 2;
    let bytes: Vec<String> = rec.iter().map(|r| b(r.bytes)).collect();
    let bytes_w = widest(bytes.iter().map(String::as_str));
    for (r, bytes) in rec.iter().zip(bytes) {
        let (label, how) = (&r.label, &r.how);
        let _ = writeln!(out, "{label:label_w$}{bytes:>bytes_w$}   {how}");
    }
    out
}

fn row(label: impl Into<String>, bytes: Option<f64>, how: impl Into<String>) -> Row {
    Row {
        label: label.into(),
        bytes,
        how: how.into(),
    }
}

/// The reconciliation table's rows, computed once from the readings (`summary.json` keeps
/// them; the terminal prints them).
pub fn reconciliation(s: &HandshakesSummary) -> Vec<Row> {
    let mut rows: Vec<Row> = Vec::new();
    for p in PUBLISHED {
        let (points, (a, z)) = (p.points_bytes(), p.span_n());
        let why = p.source_span.map_or("its whole table", |(_, why)| why);
        let (library, at) = (p.library, p.largest_n());
        let stated = match p.stated {
            Some(quote) => format!(
                "the source's text states \"{quote}\" per {library} session, naming no TLS version; this table's peak RSS ÷ N at N {} is {} (derived), which it matches",
                count(at),
                b(p.rss_per_n(at))
            ),
            None if p.year == 2024 => "the source's text states one figure a library, naming no TLS version (see its TLS 1.3 row)".into(),
            None => "the source states no per-session figure".into(),
        };
        let (source, build, over, by_step) = (p.source, p.build, span(a, z), steps(&points));
        rows.push(row(
            format!("published {}: {library} TLS {}", p.year, p.tls),
            between(&points, a, z),
            format!("{source}, {build}: peak RSS slope {over} ({why}), derived from its table; {stated}; {by_step}"),
        ));
    }
    rustls_bench_rows(&mut rows, s);
    for lib in TlsLibrary::ALL {
        for &tls in TlsVersion::ALL {
            let Some(x) = base(s, *lib, tls) else {
                continue;
            };
            let points = peaks(s, x);
            // Beside ours, the same slope over the span the 2024 source's slopes are taken over.
            let theirs = PUBLISHED
                .iter()
                .rev()
                .filter(|p| p.library == *lib && p.tls == tls)
                .find_map(|p| p.source_span.map(|(sp, _)| (p.year, sp)));
            let over_theirs = match theirs {
                Some((year, (a, z))) if (a, z) != (x.from_sessions, x.to_sessions) => {
                    let v =
                        between(&points, a, z).map_or_else(|| "n/a (not both N run)".into(), bytes);
                    format!("; over the {year} source's {}: {v}", span(a, z))
                }
                _ => String::new(),
            };
            let (over, by_step) = (span(x.from_sessions, x.to_sessions), steps(&points));
            rows.push(row(
                format!("ours, their method: {lib} TLS {tls}"),
                x.peak_rss_slope,
                format!("derived: peak RSS slope {over} of the measured peak RSS (VmHWM); {by_step}{over_theirs}"),
            ));
        }
    }
    for lib in TlsLibrary::ALL {
        if let Some(x) = main_tls(s).and_then(|tls| base(s, *lib, tls)) {
            chain(&mut rows, x);
        }
    }
    differences(&mut rows, s);
    own_figures(&mut rows, s);
    rows
}

/// Each `rustls-bench` binary's slope per TLS version over the N it measured, a row per failed
/// point, and for two binaries their difference over the N both measured.
fn rustls_bench_rows(rows: &mut Vec<Row>, s: &HandshakesSummary) {
    let mut programs: Vec<&str> = s.rustls_bench.iter().map(|p| p.argv[0].as_str()).collect();
    let mut seen = std::collections::HashSet::new();
    programs.retain(|b| seen.insert(*b));
    for &bench in &programs {
        let name = std::path::Path::new(bench)
            .file_name()
            .map_or(bench.into(), |n| n.to_string_lossy().into_owned());
        for &tls in TlsVersion::ALL {
            let points = bench_points(s, bench, tls);
            if points.is_empty() {
                continue;
            }
            let m = measured(&points);
            let (total, got) = (points.len(), m.len());
            // The slope over the smallest and largest N measured.
            let ends = m.first().zip(m.last());
            let theirs = ends.and_then(|(a, z)| slope(*a, *z));
            let label = format!("{name} memory here: TLS {tls}");
            let how = match (ends, theirs) {
                (Some((&(a, _), &(z, _))), Some(t)) => {
                    let ours =
                        base(s, TlsLibrary::Rustls, tls).and_then(|x| between(&peaks(s, x), a, z));
                    let ratio = match ours {
                        Some(o) => format!(
                            "ours over the same span {}, ours ÷ theirs = {:.2}",
                            bytes(o),
                            o / t
                        ),
                        None => "ours over the same span: n/a (not both N run)".into(),
                    };
                    let missing = match total - got {
                        0 => String::new(),
                        nf => format!("; INCOMPLETE: {nf} of {total} points failed (rows below), the span is the measured points'"),
                    };
                    let (over, by_step) = (span(a, z), steps(&m));
                    format!("rustls's own program, peak RSS slope {over} (GNU time); {by_step}; {ratio}{missing}")
                }
                _ => format!("rustls's own program: {got} of {total} points measured, no slope"),
            };
            rows.push(row(label.clone(), theirs, how));
            for p in points.iter().filter(|p| p.peak_rss_bytes.is_none()) {
                let why = p.error.as_deref().unwrap_or("no peak RSS read");
                rows.push(row(
                    format!("{label}, N = {}", count(p.sessions)),
                    None,
                    format!("failed: {why}"),
                ));
            }
        }
    }
    if let [first, second] = programs[..] {
        for &tls in TlsVersion::ALL {
            let x = measured(&bench_points(s, first, tls));
            let y = measured(&bench_points(s, second, tls));
            let in_y = |p: &&(u64, f64)| y.iter().any(|q| q.0 == p.0);
            let (Some(&(a, _)), Some(&(z, _))) = (x.iter().find(in_y), x.iter().rfind(in_y)) else {
                continue;
            };
            if let (Some(u), Some(v)) = (between(&x, a, z), between(&y, a, z)) {
                let over = span(a, z);
                rows.push(row(
                    format!("rustls-bench, first − second build: TLS {tls}"),
                    Some(u - v),
                    format!("peak RSS slope {over} of {first} − of {second}: two builds of the same program, as given"),
                ));
            }
        }
    }
}

/// From peak RSS to the counted heap at rest, each step a difference of two measured slopes, then
/// the heap at rest against its two sides.
fn chain(rows: &mut Vec<Row>, x: &LockstepSeries) {
    let p = format!("  {} TLS {}: ", x.key.library, x.key.tls);
    let sp = span(x.from_sessions, x.to_sessions);
    rows.push(row(
        format!("{p}peak RSS"),
        x.peak_rss_slope,
        format!("derived: slope {sp} of the measured peak RSS (VmHWM), the published metric"),
    ));
    let unresident = diff(x.peak_rss_slope, x.malloc_peak_slope);
    let sign = match unresident {
        Some(d) if d < 0.0 => "; negative: malloc holds more than is resident at the peak;",
        _ => ":",
    };
    rows.push(row(
        format!("{p}− malloc in use at its peak"),
        unresident,
        format!("peak RSS slope − malloc in-use slope at its largest reading (mallinfo2){sign} {REMAINDER}"),
    ));
    rows.push(row(
        format!("{p}− counted heap at its peak"),
        diff(x.malloc_peak_slope, x.heap_peak_slope),
        format!("malloc in use at its largest reading − the counting allocator's heap at its largest reading: {REMAINDER}"),
    ));
    rows.push(row(
        format!("{p}− heap at rest"),
        diff(x.heap_peak_slope, x.heap_at_rest_slope),
        "counted heap at its largest reading (before, once all pairs exist, after each round, at rest) − at rest: freed before rest",
    ));
    rows.push(row(
        format!("{p}= heap at rest (exact)"),
        x.heap_at_rest_slope,
        format!("derived: slope {sp} of the counting allocator's measured live heap at rest"),
    ));
    let sides = x
        .client_bytes_per_connection
        .zip(x.server_bytes_per_connection)
        .map(|(c, v)| (c + v) / 2.0);
    let apart = diff(x.heap_at_rest_slope, sides);
    let within = apart
        .zip(x.heap_at_rest_slope)
        .map(|(d, rest)| d.abs() <= ATTRIBUTION_TOLERANCE * rest.abs());
    let (tolerance, apart_by) = (percent(ATTRIBUTION_TOLERANCE), b(apart));
    let verdict = match within {
        Some(true) => format!("within {tolerance} of the heap at rest ({apart_by} apart)"),
        Some(false) => format!("{apart_by} from the heap at rest, more than {tolerance}: next row"),
        None => "not compared (a figure is missing)".into(),
    };
    let n = count(x.to_sessions);
    let [client, server] = [x.client_bytes_per_connection, x.server_bytes_per_connection].map(b);
    rows.push(row(
        format!("{p}  (client + server) / 2"),
        sides,
        format!("derived: the measured heap freed when all servers, then all clients were dropped, per connection at N = {n}: (client {client} + server {server}) / 2, {verdict}"),
    ));
    if within == Some(false) {
        rows.push(row(
            format!("{p}  not attributed"),
            apart,
            "heap at rest − (client + server) / 2: in the heap at rest, freed by neither side's drop; not measured further",
        ));
    }
}

/// TLS version, key exchange, per-client config and library, each a difference of two series.
fn differences(rows: &mut Vec<Row>, s: &HandshakesSummary) {
    let Some(v) = main_tls(s) else { return };
    let r12 = base(s, TlsLibrary::Rustls, TlsVersion::V12);
    let r13 = base(s, TlsLibrary::Rustls, TlsVersion::V13);
    if r12.is_some() && r13.is_some() {
        let rss = b(gap(r12, r13, RSS));
        rows.push(row(
            "rustls TLS 1.2 − TLS 1.3, heap at rest",
            gap(r12, r13, REST),
            format!("heap at rest slope, TLS 1.2 series − TLS 1.3 series (each with its default key exchange, so the versions and the key exchanges both differ); their peak RSS slopes differ by {rss}"),
        ));
    }
    let rustls = base(s, TlsLibrary::Rustls, v);
    let x25519 = find(s, TlsLibrary::Rustls, v, X25519);
    if x25519.is_some() {
        rows.push(row(
            "rustls default groups − X25519 alone, peak RSS",
            gap(rustls, x25519, RSS),
            key_exchange_how(v, rustls, x25519),
        ));
    }
    for lib in TlsLibrary::ALL {
        let (own, shared) = (find(s, *lib, v, PER_CLIENT), base(s, *lib, v));
        if own.is_some() && shared.is_some() {
            let d = gap(own, shared, CLIENT);
            let cause = match d {
                Some(d) if d > 0.0 && *lib == TlsLibrary::Rustls => "the two series differ in that: a client config per client, with its default resumption store, against one shared config with resumption off",
                Some(d) if d > 0.0 => "the two series differ only in that: a client context per client",
                Some(_) => "not positive, against a config's cost: not attributed to it, not measured further",
                None => "not measured",
            };
            rows.push(row(
                format!("{lib} config per client − shared, per client"),
                d,
                format!("client bytes per connection, a config per client − one shared config; {cause}; not measured further"),
            ));
        }
    }
    let openssl = base(s, TlsLibrary::Openssl, v);
    if openssl.is_some() {
        let rss = b(gap(openssl, rustls, RSS));
        rows.push(row(
            format!("OpenSSL − rustls TLS {v}, heap at rest"),
            gap(openssl, rustls, REST),
            format!("heap at rest slope, OpenSSL series − rustls series; their peak RSS slopes differ by {rss}"),
        ));
    }
    let released = find(s, TlsLibrary::Openssl, v, RELEASED);
    if released.is_some() && openssl.is_some() {
        let d = gap(released, openssl, CLIENT);
        let cause = match d {
            Some(d) if d < 0.0 => "the two series differ only in SSL_MODE_RELEASE_BUFFERS; what it frees is not measured further",
            Some(_) => "not negative, against freed buffers: not attributed to them, not measured further",
            None => "not measured",
        };
        rows.push(row(
            "OpenSSL client releasing its buffers − default, per client",
            d,
            format!("client bytes per connection, SSL_MODE_RELEASE_BUFFERS − default; {cause}"),
        ));
    }
}

/// The key-exchange row's "how": a cause only when the readings show it.
fn key_exchange_how(
    v: TlsVersion,
    default: Option<&LockstepSeries>,
    x25519: Option<&LockstepSeries>,
) -> String {
    let rss = gap(default, x25519, RSS);
    let heap_peak = gap(default, x25519, |x| x.heap_peak_slope);
    let malloc_peak = gap(default, x25519, |x| x.malloc_peak_slope);
    let free = gap(default, x25519, |x| x.malloc_free_at_rest_slope);
    let (heap, malloc, freed) = (b(heap_peak), b(malloc_peak), b(free));
    let readings = format!("peak RSS slope, TLS {v} default groups − X25519 alone; the largest heap reading differs by {heap}, the largest malloc reading by {malloc}, malloc's free bytes at rest by {freed}");
    let small = |x: Option<f64>, of: f64| x.is_some_and(|x| x.abs() <= NEGLIGIBLE * of);
    let cause = match rss {
        Some(r) if r > 0.0 && small(heap_peak, r) && small(malloc_peak, r) => {
            let kept = free.is_some_and(|f| (f - r).abs() <= AGREES * r);
            if kept {
                "not in the largest heap or malloc reading; kept free by malloc at rest (the free bytes differ by about as much)"
                    .to_string()
            } else {
                format!("not in the largest heap or malloc reading; otherwise a {REMAINDER}")
            }
        }
        _ => REMAINDER.to_string(),
    };
    format!("{readings}: {cause}")
}

/// Why the load run's leg is not used, if it is not.
fn refused(s: &HandshakesSummary, mode: Mode, client: ClientKind) -> Option<&str> {
    s.per_request
        .as_ref()?
        .refused
        .iter()
        .find(|r| r.mode == mode && r.client == client)
        .map(|r| r.reason.as_str())
}

fn refusal(reason: &str) -> String {
    format!("not used: the leg's per-session figures are unsound ({reason})")
}

/// This tool's own per-session figures, and what separates each from the lockstep client.
fn own_figures(rows: &mut Vec<Row>, s: &HandshakesSummary) {
    for h in &s.held {
        let lock = base(s, TlsLibrary::Rustls, h.tls);
        let side = |held: Option<f64>, figure: Figure, tcp: Option<f64>| {
            let apart = diff(held, lock.and_then(figure));
            let (apart_by, tcp_by, left) = (b(apart), b(tcp), b(diff(apart, tcp)));
            format!("− lockstep = {apart_by}, of which the same probe's plain TCP connection (tokio TcpStream) {tcp_by}, {left} {REMAINDER}")
        };
        let client = side(h.tls_client_bytes, CLIENT, h.tcp_client_bytes);
        let server = side(h.tls_server_bytes, SERVER, h.tcp_server_bytes);
        let (n, server_by) = (h.connections, b(h.tls_server_bytes));
        rows.push(row(
            format!("idle held connection TLS {}, per client", h.tls),
            h.tls_client_bytes,
            match &h.error {
                Some(e) => format!("not measured: {e}"),
                None => format!("measured: measure::held, tokio-rustls over TCP ({n} connections); client {client}; server side {server_by}, {server}"),
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
    let config = gap(
        find(s, TlsLibrary::Rustls, p.tls, PER_CLIENT),
        base(s, TlsLibrary::Rustls, p.tls),
        CLIENT,
    );
    let held = s
        .held
        .iter()
        .find(|h| h.tls == p.tls)
        .and_then(|h| h.tls_client_bytes);
    let breakdown = |hyper: Option<f64>| {
        hyper.map(bytes).map_or_else(String::new, |h| {
            format!("; the load run's --breakdown attributes {h} of b to hyper")
        })
    };
    let how = |mode: Mode, text: String| refused(s, mode, ClientKind::Hyper).map_or(text, refusal);
    let (run, config_by) = (&p.run_id, b(config));
    let (fresh_left, fresh_hyper) = (b(diff(p.fresh_b, config)), breakdown(p.fresh_hyper_b));
    rows.push(row(
        format!("fresh b (run {run}), per client"),
        p.fresh_b,
        how(
            Mode::Fresh,
            format!("derived by the load run (bytes freed ÷ sessions): retained per fresh hyper session after its connection closed; − lockstep config per client ({config_by}) = {fresh_left}: {REMAINDER}{fresh_hyper}"),
        ),
    ));
    let leak_left = b(diff(p.leak_b, held.and_then(|h| Some(h + config?))));
    let (held_by, leak_hyper) = (b(held), breakdown(p.leak_hyper_b));
    rows.push(row(
        format!("leak b (run {run}), per client"),
        p.leak_b,
        how(
            Mode::Leak,
            format!("derived by the load run (bytes freed ÷ sessions): kept hyper session with its connection; − idle held connection ({held_by}) − lockstep config per client ({config_by}) = {leak_left}: {REMAINDER}{leak_hyper}"),
        ),
    ));
    let refusals: Vec<&str> = [ClientKind::ReqwestNative, ClientKind::Reqwest]
        .into_iter()
        .filter_map(|c| refused(s, Mode::Leak, c))
        .collect();
    let label = format!("leak b reqwest-native − reqwest (run {run}), per client");
    if !refusals.is_empty() {
        rows.push(row(label, None, refusal(&refusals.join("; "))));
    } else if let (Some(native), Some(rustls)) = (p.reqwest_native_leak_b, p.reqwest_leak_b) {
        let released = main_tls(s).and_then(|v| find(s, TlsLibrary::Openssl, v, RELEASED));
        let rustls_client = released.and_then(|x| base(s, TlsLibrary::Rustls, x.key.tls));
        let lock = gap(released, rustls_client, CLIENT);
        let at = released.map_or("n/a".into(), |x| format!("TLS {}", x.key.tls));
        let (native_by, rustls_by, lock_by) = (b(Some(native)), b(Some(rustls)), b(lock));
        let left = b(diff(Some(native - rustls), lock));
        rows.push(row(
            label,
            Some(native - rustls),
            format!("derived from the load run: a kept OpenSSL client − a kept rustls one ({native_by} − {rustls_by}); the lockstep clients (OpenSSL releasing its buffers − rustls, {at}) differ by {lock_by}, leaving {left}: {REMAINDER}"),
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::contract::lockstep::fixture;
    use crate::contract::lockstep::{
        LockstepReading, LockstepVersions, PerRequestFigures, RefusedLeg,
    };

    fn reading(sessions: u64, rss: u64) -> LockstepReading {
        LockstepReading {
            peak_rss_bytes: Some(rss),
            ..fixture::reading(fixture::rustls(sessions))
        }
    }

    /// A series of `kx` and `config` at TLS 1.3 over N 100→10,000, with the figures given.
    fn series(
        kx: KxChoice,
        config: ConfigSharing,
        rest: f64,
        client: f64,
        server: f64,
    ) -> LockstepSeries {
        LockstepSeries {
            key: fixture::key(TlsLibrary::Rustls, kx, config),
            release_buffers: false,
            from_sessions: 100,
            to_sessions: 10_000,
            peak_rss_slope: Some(9_800.0),
            peak_rss_per_session: None,
            malloc_peak_slope: Some(8_500.0),
            heap_peak_slope: Some(7_000.0),
            heap_at_rest_slope: Some(rest),
            malloc_at_rest_slope: None,
            malloc_free_at_rest_slope: Some(0.0),
            client_bytes_per_connection: Some(client),
            server_bytes_per_connection: Some(server),
            peak_rss_steps: vec![],
            sessions: vec![100, 1000, 10_000],
        }
    }

    fn summary(shared: LockstepSeries) -> HandshakesSummary {
        HandshakesSummary {
            schema: 1,
            command: String::new(),
            run_id: String::new(),
            versions: LockstepVersions {
                rustls: None,
                crypto_provider: None,
                openssl: None,
                allocator: String::new(),
            },
            method: String::new(),
            readings: [(100, 11_000_000), (1000, 20_000_000), (10_000, 120_000_000)]
                .map(|(n, r)| reading(n, r))
                .to_vec(),
            series: vec![shared],
            held: vec![],
            per_request: None,
            per_request_error: Some("no load run given (--run DIR)".into()),
            rustls_bench: vec![],
            reconciliation: vec![],
            load_run: None,
        }
    }

    fn find_row<'a>(rows: &'a [Row], ends: &str) -> Option<&'a Row> {
        rows.iter().find(|r| r.label.ends_with(ends))
    }

    #[test]
    fn sides_that_miss_the_heap_at_rest_by_more_than_the_tolerance_leave_a_not_attributed_row() {
        // The heap at rest 6,720 B against sides averaging (5,930 + 5,260) / 2 = 5,595 B.
        let shared = series(
            KxChoice::Default,
            ConfigSharing::Shared,
            6_720.0,
            5_930.0,
            5_260.0,
        );
        let rows = reconciliation(&summary(shared));
        let gap = find_row(&rows, "not attributed").expect("a not-attributed row");
        assert_eq!(gap.bytes, Some(6_720.0 - 5_595.0));
        // Within 2 %: the sides say so and no row is added.
        let close = series(
            KxChoice::Default,
            ConfigSharing::Shared,
            6_720.0,
            6_800.0,
            6_700.0,
        );
        let rows = reconciliation(&summary(close));
        assert!(find_row(&rows, "not attributed").is_none());
        let sides = find_row(&rows, "(client + server) / 2").unwrap();
        assert_eq!(sides.bytes, Some(6_750.0));
        assert!(sides.how.contains("within 2 %"), "{}", sides.how);
    }

    #[test]
    fn a_cause_is_named_only_when_the_readings_show_it() {
        let (d, sh) = (KxChoice::Default, ConfigSharing::Shared);
        let mut s = summary(series(d, sh, 6_720.0, 5_930.0, 5_260.0));
        // X25519 alone: 1.1 KiB less peak RSS, but 900 B less heap at its peak too: live at a
        // reading, so not "not in the largest heap or malloc reading".
        let mut x = series(KxChoice::X25519, sh, 6_720.0, 5_930.0, 5_260.0);
        x.peak_rss_slope = Some(9_800.0 - 1_100.0);
        x.heap_peak_slope = Some(7_000.0 - 900.0);
        // A config per client that reads less than a shared one: the sign contradicts the cause.
        let own = series(d, ConfigSharing::PerConnection, 6_720.0, 5_000.0, 5_260.0);
        s.series.extend([x, own]);
        s.per_request = Some(PerRequestFigures {
            run_id: "r".into(),
            tls: TlsVersion::V13,
            fresh_b: Some(18_000.0),
            leak_b: Some(53_000.0),
            reqwest_leak_b: None,
            reqwest_native_leak_b: None,
            refused: vec![],
            fresh_hyper_b: None,
            leak_hyper_b: Some(28_000.0),
        });
        let rows = reconciliation(&s);
        let kx = find_row(&rows, "X25519 alone, peak RSS").unwrap();
        assert!(!kx.how.contains("not in the largest"), "{}", kx.how);
        assert!(kx.how.ends_with(REMAINDER), "{}", kx.how);
        let config = find_row(&rows, "config per client − shared, per client").unwrap();
        assert!(config.bytes.unwrap() < 0.0);
        assert!(
            !config.how.contains("a client config per client"),
            "{}",
            config.how
        );
        // hyper is named only where the load run's breakdown measured it.
        let fresh = rows
            .iter()
            .find(|r| r.label.starts_with("fresh b"))
            .unwrap();
        assert!(!fresh.how.contains("hyper's") && !fresh.how.contains("to hyper"));
        let leak = rows
            .iter()
            .find(|r| r.label.starts_with("leak b ("))
            .unwrap();
        assert!(
            leak.how.contains("attributes 27.3 KiB of b to hyper"),
            "{}",
            leak.how
        );
        // No fixed cause words anywhere.
        for r in &rows {
            for word in [
                "pages never touched",
                "aws-lc's",
                "socket registration",
                "two TLS stacks",
            ] {
                assert!(!r.how.contains(word), "{word:?} in {}: {}", r.label, r.how);
            }
        }
    }

    #[test]
    fn a_refused_leg_gives_a_null_row_with_its_reason() {
        let mut s = summary(series(
            KxChoice::Default,
            ConfigSharing::Shared,
            1.0,
            1.0,
            1.0,
        ));
        s.per_request = Some(PerRequestFigures {
            run_id: "r".into(),
            tls: TlsVersion::V13,
            fresh_b: Some(18_000.0),
            leak_b: None,
            reqwest_leak_b: Some(55_000.0),
            reqwest_native_leak_b: None,
            refused: vec![
                RefusedLeg {
                    mode: Mode::Leak,
                    client: ClientKind::Hyper,
                    reason: "rate-bound: could not keep --rate 100".into(),
                },
                RefusedLeg {
                    mode: Mode::Leak,
                    client: ClientKind::ReqwestNative,
                    reason: "3 of 9 started requests failed".into(),
                },
            ],
            fresh_hyper_b: None,
            leak_hyper_b: None,
        });
        let rows = reconciliation(&s);
        let leak = rows
            .iter()
            .find(|r| r.label.starts_with("leak b ("))
            .unwrap();
        assert_eq!(leak.bytes, None);
        assert!(
            leak.how.contains("rate-bound: could not keep --rate 100"),
            "{}",
            leak.how
        );
        let native = rows
            .iter()
            .find(|r| r.label.starts_with("leak b reqwest-native"))
            .unwrap();
        assert_eq!(native.bytes, None);
        assert!(native.how.contains("3 of 9 started requests failed"));
    }

    #[test]
    fn a_failed_rustls_bench_point_is_a_row_and_the_ratio_spans_the_measured_points() {
        let mut s = summary(series(
            KxChoice::Default,
            ConfigSharing::Shared,
            1.0,
            1.0,
            1.0,
        ));
        let point = |n: u64, rss: Option<u64>| ForeignPoint {
            tls: TlsVersion::V13,
            sessions: n,
            argv: vec!["/x/rustls-bench".into()],
            peak_rss_bytes: rss,
            error: rss.is_none().then(|| "killed by signal 9".into()),
        };
        // Measured at 100 and 1,000; 10,000 failed.
        s.rustls_bench = vec![
            point(100, Some(12_000_000)),
            point(1000, Some(21_000_000)),
            point(10_000, None),
        ];
        let rows = reconciliation(&s);
        let main = rows
            .iter()
            .find(|r| r.label == "rustls-bench memory here: TLS 1.3")
            .unwrap();
        assert_eq!(main.bytes, Some(10_000.0));
        assert!(main.how.contains("N 100→1,000"), "{}", main.how);
        assert!(main.how.contains("INCOMPLETE"), "{}", main.how);
        // Ours over 100→1,000 is 9,000,000 ÷ 900 = 10,000 B: ratio 1.00; over 100→10,000 ours
        // is 11,010 B, and the ratio would read 1.10.
        assert!(main.how.contains("ours ÷ theirs = 1.00"), "{}", main.how);
        let failed = rows
            .iter()
            .find(|r| r.label == "rustls-bench memory here: TLS 1.3, N = 10,000")
            .unwrap();
        assert_eq!(failed.bytes, None);
        assert!(failed.how.contains("killed by signal 9"));
    }
}
