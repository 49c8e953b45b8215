//! The live line `harness exec` shows while the command runs.

use indicatif::{ProgressBar, ProgressStyle};

use crate::contract::exec::ExecRow;
use crate::run::orchestrator::progress_target;
use crate::vocab::units;

/// The spinner on stderr (hidden unless stderr is a terminal and progress was asked for).
pub(super) fn progress_bar(progress: bool) -> ProgressBar {
    let pb = ProgressBar::with_draw_target(None, progress_target(progress));
    pb.set_style(
        ProgressStyle::with_template("{spinner} exec {elapsed:>4} {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_spinner()),
    );
    pb
}

/// One sample, as the spinner's message.
pub(super) fn show(pb: &ProgressBar, row: &ExecRow) {
    let bytes = |b: Option<u64>| units::opt(b.map(|b| b as f64), units::bytes);
    let (reqs, conns, open) = row.server.as_ref().map_or((None, None, None), |s| {
        (
            Some(s.server_requests),
            Some(s.server_connections),
            Some(s.server_open_conns),
        )
    });
    pb.set_message(format!(
        "requests {}  connections {} (open {})  processes {}  rss {}  fds {}",
        units::opt(reqs, units::count),
        units::opt(conns, units::count),
        units::opt(open, units::count),
        row.tree.processes,
        bytes(row.tree.rss_bytes),
        units::opt(row.tree.open_fds, units::count),
    ));
    pb.tick();
}
