//! A `--breakdown` profile attributed to owners, and its shares of a measured figure.

use serde::{Deserialize, Serialize};

use crate::vocab::owner::Owner;

/// Bytes and blocks: in total, at the global peak, at the end.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Figures {
    #[serde(alias = "tb")]
    pub total_bytes: u64,
    #[serde(alias = "tbk")]
    pub total_blocks: u64,
    #[serde(alias = "gb")]
    pub gmax_bytes: u64,
    #[serde(alias = "gbk")]
    pub gmax_blocks: u64,
    #[serde(alias = "eb")]
    pub end_bytes: u64,
    #[serde(alias = "ebk")]
    pub end_blocks: u64,
}

impl Figures {
    /// One of the byte figures.
    pub fn bytes(&self, which: ByteFigure) -> u64 {
        match which {
            ByteFigure::Total => self.total_bytes,
            ByteFigure::End => self.end_bytes,
        }
    }
}

impl std::ops::Add for Figures {
    type Output = Figures;
    fn add(self, o: Figures) -> Figures {
        Figures {
            total_bytes: self.total_bytes + o.total_bytes,
            total_blocks: self.total_blocks + o.total_blocks,
            gmax_bytes: self.gmax_bytes + o.gmax_bytes,
            gmax_blocks: self.gmax_blocks + o.gmax_blocks,
            end_bytes: self.end_bytes + o.end_bytes,
            end_blocks: self.end_blocks + o.end_blocks,
        }
    }
}

/// Which byte figure of a program point a breakdown divides.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ByteFigure {
    /// Allocated in total (`tb`): per request.
    Total,
    /// Live when the profiler stopped (`eb`): retained per session.
    End,
}

/// What one owner holds in a profile.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct OwnerBytes {
    pub owner: Owner,
    /// Program points attributed to it.
    pub sites: u64,
    #[serde(flatten)]
    pub figures: Figures,
}

/// A profile attributed to owners: one entry per owner that holds anything, in [`Owner::ALL`]
/// order, and the profile's totals, which the entries add up to exactly.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Breakdown {
    pub owners: Vec<OwnerBytes>,
    pub totals: Figures,
}

/// One owner's share of a per-session or per-request figure, as `summary.json` publishes it.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Share {
    pub owner: Owner,
    /// Bytes per unit (session or request).
    pub bytes: f64,
    /// `bytes` over the whole: the measured figure when there is one, else the profile's total.
    pub share: f64,
}

/// What a `--breakdown` client worker reports with its totals: its load's profile attributed
/// to owners, and how many sessions were live in it at the end (the retained ones in fresh
/// mode, the kept ones in leak mode; 0 in the modes that share one session).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoadProfile {
    pub breakdown: Breakdown,
    pub sessions_held: u64,
}

impl Breakdown {
    /// Adds `other`'s owners and totals to this one (the profiles of several processes), the
    /// entries kept in [`Owner::ALL`] order.
    pub fn merge(&mut self, other: &Breakdown) {
        for o in &other.owners {
            match self.owners.iter_mut().find(|e| e.owner == o.owner) {
                Some(e) => {
                    e.sites += o.sites;
                    e.figures = e.figures + o.figures;
                }
                None => self.owners.push(*o),
            }
        }
        self.owners.sort_by_key(|o| o.owner);
        self.totals = self.totals + other.totals;
    }

    /// The owner's entry, if it holds anything.
    pub fn get(&self, owner: Owner) -> Option<&OwnerBytes> {
        self.owners.iter().find(|o| o.owner == owner)
    }

    /// Each owner's bytes of figure `which` ÷ `units` (sessions or requests), biggest first;
    /// against `measured`, the difference is appended as [`Owner::Remainder`] and shares are of
    /// it, else of the profile's total. Owners with no bytes are left out, and [`Owner::Harness`]
    /// from [`ByteFigure::End`] (docs/method-breakdown.md, "Per unit"). `None` when `units` is 0.
    pub fn per_unit(
        &self,
        which: ByteFigure,
        units: u64,
        measured: Option<f64>,
    ) -> Option<Vec<Share>> {
        if units == 0 {
            return None;
        }
        let n = units as f64;
        let counted = |o: &&OwnerBytes| which != ByteFigure::End || o.owner != Owner::Harness;
        let seen = self
            .owners
            .iter()
            .filter(counted)
            .map(|o| o.figures.bytes(which))
            .sum::<u64>() as f64
            / n;
        let whole = measured.unwrap_or(seen);
        let share = |b: f64| if whole == 0.0 { 0.0 } else { b / whole };
        let mut out: Vec<Share> = self
            .owners
            .iter()
            .filter(counted)
            .filter(|o| o.figures.bytes(which) > 0)
            .map(|o| {
                let bytes = o.figures.bytes(which) as f64 / n;
                Share {
                    owner: o.owner,
                    bytes,
                    share: share(bytes),
                }
            })
            .collect();
        out.sort_by(|a, b| b.bytes.total_cmp(&a.bytes).then(a.owner.cmp(&b.owner)));
        if let Some(m) = measured {
            let rest = m - seen;
            if rest != 0.0 {
                out.push(Share {
                    owner: Owner::Remainder,
                    bytes: rest,
                    share: share(rest),
                });
            }
        }
        Some(out)
    }
}
