//! `RetentionStore`: retained TLS state dropped after the retention time or by the cap.

use std::collections::VecDeque;

use crate::contract::plan::RetentionSpec;
use crate::contract::wire::RetentionStats;
use crate::measure::alloc;

/// A time-to-live store of retained session state `T`. Time is passed in (seconds on the
/// run's clock), so one store serves the real and the virtual clock.
#[derive(Debug)]
pub struct RetentionStore<T> {
    ttl_s: f64,
    cap: Option<usize>,
    entries: VecDeque<(f64, T)>,
    stats: RetentionStats,
}

impl<T> RetentionStore<T> {
    pub fn new(spec: RetentionSpec) -> Self {
        Self {
            ttl_s: spec.ttl.as_secs_f64(),
            cap: spec.cap,
            entries: VecDeque::new(),
            stats: RetentionStats::default(),
        }
    }

    /// Keeps `item` from `now` until `now + ttl` (seconds on the run's clock).
    pub fn insert(&mut self, now: f64, item: T) {
        self.expire(now);
        if let Some(cap) = self.cap {
            if cap == 0 {
                self.stats.inserted += 1;
                self.stats.evicted += 1;
                self.drop_measured(item);
                return;
            }
            while self.entries.len() >= cap {
                if let Some((_, old)) = self.entries.pop_front() {
                    self.stats.evicted += 1;
                    self.drop_measured(old);
                }
            }
        }
        // Requests complete slightly out of order (several are in flight), so keep the
        // queue ordered by expiry: an entry is then dropped exactly when its time is up.
        let due = now + self.ttl_s;
        let at = self.entries.partition_point(|(d, _)| *d <= due);
        self.entries.insert(at, (due, item));
        self.stats.inserted += 1;
    }

    /// Drops every entry whose time is up at `now`.
    pub fn expire(&mut self, now: f64) {
        while self.entries.front().is_some_and(|(at, _)| *at <= now) {
            if let Some((_, item)) = self.entries.pop_front() {
                self.stats.expired += 1;
                self.drop_measured(item);
            }
        }
    }

    /// Drops everything (the end of a run), measuring each drop.
    pub fn drain(&mut self) {
        while let Some((_, item)) = self.entries.pop_front() {
            self.drop_measured(item);
        }
    }

    pub fn stats(&self) -> RetentionStats {
        RetentionStats {
            entries: self.entries.len() as u64,
            ..self.stats
        }
    }

    fn drop_measured(&mut self, item: T) {
        let ((), counted) = alloc::measure_thread(|| drop(item));
        if let Some(c) = counted {
            self.stats.dropped_measured += 1;
            self.stats.dropped_bytes += c.freed;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn store(ttl_s: u64, cap: Option<usize>) -> RetentionStore<Vec<u8>> {
        RetentionStore::new(RetentionSpec {
            ttl: Duration::from_secs(ttl_s),
            cap,
        })
    }

    #[test]
    fn expires_exactly_at_ttl() {
        let mut s = store(10, None);
        s.insert(0.0, vec![1]);
        s.insert(5.0, vec![2]);
        s.expire(9.999);
        assert_eq!(s.stats().entries, 2);
        s.expire(10.0);
        assert_eq!(
            s.stats().entries,
            1,
            "the entry inserted at 0 expires at exactly 10"
        );
        s.expire(15.0);
        assert_eq!(s.stats().entries, 0);
        assert_eq!(s.stats().expired, 2);
    }

    #[test]
    fn cap_evicts_oldest_first() {
        let mut s = store(100, Some(2));
        s.insert(0.0, vec![1]);
        s.insert(1.0, vec![2]);
        s.insert(2.0, vec![3]);
        assert_eq!(s.stats().entries, 2);
        assert_eq!(s.stats().evicted, 1);
        let left: Vec<u8> = s.entries.iter().map(|(_, v)| v[0]).collect();
        assert_eq!(left, vec![2, 3]);
    }

    #[test]
    fn zero_cap_keeps_nothing() {
        let mut s = store(100, Some(0));
        s.insert(0.0, vec![1]);
        assert_eq!(s.stats().entries, 0);
        assert_eq!(s.stats().inserted, 1);
        assert_eq!(s.stats().evicted, 1);
    }

    #[test]
    fn steady_state_count_is_rate_times_ttl() {
        // 10 per second for 60 s with a 20 s TTL: 200 live at every point after 20 s.
        let mut s = store(20, None);
        for i in 0..600u32 {
            let now = f64::from(i) / 10.0;
            s.insert(now, vec![0; 8]);
            if now >= 20.0 {
                assert_eq!(s.stats().entries, 200, "at {now}");
            }
        }
        s.drain();
        assert_eq!(s.stats().entries, 0);
    }
}
