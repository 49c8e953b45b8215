//! The load's latency and timing histograms and their percentiles.

use hdrhistogram::Histogram;

use crate::contract::wire::P50P99;

pub(crate) fn new_hist() -> Histogram<u64> {
    // 3 significant digits; auto-resize covers any value.
    let mut h = Histogram::new(3).unwrap_or_else(|_| unreachable!("3 sigfigs is valid"));
    h.auto(true);
    h
}

pub(crate) fn p50p99(h: &Histogram<u64>) -> Option<P50P99> {
    (!h.is_empty()).then(|| P50P99 {
        p50: h.value_at_quantile(0.5),
        p99: h.value_at_quantile(0.99),
    })
}
