//! Prometheus' rules and alerts APIs over the caller's tenant (`GET /api/v1/rules`,
//! `GET /api/v1/alerts`), the rule file export (`GET /api/v1/rules?format=yaml`) and the import
//! (`POST /api/v1/rules` with a rule file: its groups replace or join the tenant's).

use axum::{
    body::Bytes,
    extract::{Query, State},
    http::header,
    response::{IntoResponse, Response},
    Form,
};
use serde_json::json;

use super::{success, tenant, Params};
use crate::api::{ApiError, ApiScope};
use app::{
    alerting::{prometheus as api, repo},
    ssr::AppState,
};

pub async fn list(
    State(state): State<AppState>,
    ApiScope(scope): ApiScope,
    Form(params): Form<Vec<(String, String)>>,
) -> Result<Response, ApiError> {
    scope.require_read()?;
    let params = Params(params);
    let tenant = match tenant(&scope, &params) {
        Ok(t) => t,
        Err(response) => return Ok(response),
    };
    if params.get("format") == Some("yaml") {
        let yaml = api::rule_file(&scope, &state.pool, tenant).await?;
        return Ok(([(header::CONTENT_TYPE, "application/yaml")], yaml).into_response());
    }
    let owned = |name: &str| params.all(name).into_iter().map(String::from).collect();
    let filter = api::Filter {
        kind: params.get("type").unwrap_or_default().to_string(),
        rule_names: owned("rule_name[]"),
        group_names: owned("rule_group[]"),
    };
    Ok(success(
        api::rules(&scope, &state.pool, tenant, &filter).await?,
    ))
}

pub async fn alerts(
    State(state): State<AppState>,
    ApiScope(scope): ApiScope,
    Form(params): Form<Vec<(String, String)>>,
) -> Result<Response, ApiError> {
    scope.require_read()?;
    let params = Params(params);
    let tenant = match tenant(&scope, &params) {
        Ok(t) => t,
        Err(response) => return Ok(response),
    };
    Ok(success(api::alerts(&scope, &state.pool, tenant).await?))
}

#[derive(serde::Deserialize)]
pub struct ImportQuery {
    /// Admins: the tenant to import into.
    tenant: Option<uuid::Uuid>,
    #[serde(default)]
    message: String,
}

/// Imports a rule file (the body, YAML): validated whole first, then its groups written in one
/// transaction, each a new version with its audit entry.
pub async fn import(
    State(state): State<AppState>,
    ApiScope(scope): ApiScope,
    Query(query): Query<ImportQuery>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let tenant = scope.tenant_to_edit(query.tenant)?;
    let text = String::from_utf8(body.to_vec())
        .map_err(|_| app::error::AppError::invalid("body", "the rule file is not UTF-8 text"))?;
    let message = if query.message.is_empty() {
        "imported rule file"
    } else {
        &query.message
    };
    let imported = repo::import(&scope, &state.pool, tenant, &text, message).await?;
    Ok(success(json!(imported)))
}
