//! Reading the audit trail within a scope: tenant users see their tenant's entries, admins and
//! all-tenant managers everything.

use chrono::{DateTime, Utc};
use sqlx::{PgPool, Postgres, QueryBuilder, Row};
use uuid::Uuid;

use super::{AuditEvent, AuditFilter, AuditPage};
use crate::{
    error::AppError,
    ssr::scope::{Scope, TenantAccess},
};

/// A filter checked and resolved against the database (tenant name to id).
struct Resolved {
    from: Option<DateTime<Utc>>,
    to: Option<DateTime<Utc>>,
    tenant: Option<Uuid>,
}

async fn resolve(scope: &Scope, pool: &PgPool, filter: &AuditFilter) -> Result<Resolved, AppError> {
    let from = filter
        .from
        .as_deref()
        .map(|t| super::parse_time("from", t))
        .transpose()?
        .flatten();
    let to = filter
        .to
        .as_deref()
        .map(|t| super::parse_time("to", t))
        .transpose()?
        .flatten();
    let tenant =
        crate::admin::tenants::repo::tenant_filter(scope, pool, filter.tenant.as_deref()).await?;
    Ok(Resolved { from, to, tenant })
}

fn push_filters<'a>(
    query: &mut QueryBuilder<'a, Postgres>,
    scope: &Scope,
    filter: &'a AuditFilter,
    resolved: &Resolved,
) {
    query.push(" where true");
    // Row-level security applies too; this keeps the query right even without it.
    if let TenantAccess::Only(ids) = &scope.tenants {
        query
            .push(" and e.tenant_id = any(")
            .push_bind(ids.clone())
            .push(")");
    }
    if let Some(from) = resolved.from {
        query.push(" and e.occurred_at >= ").push_bind(from);
    }
    if let Some(to) = resolved.to {
        query.push(" and e.occurred_at < ").push_bind(to);
    }
    if let Some(tenant) = resolved.tenant {
        query.push(" and e.tenant_id = ").push_bind(tenant);
    }
    if let Some(actor) = non_empty(&filter.actor) {
        query
            .push(" and e.actor_label ilike ")
            .push_bind(format!("%{}%", like_escape(actor)));
    }
    if let Some(action) = non_empty(&filter.action) {
        query
            .push(" and e.action like ")
            .push_bind(format!("{}%", like_escape(action)));
    }
    if let Some(target) = non_empty(&filter.target) {
        query
            .push(" and (e.target_id = ")
            .push_bind(target)
            .push(" or e.target_type = ")
            .push_bind(target)
            .push(")");
    }
    if let Some(before) = filter.before_id {
        query.push(" and e.id < ").push_bind(before);
    }
}

fn non_empty(value: &Option<String>) -> Option<&str> {
    value.as_deref().map(str::trim).filter(|v| !v.is_empty())
}

fn like_escape(text: &str) -> String {
    text.replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
}

const SELECT: &str = "select e.id, e.occurred_at, e.actor_type, e.actor_label, e.tenant_id, t.name as tenant_name,
        e.action, e.target_type, e.target_id, e.before, e.after, host(e.ip) as ip, e.user_agent, e.correlation_id
    from audit_event e left join tenant t on t.id = e.tenant_id";

fn from_row(row: &sqlx::postgres::PgRow) -> AuditEvent {
    AuditEvent {
        id: row.get("id"),
        occurred_at: row.get("occurred_at"),
        actor_type: row.get("actor_type"),
        actor_label: row.get("actor_label"),
        tenant_id: row.get("tenant_id"),
        tenant_name: row.get("tenant_name"),
        action: row.get("action"),
        target_type: row.get("target_type"),
        target_id: row.get("target_id"),
        before: row.get("before"),
        after: row.get("after"),
        ip: row.get("ip"),
        user_agent: row.get("user_agent"),
        correlation_id: row.get("correlation_id"),
    }
}

/// One page of entries, newest first, at most `limit` (capped at 1000).
#[tracing::instrument(skip_all)]
pub async fn list_events(
    scope: &Scope,
    pool: &PgPool,
    filter: &AuditFilter,
    limit: i64,
) -> Result<AuditPage, AppError> {
    let resolved = resolve(scope, pool, filter).await?;
    let limit = limit.clamp(1, 1000);
    let mut query = QueryBuilder::new(SELECT);
    push_filters(&mut query, scope, filter, &resolved);
    query
        .push(" order by e.id desc limit ")
        .push_bind(limit + 1);
    let mut tx = scope.begin(pool).await?;
    let rows = query.build().fetch_all(tx.conn()).await?;
    tx.commit().await?;
    let mut events: Vec<AuditEvent> = rows.iter().map(from_row).collect();
    let more = events.len() as i64 > limit;
    events.truncate(limit as usize);
    let next_before_id = if more {
        events.last().map(|e| e.id)
    } else {
        None
    };
    Ok(AuditPage {
        events,
        next_before_id,
    })
}

/// One entry, if the scope may see it; another tenant's entry is simply not found.
#[tracing::instrument(skip_all)]
pub async fn get_event(scope: &Scope, pool: &PgPool, id: i64) -> Result<AuditEvent, AppError> {
    let page = list_events(
        scope,
        pool,
        &AuditFilter {
            before_id: Some(id + 1),
            ..AuditFilter::default()
        },
        1,
    )
    .await?;
    page.events
        .into_iter()
        .find(|e| e.id == id)
        .ok_or(AppError::NotFound)
}
