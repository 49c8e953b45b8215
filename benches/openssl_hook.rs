//! `native-tls` only: reqwest-native build CPU with and without counting OpenSSL's allocations.

#[global_allocator]
static ALLOC: harness::measure::alloc::CountingAlloc = harness::measure::alloc::CountingAlloc;

use std::error::Error;
use std::path::Path;
use std::process::Command;

#[path = "support/bench_tls.rs"]
mod bench_tls;

use harness::measure::{alloc, procstat};
use harness::tls::session::{Pooling, SessionFactory};
use harness::vocab::client::ClientKind;
use harness::vocab::tls::{RootsChoice, TlsVersion};

/// Rounds per variant (one child process each), alternating counted and plain.
const ROUNDS: usize = 6;
/// Builds measured per child, after its warm-up build.
const BUILDS: usize = 15;

/// The two ways a child builds, as its argument and as the table names it.
const VARIANTS: [(&str, &str); 2] = [
    ("counted", "counted (the harness's workers)"),
    ("plain", "plain (OpenSSL's malloc)"),
];

/// A child's measured builds: thread CPU time, ns, and, when counted, OpenSSL's allocations.
type Builds = Vec<(u64, Option<u64>)>;

/// A child's work: `--child counted|plain`; prints one `build CPU_NS ALLOCS` line per build
/// (`-` when not counted).
fn child(counted: bool) -> Result<(), Box<dyn Error>> {
    if counted {
        alloc::count_openssl()?;
    }
    let tls = bench_tls::client_tls(&bench_tls::certs(), TlsVersion::V13, RootsChoice::Ca, 256);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let _in_runtime = rt.enter();
    let factory = SessionFactory::with_kind(ClientKind::ReqwestNative, tls);
    factory.warm_up()?;
    // The first build pays what OpenSSL sets up on its first certificate parse: not per build.
    drop(factory.build(Pooling::KeepAlive)?);
    for _ in 0..BUILDS {
        let allocs0 = alloc::openssl_heap().map(|h| h.total_allocs);
        let cpu0 = procstat::thread_cpu_ns().ok_or("no thread CPU clock")?;
        let session = factory.build(Pooling::KeepAlive)?;
        let cpu1 = procstat::thread_cpu_ns().ok_or("no thread CPU clock")?;
        let allocs = allocs0
            .zip(alloc::openssl_heap().map(|h| h.total_allocs))
            .map(|(a, b)| (b - a).to_string());
        drop(session);
        println!("build {} {}", cpu1 - cpu0, allocs.as_deref().unwrap_or("-"));
    }
    Ok(())
}

/// Runs one child and reads its builds.
fn round(exe: &Path, variant: &str) -> Result<Builds, Box<dyn Error>> {
    let out = Command::new(exe)
        .args(["--child", variant])
        .output()
        .map_err(|e| format!("start {}: {e}", exe.display()))?;
    if !out.status.success() {
        let stderr = String::from_utf8_lossy(&out.stderr);
        return Err(format!("{variant} child failed ({}): {stderr}", out.status).into());
    }
    let builds: Builds = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| {
            let mut f = l.strip_prefix("build ")?.split(' ');
            Some((f.next()?.parse().ok()?, f.next()?.parse().ok()))
        })
        .collect();
    if builds.len() != BUILDS {
        let n = builds.len();
        return Err(format!("{variant} child reported {n} builds of {BUILDS}").into());
    }
    Ok(builds)
}

/// The `q` quantile of sorted values (nearest rank).
fn quantile(sorted: &[u64], q: f64) -> u64 {
    let i = ((sorted.len() as f64 - 1.0) * q).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn ms(ns: u64) -> f64 {
    ns as f64 / 1e6
}

fn parent() -> Result<(), Box<dyn Error>> {
    let exe = std::env::current_exe()?;
    // Made (or renewed) once here, not by the children.
    bench_tls::certs();
    let mut cpu: [Vec<u64>; 2] = [Vec::new(), Vec::new()];
    let mut round_medians: [Vec<u64>; 2] = [Vec::new(), Vec::new()];
    let mut allocs = Vec::new();
    for r in 0..ROUNDS {
        // Alternate which variant goes first, so neither always follows the other.
        for i in [r % 2, 1 - r % 2] {
            let builds = round(&exe, VARIANTS[i].0)?;
            let mut this: Vec<u64> = builds.iter().map(|&(cpu_ns, _)| cpu_ns).collect();
            this.sort_unstable();
            round_medians[i].push(quantile(&this, 0.5));
            cpu[i].extend(this);
            allocs.extend(builds.iter().filter_map(|&(_, allocs)| allocs));
        }
    }
    for c in &mut cpu {
        c.sort_unstable();
    }
    allocs.sort_unstable();
    println!(
        "reqwest-native client build, thread CPU (ms), {ROUNDS} child processes × {BUILDS} builds per variant, alternating:"
    );
    println!(
        "{:<34} {:>8} {:>8} {:>8}   per-round medians",
        "", "p25", "median", "p75"
    );
    for (i, (_, name)) in VARIANTS.iter().enumerate() {
        let rounds: Vec<String> = round_medians[i]
            .iter()
            .map(|&m| format!("{:.1}", ms(m)))
            .collect();
        println!(
            "{name:<34} {:>8.1} {:>8.1} {:>8.1}   {}",
            ms(quantile(&cpu[i], 0.25)),
            ms(quantile(&cpu[i], 0.5)),
            ms(quantile(&cpu[i], 0.75)),
            rounds.join(" ")
        );
    }
    let (counted, plain) = (quantile(&cpu[0], 0.5), quantile(&cpu[1], 0.5));
    let diff = counted as f64 - plain as f64;
    let per_round: Vec<String> = round_medians[0]
        .iter()
        .zip(&round_medians[1])
        .map(|(&c, &p)| format!("{:+.1}", (c as f64 - p as f64) / 1e6))
        .collect();
    println!(
        "counting's cost (derived: difference of the medians): {:+.1} ms per build ({:+.1} % of plain); per round: {} ms",
        diff / 1e6,
        diff / plain as f64 * 100.0,
        per_round.join(" ")
    );
    if !allocs.is_empty() {
        let a = quantile(&allocs, 0.5);
        println!(
            "OpenSSL allocations per build (counted): median {a} (min {}, max {}); derived: {:+.0} ns per allocation",
            allocs[0],
            allocs[allocs.len() - 1],
            diff / a as f64
        );
    }
    Ok(())
}

/// Alternating child processes, not criterion: OpenSSL takes a new allocator only before its
/// first allocation and never gives it back (docs/openssl.md).
fn main() {
    let args: Vec<String> = std::env::args().collect();
    let result = match args.iter().position(|a| a == "--child") {
        Some(i) => match args.get(i + 1).map(String::as_str) {
            Some(v @ ("counted" | "plain")) => child(v == "counted"),
            other => Err(format!("--child counted|plain, not {other:?}").into()),
        },
        None => parent(),
    };
    if let Err(e) = result {
        eprintln!("openssl_hook: FAILED: {e}");
        std::process::exit(1);
    }
}
