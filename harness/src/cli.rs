//! Command-line arguments and their validation. Every bad value is rejected here with a
//! one-line message before anything runs.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};

use crate::load::Clock;
use crate::mode::Mode;
use crate::retention::RetentionSpec;
use crate::server_cache::{ServerCachePolicy, RUSTLS_DEFAULT_CAPACITY};
use crate::session::ClientKind;
use crate::tls::{KxChoice, RootsChoice, TlsVersion};

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
        #[arg(long, default_value = "certs")]
        certs_dir: PathBuf,
    },
    /// Run the HTTPS server alone, for real clients (curl, openssl s_client), until Ctrl-C.
    Serve(ServeArgs),
    /// Redraw the SVGs and index.html of a report directory from its summary.json and timeline.csv.
    Report {
        /// A report directory, e.g. reports/latest.
        dir: PathBuf,
    },
    /// Internal: a worker process (`server` or `client`) with its JSON configuration.
    #[command(name = "__worker", hide = true)]
    Worker { role: String, config: String },
}

/// Options of a load run.
#[derive(Debug, Clone, Args)]
pub struct RunArgs {
    /// Requests per second, started on schedule whatever earlier requests are doing.
    #[arg(long, default_value = "100", value_parser = positive_f64, allow_hyphen_values = true)]
    pub rate: f64,
    /// Load duration per mode, in minutes.
    #[arg(long, value_parser = positive_f64, allow_hyphen_values = true, conflicts_with = "seconds")]
    pub minutes: Option<f64>,
    /// Load duration per mode, in seconds [default: 60].
    #[arg(long, value_parser = positive_f64, allow_hyphen_values = true)]
    pub seconds: Option<f64>,
    /// Session modes, comma-separated, run one after another: fresh, leak, shared, resume.
    #[arg(long, value_delimiter = ',', default_value = "fresh,shared")]
    pub mode: Vec<Mode>,
    /// TLS version both sides use: 1.2 or 1.3.
    #[arg(long, default_value = "1.3")]
    pub tls: TlsVersion,
    /// Key exchange the client offers: default (rustls's list) or x25519.
    #[arg(long, default_value = "default")]
    pub kx: KxChoice,
    /// Session implementations, comma-separated: hyper (hyper-util over rustls) and/or
    /// reqwest (reqwest::Client with its default features); each mode runs with each.
    #[arg(long, value_delimiter = ',', default_value = "hyper")]
    pub client: Vec<ClientKind>,
    /// Roots each session loads: ca (the harness CA), webpki (Mozilla's set + the CA) or
    /// system (the OS store + the CA, what a default client does).
    #[arg(long, default_value = "ca")]
    pub roots: RootsChoice,
    /// Capacity of each session's rustls resumption store (0 disables resumption).
    #[arg(long, default_value = "256")]
    pub client_cache: usize,
    /// Most requests in flight at once; a start that finds none free waits and counts as late.
    #[arg(long, default_value = "256", value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub max_in_flight: u32,
    /// How often each worker samples itself (humantime: 1s, 500ms).
    #[arg(long, default_value = "1s", value_parser = sample_interval)]
    pub sample_interval: Duration,
    /// Size of the server's response body, bytes.
    #[arg(long, default_value = "128", value_parser = clap::value_parser!(u32).range(0..=16_777_216))]
    pub body_bytes: u32,
    /// Server port (0: an ephemeral port).
    #[arg(long, default_value = "0")]
    pub port: u16,
    /// real: wall time. virtual: the same request sequence as fast as possible, request i
    /// stamped i/R, so a 10-minute memory curve is reproduced in far less wall time.
    #[arg(long, default_value = "real")]
    pub clock: Clock,
    /// How long a fresh session's TLS state is retained after the session is invalidated,
    /// as a platform TLS cache does (Apple: ~10 minutes); 0 turns retention off.
    #[arg(long, default_value = "10m", value_parser = retention_duration)]
    pub retention: Duration,
    /// At most this many retained sessions (oldest evicted first).
    #[arg(long)]
    pub retention_cap: Option<usize>,
    /// Server session store: rustls (its default, 256 entries) or ttl (OpenSSL's model).
    #[arg(long, default_value = "rustls", value_parser = ["rustls", "ttl"])]
    pub server_cache: String,
    /// Lifetime of server session-store entries with --server-cache ttl [default: 300s].
    #[arg(long, value_parser = retention_duration)]
    pub server_cache_ttl: Option<Duration>,
    /// Capacity of the server session store with --server-cache ttl [default: 20480].
    #[arg(long)]
    pub server_cache_size: Option<usize>,
    /// Write a dhat heap profile of each mode's client worker (slows it: not a timed run).
    #[arg(long)]
    pub dhat: bool,
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
    /// Where report directories are created.
    #[arg(long, default_value = "reports")]
    pub out: PathBuf,
    /// Where the CA and server certificates are kept (generated on first use).
    #[arg(long, default_value = "certs")]
    pub certs_dir: PathBuf,
    /// No progress bar.
    #[arg(long)]
    pub quiet: bool,
}

/// Options of `harness serve`.
#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// Port on 127.0.0.1 (0: an ephemeral port).
    #[arg(long, default_value = "8443")]
    pub port: u16,
    /// TLS version: 1.2 or 1.3.
    #[arg(long, default_value = "1.3")]
    pub tls: TlsVersion,
    /// Size of the response body, bytes.
    #[arg(long, default_value = "128", value_parser = clap::value_parser!(u32).range(0..=16_777_216))]
    pub body_bytes: u32,
    #[arg(long, default_value = "certs")]
    pub certs_dir: PathBuf,
}

/// Default load duration when neither --minutes nor --seconds is given.
pub const DEFAULT_DURATION: Duration = Duration::from_secs(60);

impl RunArgs {
    /// The load duration per mode.
    pub fn duration(&self) -> Duration {
        match (self.minutes, self.seconds) {
            (Some(m), _) => Duration::from_secs_f64(m * 60.0),
            (None, Some(s)) => Duration::from_secs_f64(s),
            (None, None) => DEFAULT_DURATION,
        }
    }

    /// Checks what clap cannot: combinations.
    pub fn validate(&self) -> Result<(), String> {
        let mut seen = Vec::new();
        for m in &self.mode {
            if seen.contains(m) {
                return Err(format!("--mode lists `{m}` twice"));
            }
            seen.push(*m);
        }
        if self.mode.is_empty() {
            return Err("--mode needs at least one mode".into());
        }
        let mut seen_clients = Vec::new();
        for c in &self.client {
            if seen_clients.contains(c) {
                return Err(format!("--client lists `{c}` twice"));
            }
            seen_clients.push(*c);
        }
        if self.client.contains(&ClientKind::Reqwest)
            && self.roots != RootsChoice::Webpki
            && (self.kx != KxChoice::Default || self.client_cache != 256)
        {
            return Err("reqwest does not expose --kx or --client-cache; use them with --client hyper (or --roots webpki, which hands reqwest a rustls config)".into());
        }
        if self.roots == RootsChoice::System {
            crate::tls::system_roots().map_err(|e| e.to_string())?;
        }
        let planned = self.rate * self.duration().as_secs_f64();
        if planned < 1.0 {
            return Err(format!(
                "--rate {} for {:?} schedules no request; raise the rate or the duration",
                self.rate,
                self.duration()
            ));
        }
        if planned > 1e9 {
            return Err(format!(
                "--rate × duration schedules {planned:.0} requests per mode; the limit is 1e9"
            ));
        }
        if self.sample_interval > self.duration() {
            return Err("--sample-interval is longer than the run".into());
        }
        if self.server_cache != "ttl"
            && (self.server_cache_ttl.is_some() || self.server_cache_size.is_some())
        {
            return Err(
                "--server-cache-ttl and --server-cache-size need --server-cache ttl".into(),
            );
        }
        if self.server_cache == "ttl" && self.clock == Clock::Virtual {
            return Err(
                "--server-cache ttl expires on the server's wall clock, which --clock virtual does not drive; use --clock real"
                    .into(),
            );
        }
        if self.target.is_some() {
            if self.ca.is_none() && self.roots == RootsChoice::Ca {
                return Err(
                    "--target needs --ca FILE (or --roots webpki for a publicly trusted server)"
                        .into(),
                );
            }
            if self.port != 0 {
                return Err(
                    "--port sets the built-in server's port; it has no meaning with --target"
                        .into(),
                );
            }
            if let Some(ca) = &self.ca {
                crate::certs::read_bundle(ca).map_err(|e| format!("--ca: {e}"))?;
            }
        }
        if self.server_cache_ttl == Some(Duration::ZERO) {
            return Err("--server-cache-ttl must be greater than 0".into());
        }
        Ok(())
    }

    /// The retention model in force, if any.
    pub fn retention_spec(&self) -> Option<RetentionSpec> {
        (!self.retention.is_zero()).then_some(RetentionSpec {
            ttl: self.retention,
            cap: self.retention_cap,
        })
    }

    /// The server's session store policy.
    pub fn server_cache_policy(&self) -> ServerCachePolicy {
        if self.server_cache == "ttl" {
            ServerCachePolicy::Ttl {
                ttl: self.server_cache_ttl.unwrap_or(Duration::from_secs(300)),
                capacity: self.server_cache_size.unwrap_or(20480),
            }
        } else {
            ServerCachePolicy::Bounded {
                capacity: RUSTLS_DEFAULT_CAPACITY,
            }
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

fn retention_duration(s: &str) -> Result<Duration, String> {
    humantime::parse_duration(s.trim())
        .map_err(|e| format!("`{s}` is not a duration like 90s or 10m ({e})"))
}

fn sample_interval(s: &str) -> Result<Duration, String> {
    let d = humantime::parse_duration(s).map_err(|e| format!("`{s}`: {e}"))?;
    if d < Duration::from_millis(10) {
        return Err(format!("`{s}` is shorter than the 10ms minimum"));
    }
    Ok(d)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<RunArgs, String> {
        let mut full = vec!["harness"];
        full.extend_from_slice(args);
        let cli = Cli::try_parse_from(full).map_err(|e| e.to_string())?;
        cli.run.validate()?;
        Ok(cli.run)
    }

    #[test]
    fn defaults() {
        let a = parse(&[]).expect("defaults parse");
        assert_eq!(a.rate, 100.0);
        assert_eq!(a.duration(), DEFAULT_DURATION);
        assert_eq!(a.mode, vec![Mode::Fresh, Mode::Shared]);
    }

    #[test]
    fn durations() {
        assert_eq!(
            parse(&["--minutes", "10"]).expect("ok").duration(),
            Duration::from_secs(600)
        );
        assert_eq!(
            parse(&["--seconds", "1.5"]).expect("ok").duration(),
            Duration::from_millis(1500)
        );
        assert!(parse(&["--minutes", "1", "--seconds", "1"]).is_err());
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
        ] {
            assert!(parse(bad).is_err(), "{bad:?} should be rejected");
        }
    }

    #[test]
    fn retention_and_caches() {
        let a = parse(&[]).expect("ok");
        assert_eq!(
            a.retention_spec().map(|r| r.ttl),
            Some(Duration::from_secs(600))
        );
        assert_eq!(
            parse(&["--retention", "0"]).expect("ok").retention_spec(),
            None
        );
        let a = parse(&["--retention", "90s", "--retention-cap", "5"]).expect("ok");
        assert_eq!(
            a.retention_spec(),
            Some(RetentionSpec {
                ttl: Duration::from_secs(90),
                cap: Some(5)
            })
        );
        let a = parse(&["--server-cache", "ttl", "--server-cache-ttl", "1m"]).expect("ok");
        assert_eq!(
            a.server_cache_policy(),
            ServerCachePolicy::Ttl {
                ttl: Duration::from_secs(60),
                capacity: 20480
            }
        );
    }

    #[test]
    fn modes_list() {
        let a = parse(&["--mode", "fresh,leak,shared,resume"]).expect("ok");
        assert_eq!(a.mode, Mode::ALL.to_vec());
    }
}
