//! `--heap valgrind`: the DHAT profiles the command's processes left, matched to those seen.

use std::collections::BTreeSet;
use std::path::Path;

use crate::contract::breakdown::{Breakdown, OwnerBytes};
use crate::contract::exec::{HeapBytes, HeapOwner};
use crate::measure::breakdown::{attribute, profile::Profile};
use crate::vocab::owner::Owner;

/// What the profiles in a check's directory say.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct HeapProfiles {
    /// Processes of the tree the sampler saw alive.
    pub seen: u64,
    pub read: u64,
    /// Processes seen alive that left no readable profile.
    pub missing: Vec<i32>,
    /// Profile files that could not be read or parsed, with why.
    pub unreadable: Vec<String>,
    /// Σ over the profiles read of bytes live at each process's own peak (`gb`).
    pub peaks_summed: u64,
    /// Σ over the profiles read of bytes live at each process's exit (`eb`).
    pub at_exits_summed: u64,
    /// `--breakdown`: every profile read attributed to owners and summed (`None`: not asked).
    pub owners: Option<Breakdown>,
}

impl HeapProfiles {
    /// Why the sums are not published (`None`: they are).
    pub fn problem(&self) -> Option<String> {
        if self.read == 0 && self.unreadable.is_empty() {
            return Some("valgrind left no DHAT profile".into());
        }
        let mut why = Vec::new();
        let (seen, read) = (self.seen, self.read);
        if !self.missing.is_empty() {
            let pids: Vec<String> = self.missing.iter().map(|p| p.to_string()).collect();
            let pids = pids.join(", ");
            why.push(format!(
                "{seen} processes seen, {read} profiles read: no profile from pid {pids} (a process killed by SIGKILL writes none)"
            ));
        }
        if !self.unreadable.is_empty() {
            let unreadable = self.unreadable.join("; ");
            why.push(format!("unreadable DHAT profiles: {unreadable}"));
        }
        (!why.is_empty()).then(|| why.join("; "))
    }

    /// The sums, when every process seen left a readable profile.
    pub fn sums(&self) -> Option<(u64, u64)> {
        self.problem()
            .is_none()
            .then_some((self.peaks_summed, self.at_exits_summed))
    }

    /// The owners, when asked for and every process seen left a readable profile.
    pub fn breakdown(&self) -> Option<&Breakdown> {
        self.owners.as_ref().filter(|_| self.problem().is_none())
    }
}

/// Frames valgrind records per allocation stack with `--breakdown` (its default is 12).
const BREAKDOWN_CALLERS: u32 = 50;

/// `command` under valgrind's DHAT, one profile per process in `dir`; with `breakdown`, deeper
/// stacks, as the owners are read off outer frames that the default 12 often cut off.
pub fn valgrind_argv(dir: &Path, breakdown: bool, command: &[String]) -> Vec<String> {
    let mut v = vec![
        "valgrind".to_string(),
        "--tool=dhat".into(),
        "--trace-children=yes".into(),
        format!("--dhat-out-file={}/dhat.%p.json", dir.display()),
    ];
    v.extend(breakdown.then(|| format!("--num-callers={BREAKDOWN_CALLERS}")));
    v.push("--".into());
    v.extend(command.iter().cloned());
    v
}

/// Reads every `dhat.PID.json` in `dir`, matched against `seen`; with `breakdown`, attributed.
pub fn read_profiles(dir: &Path, seen: &BTreeSet<i32>, breakdown: bool) -> HeapProfiles {
    let mut h = HeapProfiles {
        seen: seen.len() as u64,
        owners: breakdown.then(Breakdown::default),
        ..Default::default()
    };
    let mut profiled = BTreeSet::new();
    // An unreadable directory leaves every process seen without a profile.
    let entries = std::fs::read_dir(dir).map_err(|e| format!("{}: {e}", dir.display()));
    h.unreadable.extend(entries.as_ref().err().cloned());
    for e in entries.into_iter().flatten().flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        let Some(pid) = name
            .strip_prefix("dhat.")
            .and_then(|n| n.strip_suffix(".json"))
        else {
            continue;
        };
        let parsed = std::fs::read_to_string(e.path())
            .map_err(|e| e.to_string())
            .and_then(|t| Profile::parse(&t).map_err(|e| e.to_string()));
        match parsed {
            Ok(profile) => {
                let totals = profile.totals();
                h.peaks_summed += totals.gmax_bytes;
                h.at_exits_summed += totals.end_bytes;
                if let Some(owners) = h.owners.as_mut() {
                    owners.merge(&attribute(&profile));
                }
                h.read += 1;
                if let Ok(pid) = pid.parse::<i32>() {
                    profiled.insert(pid);
                }
            }
            Err(why) => h.unreadable.push(format!("{name}: {why}")),
        }
    }
    h.missing = seen.difference(&profiled).copied().collect();
    h
}

/// Each owner of `b` with its bytes in all, per connection and per request (`None`: the witness
/// saw none, or was lost); biggest at the peaks first, [`Owner::Other`] last.
pub fn owners(b: &Breakdown, connections: Option<u64>, requests: Option<u64>) -> Vec<HeapOwner> {
    let per = |o: &OwnerBytes, units: Option<u64>| {
        let n = units.filter(|&n| n > 0)? as f64;
        Some(HeapBytes {
            allocated: o.figures.total_bytes as f64 / n,
            at_peaks: o.figures.gmax_bytes as f64 / n,
            at_exits: o.figures.end_bytes as f64 / n,
        })
    };
    let mut out: Vec<HeapOwner> = b
        .owners
        .iter()
        .map(|o| HeapOwner {
            owner: o.owner,
            sites: o.sites,
            bytes: HeapBytes {
                allocated: o.figures.total_bytes,
                at_peaks: o.figures.gmax_bytes,
                at_exits: o.figures.end_bytes,
            },
            per_connection: per(o, connections),
            per_request: per(o, requests),
        })
        .collect();
    out.sort_by_key(|o| {
        (
            o.owner == Owner::Other,
            std::cmp::Reverse(o.bytes.at_peaks),
            std::cmp::Reverse(o.bytes.allocated),
            o.owner,
        )
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A valgrind DHAT profile of two program points: one in OpenSSL holding `gb` at the peak
    /// and `eb` at exit, one elsewhere holding a byte at the peak.
    fn profile(gb: u64, eb: u64) -> String {
        let pp = |gb: u64, eb: u64, f: usize| {
            format!("{{\"tb\":{gb},\"tbk\":1,\"gb\":{gb},\"gbk\":1,\"eb\":{eb},\"ebk\":1,\"fs\":[1,{f}]}}")
        };
        format!(
            "{{\"dhatFileVersion\":2,\"mode\":\"heap\",\"pps\":[{},{}],\"ftbl\":[\"[root]\",\"0x1: malloc (in /usr/libexec/valgrind/vgpreload_dhat-amd64-linux.so)\",\"0x2: SSL_new (in /usr/lib/x86_64-linux-gnu/libssl.so.3)\",\"0x3: main (main.c:1)\"]}}",
            pp(gb, eb, 2),
            pp(1, 0, 3)
        )
    }

    #[test]
    fn sums_peaks_and_exits_over_the_processes_seen() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("dhat.1.json"), profile(100, 10)).expect("write");
        std::fs::write(dir.path().join("dhat.2.json"), profile(200, 20)).expect("write");
        std::fs::write(dir.path().join("other.json"), profile(999, 999)).expect("write");
        let h = read_profiles(dir.path(), &[1, 2].into_iter().collect(), false);
        assert_eq!((h.seen, h.read), (2, 2));
        assert_eq!(h.sums(), Some((302, 30)));
        assert_eq!(h.owners, None, "not asked for");
    }

    #[test]
    fn the_breakdown_sums_the_processes_owners_to_the_heap_sums() {
        use crate::vocab::owner::Owner;
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("dhat.1.json"), profile(100, 10)).expect("write");
        std::fs::write(dir.path().join("dhat.2.json"), profile(200, 20)).expect("write");
        let h = read_profiles(dir.path(), &[1, 2].into_iter().collect(), true);
        let b = h.breakdown().expect("asked for, every profile read");
        let openssl = b.get(Owner::OpenSsl).expect("OpenSSL's frames");
        assert_eq!(
            (
                openssl.sites,
                openssl.figures.gmax_bytes,
                openssl.figures.end_bytes
            ),
            (2, 300, 30)
        );
        assert_eq!(b.get(Owner::Other).map(|o| o.figures.gmax_bytes), Some(2));
        assert_eq!(
            Some((b.totals.gmax_bytes, b.totals.end_bytes)),
            h.sums(),
            "the owners add up to the heap sums"
        );
        let table = owners(b, Some(2), Some(4));
        assert_eq!(table[0].owner, Owner::OpenSsl);
        assert_eq!(table.last().map(|o| o.owner), Some(Owner::Other));
        let per_conn = table[0].per_connection.expect("2 connections");
        assert_eq!((per_conn.at_peaks, per_conn.at_exits), (150.0, 15.0));
        assert_eq!(table[0].per_request.map(|p| p.allocated), Some(75.0));
        let none = owners(b, Some(0), None);
        assert!(none
            .iter()
            .all(|o| o.per_connection.is_none() && o.per_request.is_none()));
    }

    #[test]
    fn a_process_without_a_profile_leaves_the_sums_unmeasured() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("dhat.1.json"), profile(100, 10)).expect("write");
        let h = read_profiles(dir.path(), &[1, 3].into_iter().collect(), true);
        assert_eq!(h.missing, vec![3]);
        assert_eq!(h.sums(), None);
        assert_eq!(h.breakdown(), None, "a partial breakdown is not published");
        let why = h.problem().expect("a problem");
        assert!(why.contains("2 processes seen, 1 profiles read") && why.contains("pid 3"));
    }

    #[test]
    fn an_unreadable_profile_or_none_leaves_the_sums_unmeasured() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("dhat.1.json"), profile(100, 10)).expect("write");
        std::fs::write(dir.path().join("dhat.2.json"), "{\"pps\":").expect("write");
        let h = read_profiles(dir.path(), &[1].into_iter().collect(), true);
        assert_eq!(h.sums(), None);
        assert!(h.problem().is_some_and(|p| p.contains("dhat.2.json")));
        let empty = tempfile::tempdir().expect("tempdir");
        assert_eq!(
            read_profiles(empty.path(), &BTreeSet::new(), false).sums(),
            None
        );
    }
}
