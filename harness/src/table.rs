//! The end-of-run summary table printed to the terminal, and human units.

use std::fmt::Write;

use crate::summary::{ModeSummary, Summary};

/// Bytes in binary units: `512 B`, `3.4 KiB`, `234.0 MiB`.
pub fn fmt_bytes(b: f64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = b;
    let mut u = 0;
    while v.abs() >= 1024.0 && u < UNITS.len() - 1 {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{v:.0} {}", UNITS[u])
    } else {
        format!("{v:.1} {}", UNITS[u])
    }
}

fn opt<T>(v: Option<T>, f: impl Fn(T) -> String) -> String {
    v.map(f).unwrap_or_else(|| "n/a".into())
}

/// Renders the per-mode table: one row per figure, one column per mode.
pub fn render(summary: &Summary) -> String {
    type Row = (&'static str, fn(&ModeSummary) -> String);
    let rows: Vec<Row> = vec![
        ("requests ok / failed", |m| {
            format!("{} / {}", m.requests_ok, m.requests_failed)
        }),
        ("achieved rate (req/s)", |m| {
            format!("{:.1}", m.achieved_rps)
        }),
        ("late starts (≥2 ms or no slot)", |m| {
            m.late_starts.to_string()
        }),
        ("start lag p99 (µs)", |m| m.start_lag_us.p99.to_string()),
        ("handshakes full / resumed", |m| {
            match (m.handshakes_full, m.handshakes_resumed) {
                (Some(f), Some(r)) => format!("{f} / {r}"),
                _ => "n/a".into(),
            }
        }),
        ("requests on reused conn", |m| {
            opt(m.requests_on_reused_connection, |v| v.to_string())
        }),
        ("client bytes / request", |m| {
            opt(m.client_alloc_bytes_per_request, fmt_bytes)
        }),
        ("client allocs / request", |m| {
            opt(m.client_allocs_per_request, |v| format!("{v:.0}"))
        }),
        ("session builds", |m| m.client_builds.to_string()),
        ("retained bytes / session (b)", |m| {
            opt(m.retained_bytes_per_session, fmt_bytes)
        }),
        ("retained sessions peak", |m| {
            opt(m.retained_sessions_peak, |v| v.to_string())
        }),
        ("model plateau R·b·T", |m| {
            opt(m.model_plateau_bytes, fmt_bytes)
        }),
        ("measured plateau (heap)", |m| {
            opt(m.measured_plateau_bytes, fmt_bytes)
        }),
        ("measured / model", |m| {
            opt(m.plateau_ratio, |r| format!("{r:.3}"))
        }),
        ("plateau reached at (s)", |m| {
            opt(m.plateau_reached_s, |v| format!("{v:.0}"))
        }),
        ("build µs p50 / p99", |m| {
            opt(m.client_build_us, |b| format!("{} / {}", b.p50, b.p99))
        }),
        ("build bytes / session", |m| {
            opt(m.client_build_alloc_bytes, fmt_bytes)
        }),
        ("build share of a core", |m| {
            opt(m.client_build_core_share, |s| format!("{:.2} %", s * 100.0))
        }),
        ("client heap start / peak / end", |m| {
            format!(
                "{} / {} / {}",
                fmt_bytes(m.client_heap_start_bytes as f64),
                fmt_bytes(m.client_heap_peak_bytes as f64),
                fmt_bytes(m.client_heap_end_bytes as f64)
            )
        }),
        ("client RSS peak", |m| {
            opt(m.client_rss_peak_bytes, |v| fmt_bytes(v as f64))
        }),
        ("open fds start / peak / end", |m| {
            format!(
                "{} / {} / {}",
                opt(m.open_fds_start, |v| v.to_string()),
                opt(m.open_fds_peak, |v| v.to_string()),
                opt(m.open_fds_end, |v| v.to_string())
            )
        }),
        ("latency p50 / p99 / max (µs)", |m| {
            opt(m.latency_us, |l| {
                format!("{} / {} / {}", l.p50, l.p99, l.max)
            })
        }),
        ("client CPU (s)", |m| {
            opt(m.client_cpu_s, |v| format!("{v:.2}"))
        }),
        ("sampler share of run", |m| {
            format!("{:.3} %", m.sampler_share * 100.0)
        }),
        ("server RSS peak", |m| {
            opt(m.server.as_ref().and_then(|s| s.rss_peak_bytes), |v| {
                fmt_bytes(v as f64)
            })
        }),
        ("server heap peak", |m| {
            opt(m.server.as_ref().and_then(|s| s.heap_peak_bytes), |v| {
                fmt_bytes(v as f64)
            })
        }),
        ("server cache entries peak", |m| {
            opt(
                m.server.as_ref().and_then(|s| s.session_cache_entries_peak),
                |v| v.to_string(),
            )
        }),
        ("server CPU (s)", |m| {
            opt(m.server.as_ref().and_then(|s| s.cpu_s), |v| {
                format!("{v:.2}")
            })
        }),
    ];
    let label_w = rows.iter().map(|r| r.0.chars().count()).max().unwrap_or(0) + 2;
    let many_clients = summary
        .modes
        .iter()
        .any(|m| m.client != summary.modes[0].client);
    let names: Vec<String> = summary
        .modes
        .iter()
        .map(|m| {
            if many_clients {
                format!("{}/{}", m.mode, m.client)
            } else {
                m.mode.clone()
            }
        })
        .collect();
    let cells: Vec<Vec<String>> = summary
        .modes
        .iter()
        .map(|m| rows.iter().map(|(_, f)| f(m)).collect())
        .collect();
    let col_w: Vec<usize> = names
        .iter()
        .zip(&cells)
        .map(|(name, c)| {
            c.iter()
                .map(|s| s.chars().count())
                .chain([name.len()])
                .max()
                .unwrap_or(0)
                + 3
        })
        .collect();
    let mut out = String::new();
    let _ = write!(out, "{:label_w$}", "");
    for (name, w) in names.iter().zip(&col_w) {
        let _ = write!(out, "{name:>w$}", w = *w);
    }
    out.push('\n');
    for (i, (label, _)) in rows.iter().enumerate() {
        let pad = label_w - label.chars().count();
        let _ = write!(out, "{label}{}", " ".repeat(pad));
        for (c, w) in cells.iter().zip(&col_w) {
            let _ = write!(out, "{:>w$}", c[i], w = *w);
        }
        out.push('\n');
    }
    for (m, name) in summary.modes.iter().zip(&names) {
        if let Some(why) = &m.stopped_early {
            let _ = writeln!(out, "{name}: stopped early: {why}");
        }
        for (kind, n) in &m.failures_by_kind {
            let _ = writeln!(out, "{name}: {n} failed: {kind}");
        }
    }
    let advice = advice(summary);
    if !advice.is_empty() {
        out.push_str("\nWhat to do (from this run's figures):\n");
        for a in advice {
            let _ = writeln!(out, "- {a}");
        }
    }
    out
}

/// Full handshakes a mode performed: the client's count, else the server's.
fn full_handshakes(m: &ModeSummary) -> Option<u64> {
    m.handshakes_full
        .or_else(|| m.server.as_ref().and_then(|s| s.handshakes_full))
}

/// The measured "what to do" block: what sharing saves, and the cheapest setting when
/// sessions cannot be shared — every number from this run's own figures.
pub fn advice(summary: &Summary) -> Vec<String> {
    let mut clients: Vec<&str> = Vec::new();
    for m in &summary.modes {
        if !clients.contains(&m.client.as_str()) {
            clients.push(&m.client);
        }
    }
    let many = clients.len() > 1;
    let mut out = Vec::new();
    for client in clients {
        let tag = if many {
            format!("[{client}] ")
        } else {
            String::new()
        };
        out.extend(
            advice_for(summary, client)
                .into_iter()
                .map(|l| format!("{tag}{l}")),
        );
    }
    out
}

fn advice_for(summary: &Summary, client: &str) -> Vec<String> {
    let rate = summary.scenario.rate;
    let find = |name: &str| {
        summary
            .modes
            .iter()
            .find(|m| m.mode == name && m.client == client)
    };
    let mut out = Vec::new();
    let (fresh, shared) = (find("fresh"), find("shared"));
    if let (Some(f), Some(s)) = (fresh, shared) {
        if let (Some(fb), Some(sb)) = (
            f.client_alloc_bytes_per_request,
            s.client_alloc_bytes_per_request,
        ) {
            let saved = fb - sb;
            let handshakes = match (full_handshakes(f), full_handshakes(s)) {
                (Some(ff), Some(sf)) => {
                    format!(", and {} of {ff} full handshakes", ff.saturating_sub(sf))
                }
                _ => String::new(),
            };
            out.push(format!(
                "Share one session: fresh allocated {} per request, shared {}: sharing saves {} per request, {} per hour at {rate} req/s{handshakes}.",
                fmt_bytes(fb),
                fmt_bytes(sb),
                fmt_bytes(saved),
                fmt_bytes(saved * rate * 3600.0),
            ));
        }
        if let Some(share) = f.client_build_core_share {
            out.push(format!(
                "Building a session per request took {:.2} % of one core at the achieved rate; shared builds one.",
                share * 100.0
            ));
        }
    }
    if let (Some(f), Some(t)) = (fresh, summary.scenario.retention_s) {
        if let (Some(b), Some(model)) = (f.retained_bytes_per_session, f.model_plateau_bytes) {
            let measured = f
                .measured_plateau_bytes
                .map(|m| format!("measured {}", fmt_bytes(m)))
                .unwrap_or_else(|| "not reached in this run".into());
            out.push(format!(
                "Retained for {t:.0} s, each fresh session holds {} after it is gone: at {rate} req/s that plateaus at R·b·T = {} ({measured}); a shared session holds none of it.",
                fmt_bytes(b),
                fmt_bytes(model),
            ));
            if let Some(knobs) = &f.knobs {
                let base = knobs.iter().find(|k| k.setting.is_empty());
                let best = knobs
                    .iter()
                    .filter(|k| !k.setting.is_empty())
                    .filter_map(|k| k.retained_bytes_per_session.map(|b| (k, b)))
                    .min_by(|a, b| a.1.total_cmp(&b.1));
                if let (Some(base_b), Some((k, kb))) =
                    (base.and_then(|k| k.retained_bytes_per_session), best)
                {
                    let sessions = f.model_plateau_sessions.unwrap_or(rate * t);
                    out.push(format!(
                        "If sessions cannot be shared, `{}` is the cheapest setting measured: {} per retained session instead of {}, saving {} at the plateau.",
                        k.setting,
                        fmt_bytes(kb),
                        fmt_bytes(base_b),
                        fmt_bytes((base_b - kb) * sessions),
                    ));
                }
            }
        }
    }
    if let Some(l) = find("leak") {
        if let Some(b) = l.retained_bytes_per_session {
            let limit = summary
                .scenario
                .fd_limit
                .map(|lim| {
                    format!(
                        ", reaching the descriptor limit of {lim} after ~{:.0} s",
                        lim as f64 / rate
                    )
                })
                .unwrap_or_default();
            out.push(format!(
                "Never invalidating costs {} and one socket per session: {} and {rate:.0} descriptors more every second{limit}. Drop (invalidate) sessions you stop using.",
                fmt_bytes(b),
                fmt_bytes(b * rate),
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_in_binary_units() {
        assert_eq!(fmt_bytes(512.0), "512 B");
        assert_eq!(fmt_bytes(4096.0), "4.0 KiB");
        assert_eq!(fmt_bytes(234.0 * 1024.0 * 1024.0), "234.0 MiB");
    }
}
