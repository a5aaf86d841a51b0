//! API tokens in PostgreSQL: only the SHA-256 of the secret is kept.

use chrono::{DateTime, Utc};
use sqlx::{PgPool, Row};
use uuid::Uuid;

use super::{ApiToken, CreatedToken};
use crate::{
    error::AppError,
    ssr::{
        change::{Audited, Change},
        scope::{Admin, ScopedTx, TokenScope},
        tokens::generate_api_token,
    },
};

const SELECT: &str =
    "select k.id, k.tenant_id, t.name as tenant_name, k.name, k.prefix, k.scopes, k.expires_at,
        k.last_used_at, k.revoked_at, k.created_at
    from api_token k join tenant t on t.id = k.tenant_id";

fn from_row(row: &sqlx::postgres::PgRow) -> ApiToken {
    ApiToken {
        id: row.get("id"),
        tenant_id: row.get("tenant_id"),
        tenant_name: row.get("tenant_name"),
        name: row.get("name"),
        prefix: row.get("prefix"),
        scopes: row.get("scopes"),
        expires_at: row.get("expires_at"),
        last_used_at: row.get("last_used_at"),
        revoked_at: row.get("revoked_at"),
        created_at: row.get("created_at"),
    }
}

#[tracing::instrument(skip_all)]
pub async fn list_tokens(admin: &Admin<'_>, pool: &PgPool) -> Result<Vec<ApiToken>, AppError> {
    let mut tx = admin.scope().begin(pool).await?;
    let sql =
        format!("{SELECT} order by k.revoked_at is not null, lower(t.name), k.created_at desc");
    let rows = sqlx::query(&sql).fetch_all(tx.conn()).await?;
    tx.commit().await?;
    Ok(rows.iter().map(from_row).collect())
}

#[tracing::instrument(skip_all)]
pub async fn create_token(
    admin: &Admin<'_>,
    pool: &PgPool,
    tenant: Uuid,
    name: &str,
    scopes: &[TokenScope],
    expires_at: Option<DateTime<Utc>>,
) -> Result<CreatedToken, AppError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 64 {
        return Err(AppError::invalid("name", "must be 1 to 64 characters"));
    }
    if scopes.is_empty() {
        return Err(AppError::invalid(
            "scopes",
            "choose at least one of ingest, read, write",
        ));
    }
    if expires_at.is_some_and(|at| at <= Utc::now()) {
        return Err(AppError::invalid("expires_on", "must be in the future"));
    }
    let new = generate_api_token();
    let mut change = Change::<ApiToken>::create(admin.scope(), pool).await?;
    crate::admin::tenants::repo::require_active(change.tx(), tenant).await?;
    let created_by = match &admin.scope().actor {
        crate::ssr::scope::Actor::User { id, .. } => Some(*id),
        _ => None,
    };
    // Stored in one order (ingest, read, write), whatever order they were given in.
    let scope_names: Vec<&str> = TokenScope::ALL
        .iter()
        .filter(|s| scopes.contains(s))
        .map(|s| s.as_str())
        .collect();
    let id: Uuid = sqlx::query_scalar(
        "insert into api_token (tenant_id, name, prefix, secret_sha256, scopes, expires_at, created_by)
         values ($1, $2, $3, $4, $5, $6, $7) returning id",
    )
    .bind(tenant)
    .bind(name)
    .bind(&new.prefix)
    .bind(&new.sha256)
    .bind(&scope_names)
    .bind(expires_at)
    .bind(created_by)
    .fetch_one(change.conn())
    .await?;
    let token = change.commit("api_token.create", id).await?;
    Ok(CreatedToken {
        token,
        secret: new.secret,
    })
}

#[tracing::instrument(skip_all)]
pub async fn revoke_token(
    admin: &Admin<'_>,
    pool: &PgPool,
    id: Uuid,
) -> Result<ApiToken, AppError> {
    let (mut change, before) = Change::<ApiToken>::edit(admin.scope(), pool, id).await?;
    sqlx::query("update api_token set revoked_at = coalesce(revoked_at, now()), updated_at = now() where tenant_id = $1 and id = $2")
        .bind(before.tenant_id)
        .bind(id)
        .execute(change.conn())
        .await?;
    change.commit("api_token.revoke", id).await
}

impl Audited for ApiToken {
    const TARGET: &'static str = "api_token";

    fn id(&self) -> Uuid {
        self.id
    }

    fn tenant(&self) -> Option<Uuid> {
        Some(self.tenant_id)
    }

    async fn fetch(tx: &mut ScopedTx<'_>, id: Uuid, lock: bool) -> Result<Self, AppError> {
        let lock = if lock { " for update of k" } else { "" };
        let sql = format!("{SELECT} where k.id = $1{lock}");
        let row = sqlx::query(&sql).bind(id).fetch_optional(tx.conn()).await?;
        row.as_ref().map(from_row).ok_or(AppError::NotFound)
    }
}
