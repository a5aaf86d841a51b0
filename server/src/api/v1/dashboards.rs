//! Dashboards over REST (read scope): the caller's list, and one dashboard's Grafana JSON model.

use axum::{
    extract::{Path, Query, State},
    Json,
};
use serde::Deserialize;
use serde_json::Value;

use crate::api::{ApiError, ApiScope};
use app::{
    dashboards::{repo, DashboardSummary},
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
