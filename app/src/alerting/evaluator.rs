//! The rule evaluator every replica runs: each group at its interval, at the slot Prometheus
//! would give it (the interval offset by the hash of its name and tenant), its rules in order,
//! each one's samples written to the tenant's store before the next rule runs.
//!
//! Exactly once per slot across replicas: a replica claims the due groups' slots with one UPDATE
//! that moves each `next_eval_ms` forward only if it still holds the slot the replica read, so a
//! second replica's UPDATE matches none of those rows (or skips them while the first holds them).
//! A replica that dies mid-evaluation loses only that slot; the next one is claimed by whichever
//! replica comes first. The rules' state (alerts with their
//! `for` progress, the series each wrote) is saved after every evaluation, so a restart goes on
//! where it stopped.

use std::{
    collections::{BTreeMap, HashMap},
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
const TICK: Duration = Duration::from_millis(100);
/// Groups claimed in one look (the rest wait for the next tick).
const CLAIM_AT_ONCE: i64 = 500;

pub async fn run(state: AppState, replica: String) {
    let mut tick = tokio::time::interval(TICK);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        match claim_due(&state.pool, &replica, now_ms()).await {
            Ok(claimed) if !claimed.is_empty() => {
                tokio::spawn(evaluate_and_record(state.clone(), claimed));
            }
            Ok(_) => {}
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

/// Claims every due group whose slot no other replica took, in one statement: the rows another
/// replica is claiming at this moment are skipped (it takes them), so replicas never wait on each
/// other; a row is claimed only if it still holds the slot read.
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
    let mut candidates = HashMap::new();
    let (mut ids, mut seen_slots, mut next_slots, mut missed_counts) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for (id, tenant, interval_ms, seen, definition) in due {
        let Ok(group) = serde_json::from_value::<Group>(definition) else {
            continue;
        };
        let ts = slot(tenant, &group.name, interval_ms, now);
        // A new group (never scheduled) waits for its first slot, as in Prometheus.
        let first = seen == 0;
        let missed = if first || seen >= ts {
            0
        } else {
            (ts - seen) / interval_ms
        };
        ids.push(id);
        seen_slots.push(seen);
        next_slots.push(ts + interval_ms);
        missed_counts.push(missed);
        candidates.insert(id, (tenant, group, interval_ms, ts, missed, first));
    }
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let won: Vec<(Uuid, serde_json::Value)> = sqlx::query_as(
        "with due as (
             select * from unnest($1::uuid[], $2::bigint[], $3::bigint[], $4::bigint[])
                 as d(group_id, seen, next, missed)),
         mine as (
             select s.group_id from rule_group_state s join due using (group_id)
              where s.next_eval_ms = due.seen
              order by s.group_id for update of s skip locked)
         update rule_group_state s
            set next_eval_ms = due.next, evaluated_by = $5, missed = s.missed + due.missed
           from mine join due using (group_id)
          where s.group_id = mine.group_id
         returning s.group_id, s.rules",
    )
    .bind(&ids)
    .bind(&seen_slots)
    .bind(&next_slots)
    .bind(&missed_counts)
    .bind(replica)
    .fetch_all(pool)
    .await?;
    let mut claimed = Vec::new();
    for (id, rules) in won {
        let Some((tenant, group, interval_ms, ts, missed, first)) = candidates.remove(&id) else {
            continue;
        };
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
    claimed.sort_by_key(|c| c.ts);
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

/// What one group's evaluation came to, before it is saved.
pub struct Evaluated {
    pub id: Uuid,
    pub tenant: Uuid,
    pub name: String,
    pub ts: i64,
    pub interval_ms: i64,
    /// The rules that failed.
    pub failures: usize,
    /// The group's share of the work: the reads done for it and its own rules.
    pub took: Duration,
    /// Whether its state was saved (a late evaluation's is not).
    pub saved: bool,
    rules: HashMap<String, RuleState>,
    /// Each alerting rule's name with the alerts it has now and the ones it dropped.
    alerts: Vec<(String, Vec<Alert>)>,
}

async fn evaluate_and_record(state: AppState, claimed: Vec<Claimed>) {
    match evaluate(&state, claimed).await {
        Ok(evaluated) => {
            for group in evaluated {
                let seconds = group.took.as_secs_f64();
                let labels = [
                    ("tenant", group.tenant.to_string()),
                    ("rule_group", group.name),
                ];
                metrics::histogram!("meridian_rule_group_duration_seconds").record(seconds);
                metrics::gauge!("meridian_rule_group_last_duration_seconds", &labels).set(seconds);
                if group.failures > 0 {
                    metrics::counter!("meridian_rule_evaluation_failures_total", &labels)
                        .increment(group.failures as u64);
                }
            }
        }
        Err(error) => {
            tracing::warn!(error = %error, "Could not evaluate the rule groups that were due.")
        }
    }
}

/// Evaluates the groups claimed together, each at its slot: their rules in order, what they
/// produce written to the store, their state and alerts saved. Groups of one tenant share their
/// reads (each selector is read once for all of them, over the span they need) and their writes
/// (one store write, unless a rule reads what a rule before it in its group recorded: then what
/// was recorded so far is written first). The state of all of them is saved in one transaction.
pub async fn evaluate(
    state: &AppState,
    claimed: Vec<Claimed>,
) -> Result<Vec<Evaluated>, sqlx::Error> {
    let mut by_tenant: HashMap<Uuid, Vec<Claimed>> = HashMap::new();
    for group in claimed {
        by_tenant.entry(group.tenant).or_default().push(group);
    }
    let mut evaluated = Vec::new();
    for (tenant, groups) in by_tenant {
        let began = Instant::now();
        let ahead = read_ahead(state, tenant, &groups).await;
        // The shared read, split evenly among the groups that share it.
        let read = began.elapsed() / groups.len() as u32;
        let mut recorded = Recorded::default();
        for (group, ahead) in groups.into_iter().zip(ahead) {
            let began = Instant::now();
            let mut done = evaluate_rules(state, group, ahead, &mut recorded).await;
            done.took = read + began.elapsed();
            evaluated.push(done);
        }
        recorded.write(state, tenant).await;
    }
    save(state, &mut evaluated).await?;
    Ok(evaluated)
}

async fn evaluate_rules(
    state: &AppState,
    claimed: Claimed,
    mut ahead: HashMap<usize, Result<promql::Value, query::QueryError>>,
    recorded: &mut Recorded,
) -> Evaluated {
    let Claimed {
        id,
        tenant,
        group,
        ts,
        interval_ms,
        mut rules,
    } = claimed;
    let at = ts - group.query_offset_ms.unwrap_or(0);
    let keys = rule_keys(&group);
    let mut failures = 0;
    let mut changed_alerts: Vec<(String, Vec<Alert>)> = Vec::new();
    for (i, (rule, key)) in group.rules.iter().zip(&keys).enumerate() {
        let mut rule_state = rules.remove(key).unwrap_or_default();
        let before: Vec<Alert> = rule_state.alerts.active.values().cloned().collect();
        let answer = match ahead.remove(&i) {
            Some(answer) => answer,
            None => {
                // It reads what a rule before it recorded: that must be in the store first.
                recorded.write(state, tenant).await;
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
        recorded.add(ts, samples);
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
            changed_alerts.push((rule.name.clone(), alerts));
        }
        rules.insert(key.clone(), rule_state);
    }
    // Rules that left the group leave their state behind.
    rules.retain(|k, _| keys.contains(k));
    Evaluated {
        id,
        tenant,
        name: group.name,
        ts,
        interval_ms,
        failures,
        took: Duration::ZERO,
        saved: false,
        rules,
        alerts: changed_alerts,
    }
}

/// Saves the groups' state and their alerts in one transaction. An evaluation that overran its
/// interval must not overwrite the state of a later slot another replica evaluated meanwhile:
/// then that group's changes are dropped whole.
async fn save(state: &AppState, evaluated: &mut [Evaluated]) -> Result<(), sqlx::Error> {
    if evaluated.is_empty() {
        return Ok(());
    }
    let ids: Vec<Uuid> = evaluated.iter().map(|g| g.id).collect();
    let rules: Vec<serde_json::Value> = evaluated.iter().map(|g| json!(g.rules)).collect();
    let slots: Vec<i64> = evaluated.iter().map(|g| g.ts).collect();
    let took: Vec<f64> = evaluated
        .iter()
        .map(|g| g.took.as_secs_f64() * 1000.0)
        .collect();
    let failures: Vec<i64> = evaluated.iter().map(|g| g.failures as i64).collect();
    let mut tx = state.pool.begin().await?;
    let saved: Vec<Uuid> = sqlx::query_scalar(
        "update rule_group_state s
            set rules = v.rules, last_eval_ms = v.ts, last_duration_ms = v.took,
                evaluations = s.evaluations + 1, failures = s.failures + v.failures
           from unnest($1::uuid[], $2::jsonb[], $3::bigint[], $4::float8[], $5::bigint[])
                as v(group_id, rules, ts, took, failures)
          where s.group_id = v.group_id and (s.last_eval_ms is null or s.last_eval_ms < v.ts)
         returning s.group_id",
    )
    .bind(&ids)
    .bind(&rules)
    .bind(&slots)
    .bind(&took)
    .bind(&failures)
    .fetch_all(&mut *tx)
    .await?;
    for group in evaluated.iter_mut() {
        group.saved = saved.contains(&group.id);
    }
    let writes: Vec<AlertWrite> = evaluated
        .iter()
        .filter(|g| g.saved)
        .flat_map(|g| {
            g.alerts.iter().flat_map(move |(rule_name, alerts)| {
                alerts.iter().map(move |alert| AlertWrite {
                    tenant: g.tenant,
                    group_id: g.id,
                    group_name: &g.name,
                    rule_name,
                    alert,
                    ts: g.ts,
                })
            })
        })
        .collect();
    save_alerts(&mut tx, &writes).await?;
    let mut sent = Vec::new();
    for group in evaluated.iter().filter(|g| g.saved) {
        for (_, alerts) in &group.alerts {
            sent.extend(alerts.iter().map(|alert| crate::notifications::rule_alerts::RuleAlert {
                tenant: group.tenant,
                interval_ms: group.interval_ms,
                ts: group.ts,
                alert,
            }));
        }
    }
    let notified = !sent.is_empty();
    crate::notifications::rule_alerts::from_rules(&mut tx, &state.rule_templates, sent).await?;
    tx.commit().await?;
    if notified {
        crate::notifications::wake::DISPATCHER.notify_one();
    }
    Ok(())
}

/// For each group, the rules that read no series a recording rule before them in the group
/// writes, by their place, evaluated together with those of the other groups (each selector
/// read from the store once for all of them); the others run in turn, after what they read was
/// written.
async fn read_ahead(
    state: &AppState,
    tenant: Uuid,
    groups: &[Claimed],
) -> Vec<HashMap<usize, Result<promql::Value, query::QueryError>>> {
    let mut places = Vec::new();
    let mut queries: Vec<(String, (i64, i64, i64))> = Vec::new();
    for (g, claimed) in groups.iter().enumerate() {
        let group = &claimed.group;
        let at = claimed.ts - group.query_offset_ms.unwrap_or(0);
        let mut recorded: Vec<&str> = Vec::new();
        for (i, rule) in group.rules.iter().enumerate() {
            if !recorded.iter().any(|name| rule.expr.contains(name)) {
                places.push((g, i));
                queries.push((rule.expr.clone(), (at, at, 0)));
            }
            if rule.kind == Kind::Record {
                recorded.push(&rule.name);
            }
        }
    }
    let answers = query::run_batch(&state.store, tenant, &queries, state.query_limits).await;
    let mut ahead: Vec<HashMap<_, _>> = groups.iter().map(|_| HashMap::new()).collect();
    for ((g, i), answer) in places.into_iter().zip(answers) {
        ahead[g].insert(i, answer);
    }
    ahead
}

/// Samples the rules produced, not yet written to the store, by series.
#[derive(Default)]
pub(super) struct Recorded(BTreeMap<rules::Labels, Vec<(i64, f64)>>);

impl Recorded {
    pub(super) fn add(&mut self, ts: i64, samples: Vec<Sample>) {
        for sample in samples {
            self.0
                .entry(sample.labels)
                .or_default()
                .push((ts, sample.value));
        }
    }

    /// How many samples wait.
    pub(super) fn samples(&self) -> usize {
        self.0.values().map(Vec::len).sum()
    }

    /// What was recorded, as store series, each series' samples in time order (two groups of
    /// the tenant may write one series: as in Prometheus, the later duplicate of a timestamp is
    /// dropped); nothing waits afterwards.
    pub(super) fn take(&mut self) -> Vec<store::SeriesSamples> {
        std::mem::take(&mut self.0)
            .into_iter()
            .filter_map(|(labels, mut samples)| {
                samples.sort_by_key(|(t, _)| *t);
                samples.dedup_by_key(|(t, _)| *t);
                Some(store::SeriesSamples {
                    labels: store::Labels::new(labels).ok()?,
                    samples,
                })
            })
            .collect()
    }

    /// Writes what was recorded.
    async fn write(&mut self, state: &AppState, tenant: Uuid) {
        if self.0.is_empty() {
            return;
        }
        if let Err(error) = state.store.write(tenant, self.take()).await {
            tracing::warn!(%tenant, error = %error, "Rule results were not stored.");
        }
    }
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
        return eval_rule(group, rule, rule_state, ts, result, &state.rule_templates);
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
        ..state.rule_templates.clone()
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

fn time(ms: i64) -> chrono::DateTime<Utc> {
    Utc.timestamp_millis_opt(ms).single().unwrap_or_default()
}

/// One alert's row to keep current: the group and rule it comes from and the evaluation's time.
pub(super) struct AlertWrite<'a> {
    pub tenant: Uuid,
    pub group_id: Uuid,
    pub group_name: &'a str,
    pub rule_name: &'a str,
    pub alert: &'a Alert,
    pub ts: i64,
}

/// Keeps the alerts' rows in the history current, in one statement: one row an alert's life,
/// from pending to resolved.
pub(super) async fn save_alerts(
    tx: &mut sqlx::PgConnection,
    writes: &[AlertWrite<'_>],
) -> Result<(), sqlx::Error> {
    // One row per alert life in a statement (PostgreSQL refuses to upsert a row twice in one):
    // the last write of it wins.
    let mut rows: BTreeMap<(Uuid, String, i64), &AlertWrite> = BTreeMap::new();
    for write in writes {
        let key = (
            write.tenant,
            fingerprint(&write.alert.labels),
            write.alert.active_at,
        );
        rows.insert(key, write);
    }
    if rows.is_empty() {
        return Ok(());
    }
    let pairs = |labels: &rules::Labels| {
        serde_json::Value::Object(
            labels
                .iter()
                .map(|(k, v)| (k.clone(), serde_json::Value::String(v.clone())))
                .collect(),
        )
    };
    let mut columns = AlertColumns::default();
    for ((tenant, fingerprint, _), write) in rows {
        let alert = write.alert;
        columns.tenant.push(tenant);
        columns.group_id.push(write.group_id);
        columns.group_name.push(write.group_name);
        columns.rule_name.push(write.rule_name);
        columns.fingerprint.push(fingerprint);
        columns.labels.push(pairs(&alert.labels));
        columns.annotations.push(pairs(&alert.annotations));
        columns.severity.push(
            alert
                .labels
                .iter()
                .find(|(k, _)| k == "severity")
                .map_or("", |(_, v)| v.as_str()),
        );
        columns.state.push(match alert.state {
            State::Pending => "pending",
            State::Firing => "firing",
            State::Inactive => "resolved",
        });
        columns
            .value
            .push(alert.value.is_finite().then_some(alert.value));
        columns.active_at.push(time(alert.active_at));
        columns.fired_at.push(alert.fired_at.map(time));
        columns.resolved_at.push(alert.resolved_at.map(time));
        columns.last_eval_at.push(time(write.ts));
    }
    sqlx::query(
        "insert into alert (tenant_id, group_id, group_name, rule_name, fingerprint, labels, annotations,
                            severity, state, value, active_at, fired_at, resolved_at, last_eval_at)
         select * from unnest($1::uuid[], $2::uuid[], $3::text[], $4::text[], $5::text[], $6::jsonb[],
                              $7::jsonb[], $8::text[], $9::text[], $10::float8[], $11::timestamptz[],
                              $12::timestamptz[], $13::timestamptz[], $14::timestamptz[])
         on conflict (tenant_id, fingerprint, active_at) do update
            set annotations = excluded.annotations, state = excluded.state, value = excluded.value,
                fired_at = excluded.fired_at, resolved_at = excluded.resolved_at,
                last_eval_at = excluded.last_eval_at
          where alert.state is distinct from excluded.state
             or alert.annotations is distinct from excluded.annotations
             or excluded.state <> 'resolved'",
    )
    .bind(&columns.tenant)
    .bind(&columns.group_id)
    .bind(&columns.group_name)
    .bind(&columns.rule_name)
    .bind(&columns.fingerprint)
    .bind(&columns.labels)
    .bind(&columns.annotations)
    .bind(&columns.severity)
    .bind(&columns.state)
    .bind(&columns.value)
    .bind(&columns.active_at)
    .bind(&columns.fired_at)
    .bind(&columns.resolved_at)
    .bind(&columns.last_eval_at)
    .execute(tx)
    .await?;
    Ok(())
}

/// The alert rows of one statement, column by column.
#[derive(Default)]
struct AlertColumns<'a> {
    tenant: Vec<Uuid>,
    group_id: Vec<Uuid>,
    group_name: Vec<&'a str>,
    rule_name: Vec<&'a str>,
    fingerprint: Vec<String>,
    labels: Vec<serde_json::Value>,
    annotations: Vec<serde_json::Value>,
    severity: Vec<&'a str>,
    state: Vec<&'static str>,
    value: Vec<Option<f64>>,
    active_at: Vec<chrono::DateTime<Utc>>,
    fired_at: Vec<Option<chrono::DateTime<Utc>>>,
    resolved_at: Vec<Option<chrono::DateTime<Utc>>>,
    last_eval_at: Vec<chrono::DateTime<Utc>>,
}
