//! The report after every group has run: the table (time from criterion's estimates, bytes
//! from the passes), a few time ratios, and the merged `bytes.json`.

use std::fmt::Write as _;
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::Value;

use super::bytes_json::{BytesEntry, BytesFile, RoundEntry, StepAllocs, StepBytes};
use super::conns::Side;
use super::pass::{Book, PassMode, Round, PASS_ITERS, PASS_ROUNDS};
use super::paths::criterion_home;
use super::table::{distribution, fmt_num, fmt_time, line, mean, spread};

/// Criterion's estimate of one iteration, ns: the slope of the linear regression when it
/// has one (what it prints as `time:`), else the mean.
fn criterion_ns(home: &std::path::Path, dir: &str) -> Option<f64> {
    let path = home.join(dir).join("new").join("estimates.json");
    let v: Value = serde_json::from_slice(&std::fs::read(path).ok()?).ok()?;
    let pick = |k: &str| v.get(k)?.get("point_estimate")?.as_f64();
    pick("slope").or_else(|| pick("mean"))
}

impl Book {
    /// Prints the table (time from criterion's estimates, bytes from the passes), a few
    /// ratios, and, after a full run, merges the figures into `<criterion home>/bytes.json`,
    /// comparing them with what the previous run wrote there.
    pub fn finish(self) {
        if self.mode == PassMode::Off || self.rows.is_empty() {
            return;
        }
        let home = criterion_home();
        let json_path = home.join("bytes.json");
        let previous = BytesFile::read(&json_path);
        let prev_of = |id: &str| -> Option<(f64, f64, Option<u64>)> {
            let e = previous.as_ref()?.benchmarks.iter().find(|e| e.id == id)?;
            Some((
                e.client_bytes_per_iter,
                e.client_allocs_per_iter,
                e.step_bytes_min,
            ))
        };
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);

        let mut table = String::new();
        let _ =
            writeln!(
            table,
            "\nPer-iteration cost. time: criterion's estimate; bytes/allocs: counting allocator, \
             {} round(s) x {} iterations after criterion's run.\n\
             client = bench thread (the client runtime); server = server threads; \
             B = bytes allocated, held = allocated - freed (still held at the end of the round: \
             e.g. a leaked session), unattr = process - client - server bytes (0: nothing else \
             allocated); conns/full/res = new connections / full / resumed handshakes.",
            self.rows.first().map_or(0, |r| r.rounds.len()),
            self.rows.first().and_then(|r| r.rounds.first()).map_or(0, |r| r.iters),
        );
        let _ = writeln!(
            table,
            "{}",
            line(&[
                "benchmark",
                "time/iter",
                "client B",
                "allocs",
                "held B",
                "server B",
                "allocs",
                "held B",
                "unattr",
                "conns",
                "full",
                "res",
                "rounds / steps / vs previous run",
            ])
        );
        let mut entries = Vec::new();
        let mut times = std::collections::BTreeMap::new();
        for row in &self.rows {
            let ns = if self.mode == PassMode::Full {
                criterion_ns(&home, &row.dir)
            } else {
                None
            };
            times.insert(row.id.clone(), ns);
            let r = &row.rounds;
            let per = |f: fn(&Round) -> f64| mean(r.iter().map(|x| x.per(f(x))));
            let cb = per(|x| x.client_bytes as f64);
            let ca = per(|x| x.client_allocs as f64);
            let (cb_lo, cb_hi) = spread(r.iter().map(|x| x.per(x.client_bytes as f64)));
            let (ca_lo, ca_hi) = spread(r.iter().map(|x| x.per(x.client_allocs as f64)));
            let deterministic = cb_lo == cb_hi && ca_lo == ca_hi;
            let mut note = if deterministic {
                "rounds equal".to_string()
            } else {
                format!(
                    "rounds differ: B {}..{}, allocs {}..{}",
                    fmt_num(cb_lo),
                    fmt_num(cb_hi),
                    fmt_num(ca_lo),
                    fmt_num(ca_hi)
                )
            };
            let step_bytes = distribution(row.steps.iter().map(|s| s.0));
            let step_allocs = distribution(row.steps.iter().map(|s| s.1));
            let floor = row.steps.iter().map(|s| s.0).min();
            let ceiling = row.steps.iter().map(|s| s.0).max();
            if step_bytes.len() > 1 || step_allocs.len() > 1 {
                let (b, n) = step_bytes[0];
                let _ = write!(
                    note,
                    "; steps: {} B in {n}/{}, range {}..{}, {} distinct",
                    fmt_num(b as f64),
                    row.steps.len(),
                    fmt_num(floor.unwrap_or(0) as f64),
                    fmt_num(ceiling.unwrap_or(0) as f64),
                    step_bytes.len()
                );
            }
            if row.conns_side == Side::Server {
                note.push_str("; conns/full/res: server side");
            }
            if self.mode == PassMode::Full {
                match prev_of(&row.id) {
                    Some((pb, pa, _)) if pb == cb && pa == ca => note.push_str(", = previous"),
                    Some((pb, pa, pfloor)) => {
                        let _ = write!(
                            note,
                            ", previous {} B / {} allocs ({:+.3}% B), floor {}",
                            fmt_num(pb),
                            fmt_num(pa),
                            (cb - pb) / pb * 100.0,
                            match pfloor {
                                None => "not in previous",
                                Some(p) if Some(p) == floor => "= previous",
                                Some(_) => "differs",
                            }
                        );
                    }
                    None => note.push_str(", no previous"),
                }
            }
            let sb = per(|x| x.server_bytes as f64);
            let sa = per(|x| x.server_allocs as f64);
            let un = per(|x| x.unattributed_bytes as f64);
            let live = per(|x| x.live_delta as f64);
            let cnet = per(|x| x.client_net as f64);
            let snet = per(|x| x.server_net as f64);
            let conns = per(|x| x.conns as f64);
            let full = per(|x| x.full as f64);
            let res = per(|x| x.resumed as f64);
            let _ = writeln!(
                table,
                "{}",
                line(&[
                    &row.id,
                    &fmt_time(ns),
                    &fmt_num(cb),
                    &fmt_num(ca),
                    &fmt_num(cnet),
                    &fmt_num(sb),
                    &fmt_num(sa),
                    &fmt_num(snet),
                    &fmt_num(un),
                    &fmt_num(conns),
                    &fmt_num(full),
                    &fmt_num(res),
                    &note,
                ])
            );
            entries.push(BytesEntry {
                id: row.id.clone(),
                run_at_unix_s: now,
                time_ns_per_iter: ns,
                client_bytes_per_iter: cb,
                client_allocs_per_iter: ca,
                client_bytes_per_iter_min: cb_lo,
                client_bytes_per_iter_max: cb_hi,
                client_allocs_per_iter_min: ca_lo,
                client_allocs_per_iter_max: ca_hi,
                deterministic,
                step_bytes_min: floor,
                step_bytes_max: ceiling,
                step_bytes_distribution: step_bytes
                    .iter()
                    .take(8)
                    .map(|&(bytes, steps)| StepBytes { bytes, steps })
                    .collect(),
                step_allocs_distribution: step_allocs
                    .iter()
                    .take(8)
                    .map(|&(allocs, steps)| StepAllocs { allocs, steps })
                    .collect(),
                server_bytes_per_iter: sb,
                server_allocs_per_iter: sa,
                client_held_bytes_per_iter: cnet,
                server_held_bytes_per_iter: snet,
                unattributed_bytes_per_iter: un,
                live_delta_bytes_per_iter: live,
                connections_per_iter: conns,
                handshakes_full_per_iter: full,
                handshakes_resumed_per_iter: res,
                connections_counted_by: row.conns_side,
                rounds: r.iter().map(RoundEntry::from).collect(),
            });
        }
        let ratio =
            |a: &str, b: &str| -> Option<f64> { Some((*times.get(a)?)? / (*times.get(b)?)?) };
        for (a, b) in [
            ("request/full/tls1.3", "request/resumed/tls1.3"),
            ("request/full/tls1.3", "request/reused/tls1.3"),
            ("request/resumed/tls1.3", "request/reused/tls1.3"),
            ("request/full/tls1.2", "request/resumed/tls1.2"),
            ("request/full/tls1.2", "request/reused/tls1.2"),
            ("mode/fresh", "mode/shared"),
            ("mode/fresh", "mode/resume"),
            ("mode/leak", "mode/shared"),
            ("build/hyper/system", "build/ca/cache256"),
            ("build/reqwest/system", "build/reqwest/ca"),
            ("build/reqwest/webpki", "build/reqwest/ca"),
            ("build/reqwest/ca", "build/ca/cache256"),
            ("build/reqwest/system", "build/hyper/system"),
            ("mode/reqwest/fresh", "mode/reqwest/shared"),
            ("mode/reqwest/fresh", "mode/fresh"),
            ("mode/reqwest/shared", "mode/shared"),
            ("build/reqwest-native/ca", "build/reqwest/ca"),
            ("build/reqwest-native/system", "build/reqwest/system"),
            ("mode/reqwest-native/fresh", "mode/reqwest/fresh"),
            ("mode/reqwest-native/shared", "mode/reqwest/shared"),
        ] {
            if let Some(x) = ratio(a, b) {
                let _ = writeln!(table, "time ratio {a} / {b} = {x:.1}x");
            }
        }
        let _ = writeln!(
            table,
            "bench binary wall time: {:.1} s",
            self.started.elapsed().as_secs_f64()
        );
        println!("{table}");

        if self.mode != PassMode::Full {
            println!("(test mode: short pass, bytes.json not written)");
            return;
        }
        // Keep entries of benchmarks a filtered run did not touch.
        let mut all: Vec<BytesEntry> = previous
            .map(|p| p.benchmarks)
            .unwrap_or_default()
            .into_iter()
            .filter(|e| !self.rows.iter().any(|r| r.id == e.id))
            .collect();
        all.extend(entries);
        all.sort_by(|a, b| a.id.cmp(&b.id));
        let doc = BytesFile {
            schema: 1,
            units: "bytes and allocations per iteration, counted by harness::measure::alloc::CountingAlloc"
                .into(),
            pass_iterations: PASS_ITERS,
            pass_rounds: PASS_ROUNDS,
            benchmarks: all,
        };
        let written = std::fs::create_dir_all(&home).and_then(|()| {
            let text = serde_json::to_string_pretty(&doc).map_err(std::io::Error::other)?;
            std::fs::write(&json_path, text + "\n")
        });
        match written {
            Ok(()) => println!("bytes per iteration written to {}", json_path.display()),
            Err(e) => eprintln!("cannot write {}: {e}", json_path.display()),
        }
    }
}
