//! `--heap valgrind`: the DHAT profiles the command's processes left, matched against the
//! processes the sampler saw.
//!
//! valgrind writes a process's profile when that process ends; one killed by SIGKILL (at
//! `--duration`, by the OOM killer, by the program itself) writes none. A sum over the
//! profiles that were found would then pass for the whole tree's, so the heap figures are
//! published only when every process seen alive left a profile that could be read.

use std::collections::BTreeSet;
use std::path::Path;

use serde_json::Value;

/// What the profiles in a check's directory say.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct HeapProfiles {
    /// Processes of the tree the sampler saw alive.
    pub seen: u64,
    /// Profiles read.
    pub read: u64,
    /// Processes seen alive that left no readable profile.
    pub missing: Vec<i32>,
    /// Profile files that could not be read or parsed, with why.
    pub unreadable: Vec<String>,
    /// Σ over the profiles read of bytes live at each process's own peak (`gb`).
    pub peaks_summed: u64,
    /// Σ over the profiles read of bytes live at each process's exit (`eb`).
    pub at_exits_summed: u64,
}

impl HeapProfiles {
    /// Why the sums are not published (`None`: they are).
    pub fn problem(&self) -> Option<String> {
        if self.read == 0 && self.unreadable.is_empty() {
            return Some("valgrind left no DHAT profile".into());
        }
        let mut why = Vec::new();
        if !self.missing.is_empty() {
            let pids: Vec<String> = self.missing.iter().map(|p| p.to_string()).collect();
            why.push(format!(
                "{} processes seen, {} profiles read: no profile from pid {} (a process killed by SIGKILL writes none)",
                self.seen,
                self.read,
                pids.join(", ")
            ));
        }
        if !self.unreadable.is_empty() {
            why.push(format!(
                "unreadable DHAT profiles: {}",
                self.unreadable.join("; ")
            ));
        }
        (!why.is_empty()).then(|| why.join("; "))
    }

    /// The sums, when every process seen left a readable profile.
    pub fn sums(&self) -> Option<(u64, u64)> {
        self.problem()
            .is_none()
            .then_some((self.peaks_summed, self.at_exits_summed))
    }
}

/// Reads every `dhat.PID.json` in `dir` and matches the PIDs against `seen`.
pub fn read_profiles(dir: &Path, seen: &BTreeSet<i32>) -> HeapProfiles {
    let mut h = HeapProfiles {
        seen: seen.len() as u64,
        ..Default::default()
    };
    let mut profiled = BTreeSet::new();
    let entries = match std::fs::read_dir(dir) {
        Ok(d) => d,
        Err(e) => {
            h.unreadable.push(format!("{}: {e}", dir.display()));
            h.missing = seen.iter().copied().collect();
            return h;
        }
    };
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        let Some(pid) = name
            .strip_prefix("dhat.")
            .and_then(|n| n.strip_suffix(".json"))
        else {
            continue;
        };
        let parsed = std::fs::read_to_string(e.path())
            .map_err(|e| e.to_string())
            .and_then(|t| serde_json::from_str::<Value>(&t).map_err(|e| e.to_string()))
            .and_then(|v| match v.get("pps").and_then(Value::as_array) {
                Some(pps) => Ok(pps.clone()),
                None => Err("no `pps` array".into()),
            });
        match parsed {
            Ok(pps) => {
                let sum = |k: &str| pps.iter().filter_map(|p| p.get(k)?.as_u64()).sum::<u64>();
                h.peaks_summed += sum("gb");
                h.at_exits_summed += sum("eb");
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

#[cfg(test)]
mod tests {
    use super::*;

    fn profile(gb: u64, eb: u64) -> String {
        format!("{{\"pps\":[{{\"gb\":{gb},\"eb\":{eb}}},{{\"gb\":1,\"eb\":0}}]}}")
    }

    #[test]
    fn sums_peaks_and_exits_over_the_processes_seen() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("dhat.1.json"), profile(100, 10)).expect("write");
        std::fs::write(dir.path().join("dhat.2.json"), profile(200, 20)).expect("write");
        std::fs::write(dir.path().join("other.json"), profile(999, 999)).expect("write");
        let h = read_profiles(dir.path(), &[1, 2].into_iter().collect());
        assert_eq!((h.seen, h.read), (2, 2));
        assert_eq!(h.sums(), Some((302, 30)));
    }

    #[test]
    fn a_process_without_a_profile_leaves_the_sums_unmeasured() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("dhat.1.json"), profile(100, 10)).expect("write");
        let h = read_profiles(dir.path(), &[1, 3].into_iter().collect());
        assert_eq!(h.missing, vec![3]);
        assert_eq!(h.sums(), None);
        let why = h.problem().expect("a problem");
        assert!(why.contains("2 processes seen, 1 profiles read") && why.contains("pid 3"));
    }

    #[test]
    fn an_unreadable_profile_or_none_leaves_the_sums_unmeasured() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("dhat.1.json"), profile(100, 10)).expect("write");
        std::fs::write(dir.path().join("dhat.2.json"), "{\"pps\":").expect("write");
        let h = read_profiles(dir.path(), &[1].into_iter().collect());
        assert_eq!(h.sums(), None);
        assert!(h.problem().is_some_and(|p| p.contains("dhat.2.json")));
        let empty = tempfile::tempdir().expect("tempdir");
        assert_eq!(read_profiles(empty.path(), &BTreeSet::new()).sums(), None);
    }
}
