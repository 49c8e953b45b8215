//! The server's TLS session store, instrumented so its entries and bytes can be sampled.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::vocab::server_cache::ServerCachePolicy;
use rustls::server::StoresServerSessions;

/// A point-in-time view of the store.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CacheStats {
    pub entries: u64,
    /// Key and value bytes held (the store's own bookkeeping excluded).
    pub bytes: u64,
    pub puts: u64,
    pub hits: u64,
    pub evicted: u64,
    pub expired: u64,
}

#[derive(Debug)]
struct Entry {
    value: Vec<u8>,
    inserted: Instant,
}

#[derive(Debug, Default)]
struct Inner {
    map: HashMap<Vec<u8>, Entry>,
    /// Insertion order; may hold keys already taken, skipped when evicting.
    order: VecDeque<Vec<u8>>,
    stats: CacheStats,
}

impl Inner {
    fn remove(&mut self, key: &[u8]) -> Option<Entry> {
        let e = self.map.remove(key)?;
        self.stats.entries -= 1;
        self.stats.bytes -= (key.len() + e.value.len()) as u64;
        Some(e)
    }

    fn expire(&mut self, ttl: Duration, now: Instant) {
        while let Some(front) = self.order.front() {
            match self.map.get(front) {
                Some(e) if now.duration_since(e.inserted) < ttl => break,
                Some(_) => {
                    let key = self.order.pop_front().unwrap_or_default();
                    self.remove(&key);
                    self.stats.expired += 1;
                }
                None => {
                    self.order.pop_front();
                }
            }
        }
    }

    fn evict_oldest(&mut self) {
        while let Some(key) = self.order.pop_front() {
            if self.remove(&key).is_some() {
                self.stats.evicted += 1;
                return;
            }
        }
    }
}

/// An instrumented server session store: rustls's own `ServerSessionMemoryCache` does not
/// expose its size, so this one implements its policy (count-bounded, oldest evicted first,
/// `take` removes a TLS 1.3 ticket on use) beside the OpenSSL-style TTL + capacity one.
#[derive(Debug)]
pub struct SessionStore {
    policy: ServerCachePolicy,
    inner: Mutex<Inner>,
}

impl SessionStore {
    pub fn new(policy: ServerCachePolicy) -> Self {
        Self {
            policy,
            inner: Mutex::new(Inner::default()),
        }
    }

    /// The store's counters now, what is due expired first.
    pub fn stats(&self) -> CacheStats {
        let mut g = self.lock();
        if let ServerCachePolicy::Ttl { ttl, .. } = self.policy {
            g.expire(ttl, Instant::now());
        }
        g.stats
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // A poisoned lock only means another thread panicked; the counters are still usable.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn fresh(&self, e: &Entry, now: Instant) -> bool {
        match self.policy {
            ServerCachePolicy::Bounded { .. } => true,
            ServerCachePolicy::Ttl { ttl, .. } => now.duration_since(e.inserted) < ttl,
        }
    }
}

impl StoresServerSessions for SessionStore {
    fn put(&self, key: Vec<u8>, value: Vec<u8>) -> bool {
        let capacity = self.policy.capacity();
        if capacity == 0 {
            return false;
        }
        let now = Instant::now();
        let mut g = self.lock();
        if let ServerCachePolicy::Ttl { ttl, .. } = self.policy {
            g.expire(ttl, now);
        }
        g.remove(&key);
        while g.stats.entries as usize >= capacity {
            g.evict_oldest();
        }
        g.stats.entries += 1;
        g.stats.bytes += (key.len() + value.len()) as u64;
        g.stats.puts += 1;
        g.order.push_back(key.clone());
        g.map.insert(
            key,
            Entry {
                value,
                inserted: now,
            },
        );
        true
    }

    fn get(&self, key: &[u8]) -> Option<Vec<u8>> {
        let now = Instant::now();
        let mut g = self.lock();
        let hit = g
            .map
            .get(key)
            .filter(|e| self.fresh(e, now))
            .map(|e| e.value.clone());
        if hit.is_some() {
            g.stats.hits += 1;
        }
        hit
    }

    fn take(&self, key: &[u8]) -> Option<Vec<u8>> {
        let now = Instant::now();
        let mut g = self.lock();
        let e = g.remove(key)?;
        if self.fresh(&e, now) {
            g.stats.hits += 1;
            Some(e.value)
        } else {
            g.stats.expired += 1;
            None
        }
    }

    fn can_cache(&self) -> bool {
        self.policy.capacity() > 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(i: u8) -> Vec<u8> {
        vec![i; 4]
    }

    #[test]
    fn bounded_evicts_oldest_and_counts_bytes() {
        let s = SessionStore::new(ServerCachePolicy::Bounded { capacity: 2 });
        assert!(s.put(key(1), vec![0; 10]));
        assert!(s.put(key(2), vec![0; 10]));
        assert!(s.put(key(3), vec![0; 10]));
        let st = s.stats();
        assert_eq!((st.entries, st.bytes, st.evicted), (2, 28, 1));
        assert!(s.get(&key(1)).is_none());
        assert_eq!(s.take(&key(2)).map(|v| v.len()), Some(10));
        assert_eq!(s.stats().entries, 1);
        assert_eq!(s.stats().bytes, 14);
    }

    #[test]
    fn ttl_expires_entries() {
        let s = SessionStore::new(ServerCachePolicy::Ttl {
            ttl: Duration::from_millis(30),
            capacity: 10,
        });
        s.put(key(1), vec![0; 5]);
        assert_eq!(s.stats().entries, 1);
        std::thread::sleep(Duration::from_millis(60));
        assert!(s.get(&key(1)).is_none());
        let st = s.stats();
        assert_eq!((st.entries, st.bytes, st.expired), (0, 0, 1));
    }

    #[test]
    fn zero_capacity_caches_nothing() {
        let s = SessionStore::new(ServerCachePolicy::Bounded { capacity: 0 });
        assert!(!s.can_cache());
        assert!(!s.put(key(1), vec![1]));
        assert_eq!(s.stats(), CacheStats::default());
    }
}
