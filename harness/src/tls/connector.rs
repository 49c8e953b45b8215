//! The client's connector (hyper-rustls), counting connections and tagging responses with theirs.

use std::future::Future;
use std::net::{Ipv4Addr, SocketAddr};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::Arc;
use std::task::{Context, Poll};

use hyper::Uri;
use hyper_rustls::{HttpsConnector, MaybeHttpsStream};
use hyper_util::client::legacy::connect::dns::{GaiResolver, Name};
use hyper_util::client::legacy::connect::{Connected, Connection, HttpConnector};
use hyper_util::rt::TokioIo;
use rustls::HandshakeKind;
use tokio::net::TcpStream;
use tower_service::Service;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Connection counters of either end, so the server's stand in for a client whose connections
/// are not visible (reqwest). What an end cannot see stays 0.
#[derive(Debug, Default)]
pub struct ConnStats {
    /// Connections opened: on the client once TCP and TLS are up (a connection that fails
    /// before is never counted), on the server when accepted (before its handshake).
    pub opened: AtomicU64,
    pub closed: AtomicU64,
    pub handshakes_full: AtomicU64,
    pub handshakes_resumed: AtomicU64,
    /// Server only: accepted connections whose TLS handshake failed.
    pub handshakes_failed: AtomicU64,
    /// Server only: requests served.
    pub requests: AtomicU64,
    /// Server only: failed `accept` calls (EMFILE and friends).
    pub accept_errors: AtomicU64,
}

impl ConnStats {
    /// Connections open now (opened and not yet closed).
    pub fn open(&self) -> u64 {
        self.opened
            .load(Relaxed)
            .saturating_sub(self.closed.load(Relaxed))
    }
}

/// How a response's connection came about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnUse {
    NewFull,
    NewResumed,
    Reused,
}

/// Attached to every response by hyper-util (as connection "extra" info).
#[derive(Debug, Clone)]
pub struct ConnTag {
    resumed: bool,
    used: Arc<AtomicBool>,
}

impl ConnTag {
    /// Marks the connection used and says how: the first response on a connection is "new".
    pub fn take_use(&self) -> ConnUse {
        match (self.used.swap(true, Relaxed), self.resumed) {
            (true, _) => ConnUse::Reused,
            (false, true) => ConnUse::NewResumed,
            (false, false) => ConnUse::NewFull,
        }
    }
}

/// Resolves `localhost` to 127.0.0.1 without the system resolver (DNS is not measured, and
/// `::1` is never tried against a server on 127.0.0.1); any other name goes to getaddrinfo.
#[derive(Debug, Clone)]
pub struct Resolver(GaiResolver);

type Addrs = Box<dyn Iterator<Item = SocketAddr> + Send>;

impl Service<Name> for Resolver {
    type Response = Addrs;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<Addrs, BoxError>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        self.0.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, name: Name) -> Self::Future {
        if name.as_str().eq_ignore_ascii_case("localhost") {
            let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, 0));
            return Box::pin(async move { Ok(Box::new(std::iter::once(addr)) as Addrs) });
        }
        let fut = self.0.call(name);
        Box::pin(async move {
            let addrs = fut.await?;
            Ok(Box::new(addrs) as Addrs)
        })
    }
}

type Inner = HttpsConnector<HttpConnector<Resolver>>;
type InnerStream = MaybeHttpsStream<TokioIo<TcpStream>>;

/// A counting, tagging wrapper around the hyper-rustls connector.
#[derive(Clone)]
pub struct CountingConnector {
    inner: Inner,
    stats: Arc<ConnStats>,
}

impl CountingConnector {
    /// `tls` offers ALPN `http/1.1`; the caller's reference lets a session's TLS state outlive it.
    pub fn new(tls: Arc<rustls::ClientConfig>, stats: Arc<ConnStats>) -> Self {
        let mut http = HttpConnector::new_with_resolver(Resolver(GaiResolver::new()));
        http.enforce_http(false);
        http.set_nodelay(true);
        let mut inner = HttpsConnector::from((http, tls));
        inner.enforce_https();
        Self { inner, stats }
    }
}

impl Service<Uri> for CountingConnector {
    type Response = Counted;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<Counted, BoxError>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, uri: Uri) -> Self::Future {
        let fut = self.inner.call(uri);
        let stats = self.stats.clone();
        Box::pin(async move {
            let stream = fut.await?;
            let resumed = matches!(&stream, MaybeHttpsStream::Https(tls)
                if tls.inner().get_ref().1.handshake_kind() == Some(HandshakeKind::Resumed));
            stats.opened.fetch_add(1, Relaxed);
            let handshakes = match resumed {
                true => &stats.handshakes_resumed,
                false => &stats.handshakes_full,
            };
            handshakes.fetch_add(1, Relaxed);
            Ok(Counted {
                inner: stream,
                stats,
                tag: ConnTag {
                    resumed,
                    used: Arc::new(AtomicBool::new(false)),
                },
            })
        })
    }
}

/// A connection that decrements the open count when dropped (that is, when closed).
pub struct Counted {
    inner: InnerStream,
    stats: Arc<ConnStats>,
    tag: ConnTag,
}

impl Drop for Counted {
    fn drop(&mut self) {
        self.stats.closed.fetch_add(1, Relaxed);
    }
}

impl Connection for Counted {
    fn connected(&self) -> Connected {
        self.inner.connected().extra(self.tag.clone())
    }
}

impl hyper::rt::Read for Counted {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: hyper::rt::ReadBufCursor<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl hyper::rt::Write for Counted {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}
