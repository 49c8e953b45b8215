//! A client *session*: what a `URLSession` or a `reqwest::Client` is — a rustls
//! `ClientConfig` (roots, verifier, resumption store), a connection pool and its connections.
//! Dropping a [`Session`] invalidates it: the pool goes and its connections close.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper::Uri;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;

use crate::connector::{ConnStats, ConnTag, ConnUse, CountingConnector};
use crate::tls::{ClientTls, TlsError};

/// How long one request may take before it counts as failed (`timeout`).
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// How a session keeps connections.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pooling {
    /// Keep-alive: idle connections are reused (hyper-util's default).
    KeepAlive,
    /// No idle connection is kept: every request opens a new one (resuming if it can).
    NoIdle,
}

/// Builds sessions with one fixed TLS set-up, counting their connections in one place.
#[derive(Clone)]
pub struct SessionFactory {
    tls: ClientTls,
    stats: Arc<ConnStats>,
}

impl SessionFactory {
    pub fn new(tls: ClientTls) -> Self {
        Self {
            tls,
            stats: Arc::new(ConnStats::default()),
        }
    }

    /// Connection counters of every session this factory built.
    pub fn stats(&self) -> &Arc<ConnStats> {
        &self.stats
    }

    /// Builds a new session: a new `ClientConfig` (root store, resumption store), connector
    /// and pool. Synchronous, so its allocations can be charged to it exactly.
    pub fn build(&self, pooling: Pooling) -> Result<Session, TlsError> {
        let cfg = Arc::new(self.tls.client_config()?);
        let connector = CountingConnector::new(cfg.clone(), self.stats.clone());
        let mut builder = Client::builder(TokioExecutor::new());
        if pooling == Pooling::NoIdle {
            builder.pool_max_idle_per_host(0);
        }
        Ok(Session {
            client: builder.build(connector),
            tls_state: cfg,
        })
    }
}

/// One client session.
pub struct Session {
    client: Client<CountingConnector, Empty<Bytes>>,
    tls_state: Arc<rustls::ClientConfig>,
}

/// A completed request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Outcome {
    pub body_bytes: usize,
    pub conn: Option<ConnUse>,
}

/// Why a request failed. `kind()` is the key under which failures are counted.
#[derive(Debug, thiserror::Error)]
pub enum RequestError {
    #[error("request timed out after {0:?}")]
    Timeout(Duration),
    #[error("server answered {0}")]
    Status(u16),
    #[error("{kind}: {detail}")]
    Transport { kind: String, detail: String },
}

impl RequestError {
    /// A short, stable key: `tls: <rustls error>`, `io: <kind>`, `timeout`, `status: 503`.
    pub fn kind(&self) -> String {
        match self {
            RequestError::Timeout(_) => "timeout".into(),
            RequestError::Status(s) => format!("status: {s}"),
            RequestError::Transport { kind, .. } => kind.clone(),
        }
    }

    fn from_error(e: &(dyn std::error::Error + 'static)) -> Self {
        let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(e);
        let mut kind = None;
        while let Some(err) = cur {
            if let Some(tls) = err.downcast_ref::<rustls::Error>() {
                kind = Some(tls_kind(tls));
                break;
            }
            cur = match err.downcast_ref::<std::io::Error>() {
                Some(io) => {
                    // tokio-rustls (and hyper-rustls around it) wrap the rustls error in
                    // io::Errors whose source() skips the wrapped error: look inside.
                    kind.get_or_insert_with(|| format!("io: {:?}", io.kind()));
                    match io.get_ref() {
                        Some(inner) => Some(inner as &(dyn std::error::Error + 'static)),
                        None => err.source(),
                    }
                }
                None => err.source(),
            };
        }
        let mut detail = e.to_string();
        let mut src = e.source();
        while let Some(s) = src {
            detail.push_str(": ");
            detail.push_str(&s.to_string());
            src = s.source();
        }
        RequestError::Transport {
            kind: kind.unwrap_or_else(|| "http".into()),
            detail,
        }
    }
}

/// A stable failure key for a rustls error: certificate errors by variant only, without the
/// times and names some variants carry (those stay in the error's detail).
fn tls_kind(e: &rustls::Error) -> String {
    match e {
        rustls::Error::InvalidCertificate(ce) => {
            let debug = format!("{ce:?}");
            let name = debug
                .split(|c: char| !c.is_alphanumeric())
                .next()
                .unwrap_or("Unknown");
            format!(
                "tls: invalid peer certificate: {}",
                name.trim_end_matches("Context")
            )
        }
        other => format!("tls: {other}"),
    }
}

impl Session {
    /// Invalidates the session (its pool and connections go) but hands back its TLS state:
    /// the `ClientConfig` with its root store and the resumption store holding the tickets
    /// its handshakes received. This is what a platform TLS cache keeps after the session.
    pub fn into_tls_state(self) -> Arc<rustls::ClientConfig> {
        let Session { client, tls_state } = self;
        drop(client);
        tls_state
    }

    /// GETs `uri` and reads the whole body.
    pub async fn get(&self, uri: &Uri) -> Result<Outcome, RequestError> {
        match tokio::time::timeout(REQUEST_TIMEOUT, self.get_inner(uri)).await {
            Ok(r) => r,
            Err(_) => Err(RequestError::Timeout(REQUEST_TIMEOUT)),
        }
    }

    async fn get_inner(&self, uri: &Uri) -> Result<Outcome, RequestError> {
        let res = self
            .client
            .get(uri.clone())
            .await
            .map_err(|e| RequestError::from_error(&e))?;
        let conn = res.extensions().get::<ConnTag>().map(ConnTag::take_use);
        let status = res.status();
        let body = res
            .into_body()
            .collect()
            .await
            .map_err(|e| RequestError::from_error(&e))?
            .to_bytes();
        if !status.is_success() {
            return Err(RequestError::Status(status.as_u16()));
        }
        Ok(Outcome {
            body_bytes: body.len(),
            conn,
        })
    }
}
