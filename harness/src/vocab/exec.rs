//! The closed sets of `harness exec`: report mode, end, heap tool, habit, witness, source.

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
    /// What the server saw of a program's connections, as a habit. Each name says what was
    /// observed (connections and handshakes), not what the program's code did: a shared
    /// client that keeps no idle connection and does not resume shows the same connections
    /// as a client built per request, and the server cannot tell them apart.
    pub enum Habit ("habit") {
        /// (Nearly) every request on a new connection with a full handshake.
        NewConnectionPerRequest = "new_connection_per_request",
        /// (Nearly) every request on a new connection, most of them resumed: the program
        /// kept a session's tickets.
        ResumedConnectionPerRequest = "resumed_connection_per_request",
        /// Every request on one connection.
        OneConnection = "one_connection",
        /// Requests spread over several connections, reused in part.
        ReusesConnections = "reuses_connections",
    }
}

crate::choice! {
    /// Whether the server's per-connection record (the witness) reached the harness.
    pub enum WitnessRecord ("witness record") {
        /// The record arrived: every connection figure is counted from it.
        Received = "received",
        /// It did not (the server worker died, hung, or its record line could not be read):
        /// every connection figure is null and the check fails.
        Lost = "lost",
    }
}

crate::choice! {
    /// The instrument an exec figure is read from; a null figure is explained by its source
    /// (`ExecSummary::unmeasured`).
    pub enum Source ("source") {
        /// The server's per-connection record.
        Witness = "witness",
        /// `/proc` samples of the command's process tree.
        ProcessTree = "process_tree",
        /// The command's wait status.
        WaitStatus = "wait_status",
        /// `getrusage(RUSAGE_CHILDREN)` around the command's wait.
        Rusage = "rusage",
        /// valgrind DHAT's per-process profiles (`--heap valgrind`).
        Heap = "heap",
        /// The harness's own thread CPU clocks (the sampler's and exit watch's CPU time).
        ThreadClock = "thread_clock",
    }
}
