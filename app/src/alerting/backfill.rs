//! Fills a new group's past, as `promtool tsdb create-blocks-from rules` does for Prometheus but
//! with the alerts too: its rules replayed in order at the group's slots over a past window,
//! recording rules' series and `ALERTS` written to the store, each alert's episodes kept in the
//! history, and the rules' state at the end saved so the evaluator goes on from there (an alert
//! pending at the end keeps its `for` progress). The demo fills its week this way, so its
//! dashboards and alerts page have a history from the first start.

use std::collections::HashMap;

use rules::{
    alert::{Alert, State},
    backtest::{self as replay, Episode},
    file::{Group, Kind},
    group::RuleState,
    Labels,
};
use serde_json::json;
use uuid::Uuid;

use super::{
    backtest::results,
    evaluator::{rule_keys, save_alerts, slot, AlertWrite, Recorded},
};
use crate::{error::AppError, ssr::AppState};

/// What a backfill wrote.
#[derive(Clone, Debug, Default)]
pub struct Filled {
    pub evaluations: usize,
    pub samples: usize,
    pub episodes: usize,
}

/// Replays `group` (stored as `group_id` of `tenant`) at its slots after `from` up to `now`.
pub async fn backfill(
    state: &AppState,
    tenant: Uuid,
    group_id: Uuid,
    group: &Group,
    interval_ms: i64,
    (from, now): (i64, i64),
) -> Result<Filled, AppError> {
    let first = slot(tenant, &group.name, interval_ms, from) + interval_ms;
    let last = slot(tenant, &group.name, interval_ms, now);
    let mut filled = Filled::default();
    let mut rule_states: HashMap<String, RuleState> = HashMap::new();
    let mut history: Vec<(usize, Alert)> = Vec::new();
    for (index, (rule, key)) in group.rules.iter().zip(rule_keys(group)).enumerate() {
        let at = results(state, tenant, &rule.expr, (first, last, interval_ms)).await;
        let mut recorded = Recorded::default();
        let mut rule_state = RuleState::default();
        let outcome = replay::run(
            group,
            rule,
            interval_ms,
            at,
            &state.rule_templates,
            &mut rule_state,
            &mut |ts, samples| recorded.add(ts, samples),
        );
        filled.evaluations = filled.evaluations.max(outcome.evaluations);
        filled.samples += recorded.samples();
        // Written before the next rule runs, which may read it.
        let batch = recorded.take();
        if !batch.is_empty() {
            state.store.import(tenant, batch).await.map_err(|e| {
                tracing::warn!(%tenant, error = %e, "Could not store a rule backfill.");
                AppError::Internal
            })?;
        }
        if rule.kind == Kind::Alert {
            for timeline in outcome.alerts {
                for episode in &timeline.episodes {
                    history.push((index, closed(&timeline.labels, episode)));
                }
            }
        }
        rule_states.insert(key, rule_state);
    }
    filled.episodes = history.len();
    let mut tx = state.pool.begin().await?;
    let writes: Vec<AlertWrite> = history
        .iter()
        .map(|(index, alert)| AlertWrite {
            tenant,
            group_id,
            group_name: &group.name,
            rule_name: &group.rules[*index].name,
            alert,
            ts: last,
        })
        .collect();
    save_alerts(&mut tx, &writes).await?;
    sqlx::query(
        "update rule_group_state set rules = $2, next_eval_ms = $3, last_eval_ms = $4
          where group_id = $1",
    )
    .bind(group_id)
    .bind(json!(rule_states))
    .bind(last + interval_ms)
    .bind(last)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(filled)
}

/// An episode as the alert history keeps it.
fn closed(labels: &Labels, episode: &Episode) -> Alert {
    let active_at = episode.pending_at.or(episode.firing_at).unwrap_or_default();
    Alert {
        labels: labels.clone(),
        annotations: episode.annotations.clone(),
        state: match (episode.inactive_at, episode.firing_at) {
            (Some(_), _) => State::Inactive,
            (None, Some(_)) => State::Firing,
            (None, None) => State::Pending,
        },
        value: episode.value,
        active_at,
        fired_at: episode.firing_at,
        resolved_at: episode.inactive_at,
        keep_firing_since: None,
    }
}
