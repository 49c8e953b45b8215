//! Where the bytes go (issue 13): a dhat heap profile's per-call-site figures, attributed to the
//! [`Owner`] that holds them by the stack frames of each call site.
//!
//! A profile written by the `dhat` crate (`dhatFileVersion` 2, mode `rust-heap`) has one
//! *program point* per distinct allocation stack: bytes and blocks allocated there in total
//! (`tb`, `tbk`), live at the global peak (`gb`, `gbk`) and live when the profiler stopped
//! (`eb`, `ebk`), and the stack as indices (`fs`) into a table of frame strings (`ftbl`), the
//! allocation site first. [`Profile::parse`] reads that; [`attribute`] sums every program
//! point into exactly one owner by [`RULES`], so the owners add up to the profile's totals with
//! nothing dropped: a stack no rule recognises is [`Owner::Other`]. [`Breakdown::per_unit`]
//! divides by sessions or requests and sets the result against a figure the counting allocator
//! measured; the difference is shown as [`Owner::Remainder`], never hidden.
//!
//! Pure: no I/O beyond the string it is given, so it is tested on a fixture profile
//! (`breakdown/fixture.json`, trimmed from a real `--dhat` run).

use crate::contract::breakdown::Breakdown;
use crate::contract::breakdown::Figures;
use crate::contract::breakdown::OwnerBytes;
use crate::vocab::owner::Owner;
use serde::Deserialize;

/// The frame rules, in one table: `(owner, substrings of a frame)`.
///
/// How a stack is classified ([`classify`]): the rules are tried **in table order**, and the
/// first rule that matches **any** frame of the stack decides; allocator frames
/// ([`ALLOCATOR_FRAMES`]) are left out, and a stack no rule matches is [`Owner::Other`]. So
/// the order is the precedence, from the most specific context to the most general:
///
/// 1. the resumption store, then the tickets put in it: a ticket is parsed and its server
///    certificates copied inside the handshake (`handle_new_ticket`), and the store's own maps
///    grow inside `ClientSessionMemoryCache` whoever calls it;
/// 2. the handshake's parts (certificate verification, key exchange, key schedule), which run
///    inside the connection;
/// 3. the `ClientConfig` (root store, verifier, provider), built inside the harness's session
///    builder;
/// 4. the rest of rustls's connection, records and buffers, which hyper's I/O calls into;
/// 5. tokio's I/O registration, which hyper-util's connector calls into;
/// 6. reqwest's connector, which hyper-util's pool calls; the HTTP client (hyper-util, hyper,
///    hyper-rustls); then the rest of reqwest, around it;
/// 7. what the harness's session builder allocates itself (the `Arc<ClientConfig>`);
/// 8. the rest of the harness (its histograms, retention queue, list of kept sessions, wire
///    messages), which every stack of its own tasks passes through;
/// 9. tokio's runtime, last: its worker threads' stacks end in the runtime's thread spawn,
///    below every task, so only what no other rule claims is the runtime's own.
///
/// An owner may have more than one row, at different precedences.
///
/// Innermost-first would be wrong here: the innermost library frame is often a data type's
/// `clone` or decoder (`rustls::msgs::…`, `http::…`) whatever the context it runs in. Patterns
/// are matched against the whole frame string (`0xADDR: symbol (file:line:col)`) and name
/// Rust paths (`crate::module::Type`), which file paths never contain.
pub const RULES: &[(Owner, &[&str])] = &[
    (
        Owner::ResumptionStore,
        &[
            "ClientSessionMemoryCache",
            "rustls::limited_cache",
            "Resumption::in_memory_sessions",
        ],
    ),
    (
        Owner::Tickets,
        &[
            "handle_new_ticket",
            "NewSessionTicketPayload",
            "Tls13ClientSessionValue",
            "Tls12ClientSessionValue",
            "ClientSessionCommon",
            "rustls::msgs::persist",
        ],
    ),
    (
        Owner::Verify,
        &[
            "verify_server_cert",
            "verify_tls13_signature",
            "verify_tls12_signature",
            "verify_server_name",
            "rustls::webpki::verify",
            "webpki::end_entity",
            "webpki::verify_cert",
            "webpki::cert::Cert",
        ],
    ),
    (
        Owner::KeyExchange,
        &[
            "rustls::crypto::aws_lc_rs::kx",
            "rustls::crypto::aws_lc_rs::pq",
            "ActiveKeyExchange",
            "SupportedKxGroup",
            "KeyExchange",
            "key_share",
            "KeyShare",
            "aws_lc_rs::agreement",
            "aws_lc_rs::kem",
        ],
    ),
    (
        Owner::KeySchedule,
        &[
            "rustls::hash_hs",
            "HandshakeHash",
            "rustls::tls13::key_schedule",
            "KeySchedule",
            "rustls::tls12::prf",
            "ConnectionSecrets",
        ],
    ),
    (
        Owner::Config,
        &[
            "RootCertStore",
            "rustls::client::builder",
            "rustls::builder",
            "ClientConfig",
            "WebPkiServerVerifier",
            "ServerCertVerifierBuilder",
            "webpki::trust_anchor",
            "anchor_from_trusted_cert",
            "CryptoProvider",
            "default_provider",
            "webpki_roots",
            "rustls_native_certs",
            "harness::tls::ClientTls::client_config",
            "harness::tls::provider",
        ],
    ),
    (
        Owner::Connection,
        &[
            "rustls::conn",
            "rustls::client::client_conn",
            "rustls::client::hs",
            "rustls::client::tls13",
            "rustls::client::tls12",
            "rustls::client::common",
            "rustls::common_state",
            "rustls::record_layer",
            "rustls::msgs",
            "rustls::vecbuf",
            "rustls::check",
            "rustls::compress",
            "tokio_rustls::",
        ],
    ),
    (
        Owner::TokioIo,
        &[
            "tokio::runtime::io",
            "tokio::io::poll_evented",
            "tokio::net::tcp",
            "ScheduledIo",
            "mio::",
        ],
    ),
    // reqwest's connector (its connection wrappers) runs inside hyper-util's pool.
    (Owner::Reqwest, &["reqwest::connect::"]),
    (
        Owner::Http,
        &["hyper_util::", "hyper::", "hyper_rustls::", "want::"],
    ),
    (Owner::Reqwest, &["reqwest::"]),
    // What the harness's hyper session builder allocates itself, outside rustls's and
    // hyper-util's builders above: the `Arc` holding the session's `ClientConfig`.
    (
        Owner::Config,
        &["harness::session::SessionFactory::build_hyper"],
    ),
    // The harness, which every stack of its own tasks passes through, before tokio's runtime:
    // in a release build a worker thread's stack reaches down to the runtime's thread spawn
    // below every task.
    // Anchored at the symbol's start: tokio's own `tokio::runtime::task::harness::…` frames
    // sit below every task.
    (
        Owner::Harness,
        &[": harness::", ": <harness::", "hdrhistogram::"],
    ),
    (
        Owner::TokioRuntime,
        &[
            "tokio::runtime::builder",
            "tokio::runtime::scheduler::multi_thread::worker::create",
            "tokio::runtime::scheduler::multi_thread::park",
            "tokio::runtime::time::",
            "tokio::runtime::driver",
            "tokio::runtime::blocking::pool::Spawner::spawn_thread",
            "tokio::runtime::blocking::pool::BlockingPool::new",
            "tokio::signal::",
        ],
    ),
];

/// Allocator frames, which sit innermost in every stack and are never an owner: dhat's and
/// the counting allocator's `GlobalAlloc` methods and the allocation shims.
pub const ALLOCATOR_FRAMES: &[&str] = &[
    "<dhat::Alloc as ",
    "dhat::",
    "<harness::alloc::CountingAlloc as ",
    "harness::alloc::",
    "__rustc::__rust_",
    "__rust_alloc",
    "__rust_realloc",
    "__rg_",
];

/// The owner of one stack (frame strings, allocation site first): the first rule of
/// [`RULES`] that matches any of its frames, allocator frames ([`ALLOCATOR_FRAMES`]) left out;
/// [`Owner::Other`] when none does.
pub fn classify<'a>(frames: impl IntoIterator<Item = &'a str>) -> Owner {
    let frames: Vec<&str> = frames
        .into_iter()
        .filter(|f| !ALLOCATOR_FRAMES.iter().any(|p| f.contains(p)))
        .collect();
    RULES
        .iter()
        .find(|(_, patterns)| {
            frames
                .iter()
                .any(|f| patterns.iter().any(|p| f.contains(p)))
        })
        .map_or(Owner::Other, |(owner, _)| *owner)
}

/// Why a profile could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ProfileError {
    #[error("cannot read the dhat profile {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("not a dhat profile: {0}")]
    Json(#[from] serde_json::Error),
    #[error("dhat file version {0}, expected 2")]
    Version(u32),
    #[error("dhat profile of mode `{0}`, expected a heap profile (`rust-heap`)")]
    Mode(String),
    #[error("program point {pp} names frame {frame}, beyond the {len} frames of `ftbl`")]
    Frame { pp: usize, frame: usize, len: usize },
}

/// One program point: an allocation stack and what was allocated there.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ProgramPoint {
    /// Bytes allocated here in total.
    pub tb: u64,
    /// Blocks allocated here in total.
    pub tbk: u64,
    /// Bytes live here at the global peak (t-gmax).
    pub gb: u64,
    /// Blocks live here at the global peak.
    pub gbk: u64,
    /// Bytes live here when the profiler stopped (t-end).
    pub eb: u64,
    /// Blocks live here when the profiler stopped.
    pub ebk: u64,
    /// The stack, allocation site first, as indices into [`Profile::ftbl`].
    pub fs: Vec<usize>,
}

/// A dhat heap profile (`dhatFileVersion` 2), the fields the breakdown reads.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Profile {
    #[serde(rename = "dhatFileVersion")]
    pub version: u32,
    pub mode: String,
    /// The command line of the profiled process.
    #[serde(default)]
    pub cmd: String,
    pub pps: Vec<ProgramPoint>,
    /// Frame strings; `fs` indexes into it.
    pub ftbl: Vec<String>,
}

impl Profile {
    /// Reads a profile as the `dhat` crate writes it, and checks every frame index.
    pub fn parse(json: &str) -> Result<Self, ProfileError> {
        #[derive(Deserialize)]
        struct Head {
            #[serde(rename = "dhatFileVersion")]
            version: u32,
            mode: String,
        }
        // The version and mode first, so that a wrong kind of profile says so rather than
        // naming a missing field.
        let head: Head = serde_json::from_str(json)?;
        if head.version != 2 {
            return Err(ProfileError::Version(head.version));
        }
        if head.mode != "rust-heap" && head.mode != "heap" {
            return Err(ProfileError::Mode(head.mode));
        }
        let p: Profile = serde_json::from_str(json)?;
        for (i, pp) in p.pps.iter().enumerate() {
            if let Some(&frame) = pp.fs.iter().find(|&&f| f >= p.ftbl.len()) {
                return Err(ProfileError::Frame {
                    pp: i,
                    frame,
                    len: p.ftbl.len(),
                });
            }
        }
        Ok(p)
    }

    /// The frame strings of one program point, allocation site first.
    pub fn frames<'a>(&'a self, pp: &'a ProgramPoint) -> impl Iterator<Item = &'a str> + 'a {
        pp.fs.iter().map(|&i| self.ftbl[i].as_str())
    }

    /// The profile's totals: every program point summed.
    pub fn totals(&self) -> Figures {
        self.pps
            .iter()
            .fold(Figures::default(), |acc, pp| acc + figures_of(pp))
    }
}

/// A program point's figures, as the breakdown adds them up.
fn figures_of(pp: &ProgramPoint) -> Figures {
    Figures {
        total_bytes: pp.tb,
        total_blocks: pp.tbk,
        gmax_bytes: pp.gb,
        gmax_blocks: pp.gbk,
        end_bytes: pp.eb,
        end_blocks: pp.ebk,
    }
}

/// Sums every program point of `profile` into the owner [`classify`] gives its stack. Nothing
/// is dropped: every program point lands in exactly one entry (unknown stacks in
/// [`Owner::Other`]), so the entries add up to [`Profile::totals`].
pub fn attribute(profile: &Profile) -> Breakdown {
    let mut by_owner: std::collections::BTreeMap<Owner, OwnerBytes> = Default::default();
    for pp in &profile.pps {
        let owner = classify(profile.frames(pp));
        let e = by_owner.entry(owner).or_insert(OwnerBytes {
            owner,
            sites: 0,
            figures: Figures::default(),
        });
        e.sites += 1;
        e.figures = e.figures + figures_of(pp);
    }
    Breakdown {
        owners: by_owner.into_values().collect(),
        totals: profile.totals(),
    }
}

/// Reads the profile dhat wrote to `path` and attributes it ([`attribute`]).
pub fn read(path: &std::path::Path) -> Result<Breakdown, ProfileError> {
    let text = std::fs::read_to_string(path).map_err(|source| ProfileError::Io {
        path: path.display().to_string(),
        source,
    })?;
    Ok(attribute(&Profile::parse(&text)?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::contract::breakdown::Which;

    const FIXTURE: &str = include_str!("fixture.json");

    fn fixture() -> Profile {
        Profile::parse(FIXTURE).expect("fixture parses")
    }

    /// The owner of each program point of the fixture, in order: what a reading of its
    /// stack says (the fixture is trimmed from real `--dhat` profiles of `leak/hyper` and
    /// `leak/reqwest`, one or more sites per owner).
    const FIXTURE_OWNERS: &[Owner] = &[
        Owner::ResumptionStore, // LimitedCache::new: the store's map, sized by its capacity
        Owner::ResumptionStore, // ServerData::default, inside the store's set_kx_hint
        Owner::Tickets,         // CertificateChain::clone inside handle_new_ticket_impl
        Owner::Tickets,         // NewSessionTicketPayloadTls13::read
        Owner::Config,          // RootCertStore::add
        Owner::Config,          // the Arc<ClientConfig> made in SessionFactory::build_hyper
        Owner::Verify,          // supported_verify_schemes, for the ClientHello
        Owner::KeyExchange,     // MlKem::start, the hybrid key share
        Owner::KeySchedule,     // HandshakeHashBuffer::add_raw, the transcript
        Owner::Connection,      // rustls's ChunkVecBuffer
        Owner::Connection,      // ClientConnection::new
        Owner::Http,            // hyper's WriteBuf::new
        Owner::Http,            // hyper's read buffer
        Owner::Http,            // hyper's dispatch channel (a tokio mpsc)
        Owner::TokioIo,         // RegistrationSet::allocate (ScheduledIo)
        Owner::TokioRuntime,    // the timer wheel
        Owner::Harness,         // the load's latency histogram
        Owner::Other,           // std's stack-overflow handler for a new thread
        Owner::Reqwest,         // reqwest's own client state
    ];

    #[test]
    fn the_rules_classify_the_fixture_as_expected() {
        let p = fixture();
        assert_eq!(p.pps.len(), FIXTURE_OWNERS.len());
        for (i, (pp, want)) in p.pps.iter().zip(FIXTURE_OWNERS).enumerate() {
            let frames: Vec<&str> = p.frames(pp).collect();
            assert_eq!(
                classify(frames.iter().copied()),
                *want,
                "program point {i}: {frames:#?}"
            );
        }
    }

    #[test]
    fn owners_add_up_to_the_profile_totals() {
        let p = fixture();
        let b = attribute(&p);
        let sum = b
            .owners
            .iter()
            .fold(Figures::default(), |acc, o| acc + o.figures);
        assert_eq!(sum, p.totals());
        assert_eq!(b.totals, p.totals());
        assert_eq!(
            b.owners.iter().map(|o| o.sites).sum::<u64>(),
            p.pps.len() as u64
        );
        assert!(b.totals.end_bytes > 0 && b.totals.total_bytes > 0);
        // Each owner sums exactly its own program points.
        for o in Owner::ALL {
            let want = p
                .pps
                .iter()
                .zip(FIXTURE_OWNERS)
                .filter(|(_, w)| *w == o)
                .fold(Figures::default(), |acc, (pp, _)| acc + figures_of(pp));
            assert_eq!(
                b.get(*o).map(|e| e.figures).unwrap_or_default(),
                want,
                "{o}"
            );
        }
        // The store's map, sized for 256 servers: 13,904 B per session, times 60 sessions.
        assert_eq!(
            b.get(Owner::ResumptionStore).map(|e| e.figures.end_bytes),
            Some(834_240 + 55_296)
        );
        assert_eq!(b.get(Owner::Remainder), None, "a profile has no remainder");
    }

    /// A profile of one program point per stack, each allocating `bytes` and keeping half.
    fn profile_of(stacks: &[&[&str]], bytes: u64) -> Profile {
        let mut ftbl = vec!["[root]".to_string()];
        let pps = stacks
            .iter()
            .map(|frames| ProgramPoint {
                tb: bytes,
                tbk: 1,
                gb: bytes / 2,
                gbk: 1,
                eb: bytes / 2,
                ebk: 1,
                fs: frames
                    .iter()
                    .map(|f| {
                        ftbl.push(f.to_string());
                        ftbl.len() - 1
                    })
                    .collect(),
            })
            .collect();
        Profile {
            version: 2,
            mode: "rust-heap".into(),
            cmd: String::new(),
            pps,
            ftbl,
        }
    }

    #[test]
    fn unknown_frames_go_to_other_and_are_never_dropped() {
        let mut p = fixture();
        let before = attribute(&p);
        let unknown = profile_of(
            &[
                &["0x1: mystery::Thing::new (mystery-1.0/src/lib.rs:1:1)"],
                // Allocator frames alone are nobody's, the counting allocator's `harness::`
                // included.
                &[
                    "0x2: <dhat::Alloc as core::alloc::global::GlobalAlloc>::alloc (dhat-0.3.3/src/lib.rs:1176:9)",
                    "0x3: <harness::alloc::CountingAlloc as core::alloc::global::GlobalAlloc>::alloc (harness/src/alloc.rs:97:34)",
                    "0x4: __rustc::__rust_alloc (harness/src/main.rs:10:15)",
                    "0x5: alloc::raw_vec::RawVecInner<A>::reserve (src/raw_vec/mod.rs:673:17)",
                ],
                // dhat can record no frame at all.
                &[],
            ],
            1000,
        );
        let offset = p.ftbl.len();
        for f in &unknown.ftbl[1..] {
            p.ftbl.push(f.clone());
        }
        for mut pp in unknown.pps {
            pp.fs.iter_mut().for_each(|i| *i += offset - 1);
            p.pps.push(pp);
        }
        let after = attribute(&p);
        let other = |b: &Breakdown| b.get(Owner::Other).map(|o| o.figures).unwrap_or_default();
        assert_eq!(other(&after).total_bytes, other(&before).total_bytes + 3000);
        assert_eq!(other(&after).end_bytes, other(&before).end_bytes + 1500);
        assert_eq!(after.get(Owner::Other).map(|o| o.sites), Some(1 + 3));
        let sum = after
            .owners
            .iter()
            .fold(Figures::default(), |acc, o| acc + o.figures);
        assert_eq!(sum, p.totals());
    }

    #[test]
    fn the_first_rule_in_the_table_wins_over_any_frame() {
        // A certificate chain copied for a ticket: the data type's clone is in rustls::msgs
        // (the connection's rule), the context is the ticket.
        let ticket = [
            "0x1: <rustls::msgs::handshake::CertificateChain as core::clone::Clone>::clone (src/msgs/handshake.rs:1683:40)",
            "0x2: rustls::client::tls13::ExpectTraffic::handle_new_ticket_impl (src/client/tls13.rs:1525:18)",
            "0x3: rustls::conn::ConnectionCore<Data>::process_msg (rustls-0.23.46/src/conn.rs:1216:14)",
            "0x4: <hyper_util::rt::tokio::TokioIo<T> as hyper::rt::io::Read>::poll_read (src/rt/tokio.rs:173:19)",
        ];
        assert_eq!(classify(ticket), Owner::Tickets);
        // The store growing while a ticket is put in it is the store's.
        let store = [
            "0x1: rustls::limited_cache::LimitedCache<K,V>::get_or_insert_default_and_edit (rustls-0.23.46/src/limited_cache.rs:40:28)",
            "0x2: <rustls::client::handy::cache::ClientSessionMemoryCache as rustls::client::client_conn::ClientSessionStore>::insert_tls13_ticket (src/client/handy.rs:150:9)",
            "0x3: rustls::client::tls13::ExpectTraffic::handle_new_ticket_impl (src/client/tls13.rs:1540:9)",
        ];
        assert_eq!(classify(store), Owner::ResumptionStore);
        // rustls's buffers filled from hyper's read are rustls's; hyper's own buffer is hyper's.
        let record = [
            "0x1: rustls::vecbuf::ChunkVecBuffer::append (rustls-0.23.46/src/vecbuf.rs:60:9)",
            "0x2: <hyper::proto::h1::io::Buffered<T,B>>::poll_read_from_io (proto/h1/io.rs:249:38)",
            "0x3: harness::load::Ctx::request::{{closure}} (harness/src/load.rs:261:23)",
        ];
        assert_eq!(classify(record), Owner::Connection);
        assert_eq!(classify(record[1..].iter().copied()), Owner::Http);
        assert_eq!(classify(record[2..].iter().copied()), Owner::Harness);
        // A release build's stack (inlined frames, from a `--breakdown` run) reaches the root
        // of the worker thread, tokio's thread spawn: the harness's histogram growing while a
        // request is recorded is the harness's, not the runtime's.
        let histogram = [
            "0x1: hdrhistogram::Histogram<T>::resize (hdrhistogram-7.6.0/src/lib.rs:1777:21)",
            "0x2: harness::load::Ctx::request::{{closure}} (harness/src/load.rs:293:47)",
            "0x3: tokio::runtime::task::harness::poll_future (runtime/task/harness.rs:525:18)",
            "0x4: tokio::runtime::scheduler::multi_thread::worker::run (runtime/scheduler/multi_thread/worker.rs:513:21)",
            "0x5: tokio::runtime::blocking::pool::Spawner::spawn_thread::{{closure}} (runtime/blocking/pool.rs:475:13)",
        ];
        assert_eq!(classify(histogram), Owner::Harness);
        assert_eq!(
            classify(histogram[2..].iter().copied()),
            Owner::TokioRuntime
        );
    }

    #[test]
    fn every_owner_a_stack_can_have_has_a_rule() {
        for o in Owner::ALL {
            let has_rule = RULES.iter().any(|(r, _)| r == o);
            let expected = !matches!(o, Owner::Other | Owner::Remainder);
            assert_eq!(has_rule, expected, "{o}");
        }
        for (o, patterns) in RULES {
            assert!(!patterns.is_empty(), "{o}: a row without patterns");
            assert!(
                patterns.iter().all(|p| !p.is_empty()),
                "{o}: an empty pattern matches every frame"
            );
        }
    }

    #[test]
    fn per_unit_divides_and_shows_the_remainder() {
        let b = attribute(&fixture());
        // The harness's own bookkeeping is not part of a session: left out of b's owners,
        // kept in the bytes per request.
        let harness = b.get(Owner::Harness).map(|o| o.figures).unwrap_or_default();
        assert!(harness.end_bytes > 0 && harness.total_bytes > 0);
        let end = (b.totals.end_bytes - harness.end_bytes) as f64;
        let per_request = b.per_unit(Which::Total, 10, None).expect("units");
        assert!(per_request.iter().any(|s| s.owner == Owner::Harness));
        assert!(
            (per_request.iter().map(|s| s.bytes).sum::<f64>() - b.totals.total_bytes as f64 / 10.0)
                .abs()
                < 1e-6
        );
        // Without a measured figure: shares of the profile's own total, biggest first.
        let shares = b.per_unit(Which::End, 10, None).expect("units");
        assert!(shares.iter().all(|s| s.owner != Owner::Harness));
        assert!(shares.windows(2).all(|w| w[0].bytes >= w[1].bytes));
        assert!((shares.iter().map(|s| s.bytes).sum::<f64>() - end / 10.0).abs() < 1e-6);
        assert!((shares.iter().map(|s| s.share).sum::<f64>() - 1.0).abs() < 1e-9);
        assert!(shares.iter().all(|s| s.owner != Owner::Remainder));
        // Owners with nothing live at the end (key exchange, transcript) are left out.
        assert!(shares.iter().all(|s| s.owner != Owner::KeyExchange));
        // Against a measured figure the remainder makes the entries add up to it, either sign.
        for measured in [end / 10.0 + 123.0, end / 10.0 - 123.0] {
            let shares = b.per_unit(Which::End, 10, Some(measured)).expect("units");
            let rest = shares.last().expect("entries");
            assert_eq!(rest.owner, Owner::Remainder);
            assert!((rest.bytes.abs() - 123.0).abs() < 1e-6);
            assert!((shares.iter().map(|s| s.bytes).sum::<f64>() - measured).abs() < 1e-6);
            assert!((shares.iter().map(|s| s.share).sum::<f64>() - 1.0).abs() < 1e-9);
        }
        let exact = b.per_unit(Which::End, 10, Some(end / 10.0)).expect("units");
        assert!(
            exact.iter().all(|s| s.owner != Owner::Remainder),
            "no remainder when it adds up"
        );
        assert_eq!(
            b.per_unit(Which::Total, 0, None),
            None,
            "no unit: nothing to divide by"
        );
    }

    #[test]
    fn parse_accepts_only_dhat_heap_profiles() {
        let ok = r#"{"dhatFileVersion":2,"mode":"rust-heap","pps":[{"tb":8,"tbk":1,"gb":8,"gbk":1,"eb":0,"ebk":0,"fs":[1]}],"ftbl":["[root]","0x1: f (a.rs:1:1)"]}"#;
        let p = Profile::parse(ok).expect("a minimal heap profile");
        assert_eq!(p.totals().total_bytes, 8);
        assert!(matches!(
            Profile::parse(&ok.replace(r#""dhatFileVersion":2"#, r#""dhatFileVersion":1"#)),
            Err(ProfileError::Version(1))
        ));
        assert!(matches!(
            Profile::parse(&ok.replace("rust-heap", "rust-ad-hoc")),
            Err(ProfileError::Mode(m)) if m == "rust-ad-hoc"
        ));
        assert!(matches!(
            Profile::parse(&ok.replace(r#""fs":[1]"#, r#""fs":[2]"#)),
            Err(ProfileError::Frame {
                pp: 0,
                frame: 2,
                len: 2
            })
        ));
        assert!(matches!(Profile::parse("{}"), Err(ProfileError::Json(_))));
        // valgrind's DHAT writes the same format with mode `heap`.
        assert!(Profile::parse(&ok.replace("rust-heap", "heap")).is_ok());
    }
}
