//! What `harness exec` publishes: `ExecSummary`, its timeline and connection rows.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::contract::summary::{ServerSummary, Versions};
use crate::contract::wire::{ServerSample, P50P99};
use crate::vocab::exec::{ExecEnd, ExecMode, Habit, HeapTool, WitnessRecord};
use crate::vocab::handshake::Handshake;
use crate::vocab::owner::Owner;

/// Version of the exec `summary.json` layout.
pub const EXEC_SCHEMA: u32 = 2;

/// The whole of an exec `summary.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ExecSummary {
    pub schema: u32,
    pub mode: ExecMode,
    /// The command checked, as its argument vector.
    pub command: Vec<String>,
    /// The harness command line, as typed.
    pub harness_command: String,
    pub run_id: String,
    pub started_at: String,
    pub versions: Versions,
    /// How each kind of figure was measured.
    pub method: BTreeMap<String, String>,
    pub ended: ExecEnd,
    /// The command's exit code (`null`: it was ended by a signal).
    pub exit_code: Option<i32>,
    /// The signal that ended the command, if one did.
    pub exit_signal: Option<i32>,
    /// Wall seconds from the command's start to its end.
    pub elapsed_s: f64,
    pub heap_tool: HeapTool,

    /// Whether the server's per-connection record (the witness) arrived. `lost`: every
    /// connection figure below is null, every condition over one fails, and the check exits 1
    /// (a guard must fail closed, not read a lost record as "no connection").
    pub witness: WitnessRecord,
    /// How the server worker ended (`null`: it was never waited for).
    pub server_worker: Option<WorkerEnd>,
    /// Why each null numeric figure is null: its source failed (the witness was lost, no
    /// `/proc` sample, no profile) or the figure is undefined for this run (a ratio without
    /// requests). A `--fail-if` condition over a null figure fails with this reason.
    pub unmeasured: BTreeMap<String, String>,

    /// Requests the server answered (from the witness).
    pub requests: Option<u64>,
    /// Connections the server accepted (from the witness).
    pub connections: Option<u64>,
    pub handshakes_full: Option<u64>,
    pub handshakes_resumed: Option<u64>,
    /// Connections whose TLS handshake failed (for example: the command does not trust the CA).
    pub handshakes_failed: Option<u64>,
    /// Derived: connections ÷ requests (`null` without requests).
    pub new_connections_per_request: Option<f64>,
    /// Derived: requests ÷ connections that completed a handshake.
    pub requests_per_connection: Option<f64>,
    /// Derived: full handshakes ÷ requests.
    pub full_handshakes_per_request: Option<f64>,
    /// Connections closed at exit or never: the server saw no close before the command was
    /// last seen running (`last_seen_running_before_end_ms`) nor before the tree's last
    /// `/proc` sample, and that sample did not show the connection let go (it still held it,
    /// or the connection was opened after it). A close by the program in that last moment
    /// cannot be told from the exit's, so it is counted here (see `method`). How a runtime
    /// closes its sockets in its own teardown decides this count; it does not decide
    /// `connections_open_at_last_request`.
    pub connections_open_at_exit: Option<u64>,
    /// Connections open at the program's last request: accepted by the server before the last
    /// request it received (on any connection) and not seen closing before it. Decided from
    /// the order of the server's own events, so a close in the runtime's teardown, after the
    /// last request, cannot change it: a program that closes each connection after use reads
    /// 1 (the connection carrying the last request), one that keeps every connection reads
    /// one per connection (`null`: the witness was lost, or no request).
    pub connections_open_at_last_request: Option<u64>,
    /// Derived: `connections_open_at_last_request` ÷ `requests`: near 1 for a program that
    /// keeps the connection of every request, near 0 for one that closes each after use or
    /// shares one; unlike the count, a guard over it needs no N.
    pub connections_open_at_last_request_per_request: Option<f64>,
    /// Milliseconds between the last time the command was seen running (not exiting; checked
    /// every 2 ms) and its end: the window in which a close by the program cannot be told
    /// from a close by its exit (`null`: never seen running).
    pub last_seen_running_before_end_ms: Option<f64>,
    /// Milliseconds between the tree's last `/proc` sample and the command's end: the window
    /// in which a close by the program is indistinguishable from a close by its exit
    /// (`null`: no sample was taken).
    pub last_sample_before_end_ms: Option<f64>,
    /// Most connections open at once (from the server's per-connection record).
    pub connections_open_peak: Option<u64>,
    /// Lifetime of the connections that closed before the command ended, ms.
    pub connection_lifetime_ms: Option<P50P99>,
    /// What the figures say about the program's use of sessions (`null`: no request).
    pub habit: Option<Habit>,

    /// Most processes in the tree at one sample.
    pub processes_peak: Option<u64>,
    pub rss_peak_bytes: Option<u64>,
    pub pss_peak_bytes: Option<u64>,
    /// RSS at the first sample after the server answered the first request, and at the last
    /// sample.
    pub rss_first_request_bytes: Option<u64>,
    pub rss_end_bytes: Option<u64>,
    /// Derived: RSS at the first sample after the server answered the last request − RSS at
    /// the first sample after it answered the first.
    pub rss_growth_bytes: Option<i64>,
    /// Derived: `rss_growth_bytes` ÷ requests answered between those two samples.
    pub rss_growth_per_request_bytes: Option<f64>,
    pub open_fds_peak: Option<u64>,
    /// Most TCP connections the tree held to the server's port at one sample.
    pub tcp_to_server_peak: Option<u64>,
    /// TCP connections the tree held to the server's port at its last sample before the end:
    /// the process tree's own view of what was open then, beside the witness's.
    pub tcp_to_server_last_sample: Option<u64>,
    /// CPU time of the command and the descendants it waited for, seconds (exact, from
    /// `getrusage(RUSAGE_CHILDREN)` around its wait).
    pub cpu_s: Option<f64>,
    /// Derived: each process's heap bytes at its own peak (DHAT's `gb`), summed over the
    /// tree's processes. The peaks were taken at different times, so this is an upper bound
    /// of the tree's heap at any instant, not its peak. `null` without `--heap valgrind`, or
    /// when a process the sampler saw left no readable profile (`heap_processes_seen` ≠
    /// profiles for them): a partial sum would pass for the whole.
    pub heap_peaks_summed_bytes: Option<u64>,
    /// Derived: each process's heap bytes at its exit (DHAT's `eb`), summed; `null` as above.
    pub heap_at_exits_summed_bytes: Option<u64>,
    /// Processes of the tree the sampler saw alive (`--heap valgrind` only): each should
    /// have left a DHAT profile (one killed by SIGKILL leaves none).
    pub heap_processes_seen: Option<u64>,
    /// DHAT profiles read; more than `heap_processes_seen` when processes lived between two
    /// samples.
    pub heap_profiles_read: Option<u64>,
    /// `--heap valgrind --breakdown`: where the heap bytes went, by owner. Each process's DHAT
    /// profile is attributed with the `--breakdown` rule table (rustls, hyper, reqwest, tokio,
    /// OpenSSL, Python's `_ssl`; a stack no rule recognises is `other`, the unattributed
    /// remainder, never dropped) and the owners are summed over the processes, so they add up
    /// to `heap_peaks_summed_bytes` and `heap_at_exits_summed_bytes` exactly. Biggest at the
    /// peaks first, `other` last. `null` without `--breakdown`, or when the heap sums are
    /// `null` (the reason is in `unmeasured`).
    pub heap_breakdown: Option<Vec<HeapOwner>>,
    /// Samples taken, and the sampler's own CPU time (`CLOCK_THREAD_CPUTIME_ID`), µs.
    pub samples: u64,
    pub sampler_cpu_us_total: Option<u64>,

    /// The server worker's own figures (peaks over its samples).
    pub server: Option<ServerSummary>,
    /// The verdict, in sentences built from the figures above.
    pub verdict: Vec<String>,
    /// The `--fail-if` conditions and how each came out.
    pub conditions: Vec<ConditionResult>,
}

/// One owner's heap bytes in a check's DHAT profiles (`harness exec --heap valgrind
/// --breakdown`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct HeapOwner {
    pub owner: Owner,
    /// Allocation stacks (DHAT program points) attributed to it, over every profile.
    pub sites: u64,
    /// Its bytes, summed over the command's processes.
    pub bytes: HeapBytes<u64>,
    /// Derived: `bytes` ÷ the connections the witness saw (`null`: the witness was lost or saw
    /// no connection; the reason is in `unmeasured`).
    pub per_connection: Option<HeapBytes<f64>>,
    /// Derived: `bytes` ÷ the requests the witness saw (`null` as above).
    pub per_request: Option<HeapBytes<f64>>,
}

/// A heap figure of one owner three ways, from DHAT's program points.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct HeapBytes<T> {
    /// Allocated over the process's life (`tb`): the allocation traffic.
    pub allocated: T,
    /// Live at each process's own heap peak (`gb`), summed over the processes: the peaks fall
    /// at different times, so an upper bound of what the tree held at once.
    pub at_peaks: T,
    /// Live when each process exited (`eb`), summed.
    pub at_exits: T,
}

/// A row of an exec `timeline.csv`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ExecRow {
    /// Seconds since the command started.
    pub t_s: f64,
    #[serde(flatten)]
    pub tree: TreeSample,
    /// The server's latest sample.
    #[serde(flatten)]
    pub server: Option<ServerSample>,
}

/// A row of `connections.csv`: one connection as the server saw it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ConnectionRow {
    /// 1, 2, … in accept order.
    pub conn: u64,
    pub peer_port: u16,
    /// Seconds since the command started.
    pub opened_s: f64,
    pub closed_s: Option<f64>,
    pub handshake: Handshake,
    pub requests: u64,
    /// Derived: milliseconds from the server seeing it close to the command's end (negative:
    /// it closed after the end; `null`: never seen closing).
    pub closed_before_end_ms: Option<f64>,
    /// Whether the tree held this connection (by its local port) at its last `/proc` sample
    /// (`null`: not known, or opened after that sample).
    pub held_at_last_sample: Option<bool>,
    /// Closed at exit or never (see `ExecSummary::connections_open_at_exit`).
    pub open_at_exit: bool,
    /// Open at the program's last request (see
    /// `ExecSummary::connections_open_at_last_request`; `null`: no request).
    pub open_at_last_request: Option<bool>,
}

/// How the server worker ended, as the harness waited for it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct WorkerEnd {
    pub exit_code: Option<i32>,
    /// The signal that ended it, if one did.
    pub exit_signal: Option<i32>,
    /// It did not exit within the grace period and was killed.
    pub killed_after_grace: bool,
    /// Lines of its stdout that were not messages (a record line that failed to parse
    /// counts here).
    pub lines_unparsed: u64,
    /// The last line of its stderr, when it wrote one.
    pub last_error: Option<String>,
}

/// The numeric fields a `--fail-if` condition may name: every number (or nullable number) at
/// the top level of [`ExecSummary`], read off its JSON Schema.
pub fn numeric_fields() -> Vec<String> {
    let schema = serde_json::to_value(schemars::schema_for!(ExecSummary)).unwrap_or_default();
    let numeric = |t: &serde_json::Value| matches!(t.as_str(), Some("integer" | "number"));
    let is_numeric = |p: &serde_json::Value| match &p["type"] {
        serde_json::Value::Array(ts) => ts.iter().any(numeric),
        t => numeric(t),
    };
    let props = schema["properties"].as_object().into_iter().flatten();
    props
        .filter(|(k, p)| k.as_str() != "schema" && is_numeric(p))
        .map(|(k, _)| k.clone())
        .collect()
}

/// The tree's figures at one instant. Columns of `harness exec`'s `timeline.csv`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct TreeSample {
    /// Processes in the tree (the command and its descendants alive now).
    pub processes: u64,
    /// Summed resident set size of the tree's processes (`/proc/PID/statm`).
    pub rss_bytes: Option<u64>,
    /// Summed proportional set size (`/proc/PID/smaps_rollup`; `None` where not readable).
    pub pss_bytes: Option<u64>,
    /// Summed entries of `/proc/PID/fd`.
    pub open_fds: Option<u64>,
    /// TCP connections the tree holds to the server's port, established or closing.
    pub tcp_to_server: Option<u64>,
    /// CPU time, user + system, of the live processes plus the children they have waited
    /// for (`/proc/PID/stat` utime + stime + cutime + cstime), seconds.
    pub cpu_s: Option<f64>,
}

/// A condition checked against a finished check's summary.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ConditionResult {
    /// The condition as given, normalised (`field op value`).
    pub condition: String,
    /// The field's measured value (`null`: not measured).
    pub value: Option<f64>,
    /// Why the value is null (the missing source), when it is.
    pub unmeasured: Option<String>,
    /// True when the condition holds, or when its field was not measured (a guard over a
    /// figure that is missing must not pass silently).
    pub failed: bool,
}
