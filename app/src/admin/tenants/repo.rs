//! Tenants in PostgreSQL. Reads are scoped; changes need the `Admin` handle.

use sqlx::{PgPool, Row};
use uuid::Uuid;

use super::{validate_name, Tenant};
use crate::{
    error::AppError,
    ssr::{
        audit::{self, AuditEntry},
        scope::{Admin, Scope, ScopedTx},
    },
};

const SELECT: &str = "select t.id, t.name, t.active, t.created_at,
        (select count(*) from app_user u where u.tenant_id = t.id) as users,
        (select count(*) from api_token k where k.tenant_id = t.id and k.revoked_at is null) as tokens
    from tenant t";

fn from_row(row: &sqlx::postgres::PgRow) -> Tenant {
    Tenant {
        id: row.get("id"),
        name: row.get("name"),
        active: row.get("active"),
        users: row.get("users"),
        tokens: row.get("tokens"),
        created_at: row.get("created_at"),
    }
}

#[tracing::instrument(skip_all)]
pub async fn list_tenants(scope: &Scope, pool: &PgPool) -> Result<Vec<Tenant>, AppError> {
    let mut tx = scope.begin(pool).await?;
    let sql = format!("{SELECT} order by lower(t.name)");
    let rows = sqlx::query(&sql).fetch_all(tx.conn()).await?;
    tx.commit().await?;
    Ok(rows.iter().map(from_row).collect())
}

#[tracing::instrument(skip_all)]
pub async fn get_tenant(scope: &Scope, pool: &PgPool, id: Uuid) -> Result<Tenant, AppError> {
    if !scope.sees_tenant(id) {
        return Err(AppError::NotFound);
    }
    let mut tx = scope.begin(pool).await?;
    let sql = format!("{SELECT} where t.id = $1");
    let row = sqlx::query(&sql).bind(id).fetch_optional(tx.conn()).await?;
    tx.commit().await?;
    row.as_ref().map(from_row).ok_or(AppError::NotFound)
}

#[tracing::instrument(skip_all)]
pub async fn find_tenant_by_name(
    scope: &Scope,
    pool: &PgPool,
    name: &str,
) -> Result<Option<Tenant>, AppError> {
    let mut tx = scope.begin(pool).await?;
    let sql = format!("{SELECT} where lower(t.name) = lower($1)");
    let row = sqlx::query(&sql)
        .bind(name.trim())
        .fetch_optional(tx.conn())
        .await?;
    tx.commit().await?;
    Ok(row.as_ref().map(from_row))
}

fn name_taken(error: sqlx::Error) -> AppError {
    match &error {
        sqlx::Error::Database(e) if e.constraint() == Some("tenant_name_key") => {
            AppError::invalid("name", "a tenant with this name exists")
        }
        _ => error.into(),
    }
}

#[tracing::instrument(skip_all)]
pub async fn create_tenant(
    admin: &Admin<'_>,
    pool: &PgPool,
    name: &str,
) -> Result<Tenant, AppError> {
    let name = validate_name(name)?;
    let mut tx = admin.scope().begin(pool).await?;
    let id: Uuid = sqlx::query_scalar("insert into tenant (name) values ($1) returning id")
        .bind(&name)
        .fetch_one(tx.conn())
        .await
        .map_err(name_taken)?;
    let sql = format!("{SELECT} where t.id = $1");
    let row = sqlx::query(&sql).bind(id).fetch_one(tx.conn()).await?;
    let tenant = from_row(&row);
    audit::record(
        &mut tx,
        AuditEntry::new("tenant.create", "tenant", id)
            .tenant(Some(id))
            .after(&tenant),
    )
    .await?;
    tx.commit().await?;
    Ok(tenant)
}

/// The tenant as it is before a change, locked until the transaction ends.
async fn lock_tenant(tx: &mut ScopedTx<'_>, id: Uuid) -> Result<Tenant, AppError> {
    let sql = format!("{SELECT} where t.id = $1 for update of t");
    let row = sqlx::query(&sql).bind(id).fetch_optional(tx.conn()).await?;
    row.as_ref().map(from_row).ok_or(AppError::NotFound)
}

/// Audits a change made in `tx` with the tenant before and after it, then commits.
async fn commit_tenant_change(
    mut tx: ScopedTx<'_>,
    action: &'static str,
    before: Tenant,
) -> Result<Tenant, AppError> {
    let sql = format!("{SELECT} where t.id = $1");
    let after = from_row(
        &sqlx::query(&sql)
            .bind(before.id)
            .fetch_one(tx.conn())
            .await?,
    );
    audit::record(
        &mut tx,
        AuditEntry::new(action, "tenant", before.id)
            .tenant(Some(before.id))
            .before(&before)
            .after(&after),
    )
    .await?;
    tx.commit().await?;
    Ok(after)
}

#[tracing::instrument(skip_all)]
pub async fn rename_tenant(
    admin: &Admin<'_>,
    pool: &PgPool,
    id: Uuid,
    name: &str,
) -> Result<Tenant, AppError> {
    let name = validate_name(name)?;
    let mut tx = admin.scope().begin(pool).await?;
    let before = lock_tenant(&mut tx, id).await?;
    sqlx::query("update tenant set name = $2, updated_at = now() where id = $1")
        .bind(id)
        .bind(&name)
        .execute(tx.conn())
        .await
        .map_err(name_taken)?;
    commit_tenant_change(tx, "tenant.rename", before).await
}

/// Deactivating a tenant stops its users' logins and its tokens at once: both are checked
/// against `tenant.active` on every request.
#[tracing::instrument(skip_all)]
pub async fn set_tenant_active(
    admin: &Admin<'_>,
    pool: &PgPool,
    id: Uuid,
    active: bool,
) -> Result<Tenant, AppError> {
    let mut tx = admin.scope().begin(pool).await?;
    let before = lock_tenant(&mut tx, id).await?;
    sqlx::query("update tenant set active = $2, updated_at = now() where id = $1")
        .bind(id)
        .bind(active)
        .execute(tx.conn())
        .await?;
    commit_tenant_change(
        tx,
        if active {
            "tenant.activate"
        } else {
            "tenant.deactivate"
        },
        before,
    )
    .await
}

/// Refuses a change that would give something to a tenant that does not exist or is
/// deactivated (the error names the form's `tenant` field).
pub async fn require_active(tx: &mut ScopedTx<'_>, tenant: Uuid) -> Result<(), AppError> {
    let active: Option<bool> = sqlx::query_scalar("select active from tenant where id = $1")
        .bind(tenant)
        .fetch_optional(tx.conn())
        .await?;
    match active {
        None => Err(AppError::invalid("tenant", "no such tenant")),
        Some(false) => Err(AppError::invalid("tenant", "is deactivated")),
        Some(true) => Ok(()),
    }
}
