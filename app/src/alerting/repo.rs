//! Rule groups in PostgreSQL, per tenant: read in the caller's scope, and saved (from a rule
//! file or the editor) as a new version with its audit entry in the same transaction.

use chrono::{DateTime, Utc};
use rules::file::{self, Group};
use serde::Serialize;
use sqlx::{PgPool, Row};
use uuid::Uuid;

use super::Imported;
use crate::{
    error::AppError,
    ssr::{
        audit::{self, AuditEntry},
        scope::{Scope, ScopedTx},
    },
};

/// A group's interval when it names none (Prometheus' default `evaluation_interval`).
pub const DEFAULT_INTERVAL_MS: i64 = 60_000;
/// The shortest interval a group may run at.
pub const MIN_INTERVAL_MS: i64 = 1_000;

#[derive(Clone, Debug, Serialize)]
pub struct StoredGroup {
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub interval_ms: i64,
    pub group: Group,
    pub version: i32,
    pub provisioned: Option<String>,
    pub updated_at: DateTime<Utc>,
}

fn stored(row: &sqlx::postgres::PgRow) -> Result<StoredGroup, AppError> {
    let definition: serde_json::Value = row.try_get("definition")?;
    Ok(StoredGroup {
        id: row.try_get("id")?,
        tenant_id: row.try_get("tenant_id")?,
        interval_ms: row.try_get("interval_ms")?,
        group: serde_json::from_value(definition).map_err(|_| AppError::Internal)?,
        version: row.try_get("version")?,
        provisioned: row.try_get("provisioned")?,
        updated_at: row.try_get("updated_at")?,
    })
}

const COLUMNS: &str = "id, tenant_id, interval_ms, definition, version, provisioned, updated_at";

/// The tenant's groups, by name.
pub async fn list(
    scope: &Scope,
    pool: &PgPool,
    tenant: Uuid,
) -> Result<Vec<StoredGroup>, AppError> {
    scope.require_read()?;
    if !scope.sees_tenant(tenant) {
        return Err(AppError::NotFound);
    }
    let mut tx = scope.begin(pool).await?;
    let rows = sqlx::query(&format!(
        "select {COLUMNS} from rule_group where tenant_id = $1 order by name"
    ))
    .bind(tenant)
    .fetch_all(tx.conn())
    .await?;
    tx.commit().await?;
    rows.iter().map(stored).collect()
}

/// One problem of a rule file as the API and forms report it: the field is the line.
pub(crate) fn invalid(problems: &[file::Problem]) -> AppError {
    let first = &problems[0];
    let field = if first.line > 0 {
        format!("line {}", first.line)
    } else {
        first.field.clone()
    };
    let message = problems
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ");
    AppError::invalid(&field, message)
}

/// Checks what Meridian adds to Prometheus' rules: an interval it can keep.
fn check_intervals(groups: &[Group]) -> Result<(), AppError> {
    for (i, g) in groups.iter().enumerate() {
        if let Some(ms) = g.interval_ms {
            if !(MIN_INTERVAL_MS..=86_400_000).contains(&ms) {
                return Err(AppError::invalid(
                    &format!("groups[{i}].interval"),
                    "the interval must be between 1s and 1d",
                ));
            }
        }
    }
    Ok(())
}

/// Imports a Prometheus rule file into `tenant`: each of its groups replaces the tenant's group
/// of that name or is added beside the others. The whole file is validated first; a problem
/// names its line and field and nothing is written.
pub async fn import(
    scope: &Scope,
    pool: &PgPool,
    tenant: Uuid,
    text: &str,
    message: &str,
) -> Result<Imported, AppError> {
    import_from(scope, pool, tenant, text, message, None).await
}

async fn import_from(
    scope: &Scope,
    pool: &PgPool,
    tenant: Uuid,
    text: &str,
    message: &str,
    provisioned: Option<&str>,
) -> Result<Imported, AppError> {
    scope.require_editor(tenant)?;
    let groups = file::parse(text).map_err(|problems| invalid(&problems))?;
    check_intervals(&groups)?;
    let mut tx = scope.begin(pool).await?;
    let mut outcome = Imported::default();
    for group in groups {
        let name = group.name.clone();
        match save_in(&mut tx, tenant, group, message, provisioned).await? {
            Saved::Created => outcome.created.push(name),
            Saved::Updated => outcome.updated.push(name),
            Saved::Unchanged => outcome.unchanged.push(name),
        }
    }
    tx.commit().await?;
    Ok(outcome)
}

enum Saved {
    Created,
    Updated,
    Unchanged,
}

/// Saves `group` as the tenant's group of its name, in `tx`: a new group, or the next version of
/// the existing one (a provisioned group stays provisioned only while unchanged). Audited.
async fn save_in(
    tx: &mut ScopedTx<'_>,
    tenant: Uuid,
    group: Group,
    message: &str,
    provisioned: Option<&str>,
) -> Result<Saved, AppError> {
    let interval = group.interval_ms.unwrap_or(DEFAULT_INTERVAL_MS);
    let definition = serde_json::to_value(&group).map_err(|_| AppError::Internal)?;
    let author = tx.scope().actor.label();
    let existing = sqlx::query(&format!(
        "select {COLUMNS} from rule_group where tenant_id = $1 and name = $2 for update"
    ))
    .bind(tenant)
    .bind(&group.name)
    .fetch_optional(tx.conn())
    .await?;
    let (id, version, saved, before) = match existing {
        Some(row) => {
            let before = stored(&row)?;
            if before.group == group && before.provisioned.as_deref() == provisioned {
                return Ok(Saved::Unchanged);
            }
            sqlx::query(
                "update rule_group set definition = $2, interval_ms = $3, version = version + 1,
                        provisioned = $4, updated_at = now() where id = $1",
            )
            .bind(before.id)
            .bind(&definition)
            .bind(interval)
            .bind(provisioned)
            .execute(tx.conn())
            .await?;
            (before.id, before.version + 1, Saved::Updated, Some(before))
        }
        None => {
            let id: Uuid = sqlx::query_scalar(
                "insert into rule_group (tenant_id, name, interval_ms, definition, provisioned)
                 values ($1, $2, $3, $4, $5) returning id",
            )
            .bind(tenant)
            .bind(&group.name)
            .bind(interval)
            .bind(&definition)
            .bind(provisioned)
            .fetch_one(tx.conn())
            .await?;
            sqlx::query("insert into rule_group_state (group_id, tenant_id) values ($1, $2)")
                .bind(id)
                .bind(tenant)
                .execute(tx.conn())
                .await?;
            (id, 1, Saved::Created, None)
        }
    };
    sqlx::query(
        "insert into rule_group_version (group_id, version, tenant_id, definition, author, message)
         values ($1, $2, $3, $4, $5, $6)",
    )
    .bind(id)
    .bind(version)
    .bind(tenant)
    .bind(&definition)
    .bind(&author)
    .bind(message)
    .execute(tx.conn())
    .await?;
    let action = if before.is_some() {
        "rule_group.update"
    } else {
        "rule_group.create"
    };
    let mut entry = AuditEntry::new(action, "rule_group", id)
        .tenant(Some(tenant))
        .after(&group);
    if let Some(before) = &before {
        entry = entry.before(&before.group);
    }
    audit::record(tx, entry).await?;
    Ok(saved)
}

/// Provisions groups from a file Meridian ships (the demo's): imported as any file, and
/// marked with where they come from, so the UI says so.
pub async fn provision(
    scope: &Scope,
    pool: &PgPool,
    tenant: Uuid,
    text: &str,
    source: &str,
) -> Result<Imported, AppError> {
    import_from(
        scope,
        pool,
        tenant,
        text,
        &format!("provisioned from {source}"),
        Some(source),
    )
    .await
}

/// An alerting rule's state from its alerts (`firing` if one fires, `pending` if one waits,
/// else `inactive`), and its health from its last evaluation (`ok`, `err`, `unknown`).
pub fn rule_status(
    kind: file::Kind,
    state: &rules::group::RuleState,
) -> (&'static str, &'static str) {
    use rules::alert::State;
    let rule_state = match kind {
        file::Kind::Record => "",
        file::Kind::Alert if state.alerts.current().any(|a| a.state == State::Firing) => "firing",
        file::Kind::Alert if state.alerts.current().next().is_some() => "pending",
        file::Kind::Alert => "inactive",
    };
    let health = match (&state.last_error, state.last_eval_ms) {
        (Some(_), _) => "err",
        (None, Some(_)) => "ok",
        (None, None) => "unknown",
    };
    (rule_state, health)
}

fn time_of(ms: Option<i64>) -> Option<DateTime<Utc>> {
    ms.and_then(|ms| DateTime::from_timestamp_millis(ms))
}

/// The groups the pages show, with each rule's state: the scope's tenants, or one of them.
pub async fn group_views(
    scope: &Scope,
    pool: &PgPool,
    tenant: Option<Uuid>,
) -> Result<Vec<super::GroupView>, AppError> {
    views_where(scope, pool, tenant, None).await
}

/// The groups of `tenant` (or all the scope sees), or only the one named `group`.
async fn views_where(
    scope: &Scope,
    pool: &PgPool,
    tenant: Option<Uuid>,
    group: Option<&str>,
) -> Result<Vec<super::GroupView>, AppError> {
    scope.require_read()?;
    let mut tx = scope.begin(pool).await?;
    let rows = sqlx::query(
        "select t.name as tenant_name, g.definition, g.interval_ms, g.version, g.provisioned,
                s.rules, s.last_eval_ms, s.last_duration_ms
           from rule_group g join tenant t on t.id = g.tenant_id
           left join rule_group_state s on s.group_id = g.id
          where ($1::uuid is null or g.tenant_id = $1) and ($2::text is null or g.name = $2)
          order by lower(t.name), g.name",
    )
    .bind(tenant)
    .bind(group)
    .fetch_all(tx.conn())
    .await?;
    tx.commit().await?;
    let mut views = Vec::new();
    for row in rows {
        let Ok(group) = serde_json::from_value::<Group>(row.try_get("definition")?) else {
            continue;
        };
        let states: std::collections::HashMap<String, rules::group::RuleState> = row
            .try_get::<Option<serde_json::Value>, _>("rules")?
            .and_then(|v| serde_json::from_value(v).ok())
            .unwrap_or_default();
        let rules = group
            .rules
            .iter()
            .zip(super::evaluator::rule_keys(&group))
            .map(|(rule, key)| {
                let state = states.get(&key).cloned().unwrap_or_default();
                let (rule_state, health) = rule_status(rule.kind, &state);
                super::RuleView {
                    kind: match rule.kind {
                        file::Kind::Alert => "alert".into(),
                        file::Kind::Record => "record".into(),
                    },
                    name: rule.name.clone(),
                    expr: rule.expr.clone(),
                    for_text: file::format_duration(rule.for_ms),
                    keep_firing_for_text: file::format_duration(rule.keep_firing_for_ms),
                    labels: rule.labels.iter().cloned().collect(),
                    annotations: rule.annotations.iter().cloned().collect(),
                    state: rule_state.into(),
                    health: health.into(),
                    last_error: state.last_error.clone().unwrap_or_default(),
                    last_evaluation: time_of(state.last_eval_ms),
                    active_alerts: state.alerts.current().count(),
                }
            })
            .collect();
        let interval_ms: i64 = row.try_get("interval_ms")?;
        views.push(super::GroupView {
            tenant_name: row.try_get("tenant_name")?,
            name: group.name.clone(),
            interval_text: file::format_duration(interval_ms),
            version: row.try_get("version")?,
            provisioned: row.try_get("provisioned")?,
            last_evaluation: time_of(row.try_get("last_eval_ms")?),
            last_duration_ms: row.try_get("last_duration_ms")?,
            rules,
        });
    }
    Ok(views)
}

/// The rules of one group of `tenant`.
pub async fn rule_views(
    scope: &Scope,
    pool: &PgPool,
    tenant: Uuid,
    group: &str,
) -> Result<Vec<super::RuleView>, AppError> {
    Ok(views_where(scope, pool, Some(tenant), Some(group))
        .await?
        .pop()
        .map(|g| g.rules)
        .unwrap_or_default())
}

/// Saves `group` as the tenant's group of its name, from the editor: `expected` is the version
/// the editor read (none for a new group); a save over a newer version is a conflict.
pub async fn save_group(
    scope: &Scope,
    pool: &PgPool,
    tenant: Uuid,
    group: Group,
    expected: Option<i32>,
    message: &str,
) -> Result<(), AppError> {
    scope.require_editor(tenant)?;
    let problems = file::validate(std::slice::from_ref(&group));
    if !problems.is_empty() {
        return Err(invalid(&problems));
    }
    check_intervals(std::slice::from_ref(&group))?;
    let mut tx = scope.begin(pool).await?;
    let current: Option<i32> = sqlx::query_scalar(
        "select version from rule_group where tenant_id = $1 and name = $2 for update",
    )
    .bind(tenant)
    .bind(&group.name)
    .fetch_optional(tx.conn())
    .await?;
    if current != expected {
        return Err(AppError::Conflict(match current {
            Some(v) => {
                format!("the group was saved meanwhile (version {v}): reload it and edit again")
            }
            None => "the group was deleted meanwhile".into(),
        }));
    }
    save_in(&mut tx, tenant, group, message, None).await?;
    tx.commit().await?;
    Ok(())
}

/// One saved version of a group.
#[derive(Clone, Debug, Serialize)]
pub struct Version {
    pub version: i32,
    pub author: String,
    pub message: String,
    pub created_at: DateTime<Utc>,
    pub group: Group,
}

/// The group's versions, newest first.
pub async fn versions(
    scope: &Scope,
    pool: &PgPool,
    tenant: Uuid,
    name: &str,
) -> Result<Vec<Version>, AppError> {
    scope.require_read()?;
    let mut tx = scope.begin(pool).await?;
    let rows = sqlx::query(
        "select v.version, v.author, v.message, v.created_at, v.definition
           from rule_group_version v join rule_group g on g.id = v.group_id
          where g.tenant_id = $1 and g.name = $2 order by v.version desc",
    )
    .bind(tenant)
    .bind(name)
    .fetch_all(tx.conn())
    .await?;
    tx.commit().await?;
    rows.iter()
        .map(|row| {
            Ok(Version {
                version: row.try_get("version")?,
                author: row.try_get("author")?,
                message: row.try_get("message")?,
                created_at: row.try_get("created_at")?,
                group: serde_json::from_value(row.try_get("definition")?)
                    .map_err(|_| AppError::Internal)?,
            })
        })
        .collect()
}

/// Makes an old version of the group its newest (a new version, audited as an update).
pub async fn restore(
    scope: &Scope,
    pool: &PgPool,
    tenant: Uuid,
    name: &str,
    version: i32,
) -> Result<(), AppError> {
    scope.require_editor(tenant)?;
    let all = versions(scope, pool, tenant, name).await?;
    let current = all.first().map(|v| v.version);
    let old = all
        .into_iter()
        .find(|v| v.version == version)
        .ok_or(AppError::NotFound)?;
    save_group(
        scope,
        pool,
        tenant,
        old.group,
        current,
        &format!("restored version {version}"),
    )
    .await
}
