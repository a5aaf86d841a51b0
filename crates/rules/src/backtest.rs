//! What an alerting rule would have done over a past window: its expression's result at each of
//! the group's evaluation times goes through the same state machine as the live evaluator
//! ([`eval_rule`]), and each alert's pending and firing periods come out as episodes, with the
//! notifications they would have sent (one when an alert starts firing, one when it resolves).
//!
//! The caller gives the results step by step (a range query at the group's interval gives them
//! all at once) and takes the samples each step writes, so this stays free of any store; the
//! same replay fills a new group's past (recording rules' series, alert history), as
//! `promtool tsdb create-blocks-from rules` does for Prometheus.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::{
    alert::{fingerprint, State},
    file::{Group, RuleDef},
    group::{eval_rule, Env, RuleState},
    Labels, Sample,
};

/// One pending-or-firing period of an alert, as `ALERTS` shows it: from its first evaluation
/// as pending (none when it fired at once) or firing, to the first evaluation that no longer
/// shows it (none while it still does at the window's end). Times in ms.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Episode {
    pub pending_at: Option<i64>,
    pub firing_at: Option<i64>,
    pub inactive_at: Option<i64>,
    /// The annotations when it last fired (or was pending, when it never fired).
    pub annotations: Labels,
    /// The expression's value at the episode's last evaluation.
    pub value: f64,
}

/// One alert (a label set) over the window.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct AlertTimeline {
    pub labels: Labels,
    pub episodes: Vec<Episode>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Backtest {
    pub from_ms: i64,
    pub to_ms: i64,
    pub step_ms: i64,
    pub evaluations: usize,
    /// By labels.
    pub alerts: Vec<AlertTimeline>,
    /// Notifications that would have gone out: firing, then resolved.
    pub firing_notifications: usize,
    pub resolved_notifications: usize,
    /// Evaluations that failed, with the first error.
    pub failed_evaluations: usize,
    pub first_error: Option<(i64, String)>,
}

/// Runs `rule` of `group` over `results`: each evaluation's time (ms, ascending, `step_ms`
/// apart) with its expression's result. `state` is the rule's state before the first (and
/// after the last) evaluation; `written` takes what each evaluation writes.
pub fn run(
    group: &Group,
    rule: &RuleDef,
    step_ms: i64,
    results: impl IntoIterator<Item = (i64, Result<Vec<(Labels, f64)>, String>)>,
    env: &Env,
    state: &mut RuleState,
    written: &mut dyn FnMut(i64, Vec<Sample>),
) -> Backtest {
    let mut out = Backtest {
        step_ms,
        ..Backtest::default()
    };
    // The state each alert showed at the previous evaluation, and its timeline.
    let mut shown: BTreeMap<String, State> = BTreeMap::new();
    let mut timelines: BTreeMap<String, AlertTimeline> = BTreeMap::new();
    let mut first = true;
    for (ts, result) in results {
        if first {
            out.from_ms = ts;
            first = false;
        }
        out.to_ms = ts;
        out.evaluations += 1;
        written(ts, eval_rule(group, rule, state, ts, result, env));
        if let Some(error) = &state.last_error {
            out.failed_evaluations += 1;
            out.first_error.get_or_insert((ts, error.clone()));
            // A failed evaluation changes no alert (Prometheus keeps the last state).
            continue;
        }
        let mut now: BTreeMap<String, State> = BTreeMap::new();
        for alert in state.alerts.current() {
            let key = fingerprint(&alert.labels);
            now.insert(key.clone(), alert.state);
            let timeline = timelines
                .entry(key.clone())
                .or_insert_with(|| AlertTimeline {
                    labels: alert.labels.clone(),
                    episodes: Vec::new(),
                });
            let before = shown.get(&key).copied();
            if before.is_none() {
                timeline.episodes.push(Episode::default());
            }
            let episode = timeline.episodes.last_mut().expect("an episode was opened");
            match (before, alert.state) {
                (None, State::Pending) => episode.pending_at = Some(ts),
                (b, State::Firing) if b != Some(State::Firing) => {
                    episode.firing_at = Some(ts);
                    out.firing_notifications += 1;
                }
                _ => {}
            }
            if alert.state == State::Firing || episode.firing_at.is_none() {
                episode.annotations = alert.annotations.clone();
            }
            episode.value = alert.value;
        }
        for (key, was) in &shown {
            if !now.contains_key(key) {
                let episode = timelines
                    .get_mut(key)
                    .and_then(|t| t.episodes.last_mut())
                    .expect("a shown alert has an episode");
                episode.inactive_at = Some(ts);
                if *was == State::Firing {
                    out.resolved_notifications += 1;
                }
            }
        }
        shown = now;
    }
    out.alerts = timelines.into_values().collect();
    out
}

#[cfg(test)]
mod tests;
