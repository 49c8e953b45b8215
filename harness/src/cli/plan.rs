//! The run plan built from the command line: the one place where a *combination* of options is
//! refused ([`PlanError`]) and derived settings are settled (ARCHITECTURE.md, "Run plan").
//! Single values were parsed into their types by clap already ([`super`]).

use crate::cli::args::RunArgs;
use crate::contract::plan::{RetentionSpec, RunPlan, Target};
use crate::vocab::client::ClientKind;
use crate::vocab::clock::Clock;
use crate::vocab::defaults;
use crate::vocab::server_cache::{ServerCacheKind, ServerCachePolicy};
use crate::vocab::tls::{KxChoice, RootsChoice};
use std::time::Duration;

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
    #[error(
        "--client reqwest-native: {}",
        crate::vocab::client::NATIVE_TLS_NOT_BUILT
    )]
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

impl RunArgs {
    /// Checks the command line's options together and returns the run plan: the one place a
    /// combination is refused.
    pub fn plan(&self) -> Result<RunPlan, PlanError> {
        let o = self;
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
        if o.client.contains(&ClientKind::ReqwestNative) && !crate::vocab::client::NATIVE_TLS_BUILT
        {
            return Err(PlanError::NativeTlsNotBuilt);
        }
        if o.roots == RootsChoice::System {
            crate::tls::config::system_roots()
                .map_err(|e| PlanError::SystemRoots(e.to_string()))?;
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
                    crate::tls::certs::read_bundle(ca).map_err(|e| PlanError::Ca(e.to_string()))?;
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
}
