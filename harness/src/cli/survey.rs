//! `harness survey`'s options, parsed into a checked [`SurveyPlan`].

use std::path::PathBuf;

use clap::Args;

use crate::contract::plan::ServerPlan;
use crate::survey::SurveyPlan;
use crate::vocab::defaults;
use crate::vocab::exec::HeapTool;
use crate::vocab::runtime::Runtime;

/// Options of `harness survey`.
#[derive(Debug, Clone, Args)]
pub struct SurveyArgs {
    /// Runtimes to check, comma-separated [default: every one].
    #[arg(long, value_enum, value_delimiter = ',')]
    pub runtime: Vec<Runtime>,
    /// Requests each habit's program makes.
    #[arg(long, default_value_t = defaults::SURVEY_REQUESTS, value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    pub requests: u64,
    /// Count each program's heap with valgrind's DHAT, by owner (slow); the table says where
    /// valgrind cannot see (the JVM's, V8's and Go's own heaps).
    #[arg(long, value_enum, default_value_t)]
    pub heap: HeapTool,
    /// Where the example programs are.
    #[arg(long, default_value = "examples/clients")]
    pub examples: PathBuf,
    /// Where the CA and server certificates are kept (generated on first use).
    #[arg(long, default_value = "certs")]
    pub certs_dir: PathBuf,
    /// Reports go to OUT/survey-<run-id>/.
    #[arg(long, default_value = "reports")]
    pub out: PathBuf,
    /// No progress lines.
    #[arg(long)]
    pub quiet: bool,
}

impl SurveyArgs {
    /// The checked form of `harness survey`'s options: the runtimes in the survey's order,
    /// each once; every check's server as `harness exec`'s by default.
    pub fn plan(&self) -> SurveyPlan {
        let runtimes = Runtime::ALL
            .iter()
            .copied()
            .filter(|r| self.runtime.is_empty() || self.runtime.contains(r))
            .collect();
        SurveyPlan {
            runtimes,
            requests: self.requests,
            heap: self.heap,
            examples: self.examples.clone(),
            server: ServerPlan {
                port: 0,
                tls: Default::default(),
                body_bytes: defaults::BODY_BYTES,
                sample_interval: defaults::EXEC_SAMPLE_INTERVAL,
                cache: crate::vocab::server_cache::ServerCachePolicy::default(),
                certs_dir: self.certs_dir.clone(),
            },
            out: self.out.clone(),
        }
    }
}
