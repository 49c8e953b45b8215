//! Provenance for `summary.json`: the crate versions linked and how each figure was measured.

use std::collections::BTreeMap;

use crate::contract::summary::{Versions, METHOD_REQWEST_NATIVE_TLS};
use crate::run::load::LATE_THRESHOLD;
use crate::run::soundness;
use crate::vocab::units;

/// The versions this build links (from `Cargo.lock`, read by the build script).
pub fn versions() -> Versions {
    let v = |s: Option<&str>| s.map(str::to_string);
    Versions {
        harness: env!("CARGO_PKG_VERSION").into(),
        rustls: v(option_env!("DEP_VERSION_RUSTLS")),
        hyper: v(option_env!("DEP_VERSION_HYPER")),
        hyper_util: v(option_env!("DEP_VERSION_HYPER_UTIL")),
        tokio_rustls: v(option_env!("DEP_VERSION_TOKIO_RUSTLS")),
        crypto_provider: option_env!("DEP_VERSION_AWS_LC_RS").map(|v| format!("aws-lc-rs {v}")),
        reqwest: v(option_env!("DEP_VERSION_REQWEST")),
        webpki_roots: v(option_env!("DEP_VERSION_WEBPKI_ROOTS")),
        build_profile: v(option_env!("BUILD_PROFILE")),
    }
}

/// `method.openssl_heap` in a `native-tls` build. Words only: the one-time DHAT cross-check
/// and the counting's measured cost live in docs/openssl.md, since no run measures them.
#[cfg(feature = "native-tls")]
const OPENSSL_HEAP: &str = "the client worker routes OpenSSL's allocations through the counting allocator (CRYPTO_set_mem_functions, before OpenSSL's first allocation, or the worker refuses to run), so every client heap figure includes OpenSSL and the openssl_* figures are its part (0 for a client that never calls it); what libcrypto gets from libc and aws-lc's own malloc are in neither counter, and the counting's CPU is inside the build and time figures (docs/openssl.md)";
/// `method.openssl_heap` in a build without OpenSSL.
#[cfg(not(feature = "native-tls"))]
const OPENSSL_HEAP: &str = "not counted: this build has no OpenSSL (built without the native-tls feature), so every openssl_* figure is null (docs/openssl.md)";

/// `method.reqwest_native_tls`, present only in a `native-tls` build: what compiling reqwest's
/// native-tls feature in does to the rustls `reqwest` client.
const REQWEST_NATIVE_TLS: &str = "this build compiles in reqwest's native-tls feature, so the rustls reqwest client with --roots ca or system also has OpenSSL parse each certificate: its build CPU and bytes, and fresh's and leak's bytes per request, include that parse (openssl_build_alloc_bytes is its byte part) (docs/openssl.md)";

/// `method.breakdown`, present when the run had `--breakdown`.
pub(crate) const BREAKDOWN: &str = "--breakdown: each client worker's load ran under dhat (slow: this run's times, latencies and rates are not representative), each allocation site attributed to the owner of the first rule in measure::breakdown::rules::RULES matching its stack; a remainder entry makes each list add up to its measured figure, b or client_alloc_bytes_per_request (docs/method-breakdown.md)";

/// How each kind of figure was measured (`summary.json` `method`), with the docs page giving why.
pub fn methods() -> BTreeMap<String, String> {
    let built_with_openssl = crate::vocab::client::NATIVE_TLS_BUILT
        .then(|| (METHOD_REQWEST_NATIVE_TLS, REQWEST_NATIVE_TLS.to_string()));
    let late = units::span(LATE_THRESHOLD);
    [
        ("heap", "counting global allocator in each worker process (relaxed atomics over the system allocator): live bytes, cumulative bytes and allocations; exact, not sampled (docs/figures.md)".into()),
        ("bytes_per_request", "derived: the client worker's bytes allocated during the load ÷ completed requests; allocation traffic, not memory held, the sampler's and the runtime's included (docs/figures.md)".into()),
        ("build", "each session build's wall time, its thread's CPU time and the bytes allocated on that thread, the counting's own cost included; client_build_core_share is build CPU ÷ elapsed wall time, and build_cores_needed (mean build CPU × rate) is the share at the planned rate (docs/figures.md)".into()),
        ("rss", "resident set size from /proc/self/statm, sampled every interval in each process (docs/figures.md)".into()),
        ("fds", "entries of /proc/self/fd, sampled every interval (docs/figures.md)".into()),
        ("peaks", "maxima over the samples and the final reading (a peak between samples is not seen) (docs/figures.md)".into()),
        ("latency", "from a request's actual start to its last body byte, HDR histogram; session build included for fresh and leak (docs/figures.md)".into()),
        ("warmup", "before its load clock starts, each worker pays its process's one-time costs (aws-lc's random generator seeding; OpenSSL's library initialisation for a client that uses OpenSSL): warmup_us, outside latency and every counter (docs/figures.md)".into()),
        ("late_starts", format!("real clock: requests that started {late} or more after their scheduled time (twice tokio's timer resolution) or waited for a --max-in-flight slot; null under the virtual clock, which has no schedule (docs/figures.md)")),
        ("handshakes", "client: rustls handshake_kind() of each new connection; server: the same, counted in the server process (docs/figures.md)".into()),
        ("retained_bytes", "derived, not measured: timeline retained_bytes = retained sessions (counted) × the mode's measured bytes per retained session (b) (docs/figures.md)".into()),
        ("retained_per_session", "fresh with retention: bytes freed as each retained session's TLS state was dropped (exact); leak: live heap given back when the kept sessions were dropped at the end of the load, per session; retained_bytes_slope, the live-heap slope over the retained or kept count, cross-checks both (docs/figures.md)".into()),
        ("plateau", "mean over the samples at or after the retention time T: retained sessions, and live heap above the load's starting heap (null if the starting heap was not read); the model R·b·T is derived (docs/figures.md)".into()),
        ("openssl_heap", OPENSSL_HEAP.into()),
        ("rate_bound", soundness::rate_bound_method()),
        ("per_session_unsound", soundness::PER_SESSION_UNSOUND_METHOD.into()),
        ("sampler", "CPU time of the client worker's sampler while sampling (CLOCK_THREAD_CPUTIME_ID), as a share of the run's wall time; null if it could not be read (docs/figures.md)".into()),
    ]
    .into_iter()
    .chain(built_with_openssl)
    .map(|(k, v)| (k.to_string(), v))
    .collect()
}
