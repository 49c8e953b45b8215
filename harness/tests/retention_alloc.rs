//! `RetentionStore` with real rustls state under the real counting allocator: the
//! bytes the store reports freeing are exactly what the live heap loses, expiry happens at
//! exactly T, the cap evicts oldest first, and nothing the harness holds leaks.
//!
//! The counting allocator is per binary, hence this file. Process-wide heap readings are only
//! exact while no other thread allocates, so the heap-sensitive checks are a single `#[test]`
//! (libtest's main thread only waits meanwhile) and nothing is printed inside a measured span
//! (captured output grows a buffer that stays allocated).

use std::cell::RefCell;
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;

use harness::contract::plan::RetentionSpec;
use harness::measure::alloc::{self, CountingAlloc, ThreadAllocs};
use harness::run::retention::RetentionStore;
use harness::tls::config::ClientTls;
use harness::vocab::tls::{KxChoice, RootsChoice, TlsVersion};

#[global_allocator]
static A: CountingAlloc = CountingAlloc;

const TTL_S: f64 = 10.0;
/// Configs inserted in the expiry phase.
const N: usize = 24;

fn live() -> u64 {
    alloc::heap()
        .expect("counting allocator installed")
        .live_bytes
}

fn thread() -> ThreadAllocs {
    alloc::thread_counts().expect("counting allocator installed")
}

fn spec(cap: Option<usize>) -> RetentionSpec {
    RetentionSpec {
        ttl: Duration::from_secs_f64(TTL_S),
        cap,
    }
}

/// An entry that logs its id when dropped, to see the order the store drops entries in.
struct Tagged {
    id: usize,
    log: Rc<RefCell<Vec<usize>>>,
    _cfg: Arc<rustls::ClientConfig>,
}

impl Drop for Tagged {
    fn drop(&mut self) {
        // Capacity is reserved up front: no allocation inside a measured drop.
        self.log.borrow_mut().push(self.id);
    }
}

#[test]
fn retained_configs_drop_exactly_what_they_held_and_expire_at_t() {
    let certs_dir = tempfile::tempdir().expect("tempdir");
    let (certs, _) = harness::tls::certs::ensure(certs_dir.path()).expect("certificates");
    let tls = ClientTls::new(
        TlsVersion::V13,
        KxChoice::Default,
        RootsChoice::Ca,
        vec![certs.ca.clone()],
        256,
    );
    let build = || Arc::new(tls.client_config().expect("client config"));
    // Warm-up: one-time lazy state (provider tables, thread-locals) is not the configs'.
    drop(build());
    drop(build());

    // ---- Phase 1: expiry at exactly T, each drop measured to the byte. ----
    // The test's own records are allocated before the baseline and live to the end.
    let mut per_entry = Vec::with_capacity(N);
    let mut mismatches = Vec::with_capacity(N);
    let baseline = live();
    let mut configs: Vec<Arc<rustls::ClientConfig>> = Vec::with_capacity(N);
    let before_build = live();
    for _ in 0..N {
        configs.push(build());
    }
    let built_bytes = live() - before_build;

    let mut store: RetentionStore<Arc<rustls::ClientConfig>> = RetentionStore::new(spec(None));
    let at = |i: usize| 0.25 * i as f64;
    for (i, cfg) in configs.drain(..).enumerate() {
        store.insert(at(i), cfg);
    }
    assert_eq!(store.stats().entries, N as u64);
    for i in 0..N {
        let due = at(i) + TTL_S;
        store.expire(due - 1e-6);
        assert_eq!(
            store.stats().entries,
            (N - i) as u64,
            "entry {i} kept just before its T"
        );
        let (live0, th0, dropped0) = (live(), thread(), store.stats().dropped_bytes);
        store.expire(due);
        let (live1, th1, dropped1) = (live(), thread(), store.stats().dropped_bytes);
        assert_eq!(
            store.stats().entries,
            (N - i - 1) as u64,
            "entry {i} dropped at exactly its T"
        );
        let dropped = dropped1 - dropped0;
        let heap_drop = live0 as i64 - live1 as i64;
        let thread_net = (th1.freed - th0.freed) as i64 - (th1.bytes - th0.bytes) as i64;
        per_entry.push(dropped);
        if heap_drop != dropped as i64 || thread_net != dropped as i64 {
            mismatches.push((i, dropped, heap_drop, thread_net));
        }
    }
    let stats = store.stats();
    assert_eq!(stats.expired, N as u64);
    assert_eq!(stats.dropped_measured, N as u64);
    assert!(stats.dropped_bytes > 0);
    drop(store);
    drop(configs);
    let after_all = live();

    // ---- Phase 2: the cap evicts oldest first; expiry and drain keep insertion order. ----
    let log = Rc::new(RefCell::new(Vec::with_capacity(16)));
    let mut capped: RetentionStore<Tagged> = RetentionStore::new(spec(Some(3)));
    for id in 0..5 {
        let entry = Tagged {
            id,
            log: log.clone(),
            _cfg: build(),
        };
        capped.insert(id as f64, entry);
    }
    assert_eq!(capped.stats().entries, 3);
    assert_eq!(*log.borrow(), vec![0, 1], "oldest evicted first");
    let s = capped.stats();
    assert_eq!((s.inserted, s.evicted, s.expired), (5, 2, 0));
    assert_eq!(s.dropped_measured, 2);
    capped.expire(2.0 + TTL_S);
    assert_eq!(*log.borrow(), vec![0, 1, 2], "entry 2 expires at 2 + T");
    capped.drain();
    assert_eq!(capped.stats().entries, 0);
    assert_eq!(*log.borrow(), vec![0, 1, 2, 3, 4]);
    let s = capped.stats();
    assert_eq!(s.dropped_measured, 5);
    let capped_per_entry = s.bytes_per_entry().expect("measured");

    let mut zero: RetentionStore<Arc<rustls::ClientConfig>> = RetentionStore::new(spec(Some(0)));
    zero.insert(0.0, build());
    assert_eq!(zero.stats().entries, 0);
    assert_eq!(zero.stats().evicted, 1);
    drop((capped, zero, log));
    let end = live();

    // ---- Report and judge (printing allocates: only now). ----
    let total: u64 = per_entry.iter().sum();
    println!(
        "{N} configs built: live heap +{built_bytes} B; store dropped {total} B \
         ({} B per config, entries {:?}); live heap baseline {baseline} B, after all \
         expired and the store dropped {after_all} B, at the end {end} B; capped store \
         {capped_per_entry} B per entry",
        total / N as u64,
        {
            let mut d = per_entry.clone();
            d.dedup();
            d
        }
    );
    assert!(
        mismatches.is_empty(),
        "(entry, dropped_bytes, live-heap drop, this thread's net free): {mismatches:?}"
    );
    assert_eq!(
        total, built_bytes,
        "the store frees exactly what building the configs added to the live heap"
    );
    assert!(
        per_entry.iter().all(|&d| d == per_entry[0]),
        "identical configs hold identical bytes: {per_entry:?}"
    );
    assert_eq!(
        capped_per_entry, per_entry[0] as f64,
        "a Tagged entry frees its config and nothing else"
    );
    assert_eq!(after_all, baseline, "nothing leaks: store and configs gone");
    assert_eq!(end, baseline, "nothing leaks after the capped stores");
}
