//! Which clock a run stamps requests and expiries with: real or virtual.

crate::choice! {
    /// Which clock stamps requests and expiries.
    pub enum Clock ("clock", default = Real) {
        /// Wall time: requests start on schedule, retention expires in real time.
        Real = "real",
        /// The same request sequence as fast as possible, request i stamped i/R.
        Virtual = "virtual",
    }
}
