//! The run plan: the command line parsed into checked values, once, at the edge.
//!
//! The CLI ([`crate::cli`]) only spells options; [`RunPlan::from_args`] checks them together
//! and produces the one value the orchestrator, the workers and the summary read. Every
//! default lives in [`defaults`]: nothing else repeats a 256 or a 128 (ARCHITECTURE.md,
//! "Run plan").

use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::cli::RunArgs;
use crate::load::Clock;
use crate::mode::Mode;
use crate::retention::RetentionSpec;
use crate::server_cache::ServerCachePolicy;
use crate::session::ClientKind;
use crate::tls::{KxChoice, RootsChoice, TlsVersion};

/// Defaults of every option, in one place (clap shows them in `--help`).
pub mod defaults {
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
    /// Port of `harness serve`.
    pub const SERVE_PORT: u16 = 8443;
    /// Most requests one mode may schedule.
    pub const MAX_PLANNED: f64 = 1e9;
    /// How often `harness exec` samples the command's processes and the server: finer than a
    /// run's, because the programs it checks often live for a second or two.
    pub const EXEC_SAMPLE_INTERVAL: Duration = Duration::from_millis(100);
    /// How long `harness exec` waits for a command to exit after SIGTERM before SIGKILL.
    pub const EXEC_KILL_GRACE: Duration = Duration::from_secs(5);
}

crate::choice! {
    /// The server session store policy, as `--server-cache` names it.
    pub enum ServerCacheKind ("server cache") {
        /// rustls's default: count-bounded, oldest evicted first.
        Rustls = "rustls",
        /// OpenSSL's model: entries expire after a TTL, count-bounded.
        Ttl = "ttl",
    }
}

/// Where the load goes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Target {
    /// The harness's own server, one per mode, on 127.0.0.1:`port` (0: ephemeral).
    Builtin { port: u16 },
    /// An external HTTPS server: no server-side figures.
    External {
        url: String,
        /// PEM file of the CA(s) that sign its certificate.
        ca: Option<PathBuf>,
    },
}

/// What a server worker needs: the built-in server's settings, shared by a run's legs and by
/// `harness exec`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ServerPlan {
    /// Port on 127.0.0.1 (0: ephemeral).
    pub port: u16,
    pub tls: TlsVersion,
    pub body_bytes: u32,
    pub sample_interval: Duration,
    pub cache: ServerCachePolicy,
    pub certs_dir: PathBuf,
}

/// A checked run: every option valid on its own and in combination.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunPlan {
    pub rate: f64,
    pub duration: Duration,
    /// Modes, each distinct, run one after another.
    pub modes: Vec<Mode>,
    /// Clients, each distinct; each mode runs with each.
    pub clients: Vec<ClientKind>,
    pub tls: TlsVersion,
    pub kx: KxChoice,
    pub roots: RootsChoice,
    pub client_cache: usize,
    pub max_in_flight: u32,
    pub sample_interval: Duration,
    pub body_bytes: u32,
    pub target: Target,
    pub clock: Clock,
    pub retention: Option<RetentionSpec>,
    pub server_cache: ServerCachePolicy,
    /// `--breakdown`: each client worker profiles its load with dhat (see `breakdown`).
    pub breakdown: bool,
    pub max_open: Option<u64>,
    pub out: PathBuf,
    pub certs_dir: PathBuf,
}

/// Why a combination of options cannot run.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PlanError {
    #[error("--{flag} lists `{value}` twice")]
    Repeated { flag: &'static str, value: String },
    #[error("--{0} needs at least one value")]
    Empty(&'static str),
    #[error("reqwest does not expose --kx or --client-cache; use them with --client hyper (or --roots webpki, which hands reqwest a rustls config)")]
    ReqwestKnobs,
    /// OpenSSL has its own knobs; the rustls ones would silently do nothing to it.
    #[error("--client reqwest-native (OpenSSL) has no --kx, --client-cache or --roots webpki (rustls settings); use --roots ca or system")]
    NativeKnobs,
    /// `reqwest-native` is in the closed set of clients in every build, so the name is
    /// refused here, with what to rebuild, rather than unknown to clap.
    #[error("--client reqwest-native: {}", crate::session::NATIVE_TLS_NOT_BUILT)]
    NativeTlsNotBuilt,
    #[error("--roots system: {0}")]
    SystemRoots(String),
    #[error("--rate {rate} for {duration:?} schedules no request; raise the rate or the duration")]
    NoRequest { rate: f64, duration: Duration },
    #[error("--rate × duration schedules {0:.0} requests per mode; the limit is 1e9")]
    TooMany(f64),
    #[error("--sample-interval is longer than the run")]
    SampleInterval,
    #[error("--server-cache-ttl and --server-cache-size need --server-cache ttl")]
    TtlOptions,
    #[error("--server-cache ttl expires on the server's wall clock, which --clock virtual does not drive; use --clock real")]
    TtlVirtual,
    #[error("--server-cache-ttl must be greater than 0")]
    ZeroTtl,
    #[error("--target needs --ca FILE (or --roots webpki for a publicly trusted server)")]
    TargetCa,
    #[error("--port sets the built-in server's port; it has no meaning with --target")]
    TargetPort,
    #[error("--ca: {0}")]
    Ca(String),
}

fn distinct<T: PartialEq + std::fmt::Display>(
    flag: &'static str,
    values: &[T],
) -> Result<(), PlanError> {
    if values.is_empty() {
        return Err(PlanError::Empty(flag));
    }
    for (i, v) in values.iter().enumerate() {
        if values[..i].contains(v) {
            return Err(PlanError::Repeated {
                flag,
                value: v.to_string(),
            });
        }
    }
    Ok(())
}

/// Requests a schedule of `rate` per second over `duration` calls for: one every 1/R.
pub fn planned(rate: f64, duration: Duration) -> u64 {
    ((rate * duration.as_secs_f64()).ceil() as u64).max(1)
}

impl RunPlan {
    /// Checks the command line's options together; the one place a combination is refused.
    pub fn from_args(o: &RunArgs) -> Result<RunPlan, PlanError> {
        let duration = o.duration();
        distinct("mode", &o.mode)?;
        distinct("client", &o.client)?;
        if o.client.contains(&ClientKind::Reqwest)
            && o.roots != RootsChoice::Webpki
            && (o.kx != KxChoice::Default || o.client_cache != defaults::CLIENT_CACHE)
        {
            return Err(PlanError::ReqwestKnobs);
        }
        if o.client.contains(&ClientKind::ReqwestNative)
            && (o.roots == RootsChoice::Webpki
                || o.kx != KxChoice::Default
                || o.client_cache != defaults::CLIENT_CACHE)
        {
            return Err(PlanError::NativeKnobs);
        }
        if o.client.contains(&ClientKind::ReqwestNative) && !crate::session::NATIVE_TLS_BUILT {
            return Err(PlanError::NativeTlsNotBuilt);
        }
        if o.roots == RootsChoice::System {
            crate::tls::system_roots().map_err(|e| PlanError::SystemRoots(e.to_string()))?;
        }
        let planned = o.rate * duration.as_secs_f64();
        if planned < 1.0 {
            return Err(PlanError::NoRequest {
                rate: o.rate,
                duration,
            });
        }
        if planned > defaults::MAX_PLANNED {
            return Err(PlanError::TooMany(planned));
        }
        if *o.sample_interval > duration {
            return Err(PlanError::SampleInterval);
        }
        let server_cache = match o.server_cache {
            ServerCacheKind::Rustls => {
                if o.server_cache_ttl.is_some() || o.server_cache_size.is_some() {
                    return Err(PlanError::TtlOptions);
                }
                ServerCachePolicy::Bounded {
                    capacity: defaults::SERVER_CACHE_ENTRIES,
                }
            }
            ServerCacheKind::Ttl => {
                if o.clock == Clock::Virtual {
                    return Err(PlanError::TtlVirtual);
                }
                let ttl = o
                    .server_cache_ttl
                    .map_or(defaults::SERVER_CACHE_TTL, Into::into);
                if ttl.is_zero() {
                    return Err(PlanError::ZeroTtl);
                }
                ServerCachePolicy::Ttl {
                    ttl,
                    capacity: o.server_cache_size.unwrap_or(defaults::SERVER_CACHE_SIZE),
                }
            }
        };
        let target = match o.target.clone() {
            None => Target::Builtin { port: o.port },
            Some(url) => {
                if o.ca.is_none() && o.roots == RootsChoice::Ca {
                    return Err(PlanError::TargetCa);
                }
                if o.port != 0 {
                    return Err(PlanError::TargetPort);
                }
                if let Some(ca) = &o.ca {
                    crate::certs::read_bundle(ca).map_err(|e| PlanError::Ca(e.to_string()))?;
                }
                Target::External {
                    url,
                    ca: o.ca.clone(),
                }
            }
        };
        Ok(RunPlan {
            rate: o.rate,
            duration,
            modes: o.mode.clone(),
            clients: o.client.clone(),
            tls: o.tls,
            kx: o.kx,
            roots: o.roots,
            client_cache: o.client_cache,
            max_in_flight: o.max_in_flight,
            sample_interval: o.sample_interval.into(),
            body_bytes: o.body_bytes,
            target,
            clock: o.clock,
            retention: (!o.retention.is_zero()).then_some(RetentionSpec {
                ttl: o.retention.into(),
                cap: o.retention_cap,
            }),
            server_cache,
            breakdown: o.breakdown,
            max_open: o.max_open,
            out: o.report.out.clone(),
            certs_dir: o.report.certs_dir.clone(),
        })
    }

    /// Requests the schedule calls for per mode.
    pub fn planned(&self) -> u64 {
        planned(self.rate, self.duration)
    }

    /// Every (mode, client) pair, in run order: modes outer, clients inner.
    pub fn legs(&self) -> Vec<(Mode, ClientKind)> {
        self.modes
            .iter()
            .flat_map(|m| self.clients.iter().map(move |c| (*m, *c)))
            .collect()
    }

    /// The built-in server's settings (`None` with an external target).
    pub fn server_plan(&self) -> Option<ServerPlan> {
        match self.target {
            Target::Builtin { port } => Some(ServerPlan {
                port,
                tls: self.tls,
                body_bytes: self.body_bytes,
                sample_interval: self.sample_interval,
                cache: self.server_cache,
                certs_dir: self.certs_dir.clone(),
            }),
            Target::External { .. } => None,
        }
    }

    /// The external target's URL, if the run has one.
    pub fn external_url(&self) -> Option<&str> {
        match &self.target {
            Target::External { url, .. } => Some(url),
            Target::Builtin { .. } => None,
        }
    }
}
