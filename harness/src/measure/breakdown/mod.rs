//! A dhat profile's sites attributed to owners by their stacks (docs/method-breakdown.md).

pub mod profile;
pub mod rules;

use crate::contract::breakdown::{Breakdown, Figures, OwnerBytes};
use crate::vocab::owner::Owner;
use profile::{Profile, ProfileError};
use rules::classify;

/// Sums every program point of `profile` into the owner [`classify`] gives its stack: the
/// entries add up to [`Profile::totals`] (unknown stacks in [`Owner::Other`]).
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
        e.figures = e.figures + pp.figures;
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
    use crate::contract::breakdown::ByteFigure;
    use profile::ProgramPoint;

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

    /// A profile valgrind's DHAT wrote (`harness exec --heap valgrind --breakdown` over the
    /// reqwest, Python and Node.js example clients; stacks trimmed to 40 frames), read by the
    /// same parser and rules: the owner of each program point as a reading of its stack says.
    #[test]
    fn a_valgrind_profile_is_read_and_attributed_by_the_same_rules() {
        let p = Profile::parse(include_str!("valgrind_fixture.json")).expect("valgrind's format");
        assert_eq!(p.mode, "heap");
        let want = [
            Owner::ResumptionStore, // LimitedCache::new inside ClientSessionMemoryCache
            Owner::Config,          // RootCertStore::add_parsable_certificates (reqwest's verifier)
            Owner::Connection,      // rustls's ChunkVecBuffer
            Owner::Http,            // hyper's read buffer
            Owner::TokioIo,         // ScheduledIo
            Owner::OpenSsl,         // SSL_CTX_new, called by Python's _ssl
            Owner::OpenSsl,         // X509_STORE, loading the CA bundle for _ssl
            Owner::PythonSsl,       // _ssl.c's own objects, no OpenSSL frame
            Owner::Other,           // the interpreter's own objects
            Owner::Other,           // Node.js's own TLS read buffer (TLSWrap, NodeBIO): no rule
            Owner::OpenSsl,         // SSL_new, OpenSSL linked into the node binary
        ];
        assert_eq!(p.pps.len(), want.len());
        for (i, (pp, want)) in p.pps.iter().zip(want).enumerate() {
            let frames: Vec<&str> = p.frames(pp).collect();
            assert_eq!(
                classify(frames.iter().copied()),
                want,
                "program point {i}: {frames:#?}"
            );
        }
        let b = attribute(&p);
        assert_eq!(b.totals, p.totals());
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
                .fold(Figures::default(), |acc, (pp, _)| acc + pp.figures);
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
                figures: Figures {
                    total_bytes: bytes,
                    total_blocks: 1,
                    gmax_bytes: bytes / 2,
                    gmax_blocks: 1,
                    end_bytes: bytes / 2,
                    end_blocks: 1,
                },
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
                    "0x3: <harness::measure::alloc::CountingAlloc as core::alloc::global::GlobalAlloc>::alloc (harness/src/measure/alloc.rs:97:34)",
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
    fn per_unit_divides_and_shows_the_remainder() {
        let b = attribute(&fixture());
        // The harness's own bookkeeping is not part of a session: left out of b's owners,
        // kept in the bytes per request.
        let harness = b.get(Owner::Harness).map(|o| o.figures).unwrap_or_default();
        assert!(harness.end_bytes > 0 && harness.total_bytes > 0);
        let end = (b.totals.end_bytes - harness.end_bytes) as f64;
        let per_request = b.per_unit(ByteFigure::Total, 10, None).expect("units");
        assert!(per_request.iter().any(|s| s.owner == Owner::Harness));
        assert!(
            (per_request.iter().map(|s| s.bytes).sum::<f64>() - b.totals.total_bytes as f64 / 10.0)
                .abs()
                < 1e-6
        );
        // Without a measured figure: shares of the profile's own total, biggest first.
        let shares = b.per_unit(ByteFigure::End, 10, None).expect("units");
        assert!(shares.iter().all(|s| s.owner != Owner::Harness));
        assert!(shares.windows(2).all(|w| w[0].bytes >= w[1].bytes));
        assert!((shares.iter().map(|s| s.bytes).sum::<f64>() - end / 10.0).abs() < 1e-6);
        assert!((shares.iter().map(|s| s.share).sum::<f64>() - 1.0).abs() < 1e-9);
        assert!(shares.iter().all(|s| s.owner != Owner::Remainder));
        // Owners with nothing live at the end (key exchange, transcript) are left out.
        assert!(shares.iter().all(|s| s.owner != Owner::KeyExchange));
        // Against a measured figure the remainder makes the entries add up to it, either sign.
        for measured in [end / 10.0 + 123.0, end / 10.0 - 123.0] {
            let shares = b
                .per_unit(ByteFigure::End, 10, Some(measured))
                .expect("units");
            let rest = shares.last().expect("entries");
            assert_eq!(rest.owner, Owner::Remainder);
            assert!((rest.bytes.abs() - 123.0).abs() < 1e-6);
            assert!((shares.iter().map(|s| s.bytes).sum::<f64>() - measured).abs() < 1e-6);
            assert!((shares.iter().map(|s| s.share).sum::<f64>() - 1.0).abs() < 1e-9);
        }
        let exact = b
            .per_unit(ByteFigure::End, 10, Some(end / 10.0))
            .expect("units");
        assert!(
            exact.iter().all(|s| s.owner != Owner::Remainder),
            "no remainder when it adds up"
        );
        assert_eq!(
            b.per_unit(ByteFigure::Total, 0, None),
            None,
            "no unit: nothing to divide by"
        );
    }
}
