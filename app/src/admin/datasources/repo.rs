//! Data sources in PostgreSQL: a `tenant_datasource` row a tenant that has one.

use sqlx::{PgPool, Row};
use uuid::Uuid;

use super::TenantDatasource;
use crate::{
    error::AppError,
    ssr::{
        change::{Audited, Change},
        scope::{Admin, ScopedTx},
    },
};

const SELECT: &str = "select t.id, t.name, d.url, d.bearer_token is not null as has_token, d.org_id
    from tenant t left join tenant_datasource d on d.tenant_id = t.id";

/// What a save does with the saved bearer token.
pub enum Token {
    Keep,
    Remove,
    Set(String),
}

pub struct Setting {
    /// `None`: back to the built-in store (the row goes, token and all).
    pub url: Option<String>,
    pub token: Token,
    pub org_id: Option<String>,
}

fn from_row(row: &sqlx::postgres::PgRow) -> TenantDatasource {
    TenantDatasource {
        tenant_id: row.get("id"),
        tenant_name: row.get("name"),
        url: row.get("url"),
        has_token: row.get::<Option<bool>, _>("has_token").unwrap_or(false),
        org_id: row.get("org_id"),
    }
}

/// Audited as a change of its tenant.
impl Audited for TenantDatasource {
    const TARGET: &'static str = "tenant";

    fn id(&self) -> Uuid {
        self.tenant_id
    }

    fn tenant(&self) -> Option<Uuid> {
        Some(self.tenant_id)
    }

    async fn fetch(tx: &mut ScopedTx<'_>, tenant: Uuid, lock: bool) -> Result<Self, AppError> {
        let lock = if lock { " for update of t" } else { "" };
        let sql = format!("{SELECT} where t.id = $1{lock}");
        let row = sqlx::query(&sql)
            .bind(tenant)
            .fetch_optional(tx.conn())
            .await?
            .ok_or(AppError::NotFound)?;
        Ok(from_row(&row))
    }
}

pub async fn list(admin: &Admin<'_>, pool: &PgPool) -> Result<Vec<TenantDatasource>, AppError> {
    let mut tx = admin.scope().begin(pool).await?;
    let sql = format!("{SELECT} order by lower(t.name)");
    let rows = sqlx::query(&sql).fetch_all(tx.conn()).await?;
    tx.commit().await?;
    Ok(rows.iter().map(from_row).collect())
}

/// Saves the change and its audit entry (which says whether a token is set, never the token).
pub async fn set(
    admin: &Admin<'_>,
    pool: &PgPool,
    tenant: Uuid,
    setting: Setting,
) -> Result<TenantDatasource, AppError> {
    let (mut change, _) = Change::<TenantDatasource>::edit(admin.scope(), pool, tenant).await?;
    match &setting.url {
        None => {
            sqlx::query("delete from tenant_datasource where tenant_id = $1")
                .bind(tenant)
                .execute(change.conn())
                .await?;
        }
        Some(url) => {
            let (keep_token, token) = match setting.token {
                Token::Keep => (true, None),
                Token::Remove => (false, None),
                Token::Set(token) => (false, Some(token)),
            };
            sqlx::query(
                "insert into tenant_datasource (tenant_id, url, bearer_token, org_id)
                 values ($1, $2, $3, $4)
                 on conflict (tenant_id) do update set
                    url = excluded.url,
                    bearer_token = case when $5 then tenant_datasource.bearer_token
                                        else excluded.bearer_token end,
                    org_id = excluded.org_id, updated_at = now()",
            )
            .bind(tenant)
            .bind(url)
            .bind(token)
            .bind(&setting.org_id)
            .bind(keep_token)
            .execute(change.conn())
            .await?;
        }
    }
    change.commit("tenant.datasource_update", tenant).await
}
