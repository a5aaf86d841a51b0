//! What the notification pages show, read in the viewer's scope: the tenant's contact points
//! with their deliveries, its policies with a routing preview, its silences, its inbox; and the
//! changes the pages make (a test notification, a new configuration, a silence).

use std::collections::BTreeMap;

use notify::{
    alert::Alert,
    config::{Config, Integration},
    dispatch::{destinations, route_muted, Muted, World},
    matcher,
    route::GroupBy,
    silence::Silence,
    webhook::{Message, Notified},
    Labels,
};
use sqlx::{PgPool, Row};
use uuid::Uuid;

use super::{
    dispatcher::enqueue,
    repo::{self, now_ms},
    ContactPointsPage, DeliveryView, InboxItem, InboxPage, Part, PoliciesPage, PreviewRow,
    ReceiverView, RouteView, SilenceView, SilencesPage, TenantChoice,
};
use crate::{
    error::AppError,
    ssr::scope::{Actor, Scope},
};

/// The tenant a page is about: the viewer's own, else the one named, else the first the
/// viewer sees; with the others to switch to.
pub async fn choose_tenant(scope: &Scope, pool: &PgPool, name: &str) -> Result<(Uuid, TenantChoice), AppError> {
    scope.require_read()?;
    let mut tx = scope.begin(pool).await?;
    let visible: Vec<(Uuid, String)> = sqlx::query_as("select id, name from tenant order by lower(name)")
        .fetch_all(tx.conn())
        .await?;
    let name = name.trim();
    // By name, or by id (the links in notifications name the tenant by its id).
    let named = || {
        visible
            .iter()
            .find(|(id, n)| n.eq_ignore_ascii_case(name) || id.to_string() == name)
    };
    // A tenant the viewer does not see, or another than a tenant user's own, does not exist
    // for them.
    let chosen = match scope.home_tenant {
        Some(home) if name.is_empty() => visible.iter().find(|(id, _)| *id == home),
        Some(home) => named().filter(|(id, _)| *id == home),
        None if name.is_empty() => visible.first(),
        None => named(),
    };
    let (id, name) = chosen.cloned().ok_or(AppError::NotFound)?;
    let others = if scope.home_tenant.is_some() {
        Vec::new()
    } else {
        visible.into_iter().map(|(_, n)| n).collect()
    };
    Ok((
        id,
        TenantChoice {
            id,
            name,
            others,
            can_edit: scope.require_editor(id).is_ok(),
        },
    ))
}

/// Where an integration sends, with secrets masked (the last four characters of a key).
fn target_text(integration: &Integration) -> String {
    let mask = |secret: &str| {
        let tail: String = secret.chars().rev().take(4).collect::<Vec<_>>().into_iter().rev().collect();
        if secret.len() > 8 { format!("••••{tail}") } else { "••••".into() }
    };
    // A URL's path can carry a token (Slack's hooks do): show the host only.
    let host = |url: &str| {
        let rest = url.split("://").nth(1).unwrap_or(url);
        let host = rest.split('/').next().unwrap_or(rest);
        if rest.len() > host.len() + 1 { format!("{host}/…") } else { host.to_string() }
    };
    match integration {
        Integration::Webhook { url, .. } => url.clone(),
        Integration::Slack { api_url, channel, .. } => format!("{} {channel}", host(api_url)),
        Integration::Email { to, smarthost, auth_username, .. } => {
            let auth = if auth_username.is_empty() { String::new() } else { format!(" as {auth_username}") };
            format!("{to} via {smarthost}{auth}")
        }
        Integration::PagerDuty { url, routing_key, .. } => format!("{} key {}", host(url), mask(routing_key)),
        Integration::Alertmanager { url, .. } => url.clone(),
        Integration::Inbox { .. } => "Meridian inbox".into(),
    }
}

fn delivery_of(row: &sqlx::postgres::PgRow) -> DeliveryView {
    let message: Option<Message> = serde_json::from_value(row.get("message")).ok();
    let delivered: Option<i64> = row.get("delivered_ms");
    DeliveryView {
        created_ms: row.get("created_ms"),
        receiver: row.get("receiver"),
        kind: row.get("kind"),
        title: message
            .as_ref()
            .map(notify::bodies::subject)
            .or_else(|| super::digest::title_of(row.get("status"), &row.get("message")))
            .unwrap_or_default(),
        status: row.get("status"),
        state: row.get("state"),
        attempts: row.get("attempts"),
        last_error: row.get("last_error"),
        latency_ms: delivered.map(|d| d - row.get::<i64, _>("cause_ms")),
    }
}

pub async fn contact_points(scope: &Scope, pool: &PgPool, tenant: &str) -> Result<ContactPointsPage, AppError> {
    let (id, tenant) = choose_tenant(scope, pool, tenant).await?;
    let mut tx = scope.begin(pool).await?;
    let (config, _) = repo::config(tx.conn(), id).await?;
    let rows = sqlx::query(
        "select created_ms, receiver, kind, status, state, attempts, last_error, delivered_ms, cause_ms, message
           from notify_outbox where tenant_id = $1 order by created_ms desc limit 200",
    )
    .bind(id)
    .fetch_all(tx.conn())
    .await?;
    let deliveries: Vec<DeliveryView> = rows.iter().map(delivery_of).collect();
    let receivers = config
        .receivers
        .iter()
        .map(|r| ReceiverView {
            name: r.name.clone(),
            integrations: r.integrations.iter().map(|i| (i.kind().to_string(), target_text(i))).collect(),
            deliveries: deliveries.iter().filter(|d| d.receiver == r.name).take(10).cloned().collect(),
        })
        .collect();
    let digests = super::digest::rows(tx.conn(), id, &config, now_ms()).await?;
    Ok(ContactPointsPage { tenant, receivers, digests })
}

/// Sends a test notification through each of the receiver's integrations (through the outbox,
/// as every notification goes).
pub async fn send_test(scope: &Scope, pool: &PgPool, tenant: &str, receiver: &str) -> Result<usize, AppError> {
    let (id, _) = choose_tenant(scope, pool, tenant).await?;
    scope.require_editor(id)?;
    let mut tx = scope.begin(pool).await?;
    let (config, _) = repo::config(tx.conn(), id).await?;
    let receiver = config
        .receiver(receiver)
        .ok_or_else(|| AppError::invalid("receiver", format!("no contact point named {receiver:?}")))?;
    let now = now_ms();
    let labels: Labels = [
        ("alertname".to_string(), "TestNotification".to_string()),
        ("severity".to_string(), "info".to_string()),
    ]
    .into();
    let message = Message {
        receiver: receiver.name.clone(),
        group_key: format!("{{}}:{{test=\"{now}\"}}"),
        group_labels: labels.clone(),
        alerts: vec![Notified {
            alert: Alert {
                labels,
                annotations: [(
                    "summary".to_string(),
                    format!("A test notification sent by {}", scope.actor.label()),
                )]
                .into(),
                starts_at: now,
                ends_at: now + 300_000,
                generator_url: String::new(),
                updated_at: now,
                timeout: false,
            },
            resolved: false,
        }],
        external_url: String::new(),
    };
    for (i, integration) in receiver.integrations.iter().enumerate() {
        enqueue(tx.conn(), id, i, integration, &message, now, now).await?;
    }
    crate::ssr::audit::record(
        &mut tx,
        crate::ssr::audit::AuditEntry::new("notifications.test", "receiver", &receiver.name).tenant(Some(id)),
    )
    .await?;
    tx.commit().await?;
    Ok(receiver.integrations.len())
}

fn duration_text(ms: i64) -> String {
    rules::file::format_duration(ms)
}

fn route_views(route: &notify::route::Route, depth: usize, out: &mut Vec<RouteView>) {
    out.push(RouteView {
        depth,
        path: route.id.clone(),
        matchers: if route.matchers.is_empty() {
            "every alert".into()
        } else {
            route.matchers.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ")
        },
        receiver: route.receiver.clone(),
        group_by: match &route.group_by {
            GroupBy::All => "every label (…)".into(),
            GroupBy::Labels(l) if l.is_empty() => "nothing (one group)".into(),
            GroupBy::Labels(l) => l.iter().cloned().collect::<Vec<_>>().join(", "),
        },
        timing: format!(
            "wait {} · interval {} · repeat {}",
            duration_text(route.group_wait_ms),
            duration_text(route.group_interval_ms),
            duration_text(route.repeat_interval_ms)
        ),
        continue_matching: route.continue_matching,
        mute: [
            (!route.mute_time_intervals.is_empty()).then(|| format!("muted during {}", route.mute_time_intervals.join(", "))),
            (!route.active_time_intervals.is_empty()).then(|| format!("active only during {}", route.active_time_intervals.join(", "))),
        ]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join("; "),
    });
    for child in &route.routes {
        route_views(child, depth + 1, out);
    }
}

/// `a="b", c=~"d"` or `a=b c=d`: a label set to preview (only equality makes sense here).
fn preview_labels(text: &str) -> Result<Labels, String> {
    let mut labels = Labels::new();
    for m in matcher::parse_list(&text.replace(' ', ","))? {
        if m.op != matcher::Op::Equal {
            return Err(format!("{m}: give labels as name=\"value\""));
        }
        labels.insert(m.name, m.value);
    }
    if labels.is_empty() {
        return Err("give at least one label".into());
    }
    Ok(labels)
}

fn preview(config: &Config, alerts: &BTreeMap<u64, Alert>, silences: &[Silence], labels: &Labels) -> Vec<PreviewRow> {
    let now = now_ms();
    let none = std::collections::BTreeSet::new();
    let world = World { config, alerts, silences, acknowledged: &none, external_url: "" };
    let muted = Muted::of(&world, labels, now);
    destinations(&config.route, labels)
        .into_iter()
        .map(|d| {
            let mut why = Vec::new();
            if !muted.silenced_by.is_empty() {
                why.push(format!("silenced by {}", muted.silenced_by.join(", ")));
            }
            if let Some(fp) = muted.inhibited_by {
                why.push(format!("inhibited by {}", notify::alert::fingerprint_hex(fp)));
            }
            if route_muted(config, d.route, now) {
                why.push("in a mute time now".into());
            }
            PreviewRow {
                receiver: d.route.receiver.clone(),
                group_key: d.key.clone(),
                group_labels: notify::route::label_set_string(&d.labels),
                timing: format!(
                    "first after {}, then every {}, repeated every {}",
                    duration_text(d.route.group_wait_ms),
                    duration_text(d.route.group_interval_ms),
                    duration_text(d.route.repeat_interval_ms)
                ),
                muted: why.join("; "),
            }
        })
        .collect()
}

pub async fn policies(scope: &Scope, pool: &PgPool, tenant: &str, labels: &str) -> Result<PoliciesPage, AppError> {
    let (id, tenant) = choose_tenant(scope, pool, tenant).await?;
    let mut tx = scope.begin(pool).await?;
    let (config, _) = repo::config(tx.conn(), id).await?;
    let mut routes = Vec::new();
    route_views(&config.route, 0, &mut routes);
    let preview = if labels.trim().is_empty() {
        None
    } else {
        let (alerts, _) = repo::world_parts(&repo::alerts(tx.conn(), id).await?);
        let silences = repo::silences(tx.conn(), id).await?;
        Some(preview_labels(labels).map(|l| preview(&config, &alerts, &silences, &l)))
    };
    let inhibit_rules = config
        .inhibit_rules
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let list = |ms: &[matcher::Matcher]| ms.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ");
            let equal = if r.equal.is_empty() { String::new() } else { format!(" when {} are equal", r.equal.join(", ")) };
            Part { key: i.to_string(), text: format!("{} mutes {}{equal}", list(&r.source), list(&r.target)) }
        })
        .collect();
    let time_intervals = config
        .file
        .time_intervals
        .iter()
        .chain(&config.file.mute_time_intervals)
        .map(|t| {
            let specs: Vec<String> = t
                .time_intervals
                .iter()
                .map(|s| {
                    let mut parts = Vec::new();
                    if !s.weekdays.is_empty() { parts.push(s.weekdays.join(", ")); }
                    if !s.times.is_empty() {
                        parts.push(s.times.iter().map(|r| format!("{}–{}", r.start_time, r.end_time)).collect::<Vec<_>>().join(", "));
                    }
                    if !s.days_of_month.is_empty() { parts.push(format!("days {}", s.days_of_month.join(", "))); }
                    if !s.months.is_empty() { parts.push(s.months.join(", ")); }
                    if !s.years.is_empty() { parts.push(s.years.join(", ")); }
                    parts.push(s.location.clone().unwrap_or_else(|| "UTC".into()));
                    parts.join(" · ")
                })
                .collect();
            Part { key: t.name.clone(), text: format!("{}: {}", t.name, specs.join(" or ")) }
        })
        .collect();
    let escalations = config
        .escalations
        .iter()
        .map(|p| {
            let matchers = if p.matchers.is_empty() {
                "every alert".to_string()
            } else {
                p.matchers.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ")
            };
            let steps: Vec<String> = p
                .steps
                .iter()
                .map(|(after, receiver)| format!("after {} → {receiver}", duration_text(*after)))
                .collect();
            Part { key: p.name.clone(), text: format!("{}: {matchers}, unacknowledged: {}", p.name, steps.join(", then ")) }
        })
        .collect();
    let receivers = config.receivers.iter().map(|r| r.name.clone()).collect();
    Ok(PoliciesPage { tenant, yaml: repo::shown_yaml(&config), routes, receivers, inhibit_rules, time_intervals, escalations, preview })
}

pub async fn save_config(scope: &Scope, pool: &PgPool, tenant: &str, yaml: &str) -> Result<(), AppError> {
    let (id, _) = choose_tenant(scope, pool, tenant).await?;
    repo::import(scope, pool, id, yaml)
        .await
        .map_err(|e| match e {
            // The form's field is the text box; the message keeps the line.
            AppError::Invalid { field, message } => AppError::invalid("yaml", format!("{field}: {message}")),
            other => other,
        })?;
    Ok(())
}

pub async fn silences(scope: &Scope, pool: &PgPool, tenant: &str, prefill: &str) -> Result<SilencesPage, AppError> {
    let (id, tenant) = choose_tenant(scope, pool, tenant).await?;
    let mut tx = scope.begin(pool).await?;
    let alerts = repo::alerts(tx.conn(), id).await?;
    let list = repo::silences(tx.conn(), id).await?;
    let now = now_ms();
    let mut silences: Vec<SilenceView> = list
        .iter()
        .map(|s| SilenceView {
            id: s.id.clone(),
            matchers: s.matchers.iter().map(ToString::to_string).collect::<Vec<_>>().join(", "),
            state: s.state(now).as_str().to_string(),
            starts_ms: s.starts_at,
            ends_ms: s.ends_at,
            created_by: s.created_by.clone(),
            comment: s.comment.clone(),
            muting: alerts.values().filter(|a| !a.alert.resolved_at(now) && s.mutes(&a.alert.labels, now)).count(),
        })
        .collect();
    let rank = |s: &SilenceView| match s.state.as_str() {
        "active" => 0,
        "pending" => 1,
        _ => 2,
    };
    silences.sort_by_key(|s| (rank(s), -s.ends_ms));
    Ok(SilencesPage { tenant, silences, prefill: prefill.to_string() })
}

/// A silence from the form: matchers, a duration in hours, a comment; the author is the viewer.
pub async fn create_silence(scope: &Scope, pool: &PgPool, tenant: &str, matchers: &str, hours: &str, comment: &str) -> Result<String, AppError> {
    let (id, _) = choose_tenant(scope, pool, tenant).await?;
    let matchers = matcher::parse_list(matchers).map_err(|e| AppError::invalid("matchers", e))?;
    if matchers.is_empty() {
        return Err(AppError::invalid("matchers", "give at least one matcher, e.g. alertname=\"HighErrorRatio\""));
    }
    let hours: f64 = hours
        .trim()
        .parse()
        .ok()
        .filter(|h: &f64| *h > 0.0 && *h <= 24.0 * 365.0)
        .ok_or_else(|| AppError::invalid("hours", "a number of hours, more than 0"))?;
    if comment.trim().is_empty() {
        return Err(AppError::invalid("comment", "say why (Alertmanager requires a comment)"));
    }
    let now = now_ms();
    let silence = Silence {
        id: String::new(),
        matchers,
        starts_at: now,
        ends_at: now + (hours * 3_600_000.0) as i64,
        updated_at: now,
        created_by: match &scope.actor {
            Actor::User { email, .. } => email.clone(),
            other => other.label(),
        },
        comment: comment.trim().to_string(),
    };
    repo::save_silence(scope, pool, id, silence).await
}

pub async fn expire_silence(scope: &Scope, pool: &PgPool, tenant: &str, silence: &str) -> Result<(), AppError> {
    let (id, _) = choose_tenant(scope, pool, tenant).await?;
    repo::expire_silence(scope, pool, id, silence).await
}

/// The tenant's inbox for the viewer; opening it marks everything read.
pub async fn inbox(scope: &Scope, pool: &PgPool, secret: &[u8], tenant: &str) -> Result<InboxPage, AppError> {
    let (id, tenant) = choose_tenant(scope, pool, tenant).await?;
    let mut tx = scope.begin(pool).await?;
    let open = repo::alerts(tx.conn(), id).await?;
    let now = now_ms();
    let user = match &scope.actor {
        Actor::User { id, .. } => Some(*id),
        _ => None,
    };
    let read_at: Option<chrono::DateTime<chrono::Utc>> =
        sqlx::query_scalar("select read_at from notify_inbox_read where user_id = $1 and tenant_id = $2")
            .bind(user)
            .bind(id)
            .fetch_optional(tx.conn())
            .await?;
    let rows = sqlx::query(
        "select created_at, receiver, status, title, message from notify_inbox
          where tenant_id = $1 order by created_at desc limit 200",
    )
    .bind(id)
    .fetch_all(tx.conn())
    .await?;
    let items = rows
        .iter()
        .map(|row| {
            let created: chrono::DateTime<chrono::Utc> = row.get("created_at");
            let message: Option<Message> = serde_json::from_value(row.get("message")).ok();
            let alerts = message
                .map(|m| {
                    m.alerts
                        .iter()
                        .map(|a| {
                            let get = |k: &str| a.alert.labels.get(k).cloned().unwrap_or_default();
                            let fp = a.alert.fingerprint();
                            // Still firing in this life, and nobody acknowledged it yet.
                            let open = open.get(&fp).filter(|s| {
                                !a.resolved
                                    && s.alert.starts_at == a.alert.starts_at
                                    && !s.alert.resolved_at(now)
                                    && s.acknowledged_by.is_none()
                            });
                            super::InboxAlert {
                                name: get("alertname"),
                                instance: get("instance"),
                                status: if a.resolved { "resolved" } else { "firing" }.to_string(),
                                summary: a.alert.annotations.get("summary").cloned().unwrap_or_default(),
                                acknowledge: open.map(|s| {
                                    let token = super::acknowledge::sign_link(secret, id, fp, s.alert.starts_at);
                                    format!("/ack/{token}")
                                }),
                            }
                        })
                        .collect()
                })
                .unwrap_or_default();
            InboxItem {
                created,
                receiver: row.get("receiver"),
                status: row.get("status"),
                title: row.get("title"),
                alerts,
                unread: read_at.is_none_or(|r| created > r),
                digest: super::digest::inbox_view(row.get("status"), &row.get("message")),
            }
        })
        .collect();
    if let Some(user) = user {
        sqlx::query(
            "insert into notify_inbox_read (user_id, tenant_id, read_at) values ($1, $2, now())
             on conflict (user_id, tenant_id) do update set read_at = now()",
        )
        .bind(user)
        .bind(id)
        .execute(tx.conn())
        .await?;
    }
    tx.commit().await?;
    Ok(InboxPage { tenant, items })
}

/// How many inbox notifications the viewer has not seen, over the tenants they see.
pub async fn unread(scope: &Scope, pool: &PgPool) -> Result<i64, AppError> {
    let Actor::User { id: user, .. } = &scope.actor else {
        return Ok(0);
    };
    let mut tx = scope.begin(pool).await?;
    let count: i64 = sqlx::query_scalar(
        "select count(*) from notify_inbox i
           left join notify_inbox_read r on r.tenant_id = i.tenant_id and r.user_id = $1
          where r.read_at is null or i.created_at > r.read_at",
    )
    .bind(user)
    .fetch_one(tx.conn())
    .await?;
    Ok(count)
}
