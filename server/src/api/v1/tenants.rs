//! Tenants over REST: the ones the caller may see.

use axum::{
    extract::{Path, State},
    Json,
};
use uuid::Uuid;

use crate::api::{ApiError, ApiScope};
use app::{
    admin::tenants::{repo, Tenant},
    ssr::AppState,
};

pub async fn list_tenants(
    State(state): State<AppState>,
    ApiScope(scope): ApiScope,
) -> Result<Json<Vec<Tenant>>, ApiError> {
    scope.require_read()?;
    Ok(Json(repo::list_tenants(&scope, &state.pool).await?))
}

pub async fn get_tenant(
    State(state): State<AppState>,
    ApiScope(scope): ApiScope,
    Path(id): Path<Uuid>,
) -> Result<Json<Tenant>, ApiError> {
    scope.require_read()?;
    Ok(Json(repo::get_tenant(&scope, &state.pool, id).await?))
}
