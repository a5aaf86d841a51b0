//! Scheduled digests (the notify crate's `digest` says when and what): every replica looks for
//! digests that are due, and the one whose claim row lands first (one a tenant, receiver and
//! period, in the transaction that queues the notifications) computes the period's numbers
//! from the alert history and queues them through the outbox, so retries, backoff and the
//! attempt log apply. A digest never sent is sent at once for the last completed period. The
//! delivery workers hand digest rows here: e-mail gets text and HTML, the inbox a readable
//! entry, a webhook JSON, Slack a text message.

use std::{collections::BTreeMap, time::Duration};

use notify::{
    config::{Config, Digest, Integration},
    digest::{self, Episode, Period, Report},
    webhook::Message,
};
use serde_json::{json, Value};
use sqlx::{PgConnection, PgPool, Row};
use uuid::Uuid;

use super::{
    delivery::{Delivery, Outcome, TIMEOUT},
    dispatcher::GIVE_UP_MS,
    repo::{self, now_ms},
    DigestPreview, DigestRow, DigestView,
};
use crate::{
    error::AppError,
    ssr::{
        request::RequestMeta,
        scope::{Scope, TenantAccess},
        AppState,
    },
};

/// The outbox status (and inbox status) of a digest.
pub const STATUS: &str = "digest";
/// Digests are due at a minute of the day: a look every 15 s sends them well within it.
const TICK: Duration = Duration::from_secs(15);
/// A replica that just started lets the rule evaluator write its first evaluations before it
/// counts a period that is over: a digest is sent once, as counted. (The demo adds its digests
/// only once its week is replayed.)
const START_DELAY: Duration = Duration::from_secs(30);
/// A period's digest waits this long after the period ends: an alert resolved or acknowledged
/// in its last seconds is written by the evaluation after.
const SETTLE_MS: i64 = 60_000;
/// The integrations a digest goes to: a page or another Alertmanager is for alerts.
const CARRIERS: [&str; 4] = ["email", "inbox", "webhook", "slack"];

pub async fn run(state: AppState) {
    tokio::time::sleep(START_DELAY).await;
    let mut tick = tokio::time::interval(TICK);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        if let Err(error) = send_due(&state, now_ms()).await {
            tracing::warn!(error = %error, "Could not send the digests that were due.");
        }
    }
}

fn meta() -> RequestMeta {
    RequestMeta { user_agent: "meridian-digest".into(), ..RequestMeta::default() }
}

/// The job's scope over one tenant: row-level security shows it that tenant only.
fn tenant_scope(tenant: Uuid) -> Scope {
    let mut scope = Scope::system(meta());
    scope.tenants = TenantAccess::Only(vec![tenant]);
    scope.home_tenant = Some(tenant);
    scope
}

/// Queues every digest due at `now` (its period over for [`SETTLE_MS`]) that no replica has
/// sent yet; answers how many.
pub async fn send_due(state: &AppState, now: i64) -> Result<usize, sqlx::Error> {
    let everyone = Scope::system(meta());
    let mut tx = everyone.begin(&state.pool).await?;
    let tenants: Vec<(Uuid, String)> = sqlx::query_as(
        "select c.tenant_id, t.name from notify_config c join tenant t on t.id = c.tenant_id
          where t.active and c.config ? 'digests'",
    )
    .fetch_all(tx.conn())
    .await?;
    drop(tx);
    let mut sent = 0;
    for (tenant, name) in tenants {
        match send_tenant(state, tenant, &name, now).await {
            Ok(n) => sent += n,
            Err(error) => tracing::warn!(%tenant, error = %error, "Could not send a tenant's digests."),
        }
    }
    if sent > 0 {
        super::wake::DELIVERY.notify_one();
    }
    Ok(sent)
}

async fn send_tenant(state: &AppState, tenant: Uuid, name: &str, now: i64) -> Result<usize, sqlx::Error> {
    let scope = tenant_scope(tenant);
    let mut tx = scope.begin(&state.pool).await?;
    let config = match repo::config(tx.conn(), tenant).await {
        Ok((config, _)) => config,
        Err(error) => {
            tracing::warn!(%tenant, error = %error, "A tenant's notification configuration does not load.");
            return Ok(0);
        }
    };
    let link = alerts_link(state);
    let mut sent = 0;
    for d in &config.digests {
        let Some(period) = digest::last_period(d, now - SETTLE_MS) else { continue };
        // Another replica's claim of the same period makes this insert wait for its commit
        // and then do nothing.
        let claimed = sqlx::query(
            "insert into notify_digest (tenant_id, receiver, period_start_ms, period_end_ms, schedule, sent_ms)
             values ($1, $2, $3, $4, $5, $6) on conflict do nothing",
        )
        .bind(tenant)
        .bind(&d.receiver)
        .bind(period.start_ms)
        .bind(period.end_ms)
        .bind(digest::schedule_with_zone(d))
        .bind(now)
        .execute(tx.conn())
        .await?
        .rows_affected();
        if claimed == 0 {
            continue;
        }
        let report = compute(tx.conn(), tenant, name, d, period, now, &link).await?;
        for (i, integration) in receiver_carriers(&config, d) {
            enqueue(tx.conn(), tenant, i, integration, &report, now).await?;
            sent += 1;
        }
        tracing::info!(%tenant, receiver = %d.receiver, period_end_ms = period.end_ms, "Queued a digest.");
    }
    tx.commit().await?;
    Ok(sent)
}

fn alerts_link(state: &AppState) -> String {
    format!("{}/alerts", state.rule_templates.external_url.trim_end_matches('/'))
}

/// The receiver's integrations a digest goes to, with their places in the receiver.
fn receiver_carriers<'c>(config: &'c Config, d: &Digest) -> Vec<(usize, &'c Integration)> {
    config
        .receiver(&d.receiver)
        .map(|r| r.integrations.iter().enumerate().filter(|(_, i)| CARRIERS.contains(&i.kind())).collect())
        .unwrap_or_default()
}

/// The digest of `period` from the tenant's alert history: the episodes of its rules' alerts
/// (`alert`), those of alerts posted to its Alertmanager API that no rule sent (`notify_alert`),
/// and the notifications queued about each (`notify_outbox`; tests and digests left out).
pub async fn compute(
    conn: &mut PgConnection,
    tenant: Uuid,
    tenant_name: &str,
    d: &Digest,
    period: Period,
    now: i64,
    link: &str,
) -> Result<Report, sqlx::Error> {
    let rows = sqlx::query(
        "select rule_name as rule, severity,
                (extract(epoch from fired_at) * 1000)::bigint as fired_ms,
                (extract(epoch from acknowledged_at) * 1000)::bigint as acknowledged_ms,
                (extract(epoch from resolved_at) * 1000)::bigint as resolved_ms
           from alert
          where tenant_id = $1 and fired_at >= to_timestamp($2 / 1000.0) and fired_at < to_timestamp($3 / 1000.0)
         union all
         select coalesce(n.labels->>'alertname', ''), coalesce(n.labels->>'severity', ''), n.starts_ms,
                (extract(epoch from n.acknowledged_at) * 1000)::bigint,
                case when n.ends_ms <= $4 then n.ends_ms end
           from notify_alert n
          where n.tenant_id = $1 and n.starts_ms >= $2 and n.starts_ms < $3
            -- A rule's alert reaches the notifier with its labels (and the external ones) and
            -- its firing time as its start: it is counted from the history already.
            and not exists (select 1 from alert a
                             where a.tenant_id = n.tenant_id and n.labels @> a.labels
                               and (extract(epoch from a.fired_at) * 1000)::bigint = n.starts_ms)",
    )
    .bind(tenant)
    .bind(period.start_ms)
    .bind(period.end_ms)
    .bind(now)
    .fetch_all(&mut *conn)
    .await?;
    let episodes: Vec<Episode> = rows
        .iter()
        .map(|row| Episode {
            rule: row.get("rule"),
            severity: row.get("severity"),
            fired_ms: row.get("fired_ms"),
            acknowledged_ms: row.get("acknowledged_ms"),
            resolved_ms: row.get("resolved_ms"),
        })
        .collect();
    let notified: Vec<(String, i64)> = sqlx::query_as(
        "select rule, count(*) from (
             select distinct o.id, x->'alert'->'labels'->>'alertname' as rule
               from notify_outbox o cross join lateral jsonb_array_elements(o.message->'alerts') x
              where o.tenant_id = $1 and o.status <> 'digest' and o.state <> 'failed'
                and o.created_ms >= $2 and o.created_ms < $3
                and o.group_key not like '{}:{test=%') n
          where rule <> '' group by rule",
    )
    .bind(tenant)
    .bind(period.start_ms)
    .bind(period.end_ms)
    .fetch_all(&mut *conn)
    .await?;
    let notifications: BTreeMap<String, u64> = notified.into_iter().map(|(r, n)| (r, n.max(0) as u64)).collect();
    Ok(Report::new(d, tenant_name, period, now, link, &episodes, &notifications))
}

/// Writes a digest to the outbox for the delivery workers.
async fn enqueue(
    conn: &mut PgConnection,
    tenant: Uuid,
    integration_index: usize,
    integration: &Integration,
    report: &Report,
    now: i64,
) -> Result<Uuid, sqlx::Error> {
    let sealed = super::secrets::seal_integration(integration)
        .map_err(|_| sqlx::Error::Protocol("the notification secrets' key is missing".into()))?;
    sqlx::query_scalar(
        "insert into notify_outbox (tenant_id, receiver, integration, kind, group_key, status, target,
                                    message, created_ms, cause_ms, next_attempt_ms, give_up_ms)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9, $9, $10) returning id",
    )
    .bind(tenant)
    .bind(&report.receiver)
    .bind(integration_index as i32)
    .bind(integration.kind())
    .bind(format!("digest:{}-{}", report.period.start_ms, report.period.end_ms))
    .bind(STATUS)
    .bind(json!(sealed))
    .bind(json!(report))
    .bind(now)
    .bind(now + GIVE_UP_MS)
    .fetch_one(conn)
    .await
}

/// A taken outbox row's message: a group's, or for a digest an empty one (the receiver's) with
/// the digest's report beside it. `None` when the row does not read as either.
pub fn message_of(status: &str, message: Value) -> Option<(Message, Option<Report>)> {
    if status != STATUS {
        return Some((serde_json::from_value(message).ok()?, None));
    }
    let report: Report = serde_json::from_value(message).ok()?;
    let empty = Message {
        receiver: report.receiver.clone(),
        group_key: String::new(),
        group_labels: Default::default(),
        alerts: Vec::new(),
        external_url: String::new(),
    };
    Some((empty, Some(report)))
}

/// Sends one digest through its integration.
pub async fn deliver(state: &AppState, client: &reqwest::Client, d: &Delivery, report: &Report) -> Outcome {
    let post = |url: &str, body: Value| client.post(url).header("Idempotency-Key", d.id.to_string()).json(&body);
    let request = match &d.target {
        Integration::Webhook { url, .. } => post(url, report.webhook_body()),
        Integration::Slack { api_url, channel, username, .. } => post(api_url, report.slack_body(channel, username)),
        Integration::Email { .. } => {
            let sent = super::email::send_digest(&d.target, &report.subject(), report.text(), report.html(), &d.id.to_string()).await;
            return match sent {
                Ok(()) => done(None),
                Err((error, retry)) => Outcome { http_status: None, error: Some(error), retry },
            };
        }
        Integration::Inbox { .. } => return to_inbox(state, d, report).await,
        other => {
            return Outcome {
                http_status: None,
                error: Some(format!("a digest is not sent to {} integrations", other.kind())),
                retry: false,
            }
        }
    };
    match request.send().await {
        Ok(response) if response.status().is_success() => done(Some(response.status().as_u16())),
        Ok(response) => {
            let status = response.status();
            let text: String = response.text().await.unwrap_or_default().chars().take(300).collect();
            Outcome {
                http_status: Some(status.as_u16()),
                error: Some(format!("{status}: {text}")),
                retry: status.is_server_error() || status.as_u16() == 429,
            }
        }
        Err(error) => Outcome {
            http_status: None,
            error: Some(if error.is_timeout() {
                format!("timed out after {} s", TIMEOUT.as_secs())
            } else if error.is_connect() {
                "could not connect".into()
            } else {
                error.to_string()
            }),
            retry: true,
        },
    }
}

fn done(http_status: Option<u16>) -> Outcome {
    Outcome { http_status, error: None, retry: false }
}

/// The digest kept in the tenant's inbox (once, whatever retries).
async fn to_inbox(state: &AppState, d: &Delivery, report: &Report) -> Outcome {
    let scope = tenant_scope(d.tenant);
    let result = async {
        let mut tx = scope.begin(&state.pool).await?;
        sqlx::query(
            "insert into notify_inbox (tenant_id, outbox_id, receiver, status, title, message)
             values ($1, $2, $3, $4, $5, $6) on conflict (outbox_id) do nothing",
        )
        .bind(d.tenant)
        .bind(d.id)
        .bind(&report.receiver)
        .bind(STATUS)
        .bind(report.subject())
        .bind(json!(report))
        .execute(tx.conn())
        .await?;
        tx.commit().await
    }
    .await;
    match result {
        Ok(()) => done(None),
        Err(error) => Outcome { http_status: None, error: Some(error.to_string()), retry: true },
    }
}

/// An inbox entry's digest, as the inbox shows it; `None` for anything else.
pub fn inbox_view(status: &str, message: &Value) -> Option<DigestView> {
    if status != STATUS {
        return None;
    }
    let report: Report = serde_json::from_value(message.clone()).ok()?;
    Some(DigestView {
        period: report.period_text(),
        fired: report.fired_text(),
        acknowledged: report.acknowledged_text(),
        resolved: report.resolved_text(),
        noisiest: report.noisiest.iter().map(|n| (n.rule.clone(), n.episodes, n.notifications)).collect(),
    })
}

/// A delivery's title in the contact points' list: the digest's subject.
pub fn title_of(status: &str, message: &Value) -> Option<String> {
    (status == STATUS)
        .then(|| serde_json::from_value::<Report>(message.clone()).ok())
        .flatten()
        .map(|r| r.subject())
}

/// The tenant's digests for the contact points page: when each was last sent and is next due.
pub async fn rows(conn: &mut PgConnection, tenant: Uuid, config: &Config, now: i64) -> Result<Vec<DigestRow>, sqlx::Error> {
    let mut rows = Vec::new();
    for (index, d) in config.digests.iter().enumerate() {
        let last: Option<(i64, i64, i64)> = sqlx::query_as(
            "select period_start_ms, period_end_ms, sent_ms from notify_digest
              where tenant_id = $1 and receiver = $2 and schedule = $3 order by sent_ms desc limit 1",
        )
        .bind(tenant)
        .bind(&d.receiver)
        .bind(digest::schedule_with_zone(d))
        .fetch_optional(&mut *conn)
        .await?;
        let due = digest::last_period(d, now);
        // The last completed period not yet sent is due now (the next look sends it).
        let next_due_ms = match (due, last) {
            (Some(p), Some((start, end, _))) if (p.start_ms, p.end_ms) == (start, end) => {
                digest::current_period(d, now).map(|p| p.end_ms)
            }
            (Some(_), _) => Some(now),
            (None, _) => None,
        };
        rows.push(DigestRow {
            index,
            receiver: d.receiver.clone(),
            schedule: digest::schedule_text(d),
            time_zone: d.time_zone.name().to_string(),
            last_sent_ms: last.map(|(_, _, sent)| sent),
            next_due_ms,
        });
    }
    Ok(rows)
}

/// The digest at `index` of the tenant's configuration for the period running now, so far.
pub async fn preview(scope: &Scope, pool: &PgPool, external_url: &str, tenant: &str, index: &str) -> Result<DigestPreview, AppError> {
    let (id, choice) = super::views::choose_tenant(scope, pool, tenant).await?;
    let index: usize = index
        .trim()
        .parse()
        .map_err(|_| AppError::invalid("digest", "the digest's number on the contact points page, e.g. 0"))?;
    let mut tx = scope.begin(pool).await?;
    let (config, _) = repo::config(tx.conn(), id).await?;
    let d = config.digests.get(index).ok_or(AppError::NotFound)?;
    let now = now_ms();
    let period = digest::current_period(d, now).ok_or(AppError::Internal)?;
    let link = format!("{}/alerts", external_url.trim_end_matches('/'));
    let report = compute(tx.conn(), id, &choice.name, d, period, now, &link).await?;
    Ok(DigestPreview {
        receiver: d.receiver.clone(),
        schedule: digest::schedule_with_zone(d),
        subject: report.subject(),
        html: report.html(),
        text: report.text(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report() -> Report {
        let d = Digest { receiver: "team".into(), weekday: None, at_minute: 480, time_zone: "UTC".parse().unwrap() };
        let period = Period { start_ms: 0, end_ms: 86_400_000 };
        let episodes = [Episode { rule: "DiskFull".into(), severity: "critical".into(), fired_ms: 1_000, acknowledged_ms: None, resolved_ms: None }];
        Report::new(&d, "acme", period, period.end_ms, "http://m/alerts", &episodes, &BTreeMap::new())
    }

    #[test]
    fn outbox_rows_read_as_group_messages_or_digests() {
        let r = report();
        let (message, digest) = message_of(STATUS, json!(r)).unwrap();
        assert_eq!((message.receiver.as_str(), message.alerts.len()), ("team", 0));
        assert_eq!(digest.as_ref(), Some(&r));
        let group = json!({"receiver": "team", "group_key": "{}:{}", "group_labels": {}, "alerts": [], "external_url": ""});
        let (message, digest) = message_of("firing", group.clone()).unwrap();
        assert_eq!((message.group_key.as_str(), digest), ("{}:{}", None));
        // Neither shape: the row is not taken apart into nonsense.
        assert!(message_of(STATUS, group).is_none());
        assert!(message_of("firing", json!(r)).is_none());
    }

    #[test]
    fn the_inbox_and_the_deliveries_list_word_a_digest_as_its_email_does() {
        let r = report();
        let view = inbox_view(STATUS, &json!(r)).unwrap();
        assert_eq!(view.fired, "1 alert fired: critical 1");
        assert_eq!(view.acknowledged, "Acknowledged: 0 of 1");
        assert_eq!(view.noisiest, [("DiskFull".to_string(), 1, 0)]);
        assert_eq!(title_of(STATUS, &json!(r)), Some(r.subject()));
        assert_eq!(inbox_view("firing", &json!(r)), None);
        assert_eq!(title_of("firing", &json!(r)), None);
    }
}
