//! What the criterion benches share: the server fixture, the request checks, and the heap
//! figures measured as criterion measurements beside time.
//!
//! Threads. The HTTPS servers run on their own multi-thread tokio runtime (one worker
//! thread, plus nothing else: the server never uses the blocking pool). The client is driven
//! on the bench thread by a current-thread runtime: hyper-util's legacy client spawns its
//! connection tasks with `tokio::spawn` (its `TokioExecutor`), which lands them on the
//! runtime whose context is current — the bench thread's current-thread runtime, whose tasks
//! only ever run inside `block_on` on that thread. So the bench thread's allocator counters
//! (`thread_counts()`) charge the client and nothing else.
//!
//! That claim is checked rather than trusted: the server worker publishes its own thread
//! counters each time it parks, and every server-bytes reading says how many bytes the process
//! allocated on neither the bench thread nor a server thread, which a hidden helper thread
//! (such as a DNS `spawn_blocking`, which the connector avoids for `localhost`) would show.
//!
//! reqwest sessions run the same way: reqwest's client is a hyper-util legacy client with a
//! `TokioExecutor` too, so its connection tasks *and* its pool's idle-reaper task (reqwest
//! gives the pool a timer, which the harness's hyper sessions do not have) are spawned onto
//! the bench thread's runtime; its `resolve` override keeps `localhost` off getaddrinfo's
//! blocking thread. What reqwest does not expose is its connections: for those cases the
//! connection counters settled on and the per-request connection check are the server's
//! ([`checks::ServerMark`]).
//!
//! Modules: [`fixture`] (servers, client runtime, certificates, session factories),
//! [`checks`] (what a step checks about its request), [`heap`] (the heap figures as criterion
//! measurements), [`group`] (the criterion instances and a group running a case through each).

pub mod checks;
pub mod fixture;
pub mod group;
pub mod heap;
