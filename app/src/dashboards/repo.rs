//! Dashboards in PostgreSQL. Reads are scoped (row-level security also hides global dashboards
//! from the audiences they are not for); every save writes a version and an audit entry with the
//! change, in one transaction.

use serde::Serialize;
use serde_json::Value;
use sqlx::{types::Json, PgPool, Row};
use uuid::Uuid;
use viz::{import::Report, model::Dashboard};

use super::{Audience, DashboardSummary};
use crate::{
    error::AppError,
    ssr::{
        change::{Audited, Change},
        scope::{Scope, ScopedTx},
    },
};

/// A dashboard row without its model: what the audit trail records of a change (the models
/// themselves are in `dashboard_version`).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct DashboardRecord {
    pub id: Uuid,
    pub tenant_id: Option<Uuid>,
    pub tenant_name: Option<String>,
    pub uid: String,
    pub title: String,
    pub tags: Vec<String>,
    pub audience: Audience,
    pub version: i32,
    pub provisioned: Option<String>,
    pub panels: usize,
    pub updated_at: chrono::DateTime<chrono::Utc>,
}

/// A dashboard with its model, as the page and the API read it.
#[derive(Clone, Debug)]
pub struct StoredDashboard {
    pub record: DashboardRecord,
    pub model: Dashboard,
    /// What its import could not carry over, per panel.
    pub notes: Report,
}

const SELECT: &str = "select d.id, d.tenant_id, t.name as tenant_name, d.uid, d.title, d.tags,
        d.audience, d.version, d.provisioned, d.updated_at, d.model, d.notes,
        jsonb_array_length(coalesce(d.model -> 'panels', '[]')) as panels
    from dashboard d left join tenant t on t.id = d.tenant_id";

fn record(row: &sqlx::postgres::PgRow) -> DashboardRecord {
    DashboardRecord {
        id: row.get("id"),
        tenant_id: row.get("tenant_id"),
        tenant_name: row.get("tenant_name"),
        uid: row.get("uid"),
        title: row.get("title"),
        tags: row.get("tags"),
        audience: Audience::parse(row.get::<&str, _>("audience")).unwrap_or(Audience::Admins),
        version: row.get("version"),
        provisioned: row.get("provisioned"),
        panels: row.get::<i32, _>("panels").max(0) as usize,
        updated_at: row.get("updated_at"),
    }
}

/// The stored model, read leniently: a model that no longer reads shows as an empty dashboard
/// with its title rather than failing the page.
fn stored(row: &sqlx::postgres::PgRow) -> StoredDashboard {
    let record = record(row);
    let model = serde_json::from_value(row.get::<Json<Value>, _>("model").0).unwrap_or_else(|_| {
        Dashboard {
            uid: record.uid.clone(),
            title: record.title.clone(),
            ..Dashboard::default()
        }
    });
    let notes = serde_json::from_value(row.get::<Json<Value>, _>("notes").0).unwrap_or_default();
    StoredDashboard {
        record,
        model,
        notes,
    }
}

impl Audited for DashboardRecord {
    const TARGET: &'static str = "dashboard";

    fn id(&self) -> Uuid {
        self.id
    }

    fn tenant(&self) -> Option<Uuid> {
        self.tenant_id
    }

    async fn fetch(tx: &mut ScopedTx<'_>, id: Uuid, lock: bool) -> Result<Self, AppError> {
        let lock = if lock { " for update of d" } else { "" };
        let sql = format!("{SELECT} where d.id = $1{lock}");
        let row = sqlx::query(&sql).bind(id).fetch_optional(tx.conn()).await?;
        row.as_ref().map(record).ok_or(AppError::NotFound)
    }
}

pub fn summary(record: &DashboardRecord) -> DashboardSummary {
    DashboardSummary {
        uid: record.uid.clone(),
        title: record.title.clone(),
        tags: record.tags.clone(),
        tenant: record.tenant_name.clone(),
        audience: record.audience,
        panels: record.panels,
        provisioned: record.provisioned.is_some(),
        updated_at: record.updated_at.format("%Y-%m-%d %H:%M UTC").to_string(),
    }
}

/// The dashboards the scope sees whose title contains `search` (any case) and that carry `tag`
/// (if given): global ones first, then by tenant and title.
#[tracing::instrument(skip_all)]
pub async fn list(
    scope: &Scope,
    pool: &PgPool,
    search: &str,
    tag: Option<&str>,
) -> Result<Vec<DashboardRecord>, AppError> {
    scope.require_read()?;
    let mut tx = scope.begin(pool).await?;
    let sql = format!(
        "{SELECT} where strpos(lower(d.title), lower($1)) > 0 and ($2::text is null or $2 = any (d.tags))
         order by d.tenant_id is not null, lower(t.name), lower(d.title)"
    );
    let rows = sqlx::query(&sql)
        .bind(search.trim())
        .bind(tag.filter(|t| !t.is_empty()))
        .fetch_all(tx.conn())
        .await?;
    tx.commit().await?;
    Ok(rows.iter().map(record).collect())
}

/// One dashboard by its uid; `NotFound` when it does not exist or the scope does not see it.
#[tracing::instrument(skip_all)]
pub async fn get(scope: &Scope, pool: &PgPool, uid: &str) -> Result<StoredDashboard, AppError> {
    scope.require_read()?;
    let mut tx = scope.begin(pool).await?;
    let sql = format!("{SELECT} where d.uid = $1");
    let row = sqlx::query(&sql)
        .bind(uid)
        .fetch_optional(tx.conn())
        .await?;
    tx.commit().await?;
    row.as_ref().map(stored).ok_or(AppError::NotFound)
}

/// Who may change dashboards of `tenant` (`None`: global ones, admins only).
pub fn require_writer(scope: &Scope, tenant: Option<Uuid>) -> Result<(), AppError> {
    match tenant {
        Some(tenant) => scope.require_editor(tenant),
        None => scope.require_admin().map(|_| ()),
    }
}

/// What a save writes.
pub struct Save<'a> {
    pub tenant: Option<Uuid>,
    pub audience: Audience,
    pub model: &'a Dashboard,
    pub provisioned: Option<&'a str>,
    pub message: &'a str,
    /// An import's report; other saves have none.
    pub notes: Option<&'a Report>,
}

impl Save<'_> {
    /// A tenant's dashboard is seen by whoever sees the tenant: the audience is for global ones.
    fn audience(&self) -> Audience {
        match self.tenant {
            Some(_) => Audience::Managers,
            None => self.audience,
        }
    }
}

/// A uid Meridian takes: 1 to 40 letters, digits, `-` or `_` (Grafana's own rule).
pub fn valid_uid(uid: &str) -> bool {
    !uid.is_empty()
        && uid.len() <= 40
        && uid
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

/// Checks what every save needs, whoever saves.
fn validate(model: &Dashboard) -> Result<(), AppError> {
    if !valid_uid(&model.uid) {
        return Err(AppError::invalid(
            "uid",
            "must be 1 to 40 letters, digits, - or _",
        ));
    }
    if model.title.trim().is_empty() || model.title.chars().count() > 200 {
        return Err(AppError::invalid("title", "must be 1 to 200 characters"));
    }
    Ok(())
}

fn uid_taken(error: sqlx::Error) -> AppError {
    match &error {
        sqlx::Error::Database(db) if db.constraint() == Some("dashboard_uid_key") => {
            AppError::invalid("uid", "another dashboard has this uid")
        }
        _ => error.into(),
    }
}

async fn write_version(tx: &mut ScopedTx<'_>, id: Uuid, save: &Save<'_>) -> Result<(), AppError> {
    let author = tx.scope().actor.label();
    sqlx::query(
        "insert into dashboard_version (dashboard_id, version, tenant_id, model, author, message)
         select id, version, tenant_id, model, $2, $3 from dashboard where id = $1",
    )
    .bind(id)
    .bind(author)
    .bind(save.message)
    .execute(tx.conn())
    .await?;
    Ok(())
}

/// Creates a dashboard (version 1).
#[tracing::instrument(skip_all, fields(uid = %save.model.uid))]
pub async fn create(
    scope: &Scope,
    pool: &PgPool,
    save: Save<'_>,
) -> Result<DashboardRecord, AppError> {
    require_writer(scope, save.tenant)?;
    validate(save.model)?;
    let mut change = Change::<DashboardRecord>::create(scope, pool).await?;
    if let Some(tenant) = save.tenant {
        crate::admin::tenants::repo::require_active(change.tx(), tenant).await?;
    }
    let id: Uuid = sqlx::query_scalar(
        "insert into dashboard (tenant_id, uid, title, tags, audience, model, provisioned, notes)
         values ($1, $2, $3, $4, $5, $6, $7, $8) returning id",
    )
    .bind(save.tenant)
    .bind(&save.model.uid)
    .bind(save.model.title.trim())
    .bind(&save.model.tags)
    .bind(save.audience().as_str())
    .bind(Json(save.model))
    .bind(save.provisioned)
    .bind(Json(save.notes.cloned().unwrap_or_default()))
    .fetch_one(change.conn())
    .await
    .map_err(uid_taken)?;
    write_version(change.tx(), id, &save).await?;
    change.commit("dashboard.create", id).await
}

/// Replaces the model of the dashboard `id` (a new version); it stays in its tenant. With a
/// `base` version, a dashboard saved since answers `Conflict`, naming who saved it and when.
#[tracing::instrument(skip_all, fields(uid = %save.model.uid))]
pub async fn update(
    scope: &Scope,
    pool: &PgPool,
    id: Uuid,
    base: Option<i32>,
    save: Save<'_>,
) -> Result<DashboardRecord, AppError> {
    validate(save.model)?;
    let (mut change, before) = Change::<DashboardRecord>::edit(scope, pool, id).await?;
    require_writer(scope, before.tenant_id)?;
    if let Some(base) = base.filter(|b| *b != before.version) {
        let (author, at): (String, chrono::DateTime<chrono::Utc>) = sqlx::query_as(
            "select author, created_at from dashboard_version where dashboard_id = $1 and version = $2",
        )
        .bind(id)
        .bind(before.version)
        .fetch_one(change.conn())
        .await?;
        return Err(AppError::Conflict(format!(
            "version {} was saved by {author} at {} UTC after the version {base} this change started from",
            before.version,
            at.format("%Y-%m-%d %H:%M:%S")
        )));
    }
    sqlx::query(
        "update dashboard set uid = $2, title = $3, tags = $4, audience = $5, model = $6,
                provisioned = $7, notes = $8, version = version + 1, updated_at = now()
          where id = $1",
    )
    .bind(id)
    .bind(&save.model.uid)
    .bind(save.model.title.trim())
    .bind(&save.model.tags)
    .bind(save.audience().as_str())
    .bind(Json(save.model))
    .bind(save.provisioned)
    .bind(Json(save.notes.cloned().unwrap_or_default()))
    .execute(change.conn())
    .await
    .map_err(uid_taken)?;
    write_version(change.tx(), id, &save).await?;
    change.commit("dashboard.update", id).await
}

/// Makes sure the dashboard `save.model.uid` exists as provisioned: created when missing,
/// replaced when its stored model differs from the provisioned one. Answers whether it wrote.
pub async fn provision(scope: &Scope, pool: &PgPool, save: Save<'_>) -> Result<bool, AppError> {
    let existing = {
        let mut tx = scope.begin(pool).await?;
        let row = sqlx::query("select id, model from dashboard where uid = $1")
            .bind(&save.model.uid)
            .fetch_optional(tx.conn())
            .await?;
        tx.commit().await?;
        row.map(|r| (r.get::<Uuid, _>("id"), r.get::<Json<Value>, _>("model").0))
    };
    let wanted = serde_json::to_value(save.model).map_err(|_| AppError::Internal)?;
    match existing {
        None => create(scope, pool, save).await.map(|_| true),
        Some((_, model)) if model == wanted => Ok(false),
        Some((id, _)) => update(scope, pool, id, None, save).await.map(|_| true),
    }
}

/// Deletes the dashboard `id` with its versions. A provisioned one is deleted only by its
/// provisioning (`even_provisioned`): its file, or Meridian, would bring it back.
#[tracing::instrument(skip_all)]
pub async fn delete(
    scope: &Scope,
    pool: &PgPool,
    id: Uuid,
    even_provisioned: bool,
) -> Result<DashboardRecord, AppError> {
    let (mut change, before) = Change::<DashboardRecord>::edit(scope, pool, id).await?;
    require_writer(scope, before.tenant_id)?;
    if let Some(from) = before.provisioned.as_deref().filter(|_| !even_provisioned) {
        return Err(AppError::Conflict(format!(
            "this dashboard is provisioned ({from}); remove it from there instead"
        )));
    }
    sqlx::query("delete from dashboard where id = $1")
        .bind(id)
        .execute(change.conn())
        .await?;
    change.commit_deletion("dashboard.delete").await
}

/// The id of the dashboard `uid`, if the scope sees it (row-level security decides; no read
/// right is needed, so a `write` token may delete what it may not list).
pub async fn id_of(scope: &Scope, pool: &PgPool, uid: &str) -> Result<Uuid, AppError> {
    let mut tx = scope.begin(pool).await?;
    let id = sqlx::query_scalar("select id from dashboard where uid = $1")
        .bind(uid)
        .fetch_optional(tx.conn())
        .await?;
    tx.commit().await?;
    id.ok_or(AppError::NotFound)
}

/// Which dashboard holds `uid`, whoever may see it: a uid is unique in the installation, so an
/// import must know when it is taken. Answers its id, tenant and where it is provisioned from,
/// and nothing else of the dashboard.
pub async fn uid_owner(pool: &PgPool, uid: &str) -> Result<Option<UidOwner>, AppError> {
    Ok(
        sqlx::query_as("select id, tenant_id, provisioned from dashboard where uid = $1")
            .bind(uid)
            .fetch_optional(pool)
            .await?,
    )
}

#[derive(Clone, Debug, PartialEq, sqlx::FromRow)]
pub struct UidOwner {
    pub id: Uuid,
    pub tenant_id: Option<Uuid>,
    pub provisioned: Option<String>,
}

/// A saved version as the history lists it.
#[derive(Clone, Debug, PartialEq, sqlx::FromRow)]
pub struct VersionRecord {
    pub version: i32,
    pub author: String,
    pub message: String,
    pub created_at: chrono::DateTime<chrono::Utc>,
}

/// The versions of the dashboard `id`, newest first.
pub async fn versions(
    scope: &Scope,
    pool: &PgPool,
    id: Uuid,
) -> Result<Vec<VersionRecord>, AppError> {
    scope.require_read()?;
    let mut tx = scope.begin(pool).await?;
    let rows = sqlx::query_as(
        "select version, author, message, created_at from dashboard_version
          where dashboard_id = $1 order by version desc",
    )
    .bind(id)
    .fetch_all(tx.conn())
    .await?;
    tx.commit().await?;
    Ok(rows)
}

/// The model saved as `version` of the dashboard `id` (read leniently, like the current one).
pub async fn version_model(
    scope: &Scope,
    pool: &PgPool,
    id: Uuid,
    version: i32,
) -> Result<Dashboard, AppError> {
    scope.require_read()?;
    let mut tx = scope.begin(pool).await?;
    let model: Option<Json<Value>> = sqlx::query_scalar(
        "select model from dashboard_version where dashboard_id = $1 and version = $2",
    )
    .bind(id)
    .bind(version)
    .fetch_optional(tx.conn())
    .await?;
    tx.commit().await?;
    let model = model
        .ok_or_else(|| AppError::invalid("version", format!("there is no version {version}")))?;
    serde_json::from_value(model.0)
        .map_err(|_| AppError::invalid("version", "this version no longer reads"))
}
