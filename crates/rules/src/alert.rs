//! An alerting rule's alerts from one evaluation to the next, as Prometheus' `AlertingRule.Eval`
//! keeps them (rules/alerting.go, 2.42+):
//!
//! - a series in the result starts an alert as pending (active since this evaluation) unless one
//!   with its labels is already pending or firing, which then takes the new value and annotations;
//! - a pending alert fires at the first evaluation at least `for` after it became active (at once
//!   with `for: 0`);
//! - an alert whose series is gone: pending ones are forgotten; firing ones keep firing for
//!   `keep_firing_for` after their series left, then become inactive (resolved), and are kept
//!   15 minutes so that notifications can say they resolved; a series that comes back after
//!   that starts a new alert;
//! - each evaluation writes `ALERTS{alertstate="pending"|"firing"} 1` and
//!   `ALERTS_FOR_STATE` (the time the alert became active, in seconds) for every pending and
//!   firing alert.
//!
//! The state is plain data (serde), so it can be kept in PostgreSQL and survive a restart with
//! each alert's `for` progress.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::{sorted, Labels, Sample};

/// How long a resolved alert is kept (Prometheus' `resolvedRetention`).
pub const RESOLVED_RETENTION_MS: i64 = 15 * 60 * 1000;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum State {
    Inactive,
    Pending,
    Firing,
}

impl State {
    pub fn as_str(self) -> &'static str {
        match self {
            State::Inactive => "inactive",
            State::Pending => "pending",
            State::Firing => "firing",
        }
    }
}

/// One alert of a rule: one label set.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Alert {
    /// The alert's labels: the series' (without `__name__`), the rule's, and `alertname`.
    pub labels: Labels,
    pub annotations: Labels,
    pub state: State,
    pub value: f64,
    /// When it became pending (ms).
    pub active_at: i64,
    pub fired_at: Option<i64>,
    pub resolved_at: Option<i64>,
    /// When its series left while it was firing (`keep_firing_for` runs from here).
    pub keep_firing_since: Option<i64>,
}

/// What an alerting rule decides with.
#[derive(Clone, Debug, PartialEq)]
pub struct Rule {
    pub name: String,
    /// `for`, in ms.
    pub hold_ms: i64,
    /// `keep_firing_for`, in ms.
    pub keep_firing_for_ms: i64,
}

/// One series of the expression's result, with the labels and annotations it gives its alert
/// (the rule's labels and annotations already expanded for it).
#[derive(Clone, Debug, PartialEq)]
pub struct Found {
    pub labels: Labels,
    pub annotations: Labels,
    pub value: f64,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EvalError {
    /// Two series give the same alert labels (Prometheus' error, word for word).
    DuplicateLabelSet,
}

impl std::fmt::Display for EvalError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("vector contains metrics with the same labelset after applying alert labels")
    }
}

impl std::error::Error for EvalError {}

/// The alert labels of a result series: its labels without `__name__`, the rule's labels over
/// them (a rule label wins), and `alertname`.
pub fn alert_labels(series: &Labels, rule_labels: &Labels, alertname: &str) -> Labels {
    let mut labels: BTreeMap<String, String> = series
        .iter()
        .filter(|(k, _)| k != "__name__")
        .cloned()
        .collect();
    for (k, v) in rule_labels {
        if v.is_empty() {
            labels.remove(k);
        } else {
            labels.insert(k.clone(), v.clone());
        }
    }
    labels.insert("alertname".into(), alertname.into());
    labels.into_iter().collect()
}

/// A rule's alerts, keyed by their labels.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Alerts {
    pub active: BTreeMap<String, Alert>,
}

/// An alert's identity: its labels as one text, separated as Prometheus separates them when it
/// hashes labels (U+00FF, which valid UTF-8 label text does not contain as a byte).
pub fn fingerprint(labels: &Labels) -> String {
    let mut out = String::new();
    for (k, v) in labels {
        out.push_str(k);
        out.push('\u{ff}');
        out.push_str(v);
        out.push('\u{ff}');
    }
    out
}

impl Alerts {
    /// One evaluation at `ts` (ms) whose expression found `found`: the alerts move on, and the
    /// samples of `ALERTS` and `ALERTS_FOR_STATE` to write at `ts` come back. On an error
    /// nothing changes.
    pub fn eval(
        &mut self,
        rule: &Rule,
        ts: i64,
        found: Vec<Found>,
    ) -> Result<Vec<Sample>, EvalError> {
        let mut fresh: BTreeMap<String, Alert> = BTreeMap::new();
        for f in found {
            let labels = sorted(f.labels);
            if fresh.contains_key(&fingerprint(&labels)) {
                return Err(EvalError::DuplicateLabelSet);
            }
            let alert = Alert {
                labels: labels.clone(),
                annotations: f.annotations,
                state: State::Pending,
                value: f.value,
                active_at: ts,
                fired_at: None,
                resolved_at: None,
                keep_firing_since: None,
            };
            fresh.insert(fingerprint(&labels), alert);
        }
        for (k, alert) in &fresh {
            match self.active.get_mut(k) {
                Some(current) if current.state != State::Inactive => {
                    current.value = alert.value;
                    current.annotations = alert.annotations.clone();
                }
                _ => {
                    self.active.insert(k.clone(), alert.clone());
                }
            }
        }
        let mut samples = Vec::new();
        let mut forget = Vec::new();
        for (k, alert) in self.active.iter_mut() {
            if fresh.contains_key(k) {
                alert.keep_firing_since = None;
            } else {
                let mut keep_firing = false;
                if alert.state == State::Firing && rule.keep_firing_for_ms > 0 {
                    let since = *alert.keep_firing_since.get_or_insert(ts);
                    keep_firing = ts - since < rule.keep_firing_for_ms;
                }
                let expired = alert
                    .resolved_at
                    .is_some_and(|at| ts - at > RESOLVED_RETENTION_MS);
                if alert.state == State::Pending || expired {
                    forget.push(k.clone());
                }
                if alert.state != State::Inactive && !keep_firing {
                    alert.state = State::Inactive;
                    alert.resolved_at = Some(ts);
                }
                if !keep_firing {
                    continue;
                }
            }
            if alert.state == State::Pending && ts - alert.active_at >= rule.hold_ms {
                alert.state = State::Firing;
                alert.fired_at = Some(ts);
            }
            samples.push(sample(&alert.labels, "ALERTS", Some(alert.state), 1.0));
            samples.push(sample(
                &alert.labels,
                "ALERTS_FOR_STATE",
                None,
                (alert.active_at / 1000) as f64,
            ));
        }
        for k in forget {
            self.active.remove(&k);
        }
        Ok(samples)
    }

    /// The pending and firing alerts.
    pub fn current(&self) -> impl Iterator<Item = &Alert> {
        self.active.values().filter(|a| a.state != State::Inactive)
    }
}

fn sample(labels: &Labels, name: &str, state: Option<State>, value: f64) -> Sample {
    let mut labels: Labels = labels.clone();
    labels.push(("__name__".into(), name.into()));
    if let Some(state) = state {
        labels.push(("alertstate".into(), state.as_str().into()));
    }
    Sample {
        labels: sorted(labels),
        value,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIN: i64 = 60_000;

    fn rule(hold: i64, keep: i64) -> Rule {
        Rule {
            name: "HighErrors".into(),
            hold_ms: hold,
            keep_firing_for_ms: keep,
        }
    }

    fn found(instance: &str, value: f64) -> Found {
        let series = vec![
            ("__name__".to_string(), "errors".to_string()),
            ("instance".to_string(), instance.to_string()),
        ];
        Found {
            labels: alert_labels(
                &series,
                &vec![("severity".into(), "critical".into())],
                "HighErrors",
            ),
            annotations: vec![("summary".into(), format!("{value} errors"))],
            value,
        }
    }

    /// The states of instance `a` at each minute, `present[i]` saying whether its series is in
    /// the result at minute i; `-` where no ALERTS sample is written.
    fn timeline(rule: &Rule, present: &[bool]) -> String {
        let mut alerts = Alerts::default();
        present
            .iter()
            .enumerate()
            .map(|(i, here)| {
                let found = if *here { vec![found("a", 1.0)] } else { vec![] };
                let samples = alerts.eval(rule, i as i64 * MIN, found).unwrap();
                let state = samples
                    .iter()
                    .find(|s| {
                        s.labels
                            .iter()
                            .any(|(k, v)| k == "__name__" && v == "ALERTS")
                    })
                    .and_then(|s| s.labels.iter().find(|(k, _)| k == "alertstate"))
                    .map(|(_, v)| if v == "pending" { 'P' } else { 'F' });
                state.unwrap_or('-')
            })
            .collect()
    }

    fn pattern(text: &str) -> Vec<bool> {
        text.chars().map(|c| c == '1').collect()
    }

    #[test]
    fn for_holds_an_alert_pending_until_it_has_lasted() {
        // for: 2m at a 1m interval: pending at 0 and 1, firing from 2, gone when the series is.
        assert_eq!(timeline(&rule(2 * MIN, 0), &pattern("1111110")), "PPFFFF-");
        // for: 0 fires at once.
        assert_eq!(timeline(&rule(0, 0), &pattern("0110")), "-FF-");
        // A gap while pending starts over: active again from minute 3.
        assert_eq!(timeline(&rule(2 * MIN, 0), &pattern("1101111")), "PP-PPFF");
        // Exactly `for` after becoming active counts (>=).
        assert_eq!(timeline(&rule(MIN, 0), &pattern("11")), "PF");
    }

    #[test]
    fn keep_firing_for_holds_a_firing_alert_after_its_series_leaves() {
        // Fires at 1; the series leaves at 3; kept firing at 3 and 4 (< 2m after 3), not at 5.
        assert_eq!(
            timeline(&rule(MIN, 2 * MIN), &pattern("1110000")),
            "PFFFF--"
        );
        // Back while kept firing: still the same firing alert.
        let mut alerts = Alerts::default();
        let r = rule(MIN, 2 * MIN);
        for (i, here) in pattern("1101").iter().enumerate() {
            let found = if *here { vec![found("a", 1.0)] } else { vec![] };
            alerts.eval(&r, i as i64 * MIN, found).unwrap();
        }
        let alert = alerts.current().next().unwrap();
        assert_eq!(
            (
                alert.state,
                alert.active_at,
                alert.fired_at,
                alert.keep_firing_since
            ),
            (State::Firing, 0, Some(MIN), None)
        );
        // A pending alert is not kept.
        assert_eq!(timeline(&rule(5 * MIN, 2 * MIN), &pattern("110")), "PP-");
    }

    #[test]
    fn a_resolved_alert_is_kept_15_minutes_then_a_return_is_a_new_alert() {
        let r = rule(0, 0);
        let mut alerts = Alerts::default();
        alerts.eval(&r, 0, vec![found("a", 3.0)]).unwrap();
        let samples = alerts.eval(&r, MIN, vec![]).unwrap();
        assert!(
            samples.is_empty(),
            "a resolved alert writes no ALERTS sample"
        );
        let resolved = alerts.active.values().next().unwrap().clone();
        assert_eq!(
            (resolved.state, resolved.resolved_at),
            (State::Inactive, Some(MIN))
        );
        // Still kept exactly 15 minutes after resolving; forgotten after.
        alerts
            .eval(&r, MIN + RESOLVED_RETENTION_MS, vec![])
            .unwrap();
        assert_eq!(alerts.active.len(), 1);
        alerts
            .eval(&r, MIN + RESOLVED_RETENTION_MS + MIN, vec![])
            .unwrap();
        assert!(alerts.active.is_empty());
        // Back within the retention: a new alert, active from its return.
        let mut alerts = Alerts::default();
        alerts.eval(&r, 0, vec![found("a", 3.0)]).unwrap();
        alerts.eval(&r, MIN, vec![]).unwrap();
        alerts.eval(&r, 2 * MIN, vec![found("a", 4.0)]).unwrap();
        let back = alerts.current().next().unwrap();
        assert_eq!(
            (back.active_at, back.value, back.resolved_at),
            (2 * MIN, 4.0, None)
        );
    }

    #[test]
    fn alerts_write_their_series_and_keep_the_latest_value_and_annotations() {
        let r = rule(2 * MIN, 0);
        let mut alerts = Alerts::default();
        alerts
            .eval(&r, 0, vec![found("a", 1.0), found("b", 2.0)])
            .unwrap();
        let samples = alerts.eval(&r, MIN, vec![found("a", 5.0)]).unwrap();
        let text: Vec<String> = samples
            .iter()
            .map(|s| {
                let labels: Vec<String> =
                    s.labels.iter().map(|(k, v)| format!("{k}={v}")).collect();
                format!("{} {}", labels.join(","), s.value)
            })
            .collect();
        assert_eq!(
            text,
            [
                "__name__=ALERTS,alertname=HighErrors,alertstate=pending,instance=a,severity=critical 1",
                "__name__=ALERTS_FOR_STATE,alertname=HighErrors,instance=a,severity=critical 0",
            ]
        );
        let a = alerts.current().next().unwrap();
        assert_eq!((a.value, a.annotations[0].1.as_str()), (5.0, "5 errors"));
        // Two series with the same alert labels are an error, and change nothing.
        let twice = vec![found("a", 1.0), found("a", 2.0)];
        assert_eq!(
            alerts.eval(&r, 2 * MIN, twice),
            Err(EvalError::DuplicateLabelSet)
        );
        assert_eq!(alerts.current().count(), 1);
    }

    #[test]
    fn the_state_survives_a_restart_in_the_middle_of_for() {
        let r = rule(3 * MIN, 0);
        let mut alerts = Alerts::default();
        alerts.eval(&r, 0, vec![found("a", 1.0)]).unwrap();
        alerts.eval(&r, MIN, vec![found("a", 1.0)]).unwrap();
        // Kept as JSON (PostgreSQL) and read back by the next process.
        let kept = serde_json::to_string(&alerts).unwrap();
        let mut restarted: Alerts = serde_json::from_str(&kept).unwrap();
        restarted.eval(&r, 2 * MIN, vec![found("a", 1.0)]).unwrap();
        assert_eq!(restarted.current().next().unwrap().state, State::Pending);
        restarted.eval(&r, 3 * MIN, vec![found("a", 1.0)]).unwrap();
        let alert = restarted.current().next().unwrap();
        assert_eq!(
            (alert.state, alert.active_at, alert.fired_at),
            (State::Firing, 0, Some(3 * MIN))
        );
    }

    #[test]
    fn rule_labels_override_and_an_empty_one_removes() {
        let series = vec![
            ("__name__".to_string(), "up".to_string()),
            ("job".to_string(), "api".to_string()),
            ("severity".to_string(), "info".to_string()),
            ("team".to_string(), "x".to_string()),
        ];
        let rule_labels = vec![
            ("severity".to_string(), "critical".to_string()),
            ("team".to_string(), String::new()),
        ];
        assert_eq!(
            alert_labels(&series, &rule_labels, "Down"),
            vec![
                ("alertname".to_string(), "Down".to_string()),
                ("job".to_string(), "api".to_string()),
                ("severity".to_string(), "critical".to_string()),
            ]
        );
    }
}
