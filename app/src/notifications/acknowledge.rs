//! Acknowledgements: from an alert's page (the rule's alert history) or from the signed link
//! each notification carries, which works once, expires, and needs no login (it is opened from
//! an e-mail or Slack). An acknowledged alert is not repeated and not escalated. And the
//! escalation runner that sends the steps of the tenants' escalation policies.

use std::collections::{BTreeMap, BTreeSet};

use jsonwebtoken::{decode, encode, Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use sqlx::{PgConnection, PgPool, Row};
use uuid::Uuid;

use super::repo::{self, now_ms};
use crate::{
    error::AppError,
    ssr::{
        audit::{self, AuditEntry},
        request::RequestMeta,
        scope::Scope,
        AppState,
    },
};

/// How long an acknowledgement link works.
pub const LINK_TTL_SECONDS: i64 = 7 * 24 * 3600;
const AUDIENCE: &str = "meridian-acknowledge";

/// What an acknowledgement link names: one life of one alert of one tenant.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LinkClaims {
    pub tenant: Uuid,
    /// The alert's fingerprint (as Alertmanager prints it).
    pub alert: String,
    /// The start of the alert's life (ms): a later life needs a new link.
    pub starts: i64,
    pub exp: i64,
    pub jti: Uuid,
    pub aud: String,
}

/// The link key, derived from the installation's secret so that a link is no API credential.
fn link_key(secret: &[u8]) -> Vec<u8> {
    let mut hash = Sha256::new();
    hash.update(b"meridian acknowledgement links\0");
    hash.update(secret);
    hash.finalize().to_vec()
}

pub fn sign_link(secret: &[u8], tenant: Uuid, fingerprint: u64, starts: i64) -> String {
    let claims = LinkClaims {
        tenant,
        alert: notify::alert::fingerprint_hex(fingerprint),
        starts,
        exp: chrono::Utc::now().timestamp() + LINK_TTL_SECONDS,
        jti: Uuid::new_v4(),
        aud: AUDIENCE.into(),
    };
    encode(&Header::new(Algorithm::HS256), &claims, &EncodingKey::from_secret(&link_key(secret)))
        .expect("HS256 signing does not fail")
}

/// Checks a link's signature, expiry and purpose.
pub fn verify_link(secret: &[u8], token: &str) -> Result<LinkClaims, String> {
    let mut validation = Validation::new(Algorithm::HS256);
    validation.leeway = 0;
    validation.set_audience(&[AUDIENCE]);
    validation.set_required_spec_claims(&["exp", "aud"]);
    decode::<LinkClaims>(token, &DecodingKey::from_secret(&link_key(secret)), &validation)
        .map(|data| data.claims)
        .map_err(|e| match e.kind() {
            jsonwebtoken::errors::ErrorKind::ExpiredSignature => "this link has expired".to_string(),
            _ => "this link is not valid".to_string(),
        })
}

/// What a link's alert is, for the confirmation page.
pub struct LinkAlert {
    pub labels: notify::Labels,
    pub summary: String,
    pub acknowledged_by: Option<String>,
    pub resolved: bool,
}

fn system(tenant: Uuid) -> Scope {
    let mut scope = Scope::system(RequestMeta {
        user_agent: "meridian-acknowledgement-link".into(),
        ..RequestMeta::default()
    });
    scope.home_tenant = Some(tenant);
    scope
}

/// The alert a valid link names.
pub async fn link_alert(pool: &PgPool, claims: &LinkClaims) -> Result<LinkAlert, AppError> {
    let fp = u64::from_str_radix(&claims.alert, 16).map_err(|_| AppError::NotFound)? as i64;
    let row = sqlx::query(
        "select labels, annotations, ends_ms, acknowledged_by from notify_alert
          where tenant_id = $1 and fingerprint = $2 and starts_ms = $3",
    )
    .bind(claims.tenant)
    .bind(fp)
    .bind(claims.starts)
    .fetch_optional(pool)
    .await?
    .ok_or(AppError::NotFound)?;
    let annotations: notify::Labels = serde_json::from_value(row.get("annotations")).unwrap_or_default();
    Ok(LinkAlert {
        labels: serde_json::from_value(row.get("labels")).unwrap_or_default(),
        summary: annotations.get("summary").cloned().unwrap_or_default(),
        acknowledged_by: row.get("acknowledged_by"),
        resolved: row.get::<i64, _>("ends_ms") <= now_ms(),
    })
}

/// Acknowledges the link's alert, once: the link is spent, the alert (and its rule's alert in
/// the history) acknowledged, and the change audited, in one transaction.
pub async fn acknowledge_by_link(pool: &PgPool, claims: &LinkClaims) -> Result<(), AppError> {
    let fp = u64::from_str_radix(&claims.alert, 16).map_err(|_| AppError::NotFound)? as i64;
    let scope = system(claims.tenant);
    let mut tx = scope.begin(pool).await?;
    let spent = sqlx::query("insert into notify_ack_link (id, tenant_id, used_ms) values ($1, $2, $3) on conflict do nothing")
        .bind(claims.jti)
        .bind(claims.tenant)
        .bind(now_ms())
        .execute(tx.conn())
        .await?
        .rows_affected();
    if spent == 0 {
        return Err(AppError::Conflict("this link was already used".into()));
    }
    let by = "a notification's acknowledgement link";
    let labels: Option<serde_json::Value> = sqlx::query_scalar(
        "update notify_alert set acknowledged_by = $4, acknowledged_at = now()
          where tenant_id = $1 and fingerprint = $2 and starts_ms = $3 and acknowledged_by is null
         returning labels",
    )
    .bind(claims.tenant)
    .bind(fp)
    .bind(claims.starts)
    .bind(by)
    .fetch_optional(tx.conn())
    .await?;
    let Some(labels) = labels else {
        return Err(AppError::Conflict("this alert is already acknowledged".into()));
    };
    // The rule's alert in the history, if it came from one (its labels are the notified ones
    // without the installation's external labels).
    sqlx::query(
        "update alert set acknowledged_by = $3, acknowledged_at = now(), ack_comment = ''
          where tenant_id = $1 and state <> 'resolved' and acknowledged_by is null and $2 @> labels",
    )
    .bind(claims.tenant)
    .bind(&labels)
    .bind(by)
    .execute(tx.conn())
    .await?;
    audit::record(
        &mut tx,
        AuditEntry::new("alert.acknowledge_by_link", "notify_alert", &claims.alert)
            .tenant(Some(claims.tenant))
            .after(serde_json::json!({"labels": labels, "link": claims.jti})),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Follows an acknowledgement in the alert history (from its page) into the notifier: the same
/// alert, firing now, is acknowledged there too (or no longer, for `None`).
pub async fn follow_history(conn: &mut PgConnection, tenant: Uuid, labels: &serde_json::Value, by: Option<&str>) -> Result<(), sqlx::Error> {
    sqlx::query(
        "update notify_alert set acknowledged_by = $3, acknowledged_at = case when $3::text is null then null else now() end
          where tenant_id = $1 and labels @> $2 and ends_ms > $4",
    )
    .bind(tenant)
    .bind(labels)
    .bind(by)
    .bind(now_ms())
    .execute(conn)
    .await?;
    Ok(())
}

/// Sends the escalation steps that are due at `now`, across tenants: each once (the step's row
/// is written in the transaction that queues its notification).
pub async fn escalate(state: &AppState, now: i64) -> Result<usize, sqlx::Error> {
    let tenants: Vec<Uuid> = sqlx::query_scalar(
        "select distinct tenant_id from notify_alert where ends_ms > $1 and acknowledged_by is null",
    )
    .bind(now)
    .fetch_all(&state.pool)
    .await?;
    let mut sent = 0;
    for tenant in tenants {
        let mut tx = state.pool.begin().await?;
        let Ok((config, _)) = repo::config(&mut tx, tenant).await else {
            continue;
        };
        if config.escalations.is_empty() {
            continue;
        }
        let stored = repo::alerts(&mut tx, tenant).await?;
        let (alerts, acknowledged) = repo::world_parts(&stored);
        let silences = repo::silences(&mut tx, tenant).await?;
        let world = notify::dispatch::World {
            config: &config,
            alerts: &alerts,
            silences: &silences,
            acknowledged: &acknowledged,
            external_url: &state.rule_templates.external_url,
        };
        // The steps sent so far in the alerts' current lives, for all of the tenant's at once.
        let mut sent_steps: BTreeMap<(i64, i64), BTreeSet<(String, usize)>> = BTreeMap::new();
        let rows: Vec<(i64, i64, String, i32)> = sqlx::query_as(
            "select e.fingerprint, e.received_ms, e.policy, e.step
               from notify_escalation e
               join notify_alert a on a.tenant_id = e.tenant_id and a.fingerprint = e.fingerprint
                                  and a.received_ms = e.received_ms
              where e.tenant_id = $1",
        )
        .bind(tenant)
        .fetch_all(&mut *tx)
        .await?;
        for (fp, received, policy, step) in rows {
            sent_steps.entry((fp, received)).or_default().insert((policy, step as usize));
        }
        let none = BTreeSet::new();
        for (fp, s) in &stored {
            let done = sent_steps.get(&(*fp as i64, s.received_ms)).unwrap_or(&none);
            let muted = notify::dispatch::Muted::of(&world, &s.alert.labels, now).is_muted();
            let due = notify::escalation::due(&config.escalations, &s.alert, s.acknowledged_by.is_some(), muted, done, now);
            for step in due {
                let claimed = sqlx::query(
                    "insert into notify_escalation (tenant_id, fingerprint, received_ms, policy, step, sent_ms)
                     values ($1, $2, $3, $4, $5, $6) on conflict do nothing",
                )
                .bind(tenant)
                .bind(*fp as i64)
                .bind(s.received_ms)
                .bind(&step.policy)
                .bind(step.step as i32)
                .bind(now)
                .execute(&mut *tx)
                .await?
                .rows_affected();
                let Some(receiver) = config.receiver(&step.receiver) else { continue };
                if claimed == 0 {
                    continue;
                }
                let labels = s.alert.labels.clone();
                let message = notify::webhook::Message {
                    receiver: receiver.name.clone(),
                    group_key: format!("escalation/{}/{}:{}", step.policy, step.step, notify::route::label_set_string(&labels)),
                    group_labels: labels,
                    alerts: vec![notify::webhook::Notified { alert: s.alert.clone(), resolved: false }],
                    external_url: state.rule_templates.external_url.clone(),
                };
                for (i, integration) in receiver.integrations.iter().enumerate() {
                    super::dispatcher::enqueue(&mut tx, tenant, i, integration, &message, now, now).await?;
                    sent += 1;
                }
            }
        }
        tx.commit().await?;
    }
    Ok(sent)
}
