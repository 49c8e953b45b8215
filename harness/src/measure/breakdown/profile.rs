//! A dhat heap profile as the dhat crate and valgrind's DHAT write it.

use serde::Deserialize;

use crate::contract::breakdown::Figures;

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
    /// In total (dhat's `tb`, `tbk`), live at the global peak, t-gmax (`gb`, `gbk`), and when
    /// the profiler stopped, t-end (`eb`, `ebk`).
    #[serde(flatten)]
    pub figures: Figures,
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
        // The version and mode first: a wrong kind of profile says so, not a missing field.
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
            .fold(Figures::default(), |acc, pp| acc + pp.figures)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
