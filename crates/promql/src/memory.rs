//! Series held in memory: the promqltest runner's storage, and a query's prefetched data.

use promql_parser::label::Matcher;

use crate::{
    eval::Source,
    value::{Labels, Series},
};

#[derive(Default)]
pub struct MemorySource {
    series: Vec<Series>,
}

impl MemorySource {
    /// Adds samples to the series with these labels (kept sorted by time).
    pub fn add(&mut self, labels: Labels, points: impl IntoIterator<Item = (i64, f64)>) {
        let index = match self.series.iter().position(|s| s.labels == labels) {
            Some(i) => i,
            None => {
                self.series.push(Series {
                    labels,
                    points: Vec::new(),
                });
                self.series.len() - 1
            }
        };
        let series = &mut self.series[index];
        series.points.extend(points);
        // A later sample at the same time replaces the earlier one.
        series.points.sort_by_key(|p| p.0);
        series.points.reverse();
        series.points.dedup_by_key(|p| p.0);
        series.points.reverse();
    }

    pub fn clear(&mut self) {
        self.series.clear();
    }
}

impl Source for MemorySource {
    fn select(&self, matchers: &[Matcher], start: i64, end: i64) -> Vec<Series> {
        self.series
            .iter()
            .filter(|s| {
                matchers
                    .iter()
                    .all(|m| m.is_match(s.labels.get(&m.name).unwrap_or_default()))
            })
            .map(|s| Series {
                labels: s.labels.clone(),
                points: s
                    .points
                    .iter()
                    .copied()
                    .filter(|(t, _)| *t >= start && *t <= end)
                    .collect(),
            })
            .collect()
    }
}
