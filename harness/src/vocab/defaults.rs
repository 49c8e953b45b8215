//! The default of every option, and the fixed limits of a run, exec and handshakes, in one place.

use std::time::Duration;

/// Requests per second.
pub const RATE: f64 = 100.0;
/// Load duration per mode when neither `--duration`, `--seconds` nor `--minutes` is given.
pub const DURATION: Duration = Duration::from_secs(60);
/// Capacity of each session's rustls resumption store: rustls's own default
/// (`Resumption::default()` keeps 256 sessions).
pub const CLIENT_CACHE: usize = 256;
/// Capacity of the server's session store under the `rustls` policy: rustls's default.
pub const SERVER_CACHE_ENTRIES: usize = 256;
/// Lifetime and capacity of server store entries under the `ttl` policy (OpenSSL's
/// defaults: 300 s, SSL_SESSION_CACHE_MAX_SIZE_DEFAULT = 20480).
pub const SERVER_CACHE_TTL: Duration = Duration::from_secs(300);
pub const SERVER_CACHE_SIZE: usize = 20480;
/// Most requests in flight at once.
pub const MAX_IN_FLIGHT: u32 = 256;
/// How often workers sample themselves.
pub const SAMPLE_INTERVAL: Duration = Duration::from_secs(1);
/// Shortest sample interval accepted.
pub const MIN_SAMPLE_INTERVAL: Duration = Duration::from_millis(10);
/// Response body size, bytes.
pub const BODY_BYTES: u32 = 128;
/// Largest response body accepted, bytes.
pub const MAX_BODY_BYTES: u32 = 16 * 1024 * 1024;
/// Retention of invalidated sessions' TLS state: Apple's ~10 minutes.
pub const RETENTION: Duration = Duration::from_secs(600);
/// Where the CA and server certificates are kept (`--certs-dir`).
pub const CERTS_DIR: &str = "certs";
/// Where report directories are created (`--out`).
pub const OUT_DIR: &str = "reports";
/// Port of `harness serve`.
pub const SERVE_PORT: u16 = 8443;
/// Most requests one mode may schedule.
pub const MAX_PLANNED: f64 = 1e9;
/// How often `harness exec` samples the command's processes and the server: finer than a
/// run's, because the programs it checks often live for a second or two.
pub const EXEC_SAMPLE_INTERVAL: Duration = Duration::from_millis(100);
/// How often `harness exec` checks that the command still runs: this bounds the window in which
/// a close by the program cannot be told from a close by its exit.
pub const EXEC_EXIT_WATCH_INTERVAL: Duration = Duration::from_millis(2);
/// Requests each habit's program makes in `harness survey`: enough that it spans several of
/// `harness exec`'s samples (RSS growth per request needs two after the first request) and one
/// pooled connection is a small share; few enough that the survey stays within two minutes.
pub const SURVEY_REQUESTS: u64 = 200;
/// Longest one habit's check may run in `harness survey` before it is stopped (as `harness exec
/// --duration` stops a command): a program that hangs becomes a failed row, not a hung survey.
pub const SURVEY_CHECK_LIMIT: Duration = Duration::from_secs(120);
/// How long `harness exec` waits for a command to exit after SIGTERM before SIGKILL.
pub const EXEC_KILL_GRACE: Duration = Duration::from_secs(5);
/// Sessions per point of `harness handshakes` (both sides counted): the published tables' N
/// (jbp.io 2019; aochagavia/rustls-bench-results 2024).
pub const LOCKSTEP_SESSIONS: &[u64] = &[100, 1000, 5000, 10000];
/// Application data each client sends once its handshake is done, bytes: rustls-bench's
/// `memory` sends 1 KiB.
pub const LOCKSTEP_DATA_BYTES: usize = 1024;
