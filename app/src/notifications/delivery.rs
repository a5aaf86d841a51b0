//! The delivery workers every replica runs. A worker takes due outbox rows with `FOR UPDATE
//! SKIP LOCKED` and leases them (so no other replica takes them while they are in flight, and
//! a replica that dies mid-delivery leaves them to another once the lease ends), sends each
//! with a timeout, and records the attempt: delivered, or retried with exponential backoff and
//! jitter until its give-up time, after which it is failed and shown so. Webhook requests
//! carry the outbox id as `Idempotency-Key`, so a receiver can drop the one duplicate a crash
//! between its answer and our record could cause.

use std::time::{Duration, Instant};

use notify::{
    bodies::{self, Links},
    config::Integration,
    template::Texts,
    webhook::Message,
};
use rand::Rng;
use serde_json::Value;
use sqlx::Row;
use uuid::Uuid;

use super::repo::now_ms;
use crate::{error::AppError, ssr::AppState};

const TICK: Duration = Duration::from_millis(100);
/// Rows one worker takes (and sends concurrently) at a time.
const TAKE_AT_ONCE: i64 = 200;
/// How long a request may take.
pub const TIMEOUT: Duration = Duration::from_secs(10);
/// How long a taken row is the worker's: longer than a request may take.
const LEASE_MS: i64 = 30_000;
const FIRST_RETRY_MS: f64 = 1_000.0;
const LONGEST_RETRY_MS: f64 = 5.0 * 60_000.0;

/// One row taken from the outbox.
pub struct Delivery {
    pub id: Uuid,
    pub tenant: Uuid,
    pub target: Integration,
    pub message: Message,
    pub attempts: i32,
    pub give_up_ms: i64,
    pub cause_ms: i64,
    /// A scheduled digest's report (`digest.rs` delivers it; `message` is then empty).
    pub digest: Option<notify::digest::Report>,
}

/// What an attempt came to.
pub struct Outcome {
    pub http_status: Option<u16>,
    pub error: Option<String>,
    /// Worth trying again (a timeout, a refused connection, 5xx, 429).
    pub retry: bool,
}

pub async fn run(state: AppState, replica: String) {
    let client = client();
    let mut tick = tokio::time::interval(TICK);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = super::wake::DELIVERY.notified() => {}
        }
        // A full batch means more may be waiting: take the next at once.
        loop {
            match take(&state, now_ms(), TAKE_AT_ONCE).await {
                Ok(taken) => {
                    let full = taken.len() as i64 == TAKE_AT_ONCE;
                    deliver_all(&state, &client, &replica, taken).await;
                    if !full {
                        break;
                    }
                }
                Err(error) => {
                    tracing::warn!(error = %error, "Could not take notifications to deliver.");
                    break;
                }
            }
        }
    }
}

pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(TIMEOUT)
        .user_agent(concat!("Meridian/", env!("CARGO_PKG_VERSION")))
        .build()
        .unwrap_or_default()
}

/// Takes (and leases) up to `limit` rows due at `now`.
pub async fn take(state: &AppState, now: i64, limit: i64) -> Result<Vec<Delivery>, sqlx::Error> {
    let rows = sqlx::query(
        "with due as (
             select id from notify_outbox
              where state = 'pending' and next_attempt_ms <= $1 and coalesce(lease_until_ms, 0) <= $1
              order by next_attempt_ms limit $2 for update skip locked)
         update notify_outbox o set lease_until_ms = $1 + $3, attempts = o.attempts + 1
           from due where o.id = due.id
         returning o.id, o.tenant_id, o.target, o.message, o.attempts, o.give_up_ms, o.cause_ms, o.status",
    )
    .bind(now)
    .bind(limit)
    .bind(LEASE_MS)
    .fetch_all(&state.pool)
    .await?;
    Ok(rows
        .into_iter()
        .filter_map(|row| {
            let mut target: Integration = serde_json::from_value(row.get("target")).ok()?;
            super::secrets::open_integration(&mut target).ok()?;
            let (message, digest) = super::digest::message_of(row.get("status"), row.get("message"))?;
            Some(Delivery {
                id: row.get("id"),
                tenant: row.get("tenant_id"),
                target,
                message,
                attempts: row.get("attempts"),
                give_up_ms: row.get("give_up_ms"),
                cause_ms: row.get("cause_ms"),
                digest,
            })
        })
        .collect())
}

/// Sends the notifications taken, concurrently, and records what became of each.
pub async fn deliver_all(state: &AppState, client: &reqwest::Client, replica: &str, taken: Vec<Delivery>) {
    let attempts = taken.into_iter().map(|d| async move {
        let began = Instant::now();
        let outcome = deliver(state, client, &d).await;
        (d, outcome, began.elapsed().as_secs_f64() * 1000.0)
    });
    let done = futures::future::join_all(attempts).await;
    if let Err(error) = record(state, replica, &done).await {
        // The leases end and other attempts are made: at worst duplicates the receivers can
        // recognise by their idempotency keys.
        tracing::warn!(error = %error, "Could not record delivery attempts.");
    }
}

/// The links a notification carries: its alerts in Meridian, a silence of its group, and an
/// acknowledgement link for each firing alert.
fn links(state: &AppState, tenant: Uuid, message: &Message) -> Links {
    let base = state.rule_templates.external_url.trim_end_matches('/');
    let filter = crate::url::encode(&super::silences::matchers_for(&message.group_labels));
    Links {
        alert: format!("{base}/alerts?labels={filter}"),
        silence: format!("{base}/alerting/silences?tenant={tenant}&matchers={filter}"),
        acknowledge: message
            .firing()
            .map(|a| {
                let fp = a.alert.fingerprint();
                let token = super::acknowledge::sign_link(&state.auth.secret_key, tenant, fp, a.alert.starts_at);
                (fp, format!("{base}/ack/{token}"))
            })
            .collect(),
    }
}

/// Sends one notification.
pub async fn deliver(state: &AppState, client: &reqwest::Client, d: &Delivery) -> Outcome {
    if let Some(report) = &d.digest {
        return super::digest::deliver(state, client, d, report).await;
    }
    let message = &d.message;
    let post = |url: &str, body: Value| {
        client
            .post(url)
            .header("Idempotency-Key", d.id.to_string())
            .json(&body)
    };
    let texts = match texts(state, d).await {
        Ok(texts) => texts,
        Err((error, retry)) => return Outcome { http_status: None, error: Some(error), retry },
    };
    let request = match &d.target {
        Integration::Webhook { url, max_alerts, .. } => post(url, message.webhook_body(*max_alerts)),
        Integration::Slack { api_url, channel, username, .. } => {
            post(api_url, bodies::slack(message, channel, username, &links(state, d.tenant, message), &texts))
        }
        Integration::PagerDuty { url, routing_key, severity, .. } => post(
            url,
            bodies::pagerduty(message, routing_key, severity, false, &links(state, d.tenant, message), &texts),
        ),
        Integration::Alertmanager { url, .. } => post(
            &format!("{}/api/v2/alerts", url.trim_end_matches('/')),
            bodies::alertmanager(message),
        ),
        Integration::Inbox { .. } => return to_inbox(state, d).await,
        Integration::Email { .. } => {
            return match super::email::send(&d.target, message, &links(state, d.tenant, message), &texts, &d.id.to_string()).await {
                Ok(()) => Outcome { http_status: None, error: None, retry: false },
                Err((error, retry)) => Outcome { http_status: None, error: Some(error), retry },
            }
        }
    };
    match request.send().await {
        Ok(response) => {
            let status = response.status();
            if status.is_success() {
                Outcome { http_status: Some(status.as_u16()), error: None, retry: false }
            } else {
                let text: String = response.text().await.unwrap_or_default().chars().take(300).collect();
                Outcome {
                    http_status: Some(status.as_u16()),
                    error: Some(format!("{status}: {text}")),
                    retry: status.is_server_error() || status.as_u16() == 429,
                }
            }
        }
        Err(error) => Outcome {
            http_status: None,
            error: Some(describe(&error)),
            retry: true,
        },
    }
}

/// The receiver's texts from the tenant's templates as they are now: Alertmanager renders when
/// it sends, so a template fixed after a failed attempt is used by the next one. A template that
/// fails to render will fail again: no retry.
async fn texts(state: &AppState, d: &Delivery) -> Result<Texts, (String, bool)> {
    if d.target.template_fields().is_empty() {
        return Ok(Texts::default());
    }
    let config = async {
        let mut conn = state.pool.acquire().await?;
        super::repo::config(&mut conn, d.tenant).await
    };
    let (config, _) = config.await.map_err(|error: AppError| (error.to_string(), true))?;
    config.templates.texts(&d.target, &d.message).map_err(|error| (error, false))
}

fn describe(error: &reqwest::Error) -> String {
    if error.is_timeout() {
        format!("timed out after {} s", TIMEOUT.as_secs())
    } else if error.is_connect() {
        "could not connect".into()
    } else {
        error.to_string()
    }
}

/// The built-in inbox: the notification kept for the tenant's users (once, whatever retries).
async fn to_inbox(state: &AppState, d: &Delivery) -> Outcome {
    let result = sqlx::query(
        "insert into notify_inbox (tenant_id, outbox_id, receiver, status, title, message)
         values ($1, $2, $3, $4, $5, $6) on conflict (outbox_id) do nothing",
    )
    .bind(d.tenant)
    .bind(d.id)
    .bind(&d.message.receiver)
    .bind(d.message.status())
    .bind(bodies::subject(&d.message))
    .bind(serde_json::json!(d.message))
    .execute(&state.pool)
    .await;
    match result {
        Ok(_) => Outcome { http_status: None, error: None, retry: false },
        Err(error) => Outcome { http_status: None, error: Some(error.to_string()), retry: true },
    }
}

/// The wait before attempt `attempts + 1`: doubling from 1 s to 5 min, ±20 % jitter.
pub fn backoff_ms(attempts: i32) -> i64 {
    let base = (FIRST_RETRY_MS * 2f64.powi(attempts.saturating_sub(1).min(20))).min(LONGEST_RETRY_MS);
    let jitter = rand::thread_rng().gen_range(0.8..1.2);
    (base * jitter) as i64
}

/// Records the attempts of a batch in one transaction: each attempt's row, and each
/// notification delivered, retried later (backoff with jitter) or given up.
async fn record(state: &AppState, replica: &str, done: &[(Delivery, Outcome, f64)]) -> Result<(), sqlx::Error> {
    let now = now_ms();
    let mut columns = (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for (d, outcome, latency_ms) in done {
        let next = now + backoff_ms(d.attempts);
        let (state_name, next_attempt) = match &outcome.error {
            None => ("delivered", now),
            Some(_) if outcome.retry && next < d.give_up_ms => ("pending", next),
            Some(_) => ("failed", now),
        };
        columns.0.push(d.id);
        columns.1.push(d.tenant);
        columns.2.push(outcome.http_status.map(i32::from));
        columns.3.push(*latency_ms);
        columns.4.push(outcome.error.clone());
        columns.5.push(state_name);
        columns.6.push(next_attempt);
        let kind = d.target.kind();
        metrics::counter!("meridian_notifications_total", "integration" => kind, "outcome" => state_name)
            .increment(1);
        if state_name == "delivered" {
            metrics::histogram!("meridian_notification_latency_seconds", "integration" => kind)
                .record((now - d.cause_ms) as f64 / 1000.0);
        }
    }
    let (ids, tenants, statuses, latencies, errors, states, next) = columns;
    let mut tx = state.pool.begin().await?;
    sqlx::query(
        "insert into notify_attempt (outbox_id, tenant_id, at_ms, http_status, latency_ms, error, replica)
         select id, tenant, $3, status, latency, error, $4
           from unnest($1::uuid[], $2::uuid[], $5::int[], $6::float8[], $7::text[])
             as a(id, tenant, status, latency, error)",
    )
    .bind(&ids)
    .bind(&tenants)
    .bind(now)
    .bind(replica)
    .bind(&statuses)
    .bind(&latencies)
    .bind(&errors)
    .execute(&mut *tx)
    .await?;
    sqlx::query(
        "update notify_outbox o
            set state = v.state, next_attempt_ms = v.next, lease_until_ms = null, last_error = v.error,
                delivered_ms = case when v.state = 'delivered' then $5 else o.delivered_ms end
           from unnest($1::uuid[], $2::text[], $3::bigint[], $4::text[]) as v(id, state, next, error)
          where o.id = v.id",
    )
    .bind(&ids)
    .bind(&states)
    .bind(&next)
    .bind(&errors)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    tx.commit().await
}
