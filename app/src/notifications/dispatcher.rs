//! The dispatcher every replica runs: it flushes the groups that are due (the notify crate
//! decides what each flush sends) and writes the messages to the outbox, the notification log
//! and the group's new state in one transaction. A due group is taken with `FOR UPDATE SKIP
//! LOCKED`, so however many replicas run, each flush happens once; a replica that dies
//! mid-flush leaves the group due for the next one.

use std::{collections::BTreeMap, time::Duration};

use notify::{
    config::Integration,
    dedup::LogEntry,
    dispatch::{flush, Group, World},
    webhook::Message,
};
use serde_json::json;
use sqlx::{PgConnection, Row};
use uuid::Uuid;

use super::repo::{self, members_json, members_of, now_ms};
use crate::ssr::AppState;

/// How often a replica looks for due groups: well inside Alertmanager's timing (±1 s).
const TICK: Duration = Duration::from_millis(100);
/// Groups flushed in one transaction.
const FLUSH_AT_ONCE: i64 = 200;
/// A notification not delivered by then is given up (and shown as failed).
pub const GIVE_UP_MS: i64 = 30 * 60_000;
/// How often unacknowledged alerts are checked against the escalation policies.
const ESCALATION_EVERY_MS: i64 = 5_000;
/// Resolved alerts no group holds any more are forgotten after this long.
const RESOLVED_RETENTION_MS: i64 = 15 * 60_000;

pub async fn run(state: AppState) {
    let mut tick = tokio::time::interval(TICK);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let (mut last_cleanup, mut last_escalation) = (0, 0);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = super::wake::DISPATCHER.notified() => {}
        }
        loop {
            match flush_due(&state, now_ms()).await {
                Ok(n) if n as i64 == FLUSH_AT_ONCE => continue,
                Ok(_) => break,
                Err(error) => {
                    tracing::warn!(error = %error, "Could not flush the notification groups that were due.");
                    break;
                }
            }
        }
        let now = now_ms();
        if now - last_escalation >= ESCALATION_EVERY_MS {
            last_escalation = now;
            if let Err(error) = super::acknowledge::escalate(&state, now).await {
                tracing::warn!(error = %error, "Could not send the escalations that were due.");
            }
        }
        if now - last_cleanup > 60_000 {
            last_cleanup = now;
            if let Err(error) = forget_resolved(&state, now).await {
                tracing::warn!(error = %error, "Could not forget old resolved alerts.");
            }
        }
    }
}

/// Flushes the groups due at `now`; answers how many.
pub async fn flush_due(state: &AppState, now: i64) -> Result<usize, sqlx::Error> {
    let mut tx = state.pool.begin().await?;
    let rows = sqlx::query(
        "select id, tenant_id, route_id, receiver, group_key, labels, next_flush_ms, has_flushed, members
           from notify_group where next_flush_ms <= $1
          order by next_flush_ms limit $2 for update skip locked",
    )
    .bind(now)
    .bind(FLUSH_AT_ONCE)
    .fetch_all(&mut *tx)
    .await?;
    if rows.is_empty() {
        return Ok(0);
    }
    let mut by_tenant: BTreeMap<Uuid, Vec<(Uuid, Group)>> = BTreeMap::new();
    for row in &rows {
        let group = Group {
            route_id: row.get("route_id"),
            receiver: row.get("receiver"),
            key: row.get("group_key"),
            labels: serde_json::from_value(row.get("labels")).unwrap_or_default(),
            next_flush: row.get("next_flush_ms"),
            has_flushed: row.get("has_flushed"),
            members: members_of(&row.get("members")),
        };
        by_tenant
            .entry(row.get("tenant_id"))
            .or_default()
            .push((row.get("id"), group));
    }
    let mut queued = 0;
    for (tenant, groups) in by_tenant {
        queued += flush_tenant(&mut tx, state, tenant, groups, now).await?;
    }
    tx.commit().await?;
    if queued > 0 {
        super::wake::DELIVERY.notify_one();
    }
    Ok(rows.len())
}

async fn flush_tenant(
    tx: &mut PgConnection,
    state: &AppState,
    tenant: Uuid,
    groups: Vec<(Uuid, Group)>,
    now: i64,
) -> Result<usize, sqlx::Error> {
    let config = match repo::config(tx, tenant).await {
        Ok((config, _)) => config,
        Err(error) => {
            tracing::warn!(%tenant, error = %error, "A tenant's notification configuration does not load.");
            return Ok(0);
        }
    };
    let mut queued = 0;
    let stored = repo::alerts(tx, tenant).await?;
    let (alerts, acknowledged) = repo::world_parts(&stored);
    let silences = repo::silences(tx, tenant).await?;
    let world = World {
        config: &config,
        alerts: &alerts,
        silences: &silences,
        acknowledged: &acknowledged,
        external_url: &state.rule_templates.external_url,
    };
    for (id, mut group) in groups {
        let receiver = config.receiver(&group.receiver);
        let integrations = receiver.map_or(0, |r| r.integrations.len());
        let logs = read_logs(tx, tenant, &group, integrations).await?;
        let interval = config
            .route
            .find(&group.route_id)
            .map_or(notify::config::DEFAULT_GROUP_INTERVAL_MS, |r| r.group_interval_ms);
        // On the group's beat, unless the dispatcher fell a whole interval behind.
        let at = if now - group.next_flush < interval {
            group.next_flush
        } else {
            now
        };
        let flushed = flush(&mut group, &world, &logs, at);
        for (i, entry) in &flushed.log {
            write_log(tx, tenant, &group, *i, entry).await?;
        }
        for (i, message) in &flushed.messages {
            let Some(integration) = receiver.and_then(|r| r.integrations.get(*i)) else {
                continue;
            };
            let before = logs.get(*i).and_then(Option::as_ref);
            let cause = message
                .firing()
                .filter(|a| before.is_none_or(|e| !e.firing.contains(&a.alert.fingerprint())))
                .filter_map(|a| stored.get(&a.alert.fingerprint()).map(|s| s.received_ms))
                .max()
                .unwrap_or(now);
            enqueue(tx, tenant, *i, integration, message, cause, now).await?;
            queued += 1;
        }
        if flushed.empty {
            sqlx::query("delete from notify_group where id = $1")
                .bind(id)
                .execute(&mut *tx)
                .await?;
        } else {
            sqlx::query(
                "update notify_group set next_flush_ms = $2, has_flushed = true, members = $3 where id = $1",
            )
            .bind(id)
            .bind(group.next_flush)
            .bind(members_json(&group.members))
            .execute(&mut *tx)
            .await?;
        }
    }
    Ok(queued)
}

async fn read_logs(
    tx: &mut PgConnection,
    tenant: Uuid,
    group: &Group,
    integrations: usize,
) -> Result<Vec<Option<LogEntry>>, sqlx::Error> {
    let rows = sqlx::query(
        "select integration, firing, resolved, at_ms from notify_log
          where tenant_id = $1 and receiver = $2 and group_key = $3",
    )
    .bind(tenant)
    .bind(&group.receiver)
    .bind(&group.key)
    .fetch_all(&mut *tx)
    .await?;
    let mut logs = vec![None; integrations];
    for row in rows {
        let i: i32 = row.get("integration");
        let set = |name: &str| row.get::<Vec<i64>, _>(name).into_iter().map(|fp| fp as u64).collect();
        if let Some(slot) = logs.get_mut(i as usize) {
            *slot = Some(LogEntry {
                firing: set("firing"),
                resolved: set("resolved"),
                at: row.get("at_ms"),
            });
        }
    }
    Ok(logs)
}

async fn write_log(
    tx: &mut PgConnection,
    tenant: Uuid,
    group: &Group,
    integration: usize,
    entry: &LogEntry,
) -> Result<(), sqlx::Error> {
    let list = |set: &std::collections::BTreeSet<u64>| set.iter().map(|fp| *fp as i64).collect::<Vec<i64>>();
    sqlx::query(
        "insert into notify_log (tenant_id, receiver, integration, group_key, firing, resolved, at_ms)
         values ($1, $2, $3, $4, $5, $6, $7)
         on conflict (tenant_id, receiver, integration, group_key) do update
            set firing = excluded.firing, resolved = excluded.resolved, at_ms = excluded.at_ms",
    )
    .bind(tenant)
    .bind(&group.receiver)
    .bind(integration as i32)
    .bind(&group.key)
    .bind(list(&entry.firing))
    .bind(list(&entry.resolved))
    .bind(entry.at)
    .execute(tx)
    .await?;
    Ok(())
}

/// Writes a message to the outbox for the delivery workers.
pub async fn enqueue(
    tx: &mut PgConnection,
    tenant: Uuid,
    integration_index: usize,
    integration: &Integration,
    message: &Message,
    cause_ms: i64,
    now: i64,
) -> Result<Uuid, sqlx::Error> {
    sqlx::query_scalar(
        "insert into notify_outbox (tenant_id, receiver, integration, kind, group_key, status, target,
                                    message, created_ms, cause_ms, next_attempt_ms, give_up_ms)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $9, $11) returning id",
    )
    .bind(tenant)
    .bind(&message.receiver)
    .bind(integration_index as i32)
    .bind(integration.kind())
    .bind(&message.group_key)
    .bind(message.status())
    .bind(json!(super::secrets::seal_integration(integration).map_err(|_| sqlx::Error::Protocol("the notification secrets' key is missing".into()))?))
    .bind(json!(message))
    .bind(now)
    .bind(cause_ms)
    .bind(now + GIVE_UP_MS)
    .fetch_one(tx)
    .await
}

/// Forgets alerts resolved long ago that no group holds.
async fn forget_resolved(state: &AppState, now: i64) -> Result<(), sqlx::Error> {
    sqlx::query(
        "delete from notify_alert a where ends_ms < $1
            and not exists (select 1 from notify_group g
                             where g.tenant_id = a.tenant_id and g.members ? a.fingerprint::text)",
    )
    .bind(now - RESOLVED_RETENTION_MS)
    .execute(&state.pool)
    .await?;
    Ok(())
}
