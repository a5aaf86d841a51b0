//! The SRE workbook's multi-window, multi-burn-rate alerts (chapter 5, "Alerting on SLOs"):
//! page when 2 % of the budget goes in an hour or 5 % in six hours, open a ticket when 10 % goes
//! in a day or in three days. Each alert needs both its long window and a short one (a twelfth
//! of it) over the threshold, so it fires fast and stops soon after the burn does. Over a 30-day
//! window that is 14.4× over 1 h and 5 m, 6× over 6 h and 30 m, 3× over 1 d and 2 h, 1× over
//! 3 d and 6 h; over another window the same shares of the budget give other factors (7 days:
//! 3.36×, 1.4×, 0.7×, 0.233×), as Sloth scales them.

use chrono::Duration;
use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Page,
    Ticket,
}

impl Severity {
    pub fn as_str(&self) -> &'static str {
        match self {
            Severity::Page => "page",
            Severity::Ticket => "ticket",
        }
    }
}

/// One window pair of an alert.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct BurnWindow {
    pub severity: Severity,
    /// The share of the whole budget that burning at `factor` for `long` uses.
    pub budget_share: f64,
    #[serde(with = "minutes")]
    pub long: Duration,
    #[serde(with = "minutes")]
    pub short: Duration,
    /// The burn rate both windows must exceed.
    pub factor: f64,
}

impl BurnWindow {
    /// The error ratio both windows must exceed for an objective of `target` (0.999).
    pub fn error_ratio(&self, target: f64) -> f64 {
        self.factor * (1.0 - target)
    }
}

/// The workbook's four window pairs over a window of `days`, pages first.
pub fn workbook(days: u32) -> Vec<BurnWindow> {
    [
        (Severity::Page, 2.0, 60, 5),
        (Severity::Page, 5.0, 6 * 60, 30),
        (Severity::Ticket, 10.0, 24 * 60, 2 * 60),
        (Severity::Ticket, 10.0, 3 * 24 * 60, 6 * 60),
    ]
    .into_iter()
    .map(|(severity, percent, long, short)| {
        let (long, short) = (Duration::minutes(long), Duration::minutes(short));
        BurnWindow {
            severity,
            budget_share: percent / 100.0,
            long,
            short,
            // As Sloth computes it: the share of the budget, times how many long windows the
            // period holds.
            factor: percent / 100.0
                * (Duration::days(days.into()).num_minutes() as f64 / long.num_minutes() as f64),
        }
    })
    .collect()
}

/// Which of `windows` fire, given each window's burn rate (`burn(duration)`; `None` without
/// data never fires).
pub fn firing(windows: &[BurnWindow], burn: impl Fn(Duration) -> Option<f64>) -> Vec<BurnWindow> {
    windows
        .iter()
        .filter(|w| {
            [w.long, w.short]
                .into_iter()
                .all(|d| burn(d).is_some_and(|rate| rate > w.factor))
        })
        .copied()
        .collect()
}

mod minutes {
    use chrono::Duration;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_i64(d.num_minutes())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        i64::deserialize(d).map(Duration::minutes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn factors(days: u32) -> Vec<f64> {
        workbook(days)
            .iter()
            .map(|w| (w.factor * 1000.0).round() / 1000.0)
            .collect()
    }

    #[test]
    fn the_workbook_factors_over_30_days_and_scaled_to_other_windows() {
        assert_eq!(factors(30), [14.4, 6.0, 3.0, 1.0]);
        assert_eq!(factors(28), [13.44, 5.6, 2.8, 0.933]);
        assert_eq!(factors(7), [3.36, 1.4, 0.7, 0.233]);
        let windows = workbook(30);
        assert_eq!(
            (windows[0].long, windows[0].short),
            (Duration::hours(1), Duration::minutes(5))
        );
        assert_eq!(
            (windows[3].long, windows[3].short),
            (Duration::days(3), Duration::hours(6))
        );
        assert_eq!(
            windows.iter().map(|w| w.severity).collect::<Vec<_>>(),
            [
                Severity::Page,
                Severity::Page,
                Severity::Ticket,
                Severity::Ticket
            ]
        );
        // 14.4 × a 0.1 % budget: page above 1.44 % errors.
        assert!((windows[0].error_ratio(0.999) - 0.0144).abs() < 1e-12);
    }

    #[test]
    fn both_windows_must_burn_for_an_alert_to_fire() {
        let windows = workbook(30);
        // A burst: 20× over the last 5 minutes and the hour, calm over longer windows.
        let burst = |d: Duration| Some(if d <= Duration::hours(1) { 20.0 } else { 0.5 });
        let fired = firing(&windows, burst);
        assert_eq!(fired.len(), 1);
        assert_eq!(fired[0].long, Duration::hours(1));
        // The burn stopped five minutes ago: the hour still burns, the short window does not.
        let stopped = |d: Duration| Some(if d == Duration::minutes(5) { 0.0 } else { 20.0 });
        assert!(firing(&windows, stopped)
            .iter()
            .all(|w| w.short != Duration::minutes(5)));
        // A slow steady leak: 2× everywhere opens the 3-day ticket only.
        let leak = firing(&windows, |_| Some(2.0));
        assert_eq!(leak.len(), 1);
        assert_eq!(
            (leak[0].severity, leak[0].long),
            (Severity::Ticket, Duration::days(3))
        );
        assert!(firing(&windows, |_| None).is_empty());
    }
}
