//! Tenants in PostgreSQL. Reads are scoped; changes need the `Admin` handle.

use sqlx::{PgPool, Row};
use uuid::Uuid;

use super::{validate_name, Tenant};
use crate::{
    error::AppError,
    ssr::{
        change::{Audited, Change},
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

/// A filter's `tenant` field: nothing when empty, else the id of the tenant of that name the
/// scope sees; a name it does not know is the field's error.
pub async fn tenant_filter(
    scope: &Scope,
    pool: &PgPool,
    name: Option<&str>,
) -> Result<Option<Uuid>, AppError> {
    let Some(name) = name.map(str::trim).filter(|n| !n.is_empty()) else {
        return Ok(None);
    };
    match find_tenant_by_name(scope, pool, name).await? {
        Some(tenant) => Ok(Some(tenant.id)),
        None => Err(AppError::invalid(
            "tenant",
            format!("no tenant named {name:?}"),
        )),
    }
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
    let mut change = Change::<Tenant>::create(admin.scope(), pool).await?;
    let id: Uuid = sqlx::query_scalar("insert into tenant (name) values ($1) returning id")
        .bind(&name)
        .fetch_one(change.conn())
        .await
        .map_err(name_taken)?;
    change.commit("tenant.create", id).await
}

impl Audited for Tenant {
    const TARGET: &'static str = "tenant";

    fn id(&self) -> Uuid {
        self.id
    }

    fn tenant(&self) -> Option<Uuid> {
        Some(self.id)
    }

    async fn fetch(tx: &mut ScopedTx<'_>, id: Uuid, lock: bool) -> Result<Self, AppError> {
        let lock = if lock { " for update of t" } else { "" };
        let sql = format!("{SELECT} where t.id = $1{lock}");
        let row = sqlx::query(&sql).bind(id).fetch_optional(tx.conn()).await?;
        row.as_ref().map(from_row).ok_or(AppError::NotFound)
    }
}

#[tracing::instrument(skip_all)]
pub async fn rename_tenant(
    admin: &Admin<'_>,
    pool: &PgPool,
    id: Uuid,
    name: &str,
) -> Result<Tenant, AppError> {
    let name = validate_name(name)?;
    let (mut change, _) = Change::<Tenant>::edit(admin.scope(), pool, id).await?;
    sqlx::query("update tenant set name = $2, updated_at = now() where id = $1")
        .bind(id)
        .bind(&name)
        .execute(change.conn())
        .await
        .map_err(name_taken)?;
    change.commit("tenant.rename", id).await
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
    let (mut change, _) = Change::<Tenant>::edit(admin.scope(), pool, id).await?;
    sqlx::query("update tenant set active = $2, updated_at = now() where id = $1")
        .bind(id)
        .bind(active)
        .execute(change.conn())
        .await?;
    let action = if active {
        "tenant.activate"
    } else {
        "tenant.deactivate"
    };
    change.commit(action, id).await
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
