//! One side of the probe on its own thread and runtime: how it establishes, holds and meets.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use rustls::pki_types::ServerName;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::{TlsAcceptor, TlsConnector};

use crate::measure::alloc;
use crate::measure::held::error::{HeldError, Pass, Side, Step, Which, RENDEZVOUS_TIMEOUT};

/// What the client writes on each connection once it is established.
const REQUEST: &[u8; 16] = b"held probe: ping";
/// What the server answers.
const REPLY: &[u8; 16] = b"held probe: pong";

/// Time for tokio to release the dropped warm-up's socket registration before the first reading.
const SETTLE: Duration = Duration::from_millis(20);

/// This thread's live heap bytes: allocated minus freed on it. `None` without the allocator.
fn live_bytes() -> Option<i64> {
    alloc::thread_counts().map(|t| t.bytes as i64 - t.freed as i64)
}

/// Where a side's connections come from: the client connects, the server accepts.
pub(super) enum Source<'a> {
    Connect(SocketAddr),
    Accept(&'a TcpListener),
}

/// One side: a warm-up connection, dropped, then `n` connections held: this thread's live-byte
/// growth until both sides hold all `n` (the first rendezvous); drops them after the second.
pub(super) async fn side<E: Establish>(
    cx: &SideCtx,
    e: &E,
    from: Source<'_>,
    n: usize,
) -> Result<Delta, HeldError> {
    let mut warm = connection(cx, e, &from, Which::WarmUp).await?;
    let client = matches!(from, Source::Connect(_));
    cx.step(Which::WarmUp, Step::Close, close(&mut warm, client))
        .await?;
    drop(warm);
    tokio::time::sleep(SETTLE).await;
    let mut held = Vec::with_capacity(n);
    let before = live_bytes();
    for index in 1..=n {
        let which = Which::Held { index, of: n };
        held.push(Box::new(connection(cx, e, &from, which).await?));
    }
    cx.meet()?;
    let after = live_bytes();
    cx.meet()?;
    drop(held);
    Ok(before.zip(after).map(|(b, a)| a - b))
}

/// Connects or accepts, handshakes, and exchanges the request and the reply.
async fn connection<E: Establish>(
    cx: &SideCtx,
    e: &E,
    from: &Source<'_>,
    which: Which,
) -> Result<E::Conn, HeldError> {
    let tcp = match from {
        Source::Connect(addr) => {
            cx.step(which, Step::Connect, TcpStream::connect(addr))
                .await?
        }
        Source::Accept(listener) => cx.step(which, Step::Accept, listener.accept()).await?.0,
    };
    let mut conn = cx.step(which, Step::Handshake, e.establish(tcp)).await?;
    if let Source::Connect(_) = from {
        cx.step(which, Step::WriteRequest, send(&mut conn, REQUEST))
            .await?;
        cx.step(which, Step::ReadReply, read_expected(&mut conn, REPLY))
            .await?;
    } else {
        cx.step(which, Step::ReadRequest, read_expected(&mut conn, REQUEST))
            .await?;
        cx.step(which, Step::WriteReply, send(&mut conn, REPLY))
            .await?;
    }
    Ok(conn)
}

/// Closes the warm-up: the client shuts its end down, the server reads to that end (for TLS,
/// its close_notify).
async fn close<C: AsyncRead + AsyncWrite + Unpin>(conn: &mut C, client: bool) -> io::Result<()> {
    if client {
        return conn.shutdown().await;
    }
    let mut rest = [0u8; 16];
    match conn.read(&mut rest).await? {
        0 => Ok(()),
        got => Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("{got} bytes after the request, expected the end"),
        )),
    }
}

async fn send<C: AsyncWrite + Unpin>(conn: &mut C, what: &[u8]) -> io::Result<()> {
    conn.write_all(what).await?;
    conn.flush().await
}

/// Reads what the other side sent and checks it is `want`.
async fn read_expected<C: AsyncRead + Unpin>(conn: &mut C, want: &[u8; 16]) -> io::Result<()> {
    let mut got = [0u8; 16];
    conn.read_exact(&mut got).await?;
    if &got == want {
        return Ok(());
    }
    Err(io::Error::new(
        io::ErrorKind::InvalidData,
        format!(
            "expected {:?}, got {:?}",
            String::from_utf8_lossy(want),
            String::from_utf8_lossy(&got)
        ),
    ))
}

/// Longest wait for one step of one connection: a guard against a hang, not a measurement.
const STEP_TIMEOUT: Duration = Duration::from_secs(30);

/// Live-byte growth of a side's thread over its held connections; `None` when not measured.
pub(super) type Delta = Option<i64>;

/// What a side's code needs: where it is, for errors, and the rendezvous, which it abandons
/// when dropped (however the side ends, a panic included), so the other side never waits in vain.
pub(super) struct SideCtx {
    pass: Pass,
    side: Side,
    rv: Arc<Rendezvous>,
}

impl Drop for SideCtx {
    fn drop(&mut self) {
        self.rv.abandon();
    }
}

impl SideCtx {
    /// Runs one step of one connection with a hang guard, naming it in any error.
    pub(super) async fn step<T>(
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
        out.map_err(|source| HeldError::Io {
            pass: self.pass,
            side: self.side,
            which,
            step,
            source,
        })
    }

    /// Waits until the other side reaches the same point.
    pub(super) fn meet(&self) -> Result<(), HeldError> {
        self.rv.wait(self.pass, self.side)
    }
}

/// Runs `body` on its own thread and current-thread runtime.
pub(super) fn spawn_side<F, Fut>(
    pass: Pass,
    side: Side,
    rv: Arc<Rendezvous>,
    body: F,
) -> Result<JoinHandle<Result<Delta, HeldError>>, HeldError>
where
    F: FnOnce(SideCtx) -> Fut + Send + 'static,
    Fut: Future<Output = Result<Delta, HeldError>>,
{
    std::thread::Builder::new()
        .name(format!("held-{side}"))
        .spawn(move || {
            let cx = SideCtx { pass, side, rv };
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|source| HeldError::Runtime { pass, side, source })?;
            rt.block_on(body(cx))
        })
        .map_err(|source| HeldError::Spawn { pass, side, source })
}

pub(super) fn join(
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

/// Turns an accepted or connected TCP stream into the connection a side holds.
pub(super) trait Establish {
    type Conn: AsyncRead + AsyncWrite + Unpin;
    async fn establish(&self, tcp: TcpStream) -> io::Result<Self::Conn>;
}

/// The TCP pass, either side: the stream itself.
pub(super) struct PlainTcp;

impl Establish for PlainTcp {
    type Conn = TcpStream;
    async fn establish(&self, tcp: TcpStream) -> io::Result<TcpStream> {
        Ok(tcp)
    }
}

pub(super) struct TlsClient {
    pub(super) connector: TlsConnector,
    /// Borrows a `'static` str, so a clone per connection allocates nothing.
    pub(super) name: ServerName<'static>,
}

impl Establish for TlsClient {
    type Conn = tokio_rustls::client::TlsStream<TcpStream>;
    async fn establish(&self, tcp: TcpStream) -> io::Result<Self::Conn> {
        self.connector.connect(self.name.clone(), tcp).await
    }
}

impl Establish for TlsAcceptor {
    type Conn = tokio_rustls::server::TlsStream<TcpStream>;
    async fn establish(&self, tcp: TcpStream) -> io::Result<Self::Conn> {
        self.accept(tcp).await
    }
}

/// A two-party barrier with a timeout that either party can abandon when it fails. A `std`
/// mutex and condition variable: it never allocates, so no heap reading is charged for it.
#[derive(Default)]
pub(super) struct Rendezvous {
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
        // Nothing here panics while holding the lock; the state stays consistent either way.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Waits for the other party; `pass` and `side` name the waiting one in an error.
    fn wait(&self, pass: Pass, side: Side) -> Result<(), HeldError> {
        let mut g = self.lock();
        if g.abandoned {
            return Err(HeldError::Abandoned { pass, side });
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
                return Err(HeldError::Abandoned { pass, side });
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(HeldError::Stalled { pass, side });
            }
            g = self
                .cv
                .wait_timeout(g, left)
                .map(|(g, _)| g)
                .unwrap_or_else(|p| p.into_inner().0);
        }
    }

    pub(super) fn abandon(&self) {
        self.lock().abandoned = true;
        self.cv.notify_all();
    }
}
