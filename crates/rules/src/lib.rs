//! What Prometheus' rule manager does, as plain functions over plain data, so the evaluator, the
//! backtest and `server rules test` share one implementation and each can be tested alone:
//! [`alert`] keeps an alerting rule's alerts from one evaluation to the next, [`recording`]
//! knows which recorded series went stale, [`schedule`] says when a group evaluates.

pub mod alert;
pub mod backtest;
pub mod file;
pub mod group;
pub mod recording;
pub mod schedule;
pub mod template;
pub mod unittest;
pub mod yaml;

/// A series' labels, sorted by name (`__name__` included where there is one).
pub type Labels = Vec<(String, String)>;

/// Sorts `labels` by name, as every function here expects them.
pub fn sorted(mut labels: Labels) -> Labels {
    labels.sort();
    labels
}

/// One sample a rule writes.
#[derive(Clone, Debug, PartialEq)]
pub struct Sample {
    pub labels: Labels,
    pub value: f64,
}

/// Prometheus' staleness marker: a NaN with this bit pattern ends a series.
pub const STALE_NAN: u64 = 0x7ff0_0000_0000_0002;

pub fn stale_marker() -> f64 {
    f64::from_bits(STALE_NAN)
}
