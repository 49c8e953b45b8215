//! The clap definitions: `Cli`, its subcommands and their options; `ExecArgs::plan`.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};

use crate::contract::plan::ServerPlan;
use crate::contract::worker::WorkerRole;
use crate::exec::condition::Condition;
use crate::exec::ExecPlan;
use crate::vocab::client::ClientKind;
use crate::vocab::clock::Clock;
use crate::vocab::defaults;
use crate::vocab::exec::HeapTool;
use crate::vocab::mode::Mode;
use crate::vocab::server_cache::ServerCacheKind;
use crate::vocab::tls::{KxChoice, RootsChoice, TlsVersion};

/// Measure what a TLS client session costs: fresh vs shared sessions, with rustls.
#[derive(Debug, Parser)]
#[command(name = "harness", version, args_conflicts_with_subcommands = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    #[command(flatten)]
    pub run: RunArgs,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Regenerate the CA and server certificates.
    Certs {
        /// Where the certificates live.
        #[arg(long, default_value = defaults::CERTS_DIR)]
        certs_dir: PathBuf,
    },
    /// Run the HTTPS server alone, for real clients (curl, openssl s_client), until Ctrl-C.
    Serve(ServeArgs),
    /// Check your own program: run COMMAND against the harness's server (URL and CA in its
    /// environment) and report its connections, handshakes and memory, with a verdict.
    Exec(ExecArgs),
    /// Per-session memory the published way (N sessions through lockstep handshakes in one
    /// process, rustls and OpenSSL), beside this tool's own figures, in one reconciliation table.
    Handshakes(super::handshakes::HandshakesArgs),
    /// Every runtime's client habits side by side: each example program checked as `harness
    /// exec` checks it, in one table with a verdict per habit.
    Survey(super::survey::SurveyArgs),
    /// Redraw the SVGs and index.html of a report directory from its summary.json and timeline.csv.
    Report {
        /// A report directory, e.g. reports/latest.
        dir: PathBuf,
    },
    /// Internal: a worker process with its JSON configuration.
    #[command(name = "__worker", hide = true)]
    Worker {
        #[arg(value_enum)]
        role: WorkerRole,
        config: String,
    },
}

/// Options of a load run.
#[derive(Debug, Clone, Args)]
pub struct RunArgs {
    /// Requests per second, started on schedule whatever earlier requests are doing.
    #[arg(long, default_value_t = defaults::RATE, value_parser = positive_f64, allow_hyphen_values = true)]
    pub rate: f64,
    #[arg(long, value_parser = positive_duration, group = "length", help = format!(
        "Load duration per mode (humantime: 30s, 10m, 1h30m) [default: {}]",
        humantime::format_duration(defaults::DURATION)
    ))]
    pub duration: Option<Duration>,
    /// Load duration per mode, in minutes.
    #[arg(long, value_parser = positive_f64, allow_hyphen_values = true, group = "length")]
    pub minutes: Option<f64>,
    /// Load duration per mode, in seconds.
    #[arg(long, value_parser = positive_f64, allow_hyphen_values = true, group = "length")]
    pub seconds: Option<f64>,
    /// Session modes, comma-separated, run one after another.
    #[arg(long, value_enum, value_delimiter = ',', default_values_t = [Mode::Fresh, Mode::Shared])]
    pub mode: Vec<Mode>,
    #[command(flatten)]
    pub server: ServerArgs,
    /// Key exchange the client offers.
    #[arg(long, value_enum, default_value_t)]
    pub kx: KxChoice,
    /// Session implementations, comma-separated; each mode runs with each.
    #[arg(long, value_enum, value_delimiter = ',', default_values_t = [ClientKind::Hyper])]
    pub client: Vec<ClientKind>,
    /// Roots each session loads.
    #[arg(long, value_enum, default_value_t)]
    pub roots: RootsChoice,
    /// Capacity of each session's rustls resumption store (0 disables resumption).
    #[arg(long, default_value_t = defaults::CLIENT_CACHE)]
    pub client_cache: usize,
    /// Most requests in flight at once; a start that finds none free waits and counts as late.
    #[arg(long, default_value_t = defaults::MAX_IN_FLIGHT, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub max_in_flight: u32,
    #[arg(long, default_value_t = defaults::SAMPLE_INTERVAL.into(), value_parser = sample_interval, help = format!(
        "How often each worker samples itself (humantime: 1s, 500ms; at least {})",
        min_interval()
    ))]
    pub sample_interval: humantime::Duration,
    /// Server port (0: an ephemeral port).
    #[arg(long, default_value_t = 0)]
    pub port: u16,
    /// real: wall time. virtual: the same request sequence as fast as possible, request i
    /// stamped i/R, so a 10-minute memory curve is reproduced in far less wall time.
    #[arg(long, value_enum, default_value_t)]
    pub clock: Clock,
    /// How long a fresh session's TLS state is retained after the session is invalidated,
    /// as a platform TLS cache does (Apple: ~10 minutes); 0 turns retention off.
    #[arg(long, default_value_t = defaults::RETENTION.into(), value_parser = duration)]
    pub retention: humantime::Duration,
    /// At most this many retained sessions (oldest evicted first).
    #[arg(long)]
    pub retention_cap: Option<usize>,
    /// Server session store.
    #[arg(long, value_enum, default_value_t = ServerCacheKind::Rustls)]
    pub server_cache: ServerCacheKind,
    #[arg(long, value_parser = duration, help = format!(
        "Lifetime of server session-store entries with --server-cache ttl [default: {}]",
        humantime::format_duration(defaults::SERVER_CACHE_TTL)
    ))]
    pub server_cache_ttl: Option<humantime::Duration>,
    #[arg(long, help = format!(
        "Capacity of the server session store with --server-cache ttl [default: {}]",
        defaults::SERVER_CACHE_SIZE
    ))]
    pub server_cache_size: Option<usize>,
    /// Where the bytes go: profile each leg's load with dhat and break b and the bytes per
    /// request down by owner (rustls store, config, connection, hyper, …). dhat slows
    /// allocation a lot: not a timed run. Also writes each profile (dhat-heap-*.json).
    #[arg(long, alias = "dhat")]
    pub breakdown: bool,
    /// Leak mode stops (cleanly, with a message) before holding this many open connections;
    /// it always stops before the file-descriptor limit.
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
    pub max_open: Option<u64>,
    /// Send the load to this HTTPS URL instead of the built-in server (no server figures).
    #[arg(long, value_parser = https_url)]
    pub target: Option<String>,
    /// PEM file of the CA(s) that sign --target's certificate.
    #[arg(long, requires = "target")]
    pub ca: Option<PathBuf>,
    /// Print every figure and each "what to do" line in full instead of the brief view (the
    /// answer first, a few figures per group). `summary.json` and the page hold every figure
    /// either way. (`harness exec` prints all its figures already.)
    #[arg(long)]
    pub detail: bool,
    #[command(flatten)]
    pub report: ReportArgs,
}

impl RunArgs {
    /// The load duration per mode.
    pub fn duration(&self) -> Duration {
        match (self.duration, self.minutes, self.seconds) {
            (Some(d), _, _) => d,
            (None, Some(m), _) => Duration::from_secs_f64(m * 60.0),
            (None, None, Some(s)) => Duration::from_secs_f64(s),
            (None, None, None) => defaults::DURATION,
        }
    }
}

/// Where a run or a check writes its report and how it talks: the options `harness` and
/// `harness exec` share.
#[derive(Debug, Clone, Args)]
pub struct ReportArgs {
    /// Where report directories are created.
    #[arg(long, default_value = defaults::OUT_DIR)]
    pub out: PathBuf,
    /// Where the CA and server certificates are kept (generated on first use).
    #[arg(long, default_value = defaults::CERTS_DIR)]
    pub certs_dir: PathBuf,
    /// No progress display (bar and per-mode lines).
    #[arg(long)]
    pub quiet: bool,
    /// Print summary.json to stdout instead of the table; everything else (progress, and a
    /// checked command's own stdout) goes to stderr.
    #[arg(long)]
    pub json: bool,
}

/// The built-in server's options, the same for a run, `harness serve` and `harness exec`. Its
/// port is not among them: `serve` listens on a fixed default, the others on an ephemeral one.
#[derive(Debug, Clone, Args)]
pub struct ServerArgs {
    /// TLS version the server offers (and a run's clients use).
    #[arg(long, value_enum, default_value_t)]
    pub tls: TlsVersion,
    /// Size of the server's response body, bytes.
    #[arg(long, default_value_t = defaults::BODY_BYTES, value_parser = clap::value_parser!(u32).range(0..=i64::from(defaults::MAX_BODY_BYTES)))]
    pub body_bytes: u32,
}

/// Options of `harness serve`.
#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// Port on 127.0.0.1 (0: an ephemeral port).
    #[arg(long, default_value_t = defaults::SERVE_PORT)]
    pub port: u16,
    #[command(flatten)]
    pub server: ServerArgs,
    #[arg(long, default_value = defaults::CERTS_DIR)]
    pub certs_dir: PathBuf,
}

/// Options of `harness exec`.
#[derive(Debug, Clone, Args)]
pub struct ExecArgs {
    #[arg(long, value_parser = positive_duration, help = format!(
        "Stop the command (SIGTERM, then SIGKILL after {}) if it runs longer than this (humantime: 30s, 10m); without it the check lasts as long as the command",
        humantime::format_duration(defaults::EXEC_KILL_GRACE)
    ))]
    pub duration: Option<Duration>,
    /// Exit 1 when this condition over a summary field holds, e.g.
    /// 'new_connections_per_request > 0.1' (repeatable).
    #[arg(long = "fail-if", value_name = "EXPR")]
    pub fail_if: Vec<Condition>,
    /// Count the command's heap with valgrind's DHAT (slow; not a timed check).
    #[arg(long, value_enum, default_value_t)]
    pub heap: HeapTool,
    /// With --heap valgrind: where the heap bytes went, each process's DHAT profile attributed
    /// to owners (rustls, hyper, reqwest, tokio, OpenSSL, Python's `_ssl`, other) by the
    /// `--breakdown` rules, per connection and per request.
    #[arg(long)]
    pub breakdown: bool,
    #[arg(long, default_value_t = defaults::EXEC_SAMPLE_INTERVAL.into(), value_parser = sample_interval, help = format!(
        "How often the command's processes and the server are sampled (at least {})",
        min_interval()
    ))]
    pub sample_interval: humantime::Duration,
    #[command(flatten)]
    pub server: ServerArgs,
    /// Server port on 127.0.0.1 (0: an ephemeral port).
    #[arg(long, default_value_t = 0)]
    pub port: u16,
    #[command(flatten)]
    pub report: ReportArgs,
    /// The command to check and its arguments (after `--`).
    #[arg(
        required = true,
        trailing_var_arg = true,
        allow_hyphen_values = true,
        value_name = "COMMAND"
    )]
    pub command: Vec<String>,
}

impl ExecArgs {
    /// The checked form of `harness exec`'s options.
    pub fn plan(&self) -> ExecPlan {
        ExecPlan {
            command: self.command.clone(),
            duration: self.duration,
            conditions: self.fail_if.clone(),
            heap: self.heap,
            breakdown: self.breakdown,
            server: ServerPlan {
                port: self.port,
                tls: self.server.tls,
                body_bytes: self.server.body_bytes,
                sample_interval: self.sample_interval.into(),
                cache: crate::vocab::server_cache::ServerCachePolicy::default(),
                certs_dir: self.report.certs_dir.clone(),
            },
            out: self.report.out.clone(),
            stdout_to_stderr: self.report.json,
        }
    }
}

fn positive_f64(s: &str) -> Result<f64, String> {
    let v: f64 = s
        .trim()
        .parse()
        .map_err(|_| format!("`{s}` is not a number"))?;
    if !v.is_finite() || v <= 0.0 {
        return Err(format!("must be a number greater than 0, got `{s}`"));
    }
    if v > 1e7 {
        return Err(format!("`{s}` is implausibly large"));
    }
    Ok(v)
}

fn https_url(s: &str) -> Result<String, String> {
    let uri: hyper::Uri = s.parse().map_err(|e| format!("`{s}` is not a URL ({e})"))?;
    if uri.scheme_str() != Some("https") {
        return Err(format!("`{s}` is not an https:// URL"));
    }
    if uri.host().is_none() {
        return Err(format!("`{s}` has no host"));
    }
    Ok(s.to_string())
}

fn duration(s: &str) -> Result<humantime::Duration, String> {
    s.trim()
        .parse::<humantime::Duration>()
        .map_err(|e| format!("`{s}` is not a duration like 90s or 10m ({e})"))
}

fn positive_duration(s: &str) -> Result<Duration, String> {
    let d: Duration = duration(s)?.into();
    if d.is_zero() {
        return Err(format!("must be longer than 0, got `{s}`"));
    }
    Ok(d)
}

/// The shortest sample interval, as `--sample-interval` spells it.
fn min_interval() -> humantime::FormattedDuration {
    humantime::format_duration(defaults::MIN_SAMPLE_INTERVAL)
}

fn sample_interval(s: &str) -> Result<humantime::Duration, String> {
    let d = duration(s)?;
    if *d < defaults::MIN_SAMPLE_INTERVAL {
        return Err(format!(
            "`{s}` is shorter than the {} minimum",
            min_interval()
        ));
    }
    Ok(d)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::contract::plan::RetentionSpec;
    use crate::contract::plan::RunPlan;
    use crate::vocab::server_cache::ServerCachePolicy;

    fn parse(args: &[&str]) -> Result<RunPlan, String> {
        let mut full = vec!["harness"];
        full.extend_from_slice(args);
        let cli = Cli::try_parse_from(full).map_err(|e| e.to_string())?;
        cli.run.plan().map_err(|e| e.to_string())
    }

    #[test]
    fn defaults() {
        let p = parse(&[]).expect("defaults parse");
        assert_eq!(p.rate, defaults::RATE);
        assert_eq!(p.duration, defaults::DURATION);
        assert_eq!(p.modes, vec![Mode::Fresh, Mode::Shared]);
        assert_eq!(p.clients, vec![ClientKind::Hyper]);
        assert_eq!(p.client_cache, defaults::CLIENT_CACHE);
        assert_eq!(p.body_bytes, defaults::BODY_BYTES);
        assert_eq!(p.sample_interval, defaults::SAMPLE_INTERVAL);
        assert_eq!(p.target, crate::contract::plan::Target::Builtin { port: 0 });
    }

    #[test]
    fn durations() {
        for (args, want) in [
            (&["--minutes", "10"][..], Duration::from_secs(600)),
            (&["--seconds", "1.5"], Duration::from_millis(1500)),
            (&["--duration", "30s"], Duration::from_secs(30)),
            (&["--duration", "1m30s"], Duration::from_secs(90)),
        ] {
            assert_eq!(parse(args).expect("ok").duration, want, "{args:?}");
        }
        assert!(parse(&["--minutes", "1", "--seconds", "1"]).is_err());
        assert!(parse(&["--duration", "1s", "--seconds", "1"]).is_err());
        assert!(parse(&["--duration", "0s"]).is_err());
    }

    #[test]
    fn typed_values_list_their_names() {
        let e = parse(&["--mode", "fresk"]).expect_err("typo");
        assert!(e.contains("fresh"), "{e}");
        assert!(
            e.contains("possible values") || e.contains("similar"),
            "{e}"
        );
    }

    #[test]
    fn rejects_bad_values() {
        for bad in [
            &["--rate", "0"][..],
            &["--rate", "abc"],
            &["--rate", "-5"],
            &["--rate", "NaN"],
            &["--rate", "inf"],
            &["--seconds", "-1"],
            &["--minutes", "0"],
            &["--mode", "bogus"],
            &["--mode", "fresh,fresh"],
            &["--client", "hyper,hyper"],
            &["--tls", "1.1"],
            &["--max-in-flight", "0"],
            &["--sample-interval", "1ms"],
            &["--sample-interval", "soon"],
            &["--rate", "0.001", "--seconds", "1"],
            &["--retention", "-1"],
            &["--retention", "ten minutes"],
            &["--clock", "fast"],
            &["--server-cache", "lru"],
            &["--server-cache-size", "10"],
            &["--server-cache", "ttl", "--clock", "virtual"],
            &["--server-cache", "ttl", "--server-cache-ttl", "0s"],
            &["--target", "http://localhost:1/"],
            &["--target", "not a url"],
            &["--target", "https://localhost:1/"],
            &["--ca", "ca.pem"],
            &[
                "--target",
                "https://localhost:1/",
                "--ca",
                "/nonexistent.pem",
            ],
            &["--client", "reqwest", "--client-cache", "0"],
            &["--client", "reqwest-native", "--roots", "webpki"],
            &["--client", "reqwest-native", "--kx", "x25519"],
            &["--client", "hyper,reqwest-native", "--client-cache", "0"],
        ] {
            assert!(parse(bad).is_err(), "{bad:?} should be rejected");
        }
    }

    #[test]
    fn reqwest_native_needs_the_native_tls_build() {
        let r = parse(&["--client", "hyper,reqwest-native"]);
        if crate::vocab::client::NATIVE_TLS_BUILT {
            assert!(r.is_ok(), "{r:?}");
        } else {
            let e = r.expect_err("refused without the native-tls feature");
            assert!(!e.contains('\n'), "one line: {e}");
            assert!(e.contains("--features native-tls"), "{e}");
            assert!(e.contains("libssl-dev pkg-config"), "{e}");
        }
    }

    #[test]
    fn retention_and_caches() {
        let p = parse(&[]).expect("ok");
        assert_eq!(p.retention.map(|r| r.ttl), Some(defaults::RETENTION));
        assert_eq!(parse(&["--retention", "0"]).expect("ok").retention, None);
        let p = parse(&["--retention", "90s", "--retention-cap", "5"]).expect("ok");
        assert_eq!(
            p.retention,
            Some(RetentionSpec {
                ttl: Duration::from_secs(90),
                cap: Some(5)
            })
        );
        let p = parse(&["--server-cache", "ttl", "--server-cache-ttl", "1m"]).expect("ok");
        assert_eq!(
            p.server_cache,
            ServerCachePolicy::Ttl {
                ttl: Duration::from_secs(60),
                capacity: defaults::SERVER_CACHE_SIZE
            }
        );
    }

    #[test]
    fn modes_list() {
        let p = parse(&["--mode", "fresh,leak,shared,resume"]).expect("ok");
        assert_eq!(p.modes, Mode::ALL.to_vec());
    }
}
