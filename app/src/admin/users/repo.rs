//! Users in PostgreSQL. Every function needs the `Admin` handle: only admins manage users.

use sqlx::{PgConnection, PgPool, Row};
use uuid::Uuid;

use super::{User, UserChange};
use crate::{
    auth::Role,
    error::AppError,
    ssr::{
        audit::{self, AuditEntry},
        change::{Audited, Change},
        passwords,
        scope::{Admin, ScopedTx},
    },
};

const SELECT: &str = "select u.id, u.email, u.display_name, u.role, u.tenant_id, t.name as tenant_name, u.active,
        u.locked_until > now() as locked, u.last_login_at, u.created_at,
        coalesce((select array_agg(mt.name order by lower(mt.name)) from manager_tenant m join tenant mt on mt.id = m.tenant_id
                  where m.user_id = u.id), '{}') as managed_tenants
    from app_user u left join tenant t on t.id = u.tenant_id";

fn from_row(row: &sqlx::postgres::PgRow) -> User {
    User {
        id: row.get("id"),
        email: row.get("email"),
        display_name: row.get("display_name"),
        role: Role::parse(row.get::<String, _>("role").as_str()).unwrap_or(Role::TenantViewer),
        tenant_id: row.get("tenant_id"),
        tenant_name: row.get("tenant_name"),
        managed_tenants: row.get("managed_tenants"),
        active: row.get("active"),
        locked: row.get::<Option<bool>, _>("locked").unwrap_or(false),
        last_login_at: row.get("last_login_at"),
        created_at: row.get("created_at"),
    }
}

async fn fetch(conn: &mut PgConnection, id: Uuid, lock: bool) -> Result<User, AppError> {
    let sql = if lock {
        format!("{SELECT} where u.id = $1 for update of u")
    } else {
        format!("{SELECT} where u.id = $1")
    };
    let row = sqlx::query(&sql).bind(id).fetch_optional(conn).await?;
    row.as_ref().map(from_row).ok_or(AppError::NotFound)
}

#[tracing::instrument(skip_all)]
pub async fn list_users(admin: &Admin<'_>, pool: &PgPool) -> Result<Vec<User>, AppError> {
    let mut tx = admin.scope().begin(pool).await?;
    let sql = format!("{SELECT} order by lower(u.email)");
    let rows = sqlx::query(&sql).fetch_all(tx.conn()).await?;
    tx.commit().await?;
    Ok(rows.iter().map(from_row).collect())
}

fn email_taken(error: sqlx::Error) -> AppError {
    match &error {
        sqlx::Error::Database(e) if e.constraint() == Some("app_user_email_key") => {
            AppError::invalid("email", "a user with this email exists")
        }
        _ => error.into(),
    }
}

/// Resolves the tenant and managed-tenant names of a change to ids, naming the field on error.
async fn resolve_tenants(
    tx: &mut ScopedTx<'_>,
    change: &UserChange,
) -> Result<(Option<Uuid>, Vec<Uuid>), AppError> {
    let tenant = match change.tenant {
        Some(id) => {
            let exists: bool =
                sqlx::query_scalar("select exists (select 1 from tenant where id = $1)")
                    .bind(id)
                    .fetch_one(tx.conn())
                    .await?;
            if !exists {
                return Err(AppError::invalid("tenant", "no such tenant"));
            }
            Some(id)
        }
        None => None,
    };
    let mut managed = Vec::new();
    for name in &change.managed_tenants {
        let id: Option<Uuid> =
            sqlx::query_scalar("select id from tenant where lower(name) = lower($1)")
                .bind(name)
                .fetch_optional(tx.conn())
                .await?;
        managed.push(id.ok_or_else(|| {
            AppError::invalid("managed_tenants", format!("no tenant named {name:?}"))
        })?);
    }
    Ok((tenant, managed))
}

async fn set_managed(tx: &mut ScopedTx<'_>, user: Uuid, managed: &[Uuid]) -> Result<(), AppError> {
    sqlx::query("delete from manager_tenant where user_id = $1")
        .bind(user)
        .execute(tx.conn())
        .await?;
    sqlx::query("insert into manager_tenant (tenant_id, user_id) select unnest($2::uuid[]), $1")
        .bind(user)
        .bind(managed)
        .execute(tx.conn())
        .await?;
    Ok(())
}

/// Refuses a change that takes the last active admin away from the installation.
async fn keep_an_admin(tx: &mut ScopedTx<'_>, before: &User, field: &str) -> Result<(), AppError> {
    if !(before.role == Role::Admin && before.active) {
        return Ok(());
    }
    let admins: i64 =
        sqlx::query_scalar("select count(*) from app_user where role = 'admin' and active")
            .fetch_one(tx.conn())
            .await?;
    if admins == 0 {
        return Err(AppError::invalid(
            field,
            "the last active admin must stay an active admin",
        ));
    }
    Ok(())
}

#[tracing::instrument(skip_all, fields(role = change.role.as_str()))]
pub async fn create_user(
    admin: &Admin<'_>,
    pool: &PgPool,
    change: UserChange,
    password: String,
) -> Result<User, AppError> {
    passwords::validate("password", &password)?;
    let hash = passwords::hash(password).await?;
    let mut audited = Change::<User>::create(admin.scope(), pool).await?;
    let (tenant, managed) = resolve_tenants(audited.tx(), &change).await?;
    let id: Uuid = sqlx::query_scalar(
        "insert into app_user (email, display_name, password_hash, role, tenant_id) values ($1, $2, $3, $4, $5) returning id",
    )
    .bind(&change.email)
    .bind(&change.display_name)
    .bind(&hash)
    .bind(change.role.as_str())
    .bind(tenant)
    .fetch_one(audited.conn())
    .await
    .map_err(email_taken)?;
    set_managed(audited.tx(), id, &managed).await?;
    audited.commit("user.create", id).await
}

impl Audited for User {
    const TARGET: &'static str = "user";

    fn id(&self) -> Uuid {
        self.id
    }

    fn tenant(&self) -> Option<Uuid> {
        self.tenant_id
    }

    async fn fetch(tx: &mut ScopedTx<'_>, id: Uuid, lock: bool) -> Result<Self, AppError> {
        fetch(tx.conn(), id, lock).await
    }
}

#[tracing::instrument(skip_all)]
pub async fn update_user(
    admin: &Admin<'_>,
    pool: &PgPool,
    id: Uuid,
    change: UserChange,
) -> Result<User, AppError> {
    let (mut audited, before) = Change::<User>::edit(admin.scope(), pool, id).await?;
    let (tenant, managed) = resolve_tenants(audited.tx(), &change).await?;
    sqlx::query(
        "update app_user set email = $2, display_name = $3, role = $4, tenant_id = $5, updated_at = now() where id = $1",
    )
    .bind(id)
    .bind(&change.email)
    .bind(&change.display_name)
    .bind(change.role.as_str())
    .bind(tenant)
    .execute(audited.conn())
    .await
    .map_err(email_taken)?;
    set_managed(audited.tx(), id, &managed).await?;
    keep_an_admin(audited.tx(), &before, "role").await?;
    audited.commit("user.update", id).await
}

/// Sets a new password and lifts a lockout; the audit entry records that, never the password.
#[tracing::instrument(skip_all)]
pub async fn reset_password(
    admin: &Admin<'_>,
    pool: &PgPool,
    id: Uuid,
    password: String,
) -> Result<User, AppError> {
    passwords::validate("password", &password)?;
    let hash = passwords::hash(password).await?;
    let mut tx = admin.scope().begin(pool).await?;
    let before = fetch(tx.conn(), id, true).await?;
    sqlx::query("update app_user set password_hash = $2, locked_until = null, updated_at = now() where id = $1")
        .bind(id)
        .bind(&hash)
        .execute(tx.conn())
        .await?;
    sqlx::query("delete from login_failure where email = lower($1)")
        .bind(&before.email)
        .execute(tx.conn())
        .await?;
    let after = fetch(tx.conn(), id, false).await?;
    audit::record(
        &mut tx,
        AuditEntry::new("user.reset_password", "user", id)
            .tenant(before.tenant_id)
            .before(serde_json::json!({"locked": before.locked}))
            .after(serde_json::json!({"locked": after.locked, "password": "changed"})),
    )
    .await?;
    tx.commit().await?;
    Ok(after)
}

#[tracing::instrument(skip_all)]
pub async fn set_user_active(
    admin: &Admin<'_>,
    pool: &PgPool,
    id: Uuid,
    active: bool,
) -> Result<User, AppError> {
    let (mut audited, before) = Change::<User>::edit(admin.scope(), pool, id).await?;
    sqlx::query("update app_user set active = $2, updated_at = now() where id = $1")
        .bind(id)
        .bind(active)
        .execute(audited.conn())
        .await?;
    keep_an_admin(audited.tx(), &before, "active").await?;
    let action = if active {
        "user.activate"
    } else {
        "user.deactivate"
    };
    audited.commit(action, id).await
}
