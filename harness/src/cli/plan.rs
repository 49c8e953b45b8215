//! `RunArgs::plan`: the options checked together into the `RunPlan`; a combination is refused here.

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
    pub fn plan(&self) -> Result<RunPlan, PlanError> {
        let duration = self.duration();
        distinct("mode", &self.mode)?;
        distinct("client", &self.client)?;
        let knobs = self.kx != KxChoice::Default || self.client_cache != defaults::CLIENT_CACHE;
        let webpki = self.roots == RootsChoice::Webpki;
        if self.client.contains(&ClientKind::Reqwest) && !webpki && knobs {
            return Err(PlanError::ReqwestKnobs);
        }
        let native = self.client.contains(&ClientKind::ReqwestNative);
        if native && (webpki || knobs) {
            return Err(PlanError::NativeKnobs);
        }
        if native && !crate::vocab::client::NATIVE_TLS_BUILT {
            return Err(PlanError::NativeTlsNotBuilt);
        }
        if self.roots == RootsChoice::System {
            crate::tls::config::system_roots()
                .map_err(|e| PlanError::SystemRoots(e.to_string()))?;
        }
        let planned = self.rate * duration.as_secs_f64();
        if planned < 1.0 {
            return Err(PlanError::NoRequest {
                rate: self.rate,
                duration,
            });
        }
        if planned > defaults::MAX_PLANNED {
            return Err(PlanError::TooMany(planned));
        }
        if *self.sample_interval > duration {
            return Err(PlanError::SampleInterval);
        }
        let server_cache = match self.server_cache {
            ServerCacheKind::Rustls => {
                if self.server_cache_ttl.is_some() || self.server_cache_size.is_some() {
                    return Err(PlanError::TtlOptions);
                }
                ServerCachePolicy::Bounded {
                    capacity: defaults::SERVER_CACHE_ENTRIES,
                }
            }
            ServerCacheKind::Ttl => {
                if self.clock == Clock::Virtual {
                    return Err(PlanError::TtlVirtual);
                }
                let ttl = self
                    .server_cache_ttl
                    .map_or(defaults::SERVER_CACHE_TTL, Into::into);
                if ttl.is_zero() {
                    return Err(PlanError::ZeroTtl);
                }
                ServerCachePolicy::Ttl {
                    ttl,
                    capacity: self
                        .server_cache_size
                        .unwrap_or(defaults::SERVER_CACHE_SIZE),
                }
            }
        };
        let target = match self.target.clone() {
            None => Target::Builtin { port: self.port },
            Some(url) => {
                if self.ca.is_none() && self.roots == RootsChoice::Ca {
                    return Err(PlanError::TargetCa);
                }
                if self.port != 0 {
                    return Err(PlanError::TargetPort);
                }
                if let Some(ca) = &self.ca {
                    crate::tls::certs::read_bundle(ca).map_err(|e| PlanError::Ca(e.to_string()))?;
                }
                Target::External {
                    url,
                    ca: self.ca.clone(),
                }
            }
        };
        Ok(RunPlan {
            rate: self.rate,
            duration,
            modes: self.mode.clone(),
            clients: self.client.clone(),
            tls: self.server.tls,
            kx: self.kx,
            roots: self.roots,
            client_cache: self.client_cache,
            max_in_flight: self.max_in_flight,
            sample_interval: self.sample_interval.into(),
            body_bytes: self.server.body_bytes,
            target,
            clock: self.clock,
            retention: (!self.retention.is_zero()).then_some(RetentionSpec {
                ttl: self.retention.into(),
                cap: self.retention_cap,
            }),
            server_cache,
            breakdown: self.breakdown,
            max_open: self.max_open,
            out: self.report.out.clone(),
            certs_dir: self.report.certs_dir.clone(),
        })
    }
}
