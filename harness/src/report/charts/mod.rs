//! The SVG charts: series, line and bar panels, legend, surface, one module per group of charts.

pub(crate) mod bars;
pub(crate) mod breakdown_chart;
pub(crate) mod canvas;
#[cfg(test)]
pub(crate) mod colour_words;
pub(crate) mod exec_charts;
pub(crate) mod legend;
pub(crate) mod lines;
pub(crate) mod series;
pub(crate) mod summary_charts;
pub(crate) mod survey_chart;
pub(crate) mod timeline_charts;
