//! `harness handshakes`'s options, parsed into a checked [`HandshakesPlan`].

use std::path::PathBuf;

use clap::Args;

use crate::run::handshakes::{guard, HandshakesPlan};
use crate::vocab::defaults::{self, LOCKSTEP_SESSIONS};
use crate::vocab::tls::{TlsLibrary, TlsVersion};

/// Options of `harness handshakes`.
#[derive(Debug, Clone, Args)]
pub struct HandshakesArgs {
    /// Sessions per point, both sides counted (N/2 clients + N/2 servers), comma-separated;
    /// at least two values, each even and ≥ 2 [default: 100,1000,5000,10000]. A plan whose
    /// largest point would not fit in the memory available is refused before it starts.
    #[arg(long, value_delimiter = ',')]
    pub sessions: Vec<u64>,
    /// TLS versions, comma-separated.
    #[arg(long, value_enum, value_delimiter = ',', default_values_t = TlsVersion::ALL.to_vec())]
    pub tls: Vec<TlsVersion>,
    /// Libraries, comma-separated [default: rustls, and openssl in a native-tls build].
    #[arg(long, value_enum, value_delimiter = ',')]
    pub library: Vec<TlsLibrary>,
    /// A load run (fresh and leak legs) whose per-session figures join the reconciliation
    /// table [default: OUT/latest, when it exists; the report names the run it chose]. A leg
    /// that was rate-bound or had failed requests gives no figure (its row says why).
    #[arg(long)]
    pub run: Option<PathBuf>,
    /// rustls's own `rustls-bench` binary, run at the same points (`memory`, ECDSA P-256);
    /// give it twice (say a jemalloc and a glibc build) and the table shows their difference.
    #[arg(long)]
    pub rustls_bench: Vec<PathBuf>,
    /// Where the certificates live.
    #[arg(long, default_value = defaults::CERTS_DIR)]
    pub certs_dir: PathBuf,
    /// Reports go to OUT/handshakes/<run-id>/.
    #[arg(long, default_value = defaults::OUT_DIR)]
    pub out: PathBuf,
}

/// Why the options make no plan.
#[derive(Debug, thiserror::Error)]
pub enum HandshakesArgsError {
    #[error("--sessions needs at least two distinct values to give a slope, got {0:?}")]
    TooFewSessions(Vec<u64>),
    #[error("--sessions {0}: each value must be even and at least 2 (N/2 clients + N/2 servers)")]
    OddSessions(u64),
    #[error("--library openssl: {}", crate::vocab::client::NATIVE_TLS_NOT_BUILT)]
    NoOpenssl,
    #[error("--rustls-bench {0}: no such file")]
    NoBench(PathBuf),
    #[error("--rustls-bench runs it under GNU time, as the published figures were measured, and /usr/bin/time is missing (Debian: apt-get install time)")]
    NoGnuTime,
    #[error("--run {0}: no summary.json there")]
    NoRun(PathBuf),
    #[error(transparent)]
    Memory(#[from] guard::MemoryError),
}

impl HandshakesArgs {
    /// The checked plan.
    pub fn plan(&self, command: String) -> Result<HandshakesPlan, HandshakesArgsError> {
        if let Some(&n) = self.sessions.iter().find(|&&n| n < 2 || n % 2 == 1) {
            return Err(HandshakesArgsError::OddSessions(n));
        }
        let sessions = match self.sessions.as_slice() {
            [] => LOCKSTEP_SESSIONS.to_vec(),
            given => sorted(given),
        };
        if sessions.len() < 2 {
            return Err(HandshakesArgsError::TooFewSessions(self.sessions.clone()));
        }
        let built = cfg!(feature = "native-tls");
        let libraries = if self.library.is_empty() {
            TlsLibrary::ALL
                .iter()
                .copied()
                .filter(|&l| l == TlsLibrary::Rustls || built)
                .collect()
        } else {
            sorted(&self.library)
        };
        if libraries.contains(&TlsLibrary::Openssl) && !built {
            return Err(HandshakesArgsError::NoOpenssl);
        }
        guard::check(&sessions, &libraries, guard::mem_available())?;
        if let Some(b) = self.rustls_bench.iter().find(|b| !b.is_file()) {
            return Err(HandshakesArgsError::NoBench(b.clone()));
        }
        let time = std::path::Path::new(crate::run::handshakes::GNU_TIME);
        if !self.rustls_bench.is_empty() && !time.is_file() {
            return Err(HandshakesArgsError::NoGnuTime);
        }
        let load_run_default = self.run.is_none();
        let load_run = match &self.run {
            Some(dir) if !dir.join("summary.json").is_file() => {
                return Err(HandshakesArgsError::NoRun(dir.clone()))
            }
            Some(dir) => Some(dir.clone()),
            None => Some(self.out.join("latest")).filter(|d| d.join("summary.json").is_file()),
        };
        Ok(HandshakesPlan {
            sessions,
            tls: sorted(&self.tls),
            libraries,
            certs_dir: self.certs_dir.clone(),
            out: self.out.clone(),
            load_run,
            load_run_default,
            rustls_bench: self.rustls_bench.clone(),
            command,
        })
    }
}

/// `values` in order, each once.
fn sorted<T: Ord + Clone>(values: &[T]) -> Vec<T> {
    let mut v = values.to_vec();
    v.sort_unstable();
    v.dedup();
    v
}
