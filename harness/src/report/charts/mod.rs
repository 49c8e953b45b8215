//! The SVG charts: one label and colour per leg ([`series`]), line and bar panels, the legend
//! column and the drawing surface, and one module per group of charts.

pub(crate) mod bars;
pub(crate) mod breakdown_chart;
pub(crate) mod canvas;
pub(crate) mod exec_charts;
pub(crate) mod legend;
pub(crate) mod lines;
pub(crate) mod series;
pub(crate) mod summary_charts;
pub(crate) mod timeline_charts;
