//! Limits in PostgreSQL: a `tenant_limits` row a tenant, a null column for the default.

use sqlx::{PgPool, Row};
use uuid::Uuid;

use super::{LimitValues, TenantLimits};
use crate::{
    error::AppError,
    ssr::{
        audit::{self, AuditEntry},
        scope::{Admin, ScopedTx},
    },
};

const SELECT: &str =
    "select t.id, t.name, l.retention_days, l.max_series, l.max_samples_per_second,
        l.max_labels_per_series, l.max_label_name_length, l.max_label_value_length
    from tenant t left join tenant_limits l on l.tenant_id = t.id";

fn defaults_of(limits: &store::Limits) -> LimitValues<i64> {
    [
        limits.retention_days,
        limits.max_series,
        limits.max_samples_per_second,
        limits.max_labels_per_series,
        limits.max_label_name_length,
        limits.max_label_value_length,
    ]
    .map(i64::from)
}

fn from_row(row: &sqlx::postgres::PgRow, defaults: &store::Limits) -> TenantLimits {
    TenantLimits {
        tenant_id: row.get("id"),
        tenant_name: row.get("name"),
        overrides: std::array::from_fn(|i| row.get(i + 2)),
        defaults: defaults_of(defaults),
    }
}

async fn fetch(
    tx: &mut ScopedTx<'_>,
    tenant: Uuid,
    defaults: &store::Limits,
) -> Result<TenantLimits, AppError> {
    let sql = format!("{SELECT} where t.id = $1");
    let row = sqlx::query(&sql)
        .bind(tenant)
        .fetch_optional(tx.conn())
        .await?
        .ok_or(AppError::NotFound)?;
    Ok(from_row(&row, defaults))
}

pub async fn list_limits(
    admin: &Admin<'_>,
    pool: &PgPool,
    defaults: &store::Limits,
) -> Result<Vec<TenantLimits>, AppError> {
    let mut tx = admin.scope().begin(pool).await?;
    let sql = format!("{SELECT} order by lower(t.name)");
    let rows = sqlx::query(&sql).fetch_all(tx.conn()).await?;
    tx.commit().await?;
    Ok(rows.iter().map(|row| from_row(row, defaults)).collect())
}

pub async fn set_limits(
    admin: &Admin<'_>,
    pool: &PgPool,
    tenant: Uuid,
    values: LimitValues<Option<i32>>,
    defaults: &store::Limits,
) -> Result<TenantLimits, AppError> {
    let mut tx = admin.scope().begin(pool).await?;
    let before = fetch(&mut tx, tenant, defaults).await?;
    sqlx::query(
        "insert into tenant_limits (tenant_id, retention_days, max_series, max_samples_per_second,
                                    max_labels_per_series, max_label_name_length, max_label_value_length)
         values ($1, $2, $3, $4, $5, $6, $7)
         on conflict (tenant_id) do update set
            retention_days = excluded.retention_days, max_series = excluded.max_series,
            max_samples_per_second = excluded.max_samples_per_second,
            max_labels_per_series = excluded.max_labels_per_series,
            max_label_name_length = excluded.max_label_name_length,
            max_label_value_length = excluded.max_label_value_length, updated_at = now()",
    )
    .bind(tenant)
    .bind(values[0])
    .bind(values[1])
    .bind(values[2])
    .bind(values[3])
    .bind(values[4])
    .bind(values[5])
    .execute(tx.conn())
    .await?;
    let after = fetch(&mut tx, tenant, defaults).await?;
    audit::record(
        &mut tx,
        AuditEntry::new("tenant.limits_update", "tenant", tenant)
            .tenant(Some(tenant))
            .before(&before)
            .after(&after),
    )
    .await?;
    tx.commit().await?;
    Ok(after)
}
