//! What each side of the probe does on its own thread and current-thread runtime: a warm-up,
//! then n connections held while its live bytes are read, with the context its code carries
//! (pass and side for errors, a hang guard per step, the rendezvous).

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use crate::measure::alloc;
use crate::measure::held::error::{HeldError, Pass, Side, Step, Which};
use crate::measure::held::establish::Establish;
use crate::measure::held::rendezvous::{AbandonOnExit, Missed, Rendezvous, RENDEZVOUS_TIMEOUT};

/// What the client writes on each connection once it is established: 16 bytes.
pub const REQUEST: &[u8; 16] = b"held probe: ping";
/// What the server answers: 16 bytes.
pub const REPLY: &[u8; 16] = b"held probe: pong";

/// Time given to a side's runtime after the warm-up connection is dropped, so that tokio
/// releases the socket's registration before the first reading rather than after it.
const SETTLE: Duration = Duration::from_millis(20);

/// This thread's live heap bytes: allocated minus freed on it. `None` without the allocator.
fn live_bytes() -> Option<i64> {
    alloc::thread_counts().map(|t| t.bytes as i64 - t.freed as i64)
}

/// The client side: a warm-up connection, then `n` held ones; its live-byte growth.
pub(super) async fn client_side<E: Establish>(
    cx: &SideCtx,
    e: &E,
    addr: SocketAddr,
    n: usize,
) -> Result<Delta, HeldError> {
    let mut warm = client_connection(cx, e, addr, Which::WarmUp).await?;
    cx.step(Which::WarmUp, Step::Close, warm.shutdown()).await?;
    hold(cx, warm, n, |which| client_connection(cx, e, addr, which)).await
}

/// Lets the closed warm-up connection go, then establishes `n` connections with `connect` and
/// holds them (in a list allocated before the first reading, so not counted): this thread's
/// live-byte growth from before the first to when both sides have all `n` (the first
/// rendezvous); then, after the second, drops them.
async fn hold<C, F, Fut>(
    cx: &SideCtx,
    warm: C,
    n: usize,
    mut connect: F,
) -> Result<Delta, HeldError>
where
    F: FnMut(Which) -> Fut,
    Fut: Future<Output = Result<C, HeldError>>,
{
    drop(warm);
    tokio::time::sleep(SETTLE).await;
    let mut held = Vec::with_capacity(n);
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
    cx: &SideCtx,
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
    cx.step(which, Step::ReadReply, read_expected(&mut conn, REPLY))
        .await?;
    Ok(conn)
}

/// The server side: a warm-up connection, then `n` held ones; its live-byte growth.
pub(super) async fn server_side<E: Establish>(
    cx: &SideCtx,
    e: &E,
    listener: &TcpListener,
    n: usize,
) -> Result<Delta, HeldError> {
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
    hold(cx, warm, n, |which| {
        server_connection(cx, e, listener, which)
    })
    .await
}

/// Accepts, handshakes, reads the request and writes the reply.
async fn server_connection<E: Establish>(
    cx: &SideCtx,
    e: &E,
    listener: &TcpListener,
    which: Which,
) -> Result<E::Conn, HeldError> {
    let (tcp, _) = cx.step(which, Step::Accept, listener.accept()).await?;
    let mut conn = cx.step(which, Step::Handshake, e.establish(tcp)).await?;
    cx.step(which, Step::ReadRequest, read_expected(&mut conn, REQUEST))
        .await?;
    cx.step(which, Step::WriteReply, async {
        conn.write_all(REPLY).await?;
        conn.flush().await
    })
    .await?;
    Ok(conn)
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

/// Longest wait for one step of one connection (connect, handshake, a read…): only a guard
/// against a hang, never a measurement.
const STEP_TIMEOUT: Duration = Duration::from_secs(30);

/// Live-byte growth of a side's thread over its held connections; `None` when not measured.
pub(super) type Delta = Option<i64>;

/// What a side's code needs: where it is, for errors, and the rendezvous.
pub(super) struct SideCtx {
    pass: Pass,
    side: Side,
    rv: Arc<Rendezvous>,
}

impl SideCtx {
    /// Marks the rendezvous abandoned, so the other side stops waiting, and returns `e`.
    pub(super) fn fail(&self, e: HeldError) -> HeldError {
        self.rv.abandon();
        e
    }

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

    /// Waits until the other side reaches the same point.
    pub(super) fn meet(&self) -> Result<(), HeldError> {
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
            let _abandon = AbandonOnExit(rv.clone());
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|source| HeldError::Runtime { pass, side, source })?;
            rt.block_on(body(SideCtx { pass, side, rv }))
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
