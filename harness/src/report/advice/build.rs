//! "Building a session per request": the CPU fresh mode spent building sessions.

use crate::contract::summary::ModeSummary;

/// CPU spent building sessions in fresh mode, from the building threads' CPU time.
pub(super) fn build_line(f: &ModeSummary, shared: Option<&ModeSummary>) -> Option<String> {
    let share = f.client_build_core_share?;
    let shared_builds = shared
        .map(|s| {
            format!(
                "; shared built {} (measured: build count)",
                s.load.client_builds
            )
        })
        .unwrap_or_default();
    Some(format!(
        "Building a session per request took {:.2} % of one core in fresh mode (measured: thread CPU time spent on {} builds ÷ {:.1} s elapsed wall time){shared_builds}.",
        share * 100.0,
        f.load.client_builds,
        f.load.elapsed_s,
    ))
}

#[cfg(test)]
mod tests {
    use crate::report::advice::advice;
    use crate::report::advice::fixtures::{fresh, line_with, shared, summary};

    #[test]
    fn build_line_uses_cpu_share_only() {
        let lines = advice(&summary(vec![fresh("hyper"), shared("hyper")]));
        let l = line_with(&lines, "Building a session");
        assert!(l.contains("1.23 % of one core"), "{l}");
        assert!(l.contains("thread CPU time spent on 3000 builds ÷ 30.0 s elapsed wall time"));
        assert!(l.contains("shared built 1"), "{l}");

        let mut f = fresh("hyper");
        f.client_build_core_share = None;
        let lines = advice(&summary(vec![f, shared("hyper")]));
        assert!(
            lines.iter().all(|l| !l.contains("core")),
            "no CPU figure, no build line: {lines:#?}"
        );
    }
}
