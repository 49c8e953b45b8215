//! The closed sets of `harness exec`: what kind of report, how the command ended, who counted
//! its heap, and the habit its connections show (ARCHITECTURE.md, "Checking a program").

crate::choice! {
    /// What kind of report a `summary.json` of `harness exec` is.
    pub enum ExecMode ("report mode", default = Exec) {
        /// A program checked from outside.
        Exec = "exec",
    }
}

crate::choice! {
    /// How the command's run ended.
    pub enum ExecEnd ("end", default = Exited) {
        /// The command exited by itself.
        Exited = "exited",
        /// `--duration` passed: the harness stopped it (SIGTERM, then SIGKILL).
        Stopped = "stopped",
        /// Ctrl-C or SIGTERM to the harness: the command was stopped.
        Interrupted = "interrupted",
        /// The server worker died, so the command was stopped.
        ServerDied = "server_died",
    }
}

crate::choice! {
    /// Who counts the command's heap.
    pub enum HeapTool ("heap tool", default = None) {
        /// Nobody: a foreign process's heap is not visible (heap figures are null).
        None = "none",
        /// valgrind's DHAT, around the command: exact heap bytes, many times slower.
        Valgrind = "valgrind",
    }
}

crate::choice! {
    /// How a program uses TLS sessions, as its connections show it.
    pub enum Habit ("habit") {
        /// (Nearly) every request on a new connection with a full handshake: a new session
        /// per request.
        SessionPerRequest = "session_per_request",
        /// New connections, but most resume a session the program kept.
        ResumesSession = "resumes_session",
        /// All requests on one connection: one shared session.
        SharesSession = "shares_session",
        /// Requests spread over several connections, reused in part.
        ReusesConnections = "reuses_connections",
    }
}
