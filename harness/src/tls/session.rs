//! A client session (hyper, reqwest, reqwest-native), the factory that builds it, its failures.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper::Uri;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;

use crate::tls::config::{ClientTls, TlsError};
use crate::tls::connector::{ConnStats, ConnTag, ConnUse, CountingConnector};
use crate::vocab::client::{ClientKind, NATIVE_TLS_NOT_BUILT};
use crate::vocab::tls::RootsChoice;

/// How long one request may take before it fails as `timeout`.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// How a session keeps connections.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pooling {
    /// Keep-alive: idle connections are reused (hyper-util's default).
    KeepAlive,
    /// No idle connection is kept: every request opens a new one (resuming if it can).
    NoIdle,
}

#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error(transparent)]
    Tls(#[from] TlsError),
    #[error("reqwest: {0}")]
    Reqwest(String),
    #[error("--client reqwest-native: {}", NATIVE_TLS_NOT_BUILT)]
    NativeTlsNotBuilt,
}

/// Builds sessions with one fixed TLS set-up, counting their connections in one place.
#[derive(Clone)]
pub struct SessionFactory {
    pub kind: ClientKind,
    tls: ClientTls,
    stats: Arc<ConnStats>,
}

impl SessionFactory {
    pub fn with_kind(kind: ClientKind, tls: ClientTls) -> Self {
        Self {
            kind,
            tls,
            stats: Arc::new(ConnStats::default()),
        }
    }

    /// Pays the crypto libraries' one-time, per-process set-up ([`crate::tls::config::warm_up`])
    /// and returns how long it took, µs; no session is made.
    pub fn warm_up(&self) -> Result<u64, TlsError> {
        let t0 = std::time::Instant::now();
        // OpenSSL's library initialisation, which would land in the first build of a client
        // that uses OpenSSL (in a `native-tls` build, reqwest parses certificates through it).
        #[cfg(feature = "native-tls")]
        if self.kind != ClientKind::Hyper {
            openssl_sys::init();
        }
        crate::tls::config::warm_up(&self.tls.provider)?;
        Ok(t0.elapsed().as_micros() as u64)
    }

    /// Connection counters of every session this factory built; hyper's only (reqwest's
    /// connections are not visible to the harness).
    pub fn stats(&self) -> Option<&Arc<ConnStats>> {
        (self.kind == ClientKind::Hyper).then_some(&self.stats)
    }

    /// Builds a new session: a new `ClientConfig` (root store, resumption store), connector
    /// and pool. Synchronous, so its allocations can be charged to it exactly.
    pub fn build(&self, pooling: Pooling) -> Result<Session, BuildError> {
        match self.kind {
            ClientKind::Hyper => self.build_hyper(pooling),
            ClientKind::Reqwest => self.build_reqwest(pooling, false),
            #[cfg(feature = "native-tls")]
            ClientKind::ReqwestNative => self.build_reqwest(pooling, true),
            #[cfg(not(feature = "native-tls"))]
            ClientKind::ReqwestNative => Err(BuildError::NativeTlsNotBuilt),
        }
    }

    fn build_hyper(&self, pooling: Pooling) -> Result<Session, BuildError> {
        let cfg = Arc::new(self.tls.client_config()?);
        let connector = CountingConnector::new(cfg.clone(), self.stats.clone());
        let mut builder = Client::builder(TokioExecutor::new());
        if pooling == Pooling::NoIdle {
            builder.pool_max_idle_per_host(0);
        }
        Ok(Session::Hyper {
            client: builder.build(connector),
            tls_state: cfg,
        })
    }

    /// reqwest as a user builds it, on rustls or, `native`, on OpenSSL. `--roots system` is the
    /// backend's default verifier with the CA merged in, `ca` the CA alone, `webpki` (rustls
    /// only) a config built like the hyper session's. No proxy: traffic stays on 127.0.0.1.
    fn build_reqwest(&self, pooling: Pooling, native: bool) -> Result<Session, BuildError> {
        let err = |e: reqwest::Error| BuildError::Reqwest(e.to_string());
        let certs = || {
            self.tls
                .trusted
                .iter()
                .map(|c| reqwest::Certificate::from_der(c.as_ref()))
                .collect::<Result<Vec<_>, _>>()
                .map_err(err)
        };
        let version = match self.tls.version {
            crate::vocab::tls::TlsVersion::V12 => reqwest::tls::Version::TLS_1_2,
            crate::vocab::tls::TlsVersion::V13 => reqwest::tls::Version::TLS_1_3,
        };
        // Named: in a `native-tls` build reqwest's default backend is native-tls.
        let mut b = reqwest::Client::builder()
            .tls_backend_rustls()
            .no_proxy()
            .resolve("localhost", std::net::SocketAddr::from(([127, 0, 0, 1], 0)));
        #[cfg(feature = "native-tls")]
        if native {
            b = b.tls_backend_native();
        }
        b = match self.tls.roots {
            RootsChoice::Ca => b.tls_certs_only(certs()?),
            // reqwest's verifier would quietly fall back to the merged CA alone when the OS
            // store is empty: `RunArgs::validate` checks it once, before any worker starts.
            RootsChoice::System => b.tls_certs_merge(certs()?),
            RootsChoice::Webpki if native => {
                return Err(BuildError::Reqwest(
                    "--roots webpki has no native-tls equivalent".into(),
                ))
            }
            RootsChoice::Webpki => b.tls_backend_preconfigured(self.tls.client_config()?),
        };
        if self.tls.roots != RootsChoice::Webpki {
            b = b.tls_version_min(version).tls_version_max(version);
        }
        if pooling == Pooling::NoIdle {
            b = b.pool_max_idle_per_host(0);
        }
        Ok(Session::Reqwest(b.build().map_err(err)?))
    }
}

/// One client session. Boxing the larger variant would add an allocation to every session the
/// harness measures.
#[allow(clippy::large_enum_variant)]
pub enum Session {
    Hyper {
        client: Client<CountingConnector, Empty<Bytes>>,
        tls_state: Arc<rustls::ClientConfig>,
    },
    Reqwest(reqwest::Client),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Outcome {
    pub body_bytes: usize,
    pub conn: Option<ConnUse>,
}

/// The kind of a failed request: the key under which failures are counted. Its `Display` is
/// the stable key published in `failures_by_kind`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, thiserror::Error)]
pub enum FailureKind {
    #[error("timeout")]
    Timeout,
    #[error("status: {0}")]
    Status(u16),
    /// A certificate the client rejected, by rustls's `CertificateError` variant alone.
    #[error("tls: invalid peer certificate: {0}")]
    Certificate(String),
    /// Any other rustls error, as rustls describes it.
    #[error("tls: {0}")]
    Tls(String),
    /// An I/O error outside TLS, by its `io::ErrorKind`.
    #[error("io: {0:?}")]
    Io(std::io::ErrorKind),
    /// A failure in the HTTP layer with neither a TLS nor an I/O cause.
    #[error("http")]
    Http,
    /// The session could not be built.
    #[error("build: {0}")]
    Build(String),
}

/// rustls's name for a certificate error: its variant's name, without the context some
/// variants carry (`ExpiredContext { .. }` reads `Expired`).
fn certificate_name(e: &rustls::CertificateError) -> String {
    let debug = format!("{e:?}");
    let variant = debug.split(|c: char| !c.is_alphanumeric()).next();
    let name = variant.unwrap_or_default().trim_end_matches("Context");
    name.trim_end_matches("ForPublicKey").to_string()
}

/// Why a request failed. `kind()` is the key under which failures are counted.
#[derive(Debug, thiserror::Error)]
pub enum RequestError {
    #[error("request timed out after {0:?}")]
    Timeout(Duration),
    #[error("server answered {0}")]
    Status(u16),
    #[error("{kind}: {detail}")]
    Transport { kind: FailureKind, detail: String },
}

impl RequestError {
    /// The failure's kind: `tls: <rustls error>`, `io: <kind>`, `timeout`, `status: 503`.
    pub fn kind(&self) -> FailureKind {
        match self {
            RequestError::Timeout(_) => FailureKind::Timeout,
            RequestError::Status(s) => FailureKind::Status(*s),
            RequestError::Transport { kind, .. } => kind.clone(),
        }
    }
}

/// A request's failure on error `e`, kinded by the first rustls or I/O error in its chain.
fn failed(e: impl std::error::Error + 'static) -> RequestError {
    let e: &(dyn std::error::Error + 'static) = &e;
    let mut cur = Some(e);
    let mut kind = None;
    while let Some(err) = cur {
        if let Some(tls) = err.downcast_ref::<rustls::Error>() {
            kind = Some(match tls {
                rustls::Error::InvalidCertificate(e) => {
                    FailureKind::Certificate(certificate_name(e))
                }
                other => FailureKind::Tls(other.to_string()),
            });
            break;
        }
        cur = match err.downcast_ref::<std::io::Error>() {
            Some(io) => {
                // tokio-rustls (and hyper-rustls around it) wrap the rustls error in
                // io::Errors whose source() skips the wrapped error: look inside.
                kind.get_or_insert(FailureKind::Io(io.kind()));
                match io.get_ref() {
                    Some(inner) => Some(inner as &(dyn std::error::Error + 'static)),
                    None => err.source(),
                }
            }
            None => err.source(),
        };
    }
    let chain = std::iter::successors(Some(e), |e| e.source());
    RequestError::Transport {
        kind: kind.unwrap_or(FailureKind::Http),
        detail: chain.map(|e| e.to_string()).collect::<Vec<_>>().join(": "),
    }
}

impl Session {
    /// Drops the session's pool and connections but hands back its TLS state (roots, tickets),
    /// as a platform TLS cache keeps it; `None` for reqwest, which keeps it to itself.
    pub fn into_tls_state(self) -> Option<Arc<rustls::ClientConfig>> {
        match self {
            Session::Hyper { client, tls_state } => {
                drop(client);
                Some(tls_state)
            }
            Session::Reqwest(_) => None,
        }
    }

    /// GETs `uri` and reads the whole body.
    pub async fn get(&self, uri: &Uri) -> Result<Outcome, RequestError> {
        tokio::time::timeout(REQUEST_TIMEOUT, self.get_inner(uri))
            .await
            .unwrap_or(Err(RequestError::Timeout(REQUEST_TIMEOUT)))
    }

    async fn get_inner(&self, uri: &Uri) -> Result<Outcome, RequestError> {
        let (status, body_bytes, conn) = match self {
            Session::Hyper { client, .. } => {
                let res = client.get(uri.clone()).await.map_err(failed)?;
                let conn = res.extensions().get::<ConnTag>().map(ConnTag::take_use);
                let status = res.status();
                let body = res.into_body().collect().await.map_err(failed)?.to_bytes();
                (status, body.len(), conn)
            }
            Session::Reqwest(client) => {
                let res = client.get(uri.to_string()).send().await.map_err(failed)?;
                let status = res.status();
                let body = res.bytes().await.map_err(failed)?;
                (status, body.len(), None)
            }
        };
        if !status.is_success() {
            return Err(RequestError::Status(status.as_u16()));
        }
        Ok(Outcome { body_bytes, conn })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failure_keys_are_stable() {
        let cert = |e| {
            let e = rustls::Error::InvalidCertificate(e);
            failed(e).kind().to_string()
        };
        assert_eq!(
            cert(rustls::CertificateError::UnknownIssuer),
            "tls: invalid peer certificate: UnknownIssuer"
        );
        assert_eq!(
            cert(rustls::CertificateError::NotValidForName),
            "tls: invalid peer certificate: NotValidForName"
        );
        assert_eq!(FailureKind::Timeout.to_string(), "timeout");
        assert_eq!(FailureKind::Status(503).to_string(), "status: 503");
        assert_eq!(
            FailureKind::Io(std::io::ErrorKind::ConnectionRefused).to_string(),
            "io: ConnectionRefused"
        );
        assert_eq!(FailureKind::Http.to_string(), "http");
    }

    /// Every variant reads as its name, a `…Context` variant as the one without context.
    #[test]
    #[allow(deprecated)]
    fn certificate_errors_read_as_their_variant() {
        use rustls::pki_types::UnixTime;
        use rustls::CertificateError as C;
        let (time, other) = (UnixTime::now(), UnixTime::now());
        let io = std::io::Error::other("x");
        let cases = [
            (C::BadEncoding, "BadEncoding"),
            (
                C::ExpiredContext {
                    time,
                    not_after: other,
                },
                "Expired",
            ),
            (
                C::NotValidYetContext {
                    time,
                    not_before: other,
                },
                "NotValidYet",
            ),
            (C::UnknownIssuer, "UnknownIssuer"),
            (
                C::ExpiredRevocationListContext {
                    time,
                    next_update: other,
                },
                "ExpiredRevocationList",
            ),
            (
                C::UnsupportedSignatureAlgorithm,
                "UnsupportedSignatureAlgorithm",
            ),
            (
                C::UnsupportedSignatureAlgorithmForPublicKeyContext {
                    signature_algorithm_id: vec![1],
                    public_key_algorithm_id: vec![2],
                },
                "UnsupportedSignatureAlgorithm",
            ),
            (
                C::NotValidForNameContext {
                    expected: rustls::pki_types::ServerName::try_from("a.example").expect("name"),
                    presented: vec!["b.example".into()],
                },
                "NotValidForName",
            ),
            (
                C::ApplicationVerificationFailure,
                "ApplicationVerificationFailure",
            ),
            (
                C::Other(rustls::OtherError(std::sync::Arc::new(io))),
                "Other",
            ),
        ];
        for (e, want) in cases {
            assert_eq!(certificate_name(&e), want, "{e:?}");
        }
    }
}
