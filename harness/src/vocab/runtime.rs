//! The closed sets of `harness survey`: runtimes, how a survey ended, each row's status.

crate::choice! {
    /// A language runtime whose client habits the survey checks (`--runtime`).
    pub enum Runtime ("runtime") {
        /// CPython: `requests`, `httpx`, `urllib3`.
        Python = "python",
        /// Node.js: `https`, `fetch`.
        Node = "node",
        /// A JDK: `java.net.http`.
        Java = "java",
        /// Go: `net/http`.
        Go = "go",
        /// The `curl` command.
        Curl = "curl",
        /// Ruby: `net/http`.
        Ruby = "ruby",
        /// PHP: its `curl` extension.
        Php = "php",
        /// Rust: `reqwest` (the harness's own example).
        Rust = "rust",
    }
}

crate::choice! {
    /// How a survey ended.
    pub enum SurveyEnd ("survey end", default = Complete) {
        /// Every chosen habit was checked (or found missing).
        Complete = "complete",
        /// Ctrl-C: the rows checked so far were written, the rest not run.
        Interrupted = "interrupted",
    }
}

crate::choice! {
    /// What became of one habit's row.
    pub enum RowStatus ("row status") {
        /// Checked under `harness exec`: the figures are measured.
        Measured = "measured",
        /// Not run: the runtime (or a library it needs) is not installed; the row names the
        /// package.
        Missing = "missing",
        /// Run, but it did not finish cleanly (exit status not 0, no request, or the check
        /// could not start); its figures, if any, are what was measured.
        Failed = "failed",
    }
}
