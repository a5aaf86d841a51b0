//! Series held in memory: the promqltest runner's storage, and a query's prefetched data.

use std::{
    collections::HashMap,
    sync::Mutex,
    thread::{self, ThreadId},
};

use promql_parser::label::Matcher;

use crate::{
    eval::Source,
    value::{Labels, Series},
};

#[derive(Default)]
pub struct MemorySource {
    series: Vec<Series>,
    index: HashMap<Labels, usize>,
    /// The series each set of matchers selects (a range query asks the same at every step),
    /// with where each one's previous window began: windows move forward step by step, so the
    /// next one is found by a short walk instead of a binary search over all the points. Each
    /// thread of a range query walks its own steps, so keeps its own (a source lives for one
    /// query, or is cleared by `add`, so the entries of ended threads do not pile up).
    selected: Mutex<HashMap<(ThreadId, String), Vec<(usize, usize)>>>,
}

impl MemorySource {
    /// Adds samples to the series with these labels (kept sorted by time).
    pub fn add(&mut self, labels: Labels, points: impl IntoIterator<Item = (i64, f64)>) {
        self.forget_selections();
        let index = *self.index.entry(labels.clone()).or_insert_with(|| {
            self.series.push(Series {
                labels,
                points: Vec::new(),
            });
            self.series.len() - 1
        });
        let series = &mut self.series[index];
        let sorted_before = series.points.len();
        if sorted_before == 0 {
            // A new series takes the points as they come (a Vec without a copy).
            series.points = points.into_iter().collect();
        } else {
            series.points.extend(points);
        }
        let in_order = series.points[sorted_before.saturating_sub(1)..]
            .windows(2)
            .all(|w| w[0].0 < w[1].0);
        if !in_order {
            // A later sample at the same time replaces the earlier one.
            series.points.sort_by_key(|p| p.0);
            series.points.reverse();
            series.points.dedup_by_key(|p| p.0);
            series.points.reverse();
        }
    }

    pub fn clear(&mut self) {
        self.series.clear();
        self.index.clear();
        self.forget_selections();
    }

    fn forget_selections(&mut self) {
        self.selected
            .get_mut()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
    }
}

impl Source for MemorySource {
    fn select(&self, matchers: &[Matcher], start: i64, end: i64) -> Vec<Series> {
        let key = (thread::current().id(), format!("{matchers:?}"));
        // Taken out while in use, so the threads do not wait on each other.
        let taken = self
            .selected
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&key);
        let mut chosen = taken.unwrap_or_else(|| {
            (0..self.series.len())
                .filter(|&i| {
                    let labels = &self.series[i].labels;
                    matchers
                        .iter()
                        .all(|m| m.is_match(labels.get(&m.name).unwrap_or_default()))
                })
                .map(|i| (i, 0))
                .collect()
        });
        let series = chosen
            .iter_mut()
            .map(|(i, hint)| {
                let s = &self.series[*i];
                let from = first_at_or_after(&s.points, start, *hint);
                *hint = from;
                // The window's points are copied anyway: walking them costs no more.
                let to = from + s.points[from..].iter().take_while(|p| p.0 <= end).count();
                Series {
                    labels: s.labels.clone(),
                    points: s.points[from..to].to_vec(),
                }
            })
            .collect();
        self.selected
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(key, chosen);
        series
    }
}

/// The index of the first point at or after `t`, walking a few points from `hint` when it is
/// just before it (the common case), else by binary search.
fn first_at_or_after(points: &[(i64, f64)], t: i64, hint: usize) -> usize {
    let hint = hint.min(points.len());
    if hint == 0 || points[hint - 1].0 < t {
        for i in hint..(hint + 8).min(points.len()) {
            if points[i].0 >= t {
                return i;
            }
        }
    }
    points.partition_point(|p| p.0 < t)
}
