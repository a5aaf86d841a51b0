//! Error budgets, burn rates and statuses.
//!
//! A ratio objective (availability, a share of fast requests, a share without errors) is kept as
//! good and total event counts per 5-minute bucket, and everything is computed from their sums:
//! an hour with ten times the traffic weighs ten times as much, where an average of per-bucket
//! ratios (Sloth's `slo:sli_error:ratio_rate30d`) lets a quiet night count as much as a busy day.
//! A threshold objective (p95 latency under 200 ms, throughput over 1,000 req/s) compares one
//! value with its target.

use std::ops::{Add, AddAssign};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::{maintenance::Maintenance, window::Span};

/// Good and total events.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Events {
    pub good: f64,
    pub total: f64,
}

impl Events {
    pub fn new(good: f64, total: f64) -> Events {
        Events { good, total }
    }

    pub fn bad(&self) -> f64 {
        (self.total - self.good).max(0.0)
    }

    /// The share of good events; none without events.
    pub fn sli(&self) -> Option<f64> {
        (self.total > 0.0).then(|| self.good.min(self.total) / self.total)
    }

    pub fn error_ratio(&self) -> Option<f64> {
        self.sli().map(|sli| 1.0 - sli)
    }
}

impl Add for Events {
    type Output = Events;

    fn add(self, other: Events) -> Events {
        Events {
            good: self.good + other.good,
            total: self.total + other.total,
        }
    }
}

impl AddAssign for Events {
    fn add_assign(&mut self, other: Events) {
        *self = *self + other;
    }
}

/// The events of one rollup bucket, starting at `start` (5 minutes long).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Bucket {
    pub start: DateTime<Utc>,
    pub events: Events,
}

pub const BUCKET_MINUTES: i64 = 5;

/// The events of the buckets that start in `span` and do not touch a maintenance window: a
/// bucket partly in maintenance is left out whole, so an error burst at its edge is not counted.
pub fn sum(buckets: &[Bucket], span: &Span, maintenance: &[Maintenance]) -> Events {
    let windows: Vec<Span> = maintenance
        .iter()
        .flat_map(|m| m.occurrences(span))
        .collect();
    buckets
        .iter()
        .filter(|b| span.contains(b.start))
        .filter(|b| {
            let bucket = Span::new(b.start, b.start + chrono::Duration::minutes(BUCKET_MINUTES));
            !windows.iter().any(|w| w.overlap(&bucket).is_some())
        })
        .fold(Events::default(), |sum, b| sum + b.events)
}

/// A ratio objective's error budget over a window.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Budget {
    /// The objective, as a share (0.999).
    pub target: f64,
    pub sli: Option<f64>,
    /// The share of events allowed to fail: `1 - target`.
    pub allowed: f64,
    /// The share of the budget used so far (1 is all of it; more when the target is missed).
    pub consumed: f64,
    /// `1 - consumed`; negative once the budget is overspent.
    pub remaining: f64,
    /// The budget as time: the window's minutes (without maintenance) times `allowed`; 99.9 %
    /// of 30 days is 43.2 minutes.
    pub total_minutes: f64,
    pub consumed_minutes: f64,
    pub remaining_minutes: f64,
}

impl Budget {
    /// The budget of `events` counted over a window of `window_minutes`.
    pub fn new(target: f64, events: Events, window_minutes: f64) -> Budget {
        let allowed = 1.0 - target;
        let consumed = match events.error_ratio() {
            Some(ratio) if allowed > 0.0 => ratio / allowed,
            Some(ratio) if ratio > 0.0 => f64::INFINITY,
            _ => 0.0,
        };
        let total_minutes = window_minutes * allowed;
        Budget {
            target,
            sli: events.sli(),
            allowed,
            consumed,
            remaining: 1.0 - consumed,
            total_minutes,
            consumed_minutes: total_minutes * consumed,
            remaining_minutes: total_minutes * (1.0 - consumed),
        }
    }

    /// Compliant while the target is met and at least 10 % of the budget is left; warning
    /// when less is left; violated when the target is missed.
    pub fn status(&self) -> Status {
        match self.sli {
            None => Status::NoData,
            Some(sli) if sli < self.target => Status::Violated,
            Some(_) if self.remaining < WARNING_SHARE => Status::Warning,
            Some(_) => Status::Compliant,
        }
    }
}

/// How fast the budget burns over `events`: 1 uses exactly the budget over the window, 14.4
/// uses 2 % of a 30-day budget in an hour.
pub fn burn_rate(target: f64, events: Events) -> Option<f64> {
    let allowed = 1.0 - target;
    events
        .error_ratio()
        .filter(|_| allowed > 0.0)
        .map(|ratio| ratio / allowed)
}

/// The band that turns a status to warning: 10 % of the budget left, or within 10 % of a
/// threshold objective's target.
pub const WARNING_SHARE: f64 = 0.1;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    /// Latency, error rate: the value must stay at or under its target.
    LowerIsBetter,
    /// Throughput: the value must stay at or over its target.
    HigherIsBetter,
}

/// Ordered from best to worst, so the overall status is the greatest.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Compliant,
    /// Nothing to judge by (no traffic, no data).
    NoData,
    Warning,
    Violated,
}

/// A threshold objective's status, as the plans we serve state it: a lower-is-better value is
/// compliant at or under its target and a warning up to 10 % above it; a higher-is-better value
/// is compliant at or over its target and a warning down to 10 % below it; beyond that band the
/// objective is violated.
pub fn threshold_status(value: Option<f64>, target: f64, direction: Direction) -> Status {
    let Some(value) = value.filter(|v| v.is_finite()) else {
        return Status::NoData;
    };
    let (met, within_band) = match direction {
        Direction::LowerIsBetter => (value <= target, value <= target * (1.0 + WARNING_SHARE)),
        Direction::HigherIsBetter => (value >= target, value >= target * (1.0 - WARNING_SHARE)),
    };
    match (met, within_band) {
        (true, _) => Status::Compliant,
        (false, true) => Status::Warning,
        (false, false) => Status::Violated,
    }
}

/// A tenant's overall status: the worst of its objectives' (compliant when it has none).
pub fn overall(statuses: impl IntoIterator<Item = Status>) -> Status {
    statuses.into_iter().max().unwrap_or(Status::Compliant)
}

#[cfg(test)]
mod tests {
    use chrono::Duration;

    use super::*;
    use crate::maintenance::Recurrence;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-9
    }

    #[test]
    fn the_budget_of_99_9_over_30_days_is_43_2_minutes() {
        let window = 30.0 * 24.0 * 60.0;
        // 1,000,000 requests, 400 failed: 40 % of the budget used.
        let budget = Budget::new(0.999, Events::new(999_600.0, 1_000_000.0), window);
        assert!(close(budget.total_minutes, 43.2));
        assert!(close(budget.consumed, 0.4), "{budget:?}");
        assert!(close(budget.remaining, 0.6));
        assert!(close(budget.consumed_minutes, 17.28));
        assert!(close(budget.remaining_minutes, 25.92));
        assert_eq!(budget.sli, Some(0.9996));
        assert_eq!(budget.status(), Status::Compliant);
    }

    #[test]
    fn little_budget_left_warns_and_a_missed_target_violates() {
        let window = 30.0 * 24.0 * 60.0;
        let status = |bad: f64| {
            Budget::new(0.999, Events::new(1_000_000.0 - bad, 1_000_000.0), window).status()
        };
        assert_eq!(status(899.0), Status::Compliant, "10.1 % left");
        assert_eq!(status(901.0), Status::Warning, "9.9 % left");
        assert_eq!(
            status(1_000.0),
            Status::Warning,
            "exactly on target: met, no budget left"
        );
        assert_eq!(status(1_001.0), Status::Violated);
        assert_eq!(
            Budget::new(0.999, Events::default(), window).status(),
            Status::NoData
        );
        let overspent = Budget::new(0.999, Events::new(997_000.0, 1_000_000.0), window);
        assert!(close(overspent.remaining, -2.0) && close(overspent.remaining_minutes, -86.4));
    }

    #[test]
    fn burn_rates_say_how_fast_the_budget_goes() {
        // 1.44 % errors against a 0.1 % budget: 14.4 times the sustainable rate.
        assert!(close(
            burn_rate(0.999, Events::new(98_560.0, 100_000.0)).unwrap(),
            14.4
        ));
        assert!(close(
            burn_rate(0.99, Events::new(99.0, 100.0)).unwrap(),
            1.0
        ));
        assert_eq!(burn_rate(0.999, Events::default()), None);
        assert_eq!(
            burn_rate(1.0, Events::new(1.0, 2.0)),
            None,
            "a 100 % target has no budget to burn"
        );
    }

    #[test]
    fn events_are_weighted_by_traffic_not_averaged_by_bucket() {
        // A busy hour with 1 % errors and a quiet hour with none: the mean of the two ratios
        // is 0.5 %, the events say 0.99 %.
        let busy = Events::new(9_900.0, 10_000.0);
        let quiet = Events::new(100.0, 100.0);
        let both = busy + quiet;
        assert!(close(both.error_ratio().unwrap(), 100.0 / 10_100.0));
        let mean_of_ratios = (busy.error_ratio().unwrap() + quiet.error_ratio().unwrap()) / 2.0;
        assert!((both.error_ratio().unwrap() - mean_of_ratios).abs() > 0.004);
    }

    #[test]
    fn a_maintenance_window_over_an_error_burst_leaves_the_budget_unchanged() {
        let start = crate::utc("2026-06-01T00:00:00Z");
        let span = Span::new(start, start + Duration::days(1));
        // A day of 5-minute buckets at 1,000 requests, 1 failing; 02:00-03:00 fails half.
        let buckets: Vec<Bucket> = (0..288)
            .map(|i| {
                let at = start + Duration::minutes(5 * i);
                let burst = (24..36).contains(&i);
                Bucket {
                    start: at,
                    events: Events::new(if burst { 500.0 } else { 999.0 }, 1_000.0),
                }
            })
            .collect();
        let quiet: Vec<Bucket> = buckets
            .iter()
            .map(|b| Bucket {
                events: Events::new(999.0, 1_000.0),
                ..*b
            })
            .collect();
        let maintenance = Maintenance {
            start: start + Duration::hours(2),
            minutes: 60,
            recurrence: Recurrence::Once,
            zone: chrono_tz::Tz::UTC,
        };
        let with_burst = sum(&buckets, &span, std::slice::from_ref(&maintenance));
        let without = sum(&quiet, &span, std::slice::from_ref(&maintenance));
        assert_eq!(with_burst, without);
        assert_eq!(
            with_burst.total, 276_000.0,
            "the maintenance hour's 12 buckets are left out"
        );
        assert!(
            sum(&buckets, &span, &[]).error_ratio().unwrap() > 0.02,
            "without it the burst counts"
        );
        let minutes = span.minutes() - 60.0;
        let budget = Budget::new(0.99, with_burst, minutes);
        assert!(close(budget.consumed, 0.1));
    }

    #[test]
    fn threshold_objectives_warn_within_ten_percent_of_their_target() {
        use Direction::*;
        assert_eq!(
            threshold_status(Some(180.0), 200.0, LowerIsBetter),
            Status::Compliant
        );
        assert_eq!(
            threshold_status(Some(200.0), 200.0, LowerIsBetter),
            Status::Compliant
        );
        assert_eq!(
            threshold_status(Some(215.0), 200.0, LowerIsBetter),
            Status::Warning
        );
        assert_eq!(
            threshold_status(Some(221.0), 200.0, LowerIsBetter),
            Status::Violated
        );
        assert_eq!(
            threshold_status(Some(1_200.0), 1_000.0, HigherIsBetter),
            Status::Compliant
        );
        assert_eq!(
            threshold_status(Some(950.0), 1_000.0, HigherIsBetter),
            Status::Warning
        );
        assert_eq!(
            threshold_status(Some(899.0), 1_000.0, HigherIsBetter),
            Status::Violated
        );
        assert_eq!(
            threshold_status(None, 1_000.0, HigherIsBetter),
            Status::NoData
        );
        assert_eq!(
            threshold_status(Some(f64::NAN), 1_000.0, HigherIsBetter),
            Status::NoData
        );
    }

    #[test]
    fn the_overall_status_is_the_worst() {
        assert_eq!(
            overall([Status::Compliant, Status::Warning, Status::NoData]),
            Status::Warning
        );
        assert_eq!(
            overall([Status::Violated, Status::Compliant]),
            Status::Violated
        );
        assert_eq!(overall([Status::Compliant, Status::NoData]), Status::NoData);
        assert_eq!(overall([]), Status::Compliant);
    }
}
