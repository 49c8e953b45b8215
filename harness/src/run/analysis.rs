//! Pure: b, the heap slope, the model and measured plateau and when it was reached.

use crate::contract::plan::RunPlan;
use crate::contract::summary::ModeSummary;
use crate::contract::timeline::TimelineRow;
use crate::contract::wire::{ClientFinal, ClientSample};
use crate::vocab::mode::Mode;

/// How `b` was measured, as the report says it.
pub const METHOD_DROP: &str = "freed bytes when each retained session's TLS state was dropped (counting allocator, on the dropping thread: exact)";
/// How `b` was measured for leak mode.
pub const METHOD_RELEASE: &str = "live heap given back when the kept sessions were dropped at the end of the load, per session (counting allocator, whole process, the load stopped and their connections' tasks ended)";

/// The mean of the values, `None` when there are none or any is missing.
fn mean(values: impl Iterator<Item = Option<u64>>) -> Option<f64> {
    let v: Option<Vec<u64>> = values.collect();
    let v = v.filter(|v| !v.is_empty())?;
    Some(v.iter().map(|&x| x as f64).sum::<f64>() / v.len() as f64)
}

/// Least-squares slope of y over x; `None` with fewer than 3 points or no spread in x.
pub fn slope(points: &[(f64, f64)]) -> Option<f64> {
    if points.len() < 3 {
        return None;
    }
    let n = points.len() as f64;
    let mx = points.iter().map(|p| p.0).sum::<f64>() / n;
    let my = points.iter().map(|p| p.1).sum::<f64>() / n;
    let sxx: f64 = points.iter().map(|p| (p.0 - mx).powi(2)).sum();
    let sxy: f64 = points.iter().map(|p| (p.0 - mx) * (p.1 - my)).sum();
    (sxx > 0.0).then(|| sxy / sxx)
}

/// Heap over retained count while the store grows (before anything expires); samples
/// without a heap reading are left out, not read as 0.
fn growth_points(rows: &[TimelineRow], ttl_s: Option<f64>) -> Vec<(f64, f64)> {
    rows.iter()
        .map(|r| &r.sample)
        .filter(|s| ttl_s.is_none_or(|t| s.virtual_t_s < t))
        .filter_map(|s| s.retained_sessions.zip(s.client_heap_live_bytes))
        .map(|(n, heap)| (n as f64, heap as f64))
        .collect()
}

/// The retention figures of `mode` from its rows and totals, every other field at its default.
pub fn retained(
    mode: Mode,
    plan: &RunPlan,
    fin: &ClientFinal,
    rows: &[TimelineRow],
) -> ModeSummary {
    let (rate, sample_interval_s) = (plan.rate, plan.sample_interval.as_secs_f64());
    match (mode, plan.retention) {
        (Mode::Leak, _) => {
            let b = fin
                .kept
                .as_ref()
                .and_then(|k| k.as_ref().ok())
                .and_then(|k| k.bytes_per_session());
            ModeSummary {
                retained_bytes_per_session: b,
                retained_bytes_method: b.map(|_| METHOD_RELEASE.into()),
                retained_bytes_slope: slope(&growth_points(rows, None)),
                ..Default::default()
            }
        }
        (Mode::Fresh, Some(spec)) => {
            let ttl = spec.ttl.as_secs_f64();
            let b = fin.retention.and_then(|s| s.bytes_per_entry());
            let heap0 = fin.totals.client_heap_start_bytes;
            let model_sessions = match spec.cap {
                Some(cap) => (rate * ttl).min(cap as f64),
                None => rate * ttl,
            };
            // On the plateau from T on. A run T long takes its final sample a little before T
            // (its last request is stamped T − 1/R) with all R·T held; beyond one spacing, a
            // sample a hair early is the sampler's jitter.
            let eps = 1.0 / rate + 0.001 * sample_interval_s;
            let plateau: Vec<&ClientSample> = rows
                .iter()
                .map(|r| &r.sample)
                .filter(|s| s.virtual_t_s >= ttl - eps)
                .collect();
            let measured_sessions = mean(plateau.iter().map(|s| s.retained_sessions));
            // Heap above the starting heap: unmeasured when the start or any plateau sample
            // has no heap reading (a missing reading is not 0).
            let measured_bytes = heap0.and_then(|h0| {
                mean(plateau.iter().map(|s| s.client_heap_live_bytes)).map(|h| h - h0 as f64)
            });
            // Reached when the count is within half an interval's worth of requests of the
            // plateau: the first sample at which growth has stopped.
            let reached_s = measured_sessions.and_then(|target| {
                let slack = 0.5 * rate * sample_interval_s;
                rows.iter()
                    .map(|r| &r.sample)
                    .find(|s| {
                        s.retained_sessions
                            .is_some_and(|v| v as f64 >= target - slack)
                    })
                    .map(|s| s.virtual_t_s)
            });
            let model_bytes = b.map(|b| b * model_sessions);
            ModeSummary {
                retained_bytes_per_session: b,
                retained_bytes_method: b.map(|_| METHOD_DROP.into()),
                retained_bytes_slope: slope(&growth_points(rows, Some(ttl))),
                model_plateau_sessions: Some(model_sessions),
                model_plateau_bytes: model_bytes,
                measured_plateau_sessions: measured_sessions,
                measured_plateau_bytes: measured_bytes,
                plateau_ratio: measured_bytes.zip(model_bytes).map(|(m, p)| m / p),
                plateau_reached_s: reached_s,
                ..Default::default()
            }
        }
        _ => ModeSummary::default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::contract::plan::RetentionSpec;
    use crate::contract::wire::{KeptRelease, RetentionStats};
    use std::time::Duration;

    /// The test plan at `rate` with `retention`, sampled every second.
    fn at(rate: f64, retention: Option<RetentionSpec>) -> RunPlan {
        RunPlan {
            rate,
            retention,
            ..crate::run::assemble::tests::plan(&[])
        }
    }

    #[test]
    fn slope_of_a_line() {
        let pts: Vec<(f64, f64)> = (0..10)
            .map(|i| (i as f64, 100.0 + 7.5 * i as f64))
            .collect();
        assert!((slope(&pts).expect("slope") - 7.5).abs() < 1e-9);
        assert_eq!(slope(&pts[..2]), None);
        assert_eq!(slope(&[(1.0, 1.0), (1.0, 2.0), (1.0, 3.0)]), None);
    }

    #[test]
    fn fresh_plateau_against_the_model() {
        // 10/s, 20 s retention, 60 s: entries grow 10/s to 200, then hold.
        let b = 4096.0;
        let rows: Vec<TimelineRow> = (1..=60)
            .map(|t| {
                let n = (10 * t).min(200) as u64;
                TimelineRow {
                    mode: Mode::Fresh,
                    sample: ClientSample {
                        t_s: t as f64,
                        virtual_t_s: t as f64,
                        retained_sessions: Some(n),
                        client_heap_live_bytes: Some(1000 + n * 4096),
                        ..Default::default()
                    },
                    ..Default::default()
                }
            })
            .collect();
        let mut fin = ClientFinal {
            retention: Some(RetentionStats {
                dropped_measured: 600,
                dropped_bytes: 600 * 4096,
                ..Default::default()
            }),
            ..Default::default()
        };
        let spec = RetentionSpec {
            ttl: Duration::from_secs(20),
            cap: None,
        };
        // Without a starting heap the plateau's heap is not measured (not read as 0).
        let r = retained(Mode::Fresh, &at(10.0, Some(spec)), &fin, &rows);
        assert_eq!(r.measured_plateau_bytes, None);
        assert_eq!(r.measured_plateau_sessions, Some(200.0));
        fin.totals.client_heap_start_bytes = Some(1000);
        let r = retained(Mode::Fresh, &at(10.0, Some(spec)), &fin, &rows);
        assert_eq!(r.measured_plateau_bytes, Some(200.0 * b));
        assert_eq!(r.retained_bytes_per_session, Some(b));
        assert_eq!(r.model_plateau_sessions, Some(200.0));
        assert_eq!(r.measured_plateau_sessions, Some(200.0));
        assert_eq!(r.plateau_ratio, Some(1.0));
        assert_eq!(r.plateau_reached_s, Some(20.0));
        assert!((r.retained_bytes_slope.expect("slope") - b).abs() < 1e-6);
    }

    #[test]
    fn a_run_exactly_t_long_ends_on_the_plateau() {
        // 100/s, T = 600 s, a run 600 s long: the last request starts at 599.99 s and the final
        // sample follows its completion, at 599.992 s, holding all 60,000 sessions.
        let rows: Vec<TimelineRow> = [(599.0, 59_900), (599.992, 60_000)]
            .into_iter()
            .map(|(t, n)| TimelineRow {
                mode: Mode::Fresh,
                sample: ClientSample {
                    t_s: t,
                    virtual_t_s: t,
                    retained_sessions: Some(n),
                    client_heap_live_bytes: Some(1000 + n * 18_000),
                    ..Default::default()
                },
                ..Default::default()
            })
            .collect();
        let mut fin = ClientFinal::default();
        fin.totals.client_heap_start_bytes = Some(1000);
        let spec = RetentionSpec {
            ttl: Duration::from_secs(600),
            cap: None,
        };
        let r = retained(Mode::Fresh, &at(100.0, Some(spec)), &fin, &rows);
        assert_eq!(
            r.measured_plateau_sessions,
            Some(60_000.0),
            "the final sample only"
        );
        assert_eq!(r.measured_plateau_bytes, Some(60_000.0 * 18_000.0));
        // One request's spacing earlier is growth, not the plateau.
        let r = retained(Mode::Fresh, &at(100.0, Some(spec)), &fin, &rows[..1]);
        assert_eq!(r.measured_plateau_sessions, None);
    }

    #[test]
    fn leak_b_is_what_the_drop_gave_back_and_the_slope_cross_checks_it() {
        let rows: Vec<TimelineRow> = (1..=10)
            .map(|t| TimelineRow {
                mode: Mode::Leak,
                sample: ClientSample {
                    t_s: t as f64,
                    virtual_t_s: t as f64,
                    retained_sessions: Some(t * 10),
                    client_heap_live_bytes: Some(5000 + t * 10 * 50_000),
                    ..Default::default()
                },
                ..Default::default()
            })
            .collect();
        // No release measured: no b, whatever the slope says; the slope is still shown.
        let r = retained(Mode::Leak, &at(10.0, None), &ClientFinal::default(), &rows);
        assert_eq!(r.retained_bytes_per_session, None);
        assert_eq!(r.retained_bytes_method, None);
        assert!((r.retained_bytes_slope.expect("slope") - 50_000.0).abs() < 1e-6);
        let fin = |kept| ClientFinal {
            kept: Some(kept),
            ..Default::default()
        };
        let released = KeptRelease {
            sessions: 100,
            live_before: 5_000_000,
            live_after: 200_000,
        };
        let r = retained(Mode::Leak, &at(10.0, None), &fin(Ok(released)), &rows);
        assert_eq!(r.retained_bytes_per_session, Some(48_000.0));
        assert_eq!(r.retained_bytes_method.as_deref(), Some(METHOD_RELEASE));
        let r = retained(
            Mode::Leak,
            &at(10.0, None),
            &fin(Err("stuck".into())),
            &rows,
        );
        assert_eq!(r.retained_bytes_per_session, None);
    }

    #[test]
    fn shared_has_no_retention_figures() {
        let r = retained(Mode::Shared, &at(10.0, None), &ClientFinal::default(), &[]);
        assert_eq!(r, ModeSummary::default());
    }
}
