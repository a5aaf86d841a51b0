//! Rule groups in PostgreSQL, per tenant: read in the caller's scope, and saved (from a rule
//! file or the editor) as a new version with its audit entry in the same transaction.

use chrono::{DateTime, Utc};
use rules::file::{self, Group};
use serde::Serialize;
use sqlx::{PgPool, Row};
use uuid::Uuid;

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
fn invalid(problems: &[file::Problem]) -> AppError {
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

/// What an import did, group by group.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Imported {
    pub created: Vec<String>,
    pub updated: Vec<String>,
    pub unchanged: Vec<String>,
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
