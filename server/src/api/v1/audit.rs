//! The audit trail over REST: verification for admins, entries within the caller's scope.

use axum::{
    extract::{Path, Query, State},
    Json,
};
use serde::Deserialize;

use crate::api::{ApiError, ApiScope};
use app::{
    audit::{repo, AuditEvent, AuditFilter, AuditPage},
    ssr::{
        audit::{verify_chain, ChainReport},
        AppState,
    },
};

pub async fn verify(
    State(state): State<AppState>,
    ApiScope(scope): ApiScope,
) -> Result<Json<ChainReport>, ApiError> {
    let admin = scope.require_admin()?;
    Ok(Json(verify_chain(&admin, &state.pool).await?))
}

#[derive(Deserialize)]
pub struct EventsQuery {
    #[serde(flatten)]
    filter: AuditFilter,
    limit: Option<i64>,
}

pub async fn list_events(
    State(state): State<AppState>,
    ApiScope(scope): ApiScope,
    Query(query): Query<EventsQuery>,
) -> Result<Json<AuditPage>, ApiError> {
    scope.require_read()?;
    Ok(Json(
        repo::list_events(
            &scope,
            &state.pool,
            &query.filter,
            query.limit.unwrap_or(100),
        )
        .await?,
    ))
}

pub async fn get_event(
    State(state): State<AppState>,
    ApiScope(scope): ApiScope,
    Path(id): Path<i64>,
) -> Result<Json<AuditEvent>, ApiError> {
    scope.require_read()?;
    Ok(Json(repo::get_event(&scope, &state.pool, id).await?))
}
