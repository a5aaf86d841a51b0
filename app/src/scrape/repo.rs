//! Scrape jobs in PostgreSQL. Every change is validated first, then written with its audit entry
//! in one transaction.

use sqlx::{types::Json, PgPool, Row};
use uuid::Uuid;

use super::{ScrapeJob, ScrapeJobInput};
use crate::{
    admin::tenants,
    error::AppError,
    ssr::{
        change::{Audited, Change},
        scope::{Scope, ScopedTx},
    },
};

const SELECT: &str = "select j.id, j.tenant_id, t.name as tenant_name, j.name, j.targets, j.scheme,
        j.metrics_path, j.interval_seconds, j.timeout_seconds, j.labels, j.enabled, j.builtin,
        j.created_at, j.updated_at
    from scrape_job j join tenant t on t.id = j.tenant_id";

fn from_row(row: &sqlx::postgres::PgRow) -> ScrapeJob {
    ScrapeJob {
        id: row.get("id"),
        tenant_id: row.get("tenant_id"),
        tenant_name: row.get("tenant_name"),
        name: row.get("name"),
        targets: row.get("targets"),
        scheme: row.get("scheme"),
        metrics_path: row.get("metrics_path"),
        interval_seconds: row.get("interval_seconds"),
        timeout_seconds: row.get("timeout_seconds"),
        labels: row.get::<Json<_>, _>("labels").0,
        enabled: row.get("enabled"),
        builtin: row.get("builtin"),
        created_at: row.get("created_at"),
        updated_at: row.get("updated_at"),
    }
}

async fn fetch(tx: &mut ScopedTx<'_>, id: Uuid, lock: bool) -> Result<ScrapeJob, AppError> {
    let sql = format!(
        "{SELECT} where j.id = $1{}",
        if lock { " for update of j" } else { "" }
    );
    sqlx::query(&sql)
        .bind(id)
        .fetch_optional(tx.conn())
        .await?
        .map(|row| from_row(&row))
        .ok_or(AppError::NotFound)
}

impl Audited for ScrapeJob {
    const TARGET: &'static str = "scrape_job";

    fn id(&self) -> Uuid {
        self.id
    }

    fn tenant(&self) -> Option<Uuid> {
        Some(self.tenant_id)
    }

    async fn fetch(tx: &mut ScopedTx<'_>, id: Uuid, lock: bool) -> Result<Self, AppError> {
        fetch(tx, id, lock).await
    }
}

/// The jobs of the tenants the scope sees.
#[tracing::instrument(skip_all)]
pub async fn list_jobs(scope: &Scope, pool: &PgPool) -> Result<Vec<ScrapeJob>, AppError> {
    scope.require_read()?;
    let mut tx = scope.begin(pool).await?;
    let sql = format!("{SELECT} order by lower(t.name), j.name");
    let rows = sqlx::query(&sql).fetch_all(tx.conn()).await?;
    tx.commit().await?;
    Ok(rows.iter().map(from_row).collect())
}

#[tracing::instrument(skip_all)]
pub async fn get_job(scope: &Scope, pool: &PgPool, id: Uuid) -> Result<ScrapeJob, AppError> {
    scope.require_read()?;
    let mut tx = scope.begin(pool).await?;
    let job = fetch(&mut tx, id, false).await?;
    tx.commit().await?;
    Ok(job)
}

/// The tenant of a job the scope can see (404 otherwise), to check a change before reading it.
pub async fn job_tenant(scope: &Scope, pool: &PgPool, id: Uuid) -> Result<Uuid, AppError> {
    let mut tx = scope.begin(pool).await?;
    let tenant = fetch(&mut tx, id, false).await?.tenant_id;
    tx.commit().await?;
    Ok(tenant)
}

/// Runs `sql` with the input's settings as $2…$9 ($1 is the tenant of an insert, the job of an
/// update); answers the job's id.
async fn write_settings(
    tx: &mut ScopedTx<'_>,
    sql: &str,
    key: Uuid,
    input: &ScrapeJobInput,
) -> Result<Uuid, AppError> {
    let row = sqlx::query(sql)
        .bind(key)
        .bind(&input.name)
        .bind(&input.targets)
        .bind(&input.scheme)
        .bind(&input.metrics_path)
        .bind(input.interval_seconds)
        .bind(input.timeout_seconds)
        .bind(Json(&input.labels))
        .bind(input.enabled)
        .fetch_one(tx.conn())
        .await
        .map_err(name_taken)?;
    Ok(row.get("id"))
}

/// Unique per tenant: the name is the `job` label of every series the job writes.
fn name_taken(error: sqlx::Error) -> AppError {
    match &error {
        sqlx::Error::Database(db) if db.is_unique_violation() => {
            AppError::invalid("name", "this tenant already has a job with this name")
        }
        _ => error.into(),
    }
}

#[tracing::instrument(skip_all)]
pub async fn create_job(
    scope: &Scope,
    pool: &PgPool,
    mut input: ScrapeJobInput,
) -> Result<ScrapeJob, AppError> {
    let tenant = scope.tenant_to_edit(input.tenant)?;
    input.validate()?;
    let mut change = Change::create(scope, pool).await?;
    tenants::repo::require_active(change.tx(), tenant).await?;
    let id = write_settings(
        change.tx(),
        "insert into scrape_job (tenant_id, name, targets, scheme, metrics_path, interval_seconds,
                                 timeout_seconds, labels, enabled)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9) returning id",
        tenant,
        &input,
    )
    .await?;
    change.commit("scrape_job.create", id).await
}

/// Replaces a job's settings; it stays in its tenant.
#[tracing::instrument(skip_all)]
pub async fn update_job(
    scope: &Scope,
    pool: &PgPool,
    id: Uuid,
    mut input: ScrapeJobInput,
) -> Result<ScrapeJob, AppError> {
    let (mut change, before) = Change::<ScrapeJob>::edit(scope, pool, id).await?;
    scope.require_editor(before.tenant_id)?;
    if input.tenant.is_some_and(|t| t != before.tenant_id) {
        return Err(AppError::invalid(
            "tenant",
            "a job cannot move to another tenant",
        ));
    }
    input.validate()?;
    write_settings(
        change.tx(),
        "update scrape_job set name = $2, targets = $3, scheme = $4, metrics_path = $5,
                interval_seconds = $6, timeout_seconds = $7, labels = $8, enabled = $9,
                updated_at = now()
          where id = $1 returning id",
        id,
        &input,
    )
    .await?;
    change.commit("scrape_job.update", id).await
}

#[tracing::instrument(skip_all)]
pub async fn delete_job(scope: &Scope, pool: &PgPool, id: Uuid) -> Result<ScrapeJob, AppError> {
    let (mut change, before) = Change::<ScrapeJob>::edit(scope, pool, id).await?;
    scope.require_editor(before.tenant_id)?;
    sqlx::query("delete from scrape_job where id = $1")
        .bind(id)
        .execute(change.conn())
        .await?;
    change.commit_deletion("scrape_job.delete").await
}

/// Every enabled job of every active tenant: what the scraper runs.
pub async fn enabled_jobs(pool: &PgPool) -> Result<Vec<ScrapeJob>, sqlx::Error> {
    let sql = format!("{SELECT} where j.enabled and t.active order by j.id");
    let rows = sqlx::query(&sql).fetch_all(pool).await?;
    Ok(rows.iter().map(from_row).collect())
}

/// The tenant Meridian's own metrics go to.
pub const SYSTEM_TENANT: &str = "system";
/// The job that scrapes Meridian's own /metrics.
pub const SELF_JOB: &str = "meridian";

/// Makes sure the `system` tenant scrapes this server's /metrics at `target`: creates tenant and
/// job when missing, and points the built-in job at the current address when it moved (the
/// port can change between starts). Settings an admin changed (interval, enabled) are kept.
pub async fn ensure_self_scrape(
    scope: &Scope,
    pool: &PgPool,
    target: &str,
) -> Result<ScrapeJob, AppError> {
    let admin = scope.require_admin()?;
    let tenant = match tenants::repo::find_tenant_by_name(scope, pool, SYSTEM_TENANT).await? {
        Some(tenant) => tenant,
        None => tenants::repo::create_tenant(&admin, pool, SYSTEM_TENANT).await?,
    };
    let sql =
        format!("{SELECT} where j.tenant_id = $1 and j.builtin and j.name = $2 for update of j");
    let mut change = Change::<ScrapeJob>::create(scope, pool).await?;
    let existing = sqlx::query(&sql)
        .bind(tenant.id)
        .bind(SELF_JOB)
        .fetch_optional(change.conn())
        .await?
        .map(|row| from_row(&row));
    let targets = vec![target.to_string()];
    match existing {
        Some(job) if job.targets == targets => Ok(job),
        Some(job) => {
            let mut change = change.editing(job.clone());
            sqlx::query("update scrape_job set targets = $2, updated_at = now() where id = $1")
                .bind(job.id)
                .bind(&targets)
                .execute(change.conn())
                .await?;
            change.commit("scrape_job.update", job.id).await
        }
        None => {
            let id: Uuid = sqlx::query_scalar(
                "insert into scrape_job (tenant_id, name, targets, interval_seconds, timeout_seconds, builtin)
                 values ($1, $2, $3, 15, 10, true) returning id",
            )
            .bind(tenant.id)
            .bind(SELF_JOB)
            .bind(&targets)
            .fetch_one(change.conn())
            .await
            .map_err(name_taken)?;
            change.commit("scrape_job.create", id).await
        }
    }
}
