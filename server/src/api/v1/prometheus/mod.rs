//! Prometheus' HTTP API over the caller's tenant: the same paths, parameters (GET query
//! string or form POST), JSON shapes and error types, so Grafana and other Prometheus clients
//! can read Meridian.

pub mod query;
pub mod rules;
pub mod series;
pub mod status;

use axum::{
    http::StatusCode,
    response::{IntoResponse, Response},
    Json,
};
use serde_json::json;
use uuid::Uuid;

use crate::api::ApiError;
use app::{
    error::AppError,
    query::{remote, QueryError},
    ssr::{
        scope::{Scope, TenantChoice},
        AppState,
    },
};

/// A request's parameters; names may repeat (`match[]`).
pub struct Params(pub Vec<(String, String)>);

impl Params {
    /// The first value of `name`, as Prometheus' `FormValue` reads it.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn all(&self, name: &str) -> Vec<&str> {
        self.0
            .iter()
            .filter(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
            .collect()
    }
}

/// `{"status": "success", "data": …}`.
pub fn success(data: serde_json::Value) -> Response {
    Json(json!({"status": "success", "data": data})).into_response()
}

/// Prometheus' error shape: `errorType` names the kind, `error` says what happened.
pub fn failure(status: StatusCode, kind: &str, message: String) -> Response {
    (
        status,
        Json(json!({"status": "error", "errorType": kind, "error": message})),
    )
        .into_response()
}

pub fn bad_data(message: String) -> Response {
    failure(StatusCode::BAD_REQUEST, "bad_data", message)
}

/// The tenant read: the caller's own, or (for callers who see several) the `tenant`
/// parameter, which must be one of theirs.
pub fn tenant(scope: &Scope, params: &Params) -> Result<Uuid, Response> {
    scope
        .chosen_tenant(params.get("tenant"))
        .map_err(|refused| match refused {
            TenantChoice::Missing => bad_data("choose a tenant: add tenant=<tenant id>".into()),
            TenantChoice::NotAnId => bad_data(format!(
                "invalid parameter \"tenant\": {:?} is not a tenant id",
                params.get("tenant").unwrap_or_default()
            )),
            TenantChoice::NotVisible => ApiError(AppError::NotFound).into_response(),
        })
}

/// Parameter `name` as a time: RFC 3339 or Unix seconds, as Prometheus accepts; milliseconds.
pub fn time(params: &Params, name: &str, default: Option<i64>) -> Result<i64, Response> {
    let Some(text) = params.get(name).filter(|t| !t.is_empty()) else {
        return default.ok_or_else(|| bad_data(format!("invalid parameter \"{name}\": missing")));
    };
    if let Ok(seconds) = text.parse::<f64>() {
        if seconds.is_finite() {
            return Ok((seconds * 1000.0).round() as i64);
        }
    }
    chrono::DateTime::parse_from_rfc3339(text)
        .map(|t| t.timestamp_millis())
        .map_err(|_| {
            bad_data(format!(
                "invalid parameter \"{name}\": cannot parse {text:?} to a valid timestamp"
            ))
        })
}

/// A tenant with an external data source is answered by it: the request goes there as it came
/// (form POST, or GET for `get_only` paths) and its answer comes back unchanged. `None`: the
/// tenant reads the store, or the request names no valid tenant (the handler then says so).
pub async fn forwarded(
    state: &AppState,
    scope: &Scope,
    params: &Params,
    path: &str,
    get_only: bool,
) -> Option<Response> {
    let tenant = tenant(scope, params).ok()?;
    let remote = match remote::remote_for(&state.pool, tenant).await {
        Ok(remote) => remote?,
        Err(error) => return Some(query_failure(error)),
    };
    let timeout = state.query_limits.timeout;
    Some(
        match remote.forward(path, &params.0, !get_only, timeout).await {
            Ok(answer) => (
                StatusCode::from_u16(answer.status).unwrap_or(StatusCode::BAD_GATEWAY),
                [(axum::http::header::CONTENT_TYPE, answer.content_type)],
                answer.body,
            )
                .into_response(),
            Err(error) => query_failure(error),
        },
    )
}

/// A query's failure with Prometheus' status and error type.
pub fn query_failure(error: QueryError) -> Response {
    match error {
        QueryError::BadData(message) => bad_data(format!("invalid parameter \"query\": {message}")),
        QueryError::Execution(message) => {
            failure(StatusCode::UNPROCESSABLE_ENTITY, "execution", message)
        }
        QueryError::Timeout => failure(
            StatusCode::SERVICE_UNAVAILABLE,
            "timeout",
            QueryError::Timeout.to_string(),
        ),
        QueryError::Store(message) | QueryError::Remote(message) => {
            tracing::warn!(error = %message, "A query could not read its data.");
            failure(StatusCode::SERVICE_UNAVAILABLE, "unavailable", message)
        }
    }
}
