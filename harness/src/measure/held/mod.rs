//! Held connections: the heap bytes one idle, established connection costs the **client side**
//! and the **server side**, for a TLS connection (tokio-rustls over a TCP stream, after the
//! handshake) and for a plain TCP connection held the same way. "TLS minus TCP" is then what
//! TLS adds to each connection a program keeps open (a pooled keep-alive connection, say), the
//! figure rustls's own measurement publishes per connection (jbp.io, 2019: one shared config,
//! N connections open at once).
//!
//! # Method
//!
//! - **Two passes, TCP then TLS**, each with a fresh listener on 127.0.0.1:0 and two fresh OS
//!   threads, one per side, each driving its own current-thread tokio runtime. The counting
//!   allocator keeps per-thread counters ([`alloc::thread_counts`]), so a side's live bytes
//!   (allocated − freed on its thread) are charged exactly that side's work, whatever the other
//!   thread does. Nothing allocated on one side's thread is freed on the other's: the sides
//!   share only sockets and a rendezvous (`std` mutex and condition variable), which never
//!   allocates.
//! - **Configs are shared, and not counted.** One `ClientConfig` (the caller's [`ClientTls`])
//!   and one `ServerConfig` ([`tls::server_config`] with the caller's [`CertSet`], the same TLS
//!   version) are built on the calling thread before either side starts, and every connection
//!   holds them through an `Arc`: a program builds a config once, not per connection, so its
//!   cost is in neither figure.
//! - **Full handshakes, no tickets.** The server's session store caches nothing, so it issues
//!   no TLS 1.3 tickets and resumes no TLS 1.2 session. A stored ticket or session outlives its
//!   connection and its store is capped: that is a cache's cost per handshake, not a held
//!   connection's, and counting it would make the figure depend on N and on cache sizes
//!   (rustls's published measurement also has resumption off). The client's resumption store
//!   (the caller's setting) then keeps only a key-exchange hint for `localhost`, made by the
//!   warm-up connection and replaced in place after (rustls stores a TLS 1.2 session only when
//!   the server offers a session ID or a ticket, and this server offers neither).
//! - **One-time costs stay out** (ARCHITECTURE.md, "Measuring honestly"): each side first
//!   establishes one warm-up connection, exchanges, closes and drops it, and lets its runtime
//!   release the socket's registration; lazily made runtime and rustls state is paid there.
//! - **Then N connections, one after another.** The client connects and the server accepts;
//!   for TLS both then handshake (server name `localhost`, the server's certificate verified
//!   against the CA by the config's own webpki verifier). Then the same tiny exchange for both
//!   kinds: the client writes a [`REQUEST`], the server reads it and writes a [`REPLY`], the
//!   client reads it, so each side has processed everything the other sent (in TLS 1.3,
//!   whatever follows the handshake). Each connection is then held idle in a `Box`, in a `Vec`
//!   whose N pointers were allocated before the first reading: the box counts the connection's
//!   own struct (rustls keeps much of a connection's state inline), the `Vec` is not counted.
//! - **Readings.** Each side reads its thread's live bytes just before its first held
//!   connection and again once both sides have finished all N exchanges (the rendezvous);
//!   per connection = (after − before) ÷ N. A second rendezvous, then everything is dropped.
//!
//! # Not counted
//!
//! - Kernel memory: the socket and its send and receive buffers are not heap. tokio's
//!   per-socket registration is heap and is counted.
//! - aws-lc's own allocations: rustls's crypto is aws-lc-rs, whose C code allocates with C
//!   `malloc`, which no Rust allocator sees (as "Measuring honestly" says). That includes each
//!   connection's record-protection keys: aws-lc-rs allocates each AEAD context
//!   (`EVP_AEAD_CTX`, 576 bytes: a 564-byte key state, a pointer, two bytes, padding) with
//!   `OPENSSL_malloc`, one per direction, so about 1.2 KB per connection per side (by those
//!   struct sizes, not measured) are outside both TLS figures. The small Rust boxes wrapping
//!   them are counted.
//! - The configs, the warm-up connection and the `Vec` holding the connections.
//!
//! In a process without the counting allocator ([`alloc::is_installed`] false, as in a unit-test
//! binary) the connections are still made, and every figure is `None` (not measured, never 0).

use std::fmt;
use std::future::Future;
use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use rustls::pki_types::{InvalidDnsNameError, ServerName};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::{TlsAcceptor, TlsConnector};

use crate::contract::probes::HeldConnections;
use crate::measure::alloc;
use crate::tls::certs::CertSet;
use crate::tls::config as tls;
use crate::tls::config::{ClientTls, TlsError};
use crate::tls::store::SessionStore;
use crate::vocab::server_cache::ServerCachePolicy;

/// Connections each pass of a `--breakdown` run's probe holds: enough that the per-connection
/// figure is stable to a few bytes (N = 64 and N = 256 differed by at most 2 B per connection).
pub const CONNECTIONS: usize = 64;

/// What the client writes on each connection once it is established: 16 bytes.
pub const REQUEST: &[u8; 16] = b"held probe: ping";
/// What the server answers: 16 bytes.
pub const REPLY: &[u8; 16] = b"held probe: pong";
/// The name the client connects to, and verifies the server's certificate for.
pub const SERVER_NAME: &str = "localhost";

/// Longest wait for one step of one connection (connect, handshake, a read…): only a guard
/// against a hang, never a measurement.
const STEP_TIMEOUT: Duration = Duration::from_secs(30);
/// Longest wait at a rendezvous for the other side: a guard against a hang.
const RENDEZVOUS_TIMEOUT: Duration = Duration::from_secs(120);
/// Time given to a side's runtime after the warm-up connection is dropped, so that tokio
/// releases the socket's registration before the first reading rather than after it.
const SETTLE: Duration = Duration::from_millis(20);

/// Which side of a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    Client,
    Server,
}

impl fmt::Display for Side {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Side::Client => "client",
            Side::Server => "server",
        })
    }
}

/// Which pass: plain TCP connections or TLS over TCP.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pass {
    Tcp,
    Tls,
}

impl fmt::Display for Pass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Pass::Tcp => "TCP",
            Pass::Tls => "TLS",
        })
    }
}

/// Which connection of a pass.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Which {
    /// The connection made and closed before the first reading.
    WarmUp,
    /// Held connection `index` (from 1) of `of`.
    Held { index: usize, of: usize },
}

impl fmt::Display for Which {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Which::WarmUp => f.write_str("the warm-up connection"),
            Which::Held { index, of } => write!(f, "connection {index} of {of}"),
        }
    }
}

/// A step of one connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    Connect,
    Accept,
    /// The TLS handshake (nothing happens here in the TCP pass).
    Handshake,
    WriteRequest,
    ReadRequest,
    WriteReply,
    ReadReply,
    /// Closing the warm-up connection (the client shuts it down, the server reads its end).
    Close,
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Step::Connect => "connect",
            Step::Accept => "accept",
            Step::Handshake => "handshake",
            Step::WriteRequest => "write the request",
            Step::ReadRequest => "read the request",
            Step::WriteReply => "write the reply",
            Step::ReadReply => "read the reply",
            Step::Close => "close",
        })
    }
}

/// Why the probe could not measure.
#[derive(Debug, thiserror::Error)]
pub enum HeldError {
    #[error("held-connection probe: at least one connection is needed")]
    NoConnections,
    #[error("held-connection probe: {0}")]
    Tls(#[from] TlsError),
    #[error("held-connection probe: {SERVER_NAME:?} is not a valid server name: {0}")]
    ServerName(#[from] InvalidDnsNameError),
    #[error("held-connection probe ({pass}): cannot listen on 127.0.0.1:0: {source}")]
    Bind { pass: Pass, source: io::Error },
    #[error("held-connection probe ({pass}): cannot start the {side} thread: {source}")]
    Spawn {
        pass: Pass,
        side: Side,
        source: io::Error,
    },
    #[error(
        "held-connection probe ({pass}): cannot build the {side} side's tokio runtime: {source}"
    )]
    Runtime {
        pass: Pass,
        side: Side,
        source: io::Error,
    },
    #[error("held-connection probe ({pass}, {side} side): {which}: {step}: {source}")]
    Io {
        pass: Pass,
        side: Side,
        which: Which,
        step: Step,
        source: io::Error,
    },
    /// The other side stopped (it failed, or its thread ended) while this side waited for it.
    #[error("held-connection probe ({pass}, {side} side): the other side stopped before all connections were held")]
    Abandoned { pass: Pass, side: Side },
    #[error("held-connection probe ({pass}, {side} side): the other side did not finish within {} s", .waited.as_secs())]
    Stalled {
        pass: Pass,
        side: Side,
        waited: Duration,
    },
    #[error("held-connection probe ({pass}): the {side} thread panicked: {message}")]
    Panicked {
        pass: Pass,
        side: Side,
        message: String,
    },
    /// Both sides failed; often one failure caused the other (a rejected certificate, then
    /// the alert), so both are kept.
    #[error("{client}; and {server}")]
    BothSides {
        client: Box<HeldError>,
        server: Box<HeldError>,
    },
}

/// Measures what one idle held connection costs each side, TLS and plain TCP, with
/// `connections` connections held at once per side and pass (see the module documentation).
///
/// Blocking: spawns its own threads and runtimes; call from a blocking context (e.g.
/// `tokio::task::spawn_blocking` or a plain thread).
pub fn probe(
    certs: &CertSet,
    tls: &ClientTls,
    connections: usize,
) -> Result<HeldConnections, HeldError> {
    if connections == 0 {
        return Err(HeldError::NoConnections);
    }
    let (tcp_client, tcp_server) = run_pass(Pass::Tcp, PlainTcp, PlainTcp, connections)?;

    let client_config = Arc::new(tls.client_config()?);
    // Caches nothing: no tickets, no resumption (module documentation, "Full handshakes").
    let store = Arc::new(SessionStore::new(ServerCachePolicy::Bounded {
        capacity: 0,
    }));
    let server_config = Arc::new(tls::server_config(certs, tls.version, store)?);
    let client = TlsClient {
        connector: TlsConnector::from(client_config),
        name: ServerName::try_from(SERVER_NAME)?,
    };
    let server = TlsServer(TlsAcceptor::from(server_config));
    let (tls_client, tls_server) = run_pass(Pass::Tls, client, server, connections)?;

    let per = |delta: Option<i64>| delta.map(|d| d as f64 / connections as f64);
    Ok(HeldConnections {
        connections: connections as u64,
        tls_client_bytes: per(tls_client),
        tls_server_bytes: per(tls_server),
        tcp_client_bytes: per(tcp_client),
        tcp_server_bytes: per(tcp_server),
    })
}

/// Turns an accepted or connected TCP stream into the connection a side holds.
trait Establish {
    type Conn: AsyncRead + AsyncWrite + Unpin;
    async fn establish(&self, tcp: TcpStream) -> io::Result<Self::Conn>;
}

/// The TCP pass, either side: the stream itself.
struct PlainTcp;

impl Establish for PlainTcp {
    type Conn = TcpStream;
    async fn establish(&self, tcp: TcpStream) -> io::Result<TcpStream> {
        Ok(tcp)
    }
}

struct TlsClient {
    connector: TlsConnector,
    /// Borrows a `'static` str, so a clone per connection allocates nothing.
    name: ServerName<'static>,
}

impl Establish for TlsClient {
    type Conn = tokio_rustls::client::TlsStream<TcpStream>;
    async fn establish(&self, tcp: TcpStream) -> io::Result<Self::Conn> {
        self.connector.connect(self.name.clone(), tcp).await
    }
}

struct TlsServer(TlsAcceptor);

impl Establish for TlsServer {
    type Conn = tokio_rustls::server::TlsStream<TcpStream>;
    async fn establish(&self, tcp: TcpStream) -> io::Result<Self::Conn> {
        self.0.accept(tcp).await
    }
}

/// Live-byte growth of a side's thread over its held connections; `None` when not measured.
type Delta = Option<i64>;

/// One pass: a fresh listener, the server side on one thread and the client side on another.
fn run_pass<C, S>(pass: Pass, client: C, server: S, n: usize) -> Result<(Delta, Delta), HeldError>
where
    C: Establish + Send + 'static,
    S: Establish + Send + 'static,
{
    let bind = |source| HeldError::Bind { pass, source };
    let listener = std::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).map_err(bind)?;
    listener.set_nonblocking(true).map_err(bind)?;
    let addr = listener.local_addr().map_err(bind)?;
    let rv = Arc::new(Rendezvous::default());

    let server = spawn_side(pass, Side::Server, rv.clone(), move |cx| async move {
        // Registered on the server's own thread, before its first reading.
        let listener = TcpListener::from_std(listener)
            .map_err(|source| cx.fail(HeldError::Bind { pass, source }))?;
        server_side(&cx, &server, &listener, n).await
    })?;
    let client = spawn_side(pass, Side::Client, rv.clone(), move |cx| async move {
        client_side(&cx, &client, addr, n).await
    });
    let client = match client {
        Ok(handle) => join(pass, Side::Client, handle),
        Err(e) => {
            rv.abandon();
            unblock_accept(addr);
            let _ = join(pass, Side::Server, server);
            return Err(e);
        }
    };
    if client.is_err() {
        unblock_accept(addr);
    }
    let server = join(pass, Side::Server, server);
    match (client, server) {
        (Ok(c), Ok(s)) => Ok((c, s)),
        (Err(e), Ok(_)) | (Ok(_), Err(e)) => Err(e),
        (Err(c), Err(s)) => Err(primary(c, s)),
    }
}

/// The error to report when both sides failed: a panic first, then any failure that is not
/// merely "the other side stopped", both when both are real.
fn primary(client: HeldError, server: HeldError) -> HeldError {
    match (&client, &server) {
        (HeldError::Panicked { .. }, _) => client,
        (_, HeldError::Panicked { .. }) => server,
        (HeldError::Abandoned { .. }, _) => server,
        (_, HeldError::Abandoned { .. }) => client,
        _ => HeldError::BothSides {
            client: Box::new(client),
            server: Box::new(server),
        },
    }
}

/// When the client side has stopped, the server side may be waiting in `accept` for a
/// connection that will never come: one connection, closed at once, ends that wait (the
/// server's handshake or read then fails). Refused when the server side has already ended.
fn unblock_accept(addr: SocketAddr) {
    let _ = std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(1));
}

/// What a side's code needs: where it is, for errors, and the rendezvous.
struct Ctx {
    pass: Pass,
    side: Side,
    rv: Arc<Rendezvous>,
}

impl Ctx {
    /// Marks the rendezvous abandoned, so the other side stops waiting, and returns `e`.
    fn fail(&self, e: HeldError) -> HeldError {
        self.rv.abandon();
        e
    }

    /// Runs one step of one connection with a hang guard, naming it in any error.
    async fn step<T>(
        &self,
        which: Which,
        step: Step,
        fut: impl Future<Output = io::Result<T>>,
    ) -> Result<T, HeldError> {
        let out = tokio::time::timeout(STEP_TIMEOUT, fut)
            .await
            .unwrap_or_else(|_| {
                Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    format!("no progress within {} s", STEP_TIMEOUT.as_secs()),
                ))
            });
        out.map_err(|source| {
            self.fail(HeldError::Io {
                pass: self.pass,
                side: self.side,
                which,
                step,
                source,
            })
        })
    }

    /// Checks what the other side sent.
    fn expect(
        &self,
        which: Which,
        step: Step,
        got: &[u8; 16],
        want: &[u8; 16],
    ) -> Result<(), HeldError> {
        if got == want {
            return Ok(());
        }
        Err(self.fail(HeldError::Io {
            pass: self.pass,
            side: self.side,
            which,
            step,
            source: io::Error::new(
                io::ErrorKind::InvalidData,
                format!(
                    "expected {:?}, got {:?}",
                    String::from_utf8_lossy(want),
                    String::from_utf8_lossy(got)
                ),
            ),
        }))
    }

    /// Waits until the other side reaches the same point.
    fn meet(&self) -> Result<(), HeldError> {
        self.rv.wait().map_err(|why| {
            self.fail(match why {
                Missed::Abandoned => HeldError::Abandoned {
                    pass: self.pass,
                    side: self.side,
                },
                Missed::TimedOut => HeldError::Stalled {
                    pass: self.pass,
                    side: self.side,
                    waited: RENDEZVOUS_TIMEOUT,
                },
            })
        })
    }
}

/// Starts one side: its own OS thread and current-thread runtime, `body` run to completion on
/// it. The rendezvous is marked abandoned when the thread ends, however it ends (after both
/// sides are done nobody waits any more, and after a failure or a panic the other side must
/// stop waiting).
fn spawn_side<F, Fut>(
    pass: Pass,
    side: Side,
    rv: Arc<Rendezvous>,
    body: F,
) -> Result<JoinHandle<Result<Delta, HeldError>>, HeldError>
where
    F: FnOnce(Ctx) -> Fut + Send + 'static,
    Fut: Future<Output = Result<Delta, HeldError>>,
{
    std::thread::Builder::new()
        .name(format!("held-{side}"))
        .spawn(move || {
            let _abandon = AbandonOnExit(rv.clone());
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|source| HeldError::Runtime { pass, side, source })?;
            rt.block_on(body(Ctx { pass, side, rv }))
        })
        .map_err(|source| HeldError::Spawn { pass, side, source })
}

fn join(
    pass: Pass,
    side: Side,
    handle: JoinHandle<Result<Delta, HeldError>>,
) -> Result<Delta, HeldError> {
    handle.join().unwrap_or_else(|panic| {
        let message = panic
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "(no message)".into());
        Err(HeldError::Panicked {
            pass,
            side,
            message,
        })
    })
}

/// This thread's live heap bytes: allocated minus freed on it. `None` without the allocator.
fn live_bytes() -> Option<i64> {
    alloc::thread_counts().map(|t| t.bytes as i64 - t.freed as i64)
}

/// The client side: a warm-up connection, then `n` held ones; its live-byte growth.
async fn client_side<E: Establish>(
    cx: &Ctx,
    e: &E,
    addr: SocketAddr,
    n: usize,
) -> Result<Delta, HeldError> {
    let held: Vec<Box<E::Conn>> = Vec::with_capacity(n);

    let mut warm = client_connection(cx, e, addr, Which::WarmUp).await?;
    cx.step(Which::WarmUp, Step::Close, warm.shutdown()).await?;
    drop(warm);
    tokio::time::sleep(SETTLE).await;

    hold(cx, held, n, |which| client_connection(cx, e, addr, which)).await
}

/// Establishes `n` connections with `connect` and holds them in `held` (allocated before the
/// first reading, so not counted): this thread's live-byte growth from before the first to
/// when both sides have all `n` (the first rendezvous); then, after the second, drops them.
async fn hold<C, F, Fut>(
    cx: &Ctx,
    mut held: Vec<Box<C>>,
    n: usize,
    mut connect: F,
) -> Result<Delta, HeldError>
where
    F: FnMut(Which) -> Fut,
    Fut: std::future::Future<Output = Result<C, HeldError>>,
{
    let before = live_bytes();
    for index in 1..=n {
        held.push(Box::new(connect(Which::Held { index, of: n }).await?));
    }
    cx.meet()?;
    let after = live_bytes();
    cx.meet()?;
    drop(held);
    Ok(before.zip(after).map(|(b, a)| a - b))
}

/// Connects, handshakes, writes the request and reads the reply.
async fn client_connection<E: Establish>(
    cx: &Ctx,
    e: &E,
    addr: SocketAddr,
    which: Which,
) -> Result<E::Conn, HeldError> {
    let tcp = cx
        .step(which, Step::Connect, TcpStream::connect(addr))
        .await?;
    let mut conn = cx.step(which, Step::Handshake, e.establish(tcp)).await?;
    cx.step(which, Step::WriteRequest, async {
        conn.write_all(REQUEST).await?;
        conn.flush().await
    })
    .await?;
    let mut reply = [0u8; 16];
    cx.step(which, Step::ReadReply, conn.read_exact(&mut reply))
        .await?;
    cx.expect(which, Step::ReadReply, &reply, REPLY)?;
    Ok(conn)
}

/// The server side: a warm-up connection, then `n` held ones; its live-byte growth.
async fn server_side<E: Establish>(
    cx: &Ctx,
    e: &E,
    listener: &TcpListener,
    n: usize,
) -> Result<Delta, HeldError> {
    let held: Vec<Box<E::Conn>> = Vec::with_capacity(n);

    let mut warm = server_connection(cx, e, listener, Which::WarmUp).await?;
    // The client shuts its end down; read to that end (for TLS, its close_notify).
    cx.step(Which::WarmUp, Step::Close, async {
        let mut rest = [0u8; 16];
        match warm.read(&mut rest).await? {
            0 => Ok(()),
            got => Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("{got} bytes after the request, expected the end"),
            )),
        }
    })
    .await?;
    drop(warm);
    tokio::time::sleep(SETTLE).await;

    hold(cx, held, n, |which| {
        server_connection(cx, e, listener, which)
    })
    .await
}

/// Accepts, handshakes, reads the request and writes the reply.
async fn server_connection<E: Establish>(
    cx: &Ctx,
    e: &E,
    listener: &TcpListener,
    which: Which,
) -> Result<E::Conn, HeldError> {
    let (tcp, _) = cx.step(which, Step::Accept, listener.accept()).await?;
    let mut conn = cx.step(which, Step::Handshake, e.establish(tcp)).await?;
    let mut request = [0u8; 16];
    cx.step(which, Step::ReadRequest, conn.read_exact(&mut request))
        .await?;
    cx.expect(which, Step::ReadRequest, &request, REQUEST)?;
    cx.step(which, Step::WriteReply, async {
        conn.write_all(REPLY).await?;
        conn.flush().await
    })
    .await?;
    Ok(conn)
}

/// Why a rendezvous was missed.
enum Missed {
    Abandoned,
    TimedOut,
}

/// A two-party barrier that either party can abandon, so that a side that fails never leaves
/// the other waiting. A `std` mutex and condition variable: no allocation at any point, so
/// neither side is charged for it.
#[derive(Default)]
struct Rendezvous {
    state: Mutex<Meeting>,
    cv: Condvar,
}

#[derive(Default)]
struct Meeting {
    /// Parties waiting at the current rendezvous (0 or 1).
    waiting: u8,
    /// Rendezvous completed so far.
    generation: u64,
    abandoned: bool,
}

impl Rendezvous {
    fn lock(&self) -> std::sync::MutexGuard<'_, Meeting> {
        // Poisoning would need a panic while holding the lock, and nothing here panics; the
        // state stays consistent either way.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn wait(&self) -> Result<(), Missed> {
        let mut g = self.lock();
        if g.abandoned {
            return Err(Missed::Abandoned);
        }
        if g.waiting == 1 {
            g.waiting = 0;
            g.generation += 1;
            self.cv.notify_all();
            return Ok(());
        }
        g.waiting = 1;
        let generation = g.generation;
        let deadline = Instant::now() + RENDEZVOUS_TIMEOUT;
        loop {
            if g.generation != generation {
                return Ok(());
            }
            if g.abandoned {
                return Err(Missed::Abandoned);
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(Missed::TimedOut);
            }
            g = self
                .cv
                .wait_timeout(g, left)
                .map(|(g, _)| g)
                .unwrap_or_else(|p| p.into_inner().0);
        }
    }

    fn abandon(&self) {
        self.lock().abandoned = true;
        self.cv.notify_all();
    }
}

/// Abandons the rendezvous when a side's thread ends, a panic included.
struct AbandonOnExit(Arc<Rendezvous>);

impl Drop for AbandonOnExit {
    fn drop(&mut self) {
        self.0.abandon();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vocab::tls::{KxChoice, RootsChoice, TlsVersion};

    fn client_tls(version: TlsVersion, trusted: &CertSet) -> ClientTls {
        ClientTls::new(
            version,
            KxChoice::Default,
            RootsChoice::Ca,
            vec![trusted.ca.clone()],
            256,
        )
    }

    #[test]
    fn without_the_allocator_connections_work_and_nothing_is_measured() {
        assert!(!alloc::is_installed());
        let dir = tempfile::tempdir().expect("tempdir");
        let certs = crate::tls::certs::generate(dir.path()).expect("certificates");
        for version in [TlsVersion::V13, TlsVersion::V12] {
            let held = probe(&certs, &client_tls(version, &certs), 4).expect("probe");
            assert_eq!(
                held,
                HeldConnections {
                    connections: 4,
                    tls_client_bytes: None,
                    tls_server_bytes: None,
                    tcp_client_bytes: None,
                    tcp_server_bytes: None,
                },
                "{version:?}"
            );
            assert_eq!(held.tls_minus_tcp_client(), None);
            assert_eq!(held.tls_minus_tcp_server(), None);
        }
    }

    #[test]
    fn the_client_verifies_the_server_and_a_failure_ends_both_sides() {
        let dir = tempfile::tempdir().expect("tempdir");
        let other = tempfile::tempdir().expect("tempdir");
        let certs = crate::tls::certs::generate(dir.path()).expect("certificates");
        let stranger = crate::tls::certs::generate(other.path()).expect("other CA");
        // The client trusts another CA: its handshake must fail, and the probe must end.
        let err = probe(&certs, &client_tls(TlsVersion::V13, &stranger), 4)
            .expect_err("an untrusted server certificate must fail the handshake");
        let client = match &err {
            HeldError::BothSides { client, .. } => client.as_ref(),
            e => e,
        };
        assert!(
            matches!(
                client,
                HeldError::Io {
                    pass: Pass::Tls,
                    side: Side::Client,
                    which: Which::WarmUp,
                    step: Step::Handshake,
                    ..
                }
            ),
            "{err}"
        );
    }

    #[test]
    fn no_connections_is_an_error() {
        let dir = tempfile::tempdir().expect("tempdir");
        let certs = crate::tls::certs::generate(dir.path()).expect("certificates");
        assert!(matches!(
            probe(&certs, &client_tls(TlsVersion::V13, &certs), 0),
            Err(HeldError::NoConnections)
        ));
    }

    #[test]
    fn tls_minus_tcp_is_derived_only_from_two_figures() {
        let held = HeldConnections {
            connections: 2,
            tls_client_bytes: Some(9000.0),
            tls_server_bytes: Some(8000.0),
            tcp_client_bytes: Some(500.0),
            tcp_server_bytes: None,
        };
        assert_eq!(held.tls_minus_tcp_client(), Some(8500.0));
        assert_eq!(held.tls_minus_tcp_server(), None);
    }
}
