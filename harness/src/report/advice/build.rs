//! Advice "Building a session per request": the CPU fresh sessions spent being built.

use crate::contract::summary::{ModeSummary, Summary};
use crate::vocab::clock::Clock;
use crate::vocab::units;

/// CPU spent building sessions in fresh mode, from the building threads' CPU time. Under the
/// virtual clock the requests run as fast as the machine allows, so the wall time is not the
/// scenario's and CPU ÷ wall time is not what the planned rate costs: the line then gives the
/// share at the planned rate (`build_cores_needed`) first, and the share over this run's wall
/// time named as such.
pub(super) fn build_line(
    summary: &Summary,
    f: &ModeSummary,
    shared: Option<&ModeSummary>,
) -> Option<String> {
    let share = f.client_build_core_share?;
    let shared_builds = shared
        .map(|s| {
            format!(
                "; shared built {} (measured: build count)",
                s.load.client_builds
            )
        })
        .unwrap_or_default();
    let over_wall = format!(
        "thread CPU time spent on {} builds ÷ {:.1} s elapsed wall time",
        f.load.client_builds, f.load.elapsed_s,
    );
    if summary.clock != Clock::Virtual {
        return Some(format!(
            "Building a session per request took {:.2} % of one core in fresh mode (derived: {over_wall}){shared_builds}.",
            share * 100.0,
        ));
    }
    let ran = f.load.virtual_s.map_or_else(String::new, |v| {
        format!(
            " ({v:.1} s of scheduled requests ran in {:.1} s)",
            f.load.elapsed_s
        )
    });
    let over_own_wall = format!(
        "over this virtual-clock run's own wall time{ran} the builds took {:.2} % of one core (derived: {over_wall})",
        share * 100.0,
    );
    let mean_us = f
        .load
        .client_build_cpu_us_total
        .filter(|_| f.load.client_builds > 0)
        .map(|us| us as f64 / f.load.client_builds as f64);
    match (f.build_cores_needed, mean_us) {
        (Some(need), Some(mean_us)) => {
            let rate = units::rate(summary.scenario.rate);
            Some(format!(
                "Building a session per request at the planned {rate} takes {:.2} % of one core in fresh mode (derived: mean build CPU {} × {rate}); {over_own_wall}{shared_builds}.",
                need * 100.0,
                units::micros(mean_us),
            ))
        }
        _ => Some(format!(
            "Building a session per request: {over_own_wall}, not the share at the planned rate (the mean build CPU was not measured){shared_builds}."
        )),
    }
}

#[cfg(test)]
mod tests {
    use crate::report::advice::advice;
    use crate::report::advice::fixtures::{fresh, line_with, shared, summary};
    use crate::vocab::clock::Clock;

    #[test]
    fn build_line_uses_cpu_share_only() {
        let lines = advice(&summary(vec![fresh("hyper"), shared("hyper")]));
        let l = line_with(&lines, "Building a session");
        assert!(l.contains("1.23 % of one core"), "{l}");
        // A quotient of two measured figures is derived, and the brief view marks it so.
        assert!(l.contains(
            "(derived: thread CPU time spent on 3000 builds ÷ 30.0 s elapsed wall time)"
        ));
        assert!(l.contains("shared built 1"), "{l}");

        let mut f = fresh("hyper");
        f.client_build_core_share = None;
        let lines = advice(&summary(vec![f, shared("hyper")]));
        assert!(
            lines.iter().all(|l| !l.contains("core")),
            "no CPU figure, no build line: {lines:#?}"
        );
    }

    /// `--rate 1000 --minutes 10 --clock virtual`: 600,000 builds of 17 µs CPU each ran in
    /// 182.8 s of wall time. At the planned rate that is 17 µs × 1,000/s = 1.70 % of one core;
    /// the 5.58 % over the run's own wall time is said to be that, second.
    #[test]
    fn under_the_virtual_clock_the_share_is_at_the_planned_rate() {
        let mut f = fresh("hyper");
        f.load.client_builds = 600_000;
        f.load.client_build_cpu_us_total = Some(600_000 * 17);
        f.load.elapsed_s = 182.8;
        f.load.virtual_s = Some(600.0);
        f.client_build_core_share = Some(600_000.0 * 17e-6 / 182.8);
        f.build_cores_needed = Some(17e-6 * 1_000.0);
        let mut s = summary(vec![f, shared("hyper")]);
        s.clock = Clock::Virtual;
        s.scenario.rate = 1_000.0;
        let lines = advice(&s);
        let l = line_with(&lines, "Building a session");
        assert!(
            l.starts_with("Building a session per request at the planned 1000 req/s takes 1.70 % of one core in fresh mode (derived: mean build CPU 17 µs × 1000 req/s)"),
            "{l}"
        );
        assert!(
            l.contains("over this virtual-clock run's own wall time (600.0 s of scheduled requests ran in 182.8 s) the builds took 5.58 % of one core (derived: thread CPU time spent on 600000 builds ÷ 182.8 s elapsed wall time)"),
            "{l}"
        );
        // Without the mean build CPU there is no share at the rate, and the one given says
        // what it is per.
        s.modes[0].build_cores_needed = None;
        s.modes[0].load.client_build_cpu_us_total = None;
        let lines = advice(&s);
        let l = line_with(&lines, "Building a session");
        assert!(!l.contains("1.70"), "{l}");
        assert!(
            l.contains("own wall time") && l.contains("not the share at the planned rate"),
            "{l}"
        );
    }
}
