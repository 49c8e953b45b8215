//! Provenance: the crate versions this build links and, in words, how each kind of figure was
//! measured (`summary.json` `versions` and `method`; ARCHITECTURE.md, "Summary contract").

use std::collections::BTreeMap;

use crate::contract::summary::{Versions, METHOD_REQWEST_NATIVE_TLS};

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

/// `method.openssl_heap` in a `native-tls` build: how OpenSSL's heap is counted, what no
/// counter sees, and that the counting costs CPU which the build figures include. Words only:
/// a figure here would be in every run's summary without having been measured in it, so the
/// one-time DHAT cross-check and the counting's measured cost are in docs/openssl.md ("rustls or
/// OpenSSL"), each with its date, versions and command.
#[cfg(feature = "native-tls")]
const OPENSSL_HEAP: &str = "reqwest-native: OpenSSL allocates with C malloc, which the Rust allocator never sees; the client worker replaces OpenSSL's allocator (CRYPTO_set_mem_functions) before OpenSSL's first allocation with functions that allocate through the counting allocator and add to its counters, so every client heap figure includes OpenSSL, and the openssl_* figures are its part. A 16-byte size header per block lets frees be subtracted; the header is not counted. If OpenSSL had allocated first, the reqwest-native worker refuses to run rather than report the Rust part as the whole. For hyper (and reqwest with --roots webpki) the openssl_* figures are counted too (0: OpenSSL never called); for reqwest with --roots ca or system see reqwest_native_tls. Not in either counter, and not measured in this run: what libcrypto takes from libc functions it calls (opendir, qsort_r, stdio buffers while reading the default verify paths) and what aws-lc (rustls's crypto) allocates with its own C malloc; a one-time valgrind DHAT cross-check measured both and found the counted blocks and bytes equal to DHAT's (docs/openssl.md, \"rustls or OpenSSL\", with its date and versions). Counting costs CPU: every OpenSSL allocation, reallocation and free goes through these functions (the header, the counters), so the build CPU (client_build_cpu_us) and every time figure of a client that calls OpenSSL include that cost. Its size is not measured in this run; cargo bench --features native-tls --bench openssl_hook measures it (builds with and without counting, in child processes of one kind), and docs/openssl.md (\"rustls or OpenSSL\") gives its figure with the date it was measured";
/// `method.openssl_heap` in a build without OpenSSL.
#[cfg(not(feature = "native-tls"))]
const OPENSSL_HEAP: &str = "not counted: this build has no OpenSSL (built without the native-tls feature), so no client calls it and every openssl_* figure is null; --client reqwest-native needs a build with --features native-tls";

/// `method.reqwest_native_tls`, present only in a `native-tls` build: what compiling reqwest's
/// native-tls feature in does to the rustls `reqwest` client.
const REQWEST_NATIVE_TLS: &str = "this build has reqwest's native-tls feature compiled in (--features native-tls, for --client reqwest-native), and then every reqwest::Certificate is parsed by OpenSSL as well as kept for rustls: the rustls reqwest client with --roots ca or system pays that OpenSSL parse in each build (its build CPU and bytes, and so its fresh and leak bytes per request, include it; openssl_build_alloc_bytes is its byte part). OpenSSL's library initialisation (OPENSSL_init_ssl) is in the warm-up, as for reqwest-native, but OpenSSL initialises more on its first certificate parse, which stays in the first build (visible in shared and resume, which build once). A default build (no native-tls) has no OpenSSL, and its reqwest figures carry none of this; --roots webpki hands reqwest a rustls config and is not affected";

/// `method.breakdown`, present when the run had `--breakdown`.
pub(crate) const BREAKDOWN: &str = "--breakdown: each client worker's load ran under dhat's heap profiler (allocation is much slower: times, latencies and rates of this run are not representative), from the load's start (after the warm-up and the harness's own setup, so fixed costs paid before it are not in the profile) to its end, with every retained (fresh) or kept (leak) session still live. Each allocation site is attributed to one owner by the first rule of measure::breakdown::rules::RULES matching its stack (ARCHITECTURE.md, \"Where the bytes go\"); unknown stacks are `other`. retained_breakdown = each owner's bytes live at the end ÷ sessions held (the harness's own bookkeeping left out: not part of a session); request_breakdown = each owner's bytes allocated during the load ÷ completed requests. A `remainder` entry is the measured figure (b; client_alloc_bytes_per_request) minus the owners' sum, either sign, so each list adds up to the measured figure. The counting allocator leaves dhat's own bookkeeping uncounted, so the measured figures are the same program allocations as without dhat. aws-lc's C allocations are outside the Rust allocator, in neither figure";

/// How each kind of figure was measured, in words (`summary.json` `method`).
pub fn methods() -> BTreeMap<String, String> {
    let built_with_openssl = crate::vocab::client::NATIVE_TLS_BUILT
        .then_some((METHOD_REQWEST_NATIVE_TLS, REQWEST_NATIVE_TLS));
    [
        ("heap", "counting global allocator in each worker process (relaxed atomics over the system allocator): live bytes, cumulative bytes and allocations; exact, not sampled"),
        ("bytes_per_request", "derived: the client worker's allocated bytes during the load (counting allocator, process-wide delta) ÷ completed requests; allocation traffic, not memory held (includes hyper, rustls, tokio and the sampler's own allocations)"),
        ("build", "each session build: wall time with a monotonic clock, CPU time of the building thread (CLOCK_THREAD_CPUTIME_ID), and the bytes allocated on that thread (the build is synchronous, so both are its own); client_build_core_share is the CPU total ÷ elapsed wall time. Counting is part of what is timed: the counting allocator's work on every Rust allocation and, for a build that calls OpenSSL (a native-tls build only), the counting of OpenSSL's allocations (openssl_heap), whose cost is not subtracted"),
        ("rss", "resident set size from /proc/self/statm, sampled every interval in each process"),
        ("fds", "entries of /proc/self/fd, sampled every interval"),
        ("peaks", "maxima over the samples and the final reading (a peak between samples is not seen)"),
        ("latency", "from a request's actual start to its last body byte, HDR histogram (3 significant digits); session build included for fresh and leak"),
        ("warmup", "before its load clock starts, each client worker seeds aws-lc's process-wide random generator once (aws-lc seeds it on first use from CPU jitter entropy: tens of ms of CPU per process, which otherwise fell inside the first handshake of every mode), and a client that uses OpenSSL (reqwest-native, and reqwest in a native-tls build) runs OpenSSL's one-time library initialisation (OPENSSL_init_ssl) there too; its time is warmup_us, outside latency and every counter. The server worker does the same before it reports ready. No request, connection, handshake or session is made for it"),
        ("late_starts", "real clock: requests that started ≥2 ms after their scheduled time (twice tokio's 1 ms timer resolution) or waited for a --max-in-flight slot; null under the virtual clock, which has no schedule"),
        ("handshakes", "client: rustls handshake_kind() of each new connection; server: the same, counted in the server process"),
        ("retained_bytes", "derived, not measured: timeline retained_bytes = retained sessions (counted) × the mode's measured bytes per retained session (b)"),
        ("retained_per_session", "fresh with retention: bytes freed on the dropping thread as each retained session's TLS state was dropped (exact), cross-checked by the live-heap slope over the retained count (retained_bytes_slope); leak: live heap given back when the kept sessions were dropped at the end of the load, per session, cross-checked by the live-heap slope over the kept count during the load (retained_bytes_slope)"),
        ("plateau", "mean over the samples at or after the retention time T: retained sessions, and live heap above the load's starting heap (null if the starting heap was not read); the model R·b·T is derived"),
        ("openssl_heap", OPENSSL_HEAP),
        ("rate_bound", crate::run::soundness::RATE_BOUND_METHOD),
        ("per_session_unsound", crate::run::soundness::PER_SESSION_UNSOUND_METHOD),
        ("sampler", "CPU time of the client worker's sampler while sampling (CLOCK_THREAD_CPUTIME_ID), as a share of the run's wall time; null if it could not be read"),
    ]
    .into_iter()
    .chain(built_with_openssl)
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Issue 22: `method` is in every summary, so it holds no figure that was measured once
    /// elsewhere (the DHAT cross-check's block and byte counts were): no number of three or more
    /// digits, and none written with a thousands separator.
    #[test]
    fn openssl_heap_carries_no_one_time_figure() {
        let text = &methods()["openssl_heap"];
        let mut digits = 0;
        for (i, c) in text.char_indices() {
            digits = if c.is_ascii_digit() { digits + 1 } else { 0 };
            assert!(digits < 3, "a figure in method.openssl_heap at {i}: {text}");
            let grouped = c == ','
                && text[..i].ends_with(|p: char| p.is_ascii_digit())
                && text[i + 1..].starts_with(|n: char| n.is_ascii_digit());
            assert!(!grouped, "a figure in method.openssl_heap at {i}: {text}");
        }
    }
}
