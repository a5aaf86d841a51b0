//! Dashboards over REST: the caller's list and one dashboard's Grafana JSON model (read scope),
//! and importing a Grafana dashboard (admins, tenant editors, `write` tokens).

use axum::{
    body::Bytes,
    extract::{Path, Query, State},
    Json,
};
use serde::Deserialize;
use serde_json::Value;

use crate::api::{ApiError, ApiScope};
use app::{
    dashboards::{import, repo, Audience, DashboardSummary},
    error::AppError,
    ssr::AppState,
};

#[derive(Deserialize)]
pub struct ListQuery {
    #[serde(default)]
    query: String,
    #[serde(default)]
    tag: String,
}

pub async fn list(
    State(state): State<AppState>,
    ApiScope(scope): ApiScope,
    Query(params): Query<ListQuery>,
) -> Result<Json<Vec<DashboardSummary>>, ApiError> {
    let tag = Some(params.tag.as_str()).filter(|t| !t.is_empty());
    let list = repo::list(&scope, &state.pool, &params.query, tag).await?;
    Ok(Json(list.iter().map(repo::summary).collect()))
}

/// The model as Grafana's classic JSON, ready to import anywhere.
pub async fn get(
    State(state): State<AppState>,
    ApiScope(scope): ApiScope,
    Path(uid): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let stored = repo::get(&scope, &state.pool, &uid).await?;
    let mut model =
        serde_json::to_value(&stored.model).map_err(|_| app::error::AppError::Internal)?;
    if let Some(object) = model.as_object_mut() {
        object.insert("version".into(), stored.record.version.into());
    }
    Ok(Json(model))
}

#[derive(Deserialize)]
pub struct ImportQuery {
    /// Admins: the tenant to import into; none makes a global dashboard.
    tenant: Option<uuid::Uuid>,
    #[serde(default)]
    overwrite: bool,
    /// Admins, global dashboards: `admins`, `managers` (the default) or `everyone`.
    audience: Option<String>,
}

/// Imports a Grafana dashboard: the body is its JSON (bare, or `{"dashboard": …}`). Answers the
/// uid, the URL, the version and the report of what was not carried over.
pub async fn import(
    State(state): State<AppState>,
    ApiScope(scope): ApiScope,
    Query(params): Query<ImportQuery>,
    body: Bytes,
) -> Result<Json<import::Imported>, ApiError> {
    import::destination(&scope, params.tenant)?;
    let json = import::parse(&String::from_utf8_lossy(&body))?;
    let audience = match params.audience.as_deref() {
        None | Some("") => Audience::Managers,
        Some(text) => Audience::parse(text)
            .ok_or_else(|| AppError::invalid("audience", "must be admins, managers or everyone"))?,
    };
    let target = import::Target {
        tenant: params.tenant,
        audience,
        overwrite: params.overwrite,
        base_version: None,
        message: "imported".into(),
        allow_ui_updates: state.dashboard_files.allow_ui_updates,
    };
    Ok(Json(
        import::import(&scope, &state.pool, &json, target).await?,
    ))
}
