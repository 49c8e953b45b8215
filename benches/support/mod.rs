//! Machinery shared by the criterion benches: the server fixture, the timed driver, the
//! allocator "bytes pass" that runs beside criterion, and the final table / `bytes.json`.
//!
//! Threads. The HTTPS servers run on their own multi-thread tokio runtime (one worker
//! thread, plus nothing else: the server never uses the blocking pool). The client is driven
//! on the bench thread by a current-thread runtime: hyper-util's legacy client spawns its
//! connection tasks with `tokio::spawn` (its `TokioExecutor`), which lands them on the
//! runtime whose context is current — the bench thread's current-thread runtime, whose tasks
//! only ever run inside `block_on` on that thread. So the bench thread's allocator counters
//! (`thread_counts()`) charge the client and nothing else.
//!
//! That claim is checked on every bytes pass rather than trusted: the server worker records
//! its own thread counters each time it parks (`on_thread_park`), and the pass reports
//! `unattributed = process-wide bytes − bench thread − server threads`. It is 0 when every
//! byte allocated during the pass was allocated on the bench thread or a server thread (no
//! hidden helper thread such as a DNS `spawn_blocking`, which the connector avoids for
//! `localhost`).
//!
//! reqwest sessions run the same way: reqwest's client is a hyper-util legacy client with a
//! `TokioExecutor` too, so its connection tasks *and* its pool's idle-reaper task (reqwest
//! gives the pool a timer, which the harness's hyper sessions do not have) are spawned onto
//! the bench thread's runtime; its `resolve` override keeps `localhost` off getaddrinfo's
//! blocking thread. The same `unattributed` column checks that claim for the reqwest rows.
//! What reqwest does not expose is its connections: for those rows the connection columns
//! and the per-request connection check come from the server's own counters
//! ([`conns::Conns::Server`], [`checks::ServerMark`]).
//!
//! Modules, one job each (none imports this file; [`report`] and [`group`] sit on top):
//! - [`fixture`]: the servers, the client runtime, the certificates, the session factories;
//! - [`server_counters`]: the server threads' allocator counters;
//! - [`conns`]: whose connection counters a case settles on and reports;
//! - [`checks`]: what a step checks about its request;
//! - [`chunk`]: running a case's steps in timed (or counted) chunks;
//! - [`pass`]: the bytes pass's data (mode, snapshots, rounds, rows, the [`pass::Book`]);
//! - [`group`]: a criterion group whose cases also go through the bytes pass;
//! - [`report`], [`table`], [`bytes_json`]: the final table and `bytes.json`;
//! - [`paths`]: cargo's target directory and criterion's home.

pub mod bytes_json;
pub mod checks;
pub mod chunk;
pub mod conns;
pub mod fixture;
pub mod group;
pub mod pass;
pub mod paths;
pub mod report;
pub mod server_counters;
pub mod table;
