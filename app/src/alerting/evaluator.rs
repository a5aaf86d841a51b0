//! The rule evaluator every replica runs: each group at its interval, at the slot Prometheus
//! would give it (the interval offset by the hash of its name and tenant), its rules in order,
//! each one's samples written to the tenant's store before the next rule runs.
//!
//! Exactly once per slot across replicas: a replica claims a group's slot with one UPDATE that
//! moves `next_eval_ms` forward only if it still holds the slot the replica read, so a second
//! replica's UPDATE matches no row. A replica that dies mid-evaluation loses only that slot; the
//! next one is claimed by whichever replica comes first. The rules' state (alerts with their
//! `for` progress, the series each wrote) is saved after every evaluation, so a restart goes on
//! where it stopped.

use std::{
    collections::HashMap,
    sync::Arc,
    time::{Duration, Instant},
};

use chrono::{TimeZone, Utc};
use rules::{
    alert::{fingerprint, Alert, State},
    file::{Group, Kind, RuleDef},
    group::{as_vector, eval_rule, Env, RuleState},
    schedule, Sample,
};
use serde_json::json;
use sqlx::PgPool;
use uuid::Uuid;

use crate::{query, ssr::AppState};

/// How often a replica looks for groups that are due.
const TICK: Duration = Duration::from_millis(500);
/// Groups claimed in one look (the rest wait for the next tick).
const CLAIM_AT_ONCE: i64 = 500;

pub async fn run(state: AppState, replica: String) {
    let mut tick = tokio::time::interval(TICK);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        match claim_due(&state.pool, &replica, now_ms()).await {
            Ok(claimed) => {
                for group in claimed {
                    tokio::spawn(evaluate(state.clone(), group));
                }
            }
            Err(error) => {
                tracing::warn!(error = %error, "Could not look for rule groups to evaluate.")
            }
        }
    }
}

fn now_ms() -> i64 {
    Utc::now().timestamp_millis()
}

/// A group this replica claimed, to evaluate at `ts`.
pub struct Claimed {
    pub id: Uuid,
    pub tenant: Uuid,
    pub group: Group,
    pub interval_ms: i64,
    pub ts: i64,
    pub rules: HashMap<String, RuleState>,
}

/// A group's slot before or at `now`: Prometheus' `EvalTimestamp`, keyed by the tenant (Meridian's
/// "file") and the group's name, in milliseconds as Prometheus stores it (truncated). The offset
/// has nanoseconds, so `now` stands for its whole millisecond: a slot's own millisecond is in it.
pub fn slot(tenant: Uuid, name: &str, interval_ms: i64, now: i64) -> i64 {
    let hash = schedule::group_hash(name, &tenant.to_string());
    let now_ns = now * 1_000_000 + 999_999;
    schedule::eval_timestamp(now_ns, interval_ms * 1_000_000, hash).div_euclid(1_000_000)
}

/// Claims every due group whose slot no other replica took.
pub async fn claim_due(
    pool: &PgPool,
    replica: &str,
    now: i64,
) -> Result<Vec<Claimed>, sqlx::Error> {
    let due: Vec<(Uuid, Uuid, i64, i64, serde_json::Value)> = sqlx::query_as(
        "select s.group_id, g.tenant_id, g.interval_ms, s.next_eval_ms, g.definition
           from rule_group_state s join rule_group g on g.id = s.group_id
          where s.next_eval_ms <= $1 order by s.next_eval_ms limit $2",
    )
    .bind(now)
    .bind(CLAIM_AT_ONCE)
    .fetch_all(pool)
    .await?;
    let mut claimed = Vec::new();
    for (id, tenant, interval_ms, seen, definition) in due {
        let Ok(group) = serde_json::from_value::<Group>(definition) else {
            continue;
        };
        let ts = slot(tenant, &group.name, interval_ms, now);
        let next = ts + interval_ms;
        // A new group (never scheduled) waits for its first slot, as in Prometheus.
        let first = seen == 0;
        let missed = if first || seen >= ts {
            0
        } else {
            (ts - seen) / interval_ms
        };
        let won: Option<serde_json::Value> = sqlx::query_scalar(
            "update rule_group_state set next_eval_ms = $3, evaluated_by = $4, missed = missed + $5
              where group_id = $1 and next_eval_ms = $2 returning rules",
        )
        .bind(id)
        .bind(seen)
        .bind(next)
        .bind(replica)
        .bind(missed)
        .fetch_optional(pool)
        .await?;
        let Some(rules) = won else { continue };
        if missed > 0 {
            metrics::counter!("meridian_rule_group_iterations_missed_total", "tenant" => tenant.to_string(), "rule_group" => group.name.clone())
                .increment(missed as u64);
        }
        if first {
            continue;
        }
        claimed.push(Claimed {
            id,
            tenant,
            group,
            interval_ms,
            ts,
            rules: serde_json::from_value(rules).unwrap_or_default(),
        });
    }
    Ok(claimed)
}

/// The key of a rule's state: its kind, name and place among the group's rules of that name,
/// so an edit that keeps a rule keeps its alerts.
pub fn rule_keys(group: &Group) -> Vec<String> {
    let mut seen: HashMap<(Kind, &str), usize> = HashMap::new();
    group
        .rules
        .iter()
        .map(|r| {
            let n = seen.entry((r.kind, r.name.as_str())).or_default();
            *n += 1;
            let kind = match r.kind {
                Kind::Alert => "alert",
                Kind::Record => "record",
            };
            format!("{kind}:{}:{}", r.name, *n)
        })
        .collect()
}

async fn evaluate(state: AppState, claimed: Claimed) {
    let began = Instant::now();
    let name = claimed.group.name.clone();
    let tenant = claimed.tenant;
    match evaluate_group(&state, claimed).await {
        Ok(failures) => {
            let seconds = began.elapsed().as_secs_f64();
            let labels = [("tenant", tenant.to_string()), ("rule_group", name)];
            metrics::histogram!("meridian_rule_group_duration_seconds").record(seconds);
            metrics::gauge!("meridian_rule_group_last_duration_seconds", &labels).set(seconds);
            if failures > 0 {
                metrics::counter!("meridian_rule_evaluation_failures_total", &labels)
                    .increment(failures as u64);
            }
        }
        Err(error) => {
            tracing::warn!(%tenant, group = %name, error = %error, "Could not evaluate a rule group.")
        }
    }
}

/// Evaluates the group's rules at its slot, writes what they produce, and saves their state and
/// their alerts. Answers how many rules failed.
pub async fn evaluate_group(state: &AppState, claimed: Claimed) -> Result<usize, sqlx::Error> {
    let began = Instant::now();
    let Claimed {
        id,
        tenant,
        group,
        ts,
        mut rules,
        ..
    } = claimed;
    let at = ts - group.query_offset_ms.unwrap_or(0);
    let keys = rule_keys(&group);
    let mut failures = 0;
    let mut changed_alerts: Vec<(&RuleDef, Vec<Alert>)> = Vec::new();
    let mut ahead = read_ahead(state, tenant, &group, at).await;
    for (i, (rule, key)) in group.rules.iter().zip(&keys).enumerate() {
        let mut rule_state = rules.remove(key).unwrap_or_default();
        let before: Vec<Alert> = rule_state.alerts.active.values().cloned().collect();
        let answer = match ahead.remove(&i) {
            Some(answer) => answer,
            None => {
                query::run(
                    &state.store,
                    tenant,
                    &rule.expr,
                    (at, at, 0),
                    state.query_limits,
                )
                .await
            }
        };
        let result = answer.map_err(|e| e.to_string()).and_then(as_vector);
        let samples = expand(state, tenant, &group, rule, &mut rule_state, ts, result).await;
        if rule_state.last_error.is_some() {
            failures += 1;
        }
        write(state, tenant, ts, samples).await;
        if rule.kind == Kind::Alert {
            let mut alerts: Vec<Alert> = rule_state.alerts.active.values().cloned().collect();
            // A pending alert whose series left is dropped (Prometheus forgets it): its row
            // ends as resolved without ever having fired.
            alerts.extend(
                before
                    .into_iter()
                    .filter(|a| {
                        !rule_state
                            .alerts
                            .active
                            .contains_key(&fingerprint(&a.labels))
                    })
                    .map(|a| Alert {
                        state: State::Inactive,
                        resolved_at: Some(ts),
                        ..a
                    }),
            );
            changed_alerts.push((rule, alerts));
        }
        rules.insert(key.clone(), rule_state);
    }
    // Rules that left the group leave their state behind.
    rules.retain(|k, _| keys.contains(k));
    let mut tx = state.pool.begin().await?;
    for (rule, alerts) in changed_alerts {
        for alert in alerts {
            save_alert(&mut tx, tenant, id, &group.name, rule, &alert, ts).await?;
        }
    }
    // An evaluation that overran its interval must not overwrite the state of a later slot
    // another replica evaluated meanwhile: then this one's changes are dropped whole.
    let saved = sqlx::query(
        "update rule_group_state set rules = $2, last_eval_ms = $3, last_duration_ms = $4,
                evaluations = evaluations + 1, failures = failures + $5
          where group_id = $1 and (last_eval_ms is null or last_eval_ms < $3)",
    )
    .bind(id)
    .bind(json!(rules))
    .bind(ts)
    .bind(began.elapsed().as_secs_f64() * 1000.0)
    .bind(failures as i64)
    .execute(&mut *tx)
    .await?;
    if saved.rows_affected() == 1 {
        tx.commit().await?;
    }
    Ok(failures)
}

/// The rules that read no series a recording rule before them in the group writes, evaluated
/// together (each selector read from the store once for all of them), by their place; the
/// others run in turn, after what they read was written.
async fn read_ahead(
    state: &AppState,
    tenant: Uuid,
    group: &Group,
    at: i64,
) -> HashMap<usize, Result<promql::Value, query::QueryError>> {
    let mut recorded: Vec<&str> = Vec::new();
    let mut independent = Vec::new();
    for (i, rule) in group.rules.iter().enumerate() {
        if !recorded.iter().any(|name| rule.expr.contains(name)) {
            independent.push(i);
        }
        if rule.kind == Kind::Record {
            recorded.push(&rule.name);
        }
    }
    let queries: Vec<(String, (i64, i64, i64))> = independent
        .iter()
        .map(|i| (group.rules[*i].expr.clone(), (at, at, 0)))
        .collect();
    let answers = query::run_batch(&state.store, tenant, &queries, state.query_limits).await;
    independent.into_iter().zip(answers).collect()
}

/// Runs the rule's templates and state machine on its result. Templates that call `query` need
/// the store while they run, so such a rule is evaluated on a blocking thread that may wait.
async fn expand(
    state: &AppState,
    tenant: Uuid,
    group: &Group,
    rule: &RuleDef,
    rule_state: &mut RuleState,
    ts: i64,
    result: Result<Vec<(rules::Labels, f64)>, String>,
) -> Vec<Sample> {
    let queries = rule
        .annotations
        .iter()
        .chain(&rule.labels)
        .any(|(_, v)| v.contains("query"));
    if !queries {
        return eval_rule(group, rule, rule_state, ts, result, &Env::default());
    }
    let handle = tokio::runtime::Handle::current();
    let store = state.store.clone();
    let limits = state.query_limits;
    let env = Env {
        query: Some(Arc::new(move |expr: &str| {
            handle
                .block_on(query::run(&store, tenant, expr, (ts, ts, 0), limits))
                .map_err(|e| e.to_string())
                .and_then(as_vector)
        })),
        ..Env::default()
    };
    let (group, rule, mut moved) = (group.clone(), rule.clone(), std::mem::take(rule_state));
    match tokio::task::spawn_blocking(move || {
        let samples = eval_rule(&group, &rule, &mut moved, ts, result, &env);
        (samples, moved)
    })
    .await
    {
        Ok((samples, after)) => {
            *rule_state = after;
            samples
        }
        Err(_) => Vec::new(),
    }
}

async fn write(state: &AppState, tenant: Uuid, ts: i64, samples: Vec<Sample>) {
    if samples.is_empty() {
        return;
    }
    let series: Vec<store::SeriesSamples> = samples
        .into_iter()
        .filter_map(|s| {
            Some(store::SeriesSamples {
                labels: store::Labels::new(s.labels).ok()?,
                samples: vec![(ts, s.value)],
            })
        })
        .collect();
    if let Err(error) = state.store.write(tenant, series).await {
        tracing::warn!(%tenant, error = %error, "Rule results were not stored.");
    }
}

fn time(ms: i64) -> chrono::DateTime<Utc> {
    Utc.timestamp_millis_opt(ms).single().unwrap_or_default()
}

/// Keeps an alert's row in the history current: one row an alert's life, from pending to
/// resolved.
pub(super) async fn save_alert(
    tx: &mut sqlx::PgConnection,
    tenant: Uuid,
    group_id: Uuid,
    group_name: &str,
    rule: &RuleDef,
    alert: &Alert,
    ts: i64,
) -> Result<(), sqlx::Error> {
    let state = match alert.state {
        State::Pending => "pending",
        State::Firing => "firing",
        State::Inactive => "resolved",
    };
    let pairs = |labels: &rules::Labels| {
        serde_json::Value::Object(
            labels
                .iter()
                .map(|(k, v)| (k.clone(), serde_json::Value::String(v.clone())))
                .collect(),
        )
    };
    let severity = alert
        .labels
        .iter()
        .find(|(k, _)| k == "severity")
        .map(|(_, v)| v.as_str())
        .unwrap_or("");
    sqlx::query(
        "insert into alert (tenant_id, group_id, group_name, rule_name, fingerprint, labels, annotations,
                            severity, state, value, active_at, fired_at, resolved_at, last_eval_at)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)
         on conflict (tenant_id, fingerprint, active_at) do update
            set annotations = excluded.annotations, state = excluded.state, value = excluded.value,
                fired_at = excluded.fired_at, resolved_at = excluded.resolved_at,
                last_eval_at = excluded.last_eval_at
          where alert.state is distinct from excluded.state
             or alert.annotations is distinct from excluded.annotations
             or excluded.state <> 'resolved'",
    )
    .bind(tenant)
    .bind(group_id)
    .bind(group_name)
    .bind(&rule.name)
    .bind(fingerprint(&alert.labels))
    .bind(pairs(&alert.labels))
    .bind(pairs(&alert.annotations))
    .bind(severity)
    .bind(state)
    .bind(alert.value.is_finite().then_some(alert.value))
    .bind(time(alert.active_at))
    .bind(alert.fired_at.map(time))
    .bind(alert.resolved_at.map(time))
    .bind(time(ts))
    .execute(tx)
    .await?;
    Ok(())
}
