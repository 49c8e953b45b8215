//! tls-session-cost: measures what a TLS client *session* costs a program — bytes, sockets,
//! time — and how that cost grows when code builds a fresh session per request instead of
//! sharing one. The README says what it answers; ARCHITECTURE.md, "Vocabulary", defines its terms.
//!
//! Layout: [`certs`] makes the CA and leaf; [`server`] serves HTTPS with an instrumented
//! [`server_cache`]; [`session`] builds client sessions over a counting [`connector`];
//! [`load`] drives one [`mode`] open-loop; [`worker`] runs each side in its own process and
//! [`run`] orchestrates them, producing a [`timeline`], a [`summary`] and a [`report`].

pub mod advice;
pub mod alloc;
pub mod analysis;
pub mod assemble;
pub mod breakdown;
pub mod certs;
pub mod choice;
pub mod cli;
pub mod connector;
pub mod exec;
pub mod figures;
pub mod held;
pub mod knobs;
pub mod load;
pub mod mode;
pub mod plan;
pub mod procstat;
pub mod proctree;
pub mod report;
pub mod retention;
pub mod run;
pub mod serve;
pub mod server;
pub mod server_cache;
pub mod session;
pub mod settle;
pub mod summary;
pub mod table;
pub mod timeline;
pub mod tls;
pub mod units;
pub mod wire;
pub mod witness;
pub mod worker;
