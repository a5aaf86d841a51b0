//! The alert history in PostgreSQL, read in the caller's scope: the alerts page's list and
//! filters, one alert with its other episodes, the dashboards' firing-alerts panel; and the
//! acknowledgement, audited in the same transaction.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};
use regex::Regex;
use sqlx::{PgPool, Postgres, QueryBuilder, Row};
use uuid::Uuid;

use super::{Acknowledgement, AlertDetail, AlertFilter, AlertRow, AlertsPage};
use crate::{
    error::AppError,
    ssr::{
        change::{Audited, Change},
        scope::{Scope, ScopedTx, TenantAccess},
    },
};

/// The most alerts one page lists.
pub const LIST_LIMIT: i64 = 200;
/// The alert timeline's window: the week before now.
const TIMELINE_DAYS: i64 = 7;

const SELECT: &str = "select a.id, a.tenant_id, t.name as tenant_name, a.group_name, a.rule_name,
        a.labels, a.annotations, a.severity, a.state, a.value, a.active_at, a.fired_at,
        a.resolved_at, a.acknowledged_by, a.acknowledged_at, a.ack_comment, a.fingerprint
   from alert a join tenant t on t.id = a.tenant_id";

fn map(value: serde_json::Value) -> BTreeMap<String, String> {
    serde_json::from_value(value).unwrap_or_default()
}

fn from_row(row: &sqlx::postgres::PgRow) -> AlertRow {
    let ack = match (
        row.get::<Option<String>, _>("acknowledged_by"),
        row.get::<Option<DateTime<Utc>>, _>("acknowledged_at"),
    ) {
        (Some(by), Some(at)) => Some(Acknowledgement {
            by,
            at,
            comment: row
                .get::<Option<String>, _>("ack_comment")
                .unwrap_or_default(),
        }),
        _ => None,
    };
    AlertRow {
        id: row.get("id"),
        tenant_name: row.get("tenant_name"),
        group_name: row.get("group_name"),
        rule_name: row.get("rule_name"),
        labels: map(row.get("labels")),
        annotations: map(row.get("annotations")),
        severity: row.get("severity"),
        state: row.get("state"),
        value: row.get("value"),
        active_at: row.get("active_at"),
        fired_at: row.get("fired_at"),
        resolved_at: row.get("resolved_at"),
        ack,
    }
}

/// One label matcher of the filter: `name`, operator, value.
#[derive(Debug, PartialEq)]
struct LabelMatcher {
    name: String,
    op: String,
    value: String,
}

/// `job="api", instance=~"api-.*"` (quotes optional, braces allowed) as matchers.
fn parse_matchers(text: &str) -> Result<Vec<LabelMatcher>, AppError> {
    let text = text.trim().trim_start_matches('{').trim_end_matches('}');
    let one = Regex::new(r#"^\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*(?:"((?:[^"\\]|\\.)*)"|([^",]*))\s*(?:,|$)"#)
        .expect("a valid pattern");
    let mut rest = text;
    let mut matchers = Vec::new();
    while !rest.trim().is_empty() {
        let Some(found) = one.captures(rest) else {
            let at = text.len() - rest.trim_start().len() + 1;
            return Err(AppError::invalid(
                "labels",
                format!("expected a matcher like job=\"api\" at character {at}"),
            ));
        };
        let value = found
            .get(3)
            .or(found.get(4))
            .map_or("", |m| m.as_str())
            .replace("\\\"", "\"");
        let op = found[2].to_string();
        if op.contains('~') {
            Regex::new(&value).map_err(|e| {
                AppError::invalid(
                    "labels",
                    format!("{}: invalid regular expression: {e}", &found[1]),
                )
            })?;
        }
        matchers.push(LabelMatcher {
            name: found[1].to_string(),
            op,
            value: value.trim().to_string(),
        });
        rest = &rest[found[0].len()..];
    }
    Ok(matchers)
}

fn non_empty(value: &Option<String>) -> Option<&str> {
    value.as_deref().map(str::trim).filter(|v| !v.is_empty())
}

/// Restricts to the scope's tenants (row-level security applies too; this keeps the query
/// right without it).
fn push_scope(query: &mut QueryBuilder<'_, Postgres>, scope: &Scope) {
    query.push(" where true");
    if let TenantAccess::Only(ids) = &scope.tenants {
        query
            .push(" and a.tenant_id = any(")
            .push_bind(ids.clone())
            .push(")");
    }
}

/// The alerts that match `filter`, newest first.
pub async fn list(
    scope: &Scope,
    pool: &PgPool,
    filter: &AlertFilter,
) -> Result<AlertsPage, AppError> {
    scope.require_read()?;
    let from = filter
        .from
        .as_deref()
        .map(|t| crate::audit::parse_time("from", t))
        .transpose()?
        .flatten();
    let to = filter
        .to
        .as_deref()
        .map(|t| crate::audit::parse_time("to", t))
        .transpose()?
        .flatten();
    let matchers = non_empty(&filter.labels)
        .map(parse_matchers)
        .transpose()?
        .unwrap_or_default();
    let state = non_empty(&filter.state).unwrap_or("active");
    // Before this read's own transaction: the lookup takes a connection of its own.
    let tenant =
        crate::admin::tenants::repo::tenant_filter(scope, pool, filter.tenant.as_deref()).await?;
    let mut tx = scope.begin(pool).await?;
    let mut query = QueryBuilder::new(SELECT);
    push_scope(&mut query, scope);
    match state {
        "active" => query.push(" and a.state <> 'resolved'"),
        "firing" | "pending" | "resolved" => {
            query.push(" and a.state = ").push_bind(state.to_string())
        }
        "all" => &mut query,
        other => {
            return Err(AppError::invalid(
                "state",
                format!("{other:?} is not one of active, firing, pending, resolved, all"),
            ))
        }
    };
    if let Some(severity) = non_empty(&filter.severity) {
        query
            .push(" and a.severity = ")
            .push_bind(severity.to_string());
    }
    if let Some(tenant) = tenant {
        query.push(" and a.tenant_id = ").push_bind(tenant);
    }
    // An alert is in the window when its life overlaps it.
    if let Some(from) = from {
        query
            .push(" and coalesce(a.resolved_at, 'infinity') >= ")
            .push_bind(from);
    }
    if let Some(to) = to {
        query.push(" and a.active_at < ").push_bind(to);
    }
    for m in matchers {
        let label = format!("coalesce(a.labels ->> {}, '')", quote(&m.name));
        match m.op.as_str() {
            "=" => query.push(format!(" and {label} = ")).push_bind(m.value),
            "!=" => query.push(format!(" and {label} <> ")).push_bind(m.value),
            "=~" => query
                .push(format!(" and {label} ~ "))
                .push_bind(format!("^(?:{})$", m.value)),
            _ => query
                .push(format!(" and {label} !~ "))
                .push_bind(format!("^(?:{})$", m.value)),
        };
    }
    query
        .push(" order by (a.state = 'firing') desc, (a.state = 'pending') desc, a.active_at desc limit ")
        .push_bind(LIST_LIMIT + 1);
    let rows = query.build().fetch_all(tx.conn()).await?;
    let mut counts = QueryBuilder::new(
        "select count(*) filter (where a.state = 'firing'), count(*) filter (where a.state = 'pending') from alert a",
    );
    push_scope(&mut counts, scope);
    let (firing, pending): (i64, i64) = counts.build_query_as().fetch_one(tx.conn()).await?;
    tx.commit().await?;
    let mut alerts: Vec<AlertRow> = rows.iter().map(from_row).collect();
    let truncated = alerts.len() as i64 > LIST_LIMIT;
    alerts.truncate(LIST_LIMIT as usize);
    Ok(AlertsPage {
        alerts,
        truncated,
        firing,
        pending,
        now: Utc::now(),
    })
}

/// A label name as a SQL string literal (label names are `[a-zA-Z_][a-zA-Z0-9_]*`, checked by
/// the parser, so this never meets a quote).
fn quote(name: &str) -> String {
    format!("'{}'", name.replace('\'', "''"))
}

/// One alert, with the episodes of the same alert over the last week and its rule.
pub async fn detail(scope: &Scope, pool: &PgPool, id: Uuid) -> Result<AlertDetail, AppError> {
    scope.require_read()?;
    let mut tx = scope.begin(pool).await?;
    let row = sqlx::query(&format!("{SELECT} where a.id = $1"))
        .bind(id)
        .fetch_optional(tx.conn())
        .await?
        .ok_or(AppError::NotFound)?;
    let tenant: Uuid = row.get("tenant_id");
    let fingerprint: String = row.get("fingerprint");
    let alert = from_row(&row);
    let now = Utc::now();
    let window = (now - Duration::days(TIMELINE_DAYS), now);
    let episodes = sqlx::query(&format!(
        "{SELECT} where a.tenant_id = $1 and a.fingerprint = $2
            and coalesce(a.resolved_at, 'infinity') >= $3 order by a.active_at"
    ))
    .bind(tenant)
    .bind(&fingerprint)
    .bind(window.0)
    .fetch_all(tx.conn())
    .await?
    .iter()
    .map(from_row)
    .collect();
    let now_ms = now.timestamp_millis();
    let labels: notify::Labels = alert.labels.clone().into_iter().collect();
    let silenced_by = crate::notifications::repo::silences(tx.conn(), tenant)
        .await?
        .into_iter()
        .filter(|s| s.mutes(&labels, now_ms))
        .map(|s| {
            let matchers = s.matchers.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ");
            let until = DateTime::from_timestamp_millis(s.ends_at).unwrap_or(now);
            (matchers, until, s.created_by, s.comment)
        })
        .collect();
    tx.commit().await?;
    let rule = super::repo::rule_views(scope, pool, tenant, &alert.group_name)
        .await?
        .into_iter()
        .find(|r| r.kind == "alert" && r.name == alert.rule_name);
    Ok(AlertDetail {
        alert,
        episodes,
        window,
        rule,
        can_acknowledge: scope.require_editor(tenant).is_ok(),
        now,
        silenced_by,
    })
}

/// The pending and firing alerts of `tenants` (the dashboards' panel), firing first.
pub async fn current(
    scope: &Scope,
    pool: &PgPool,
    tenants: &[Uuid],
    limit: i64,
) -> Result<Vec<AlertRow>, AppError> {
    let mut tx = scope.begin(pool).await?;
    let rows = sqlx::query(&format!(
        "{SELECT} where a.tenant_id = any($1) and a.state <> 'resolved'
          order by (a.state = 'firing') desc, a.severity = 'critical' desc, a.active_at desc
          limit $2"
    ))
    .bind(tenants)
    .bind(limit)
    .fetch_all(tx.conn())
    .await?;
    tx.commit().await?;
    Ok(rows.iter().map(from_row).collect())
}

/// An alert's acknowledgement as the audit trail records it.
#[derive(Clone, Debug, serde::Serialize)]
struct AckRecord {
    id: Uuid,
    tenant_id: Uuid,
    acknowledged_by: Option<String>,
    acknowledged_at: Option<DateTime<Utc>>,
    ack_comment: Option<String>,
}

impl Audited for AckRecord {
    const TARGET: &'static str = "alert";

    fn id(&self) -> Uuid {
        self.id
    }

    fn tenant(&self) -> Option<Uuid> {
        Some(self.tenant_id)
    }

    async fn fetch(tx: &mut ScopedTx<'_>, id: Uuid, lock: bool) -> Result<Self, AppError> {
        let lock = if lock { " for update" } else { "" };
        let row = sqlx::query(&format!(
            "select id, tenant_id, acknowledged_by, acknowledged_at, ack_comment from alert where id = $1{lock}"
        ))
        .bind(id)
        .fetch_optional(tx.conn())
        .await?
        .ok_or(AppError::NotFound)?;
        Ok(AckRecord {
            id: row.get("id"),
            tenant_id: row.get("tenant_id"),
            acknowledged_by: row.get("acknowledged_by"),
            acknowledged_at: row.get("acknowledged_at"),
            ack_comment: row.get("ack_comment"),
        })
    }
}

/// The most a comment may hold.
const MAX_COMMENT: usize = 2000;

/// Acknowledges an alert (who, when, why; again replaces the last), or takes the
/// acknowledgement back when `comment` is `None`. Admins and the tenant's editors; audited with
/// the change.
pub async fn acknowledge(
    scope: &Scope,
    pool: &PgPool,
    id: Uuid,
    comment: Option<&str>,
) -> Result<(), AppError> {
    if comment.is_some_and(|c| c.chars().count() > MAX_COMMENT) {
        return Err(AppError::invalid(
            "comment",
            format!("at most {MAX_COMMENT} characters"),
        ));
    }
    let (mut change, before) = Change::<AckRecord>::edit(scope, pool, id).await?;
    scope.require_editor(before.tenant_id)?;
    let labels: serde_json::Value = sqlx::query_scalar("select labels from alert where id = $1")
        .bind(id)
        .fetch_one(change.conn())
        .await?;
    let by = comment.is_some().then(|| scope.actor.label());
    // The notifier stops repeating and escalating it too (or starts again).
    crate::notifications::acknowledge::follow_history(change.conn(), before.tenant_id, &labels, by.as_deref())
        .await?;
    let action = match comment {
        Some(comment) => {
            sqlx::query(
                "update alert set acknowledged_by = $2, acknowledged_at = now(), ack_comment = $3 where id = $1",
            )
            .bind(id)
            .bind(scope.actor.label())
            .bind(comment.trim())
            .execute(change.conn())
            .await?;
            "alert.acknowledge"
        }
        None => {
            // Nothing to take back: nothing to change or audit.
            if before.acknowledged_by.is_none() {
                return Ok(());
            }
            sqlx::query(
                "update alert set acknowledged_by = null, acknowledged_at = null, ack_comment = null where id = $1",
            )
            .bind(id)
            .execute(change.conn())
            .await?;
            "alert.unacknowledge"
        }
    };
    change.commit(action, id).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matchers_read_as_prometheus_writes_them() {
        let m = parse_matchers(r#"{job="api", instance=~"api-.*",env!=prod}"#).unwrap();
        assert_eq!(
            m,
            [
                LabelMatcher {
                    name: "job".into(),
                    op: "=".into(),
                    value: "api".into()
                },
                LabelMatcher {
                    name: "instance".into(),
                    op: "=~".into(),
                    value: "api-.*".into()
                },
                LabelMatcher {
                    name: "env".into(),
                    op: "!=".into(),
                    value: "prod".into()
                },
            ]
        );
        let AppError::Invalid { field, message } = parse_matchers("job=\"api\", 9x=1").unwrap_err()
        else {
            panic!()
        };
        assert_eq!(field, "labels");
        assert!(message.contains("character 12"), "{message}");
        assert!(parse_matchers("job=~\"(\"").is_err());
    }
}
