//! Prometheus' query API: `/api/v1/query` and `/api/v1/query_range`, GET or form POST, with
//! Prometheus' JSON shapes and error types, over the caller's tenant.

use std::collections::HashMap;

use axum::{
    extract::{Form, State},
    http::StatusCode,
    response::{IntoResponse, Response},
    Json,
};
use serde_json::{json, Value as Json_};
use uuid::Uuid;

use crate::{
    api::{ApiError, ApiScope},
    query::{self, QueryError},
};
use app::{
    error::AppError,
    ssr::{scope::Scope, AppState},
};
use promql::{format_float, Value};

/// Prometheus refuses range queries with more points than this per series.
const MAX_POINTS: i64 = 11_000;

fn failure(status: StatusCode, kind: &str, message: String) -> Response {
    (
        status,
        Json(json!({"status": "error", "errorType": kind, "error": message})),
    )
        .into_response()
}

fn bad_data(message: String) -> Response {
    failure(StatusCode::BAD_REQUEST, "bad_data", message)
}

/// The tenant queried: the caller's own, or (for callers who see several) the `tenant`
/// parameter, which must be one of theirs.
fn tenant(scope: &Scope, params: &HashMap<String, String>) -> Result<Uuid, Response> {
    if let Some(home) = scope.home_tenant {
        return Ok(home);
    }
    let Some(text) = params.get("tenant") else {
        return Err(bad_data("choose a tenant: add tenant=<tenant id>".into()));
    };
    match text.parse::<Uuid>() {
        Ok(id) if scope.sees_tenant(id) => Ok(id),
        Ok(_) => Err(ApiError(AppError::NotFound).into_response()),
        Err(_) => Err(bad_data(format!(
            "invalid parameter \"tenant\": {text:?} is not a tenant id"
        ))),
    }
}

/// RFC 3339 or Unix seconds, as Prometheus accepts; milliseconds.
fn time(
    params: &HashMap<String, String>,
    name: &str,
    default: Option<i64>,
) -> Result<i64, Response> {
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

/// Seconds (`15`, `0.5`) or a duration (`15s`, `1m30s`); milliseconds.
fn step(params: &HashMap<String, String>) -> Result<i64, Response> {
    let text = params.get("step").map(String::as_str).unwrap_or_default();
    let invalid = || {
        bad_data(format!(
            "invalid parameter \"step\": cannot parse {text:?} to a valid duration"
        ))
    };
    if let Ok(seconds) = text.parse::<f64>() {
        return if seconds.is_finite() {
            Ok((seconds * 1000.0).round() as i64)
        } else {
            Err(invalid())
        };
    }
    promql::parse_duration(text).map_err(|_| invalid())
}

fn metric(labels: &promql::Labels) -> Json_ {
    Json_::Object(
        labels
            .iter()
            .map(|(n, v)| (n.to_string(), json!(v)))
            .collect(),
    )
}

fn answer(value: Value, t: i64) -> Response {
    let at = t as f64 / 1000.0;
    let (kind, result) = match value {
        Value::Scalar(v) => ("scalar", json!([at, format_float(v)])),
        Value::String(s) => ("string", json!([at, s])),
        Value::Vector(samples) => (
            "vector",
            Json_::Array(
                samples
                    .iter()
                    .map(|s| json!({"metric": metric(&s.labels), "value": [at, format_float(s.v)]}))
                    .collect(),
            ),
        ),
        Value::Matrix(series) => (
            "matrix",
            Json_::Array(
                series
                    .iter()
                    .map(|s| {
                        let values: Vec<Json_> = s
                            .points
                            .iter()
                            .map(|(t, v)| json!([*t as f64 / 1000.0, format_float(*v)]))
                            .collect();
                        json!({"metric": metric(&s.labels), "values": values})
                    })
                    .collect(),
            ),
        ),
    };
    Json(json!({"status": "success", "data": {"resultType": kind, "result": result}}))
        .into_response()
}

async fn evaluate(
    state: &AppState,
    tenant: Uuid,
    params: &HashMap<String, String>,
    start: i64,
    end: i64,
    step: i64,
) -> Response {
    let Some(query) = params.get("query").filter(|q| !q.trim().is_empty()) else {
        return bad_data("invalid parameter \"query\": missing".into());
    };
    match query::run(&state.store, tenant, query, start, end, step).await {
        Ok(value) => answer(value, start),
        Err(QueryError::BadData(message)) => {
            bad_data(format!("invalid parameter \"query\": {message}"))
        }
        Err(QueryError::Execution(message)) => {
            failure(StatusCode::UNPROCESSABLE_ENTITY, "execution", message)
        }
        Err(QueryError::Store(message)) => {
            tracing::warn!(error = %message, "A query could not read the store.");
            failure(StatusCode::SERVICE_UNAVAILABLE, "unavailable", message)
        }
    }
}

pub async fn instant(
    State(state): State<AppState>,
    ApiScope(scope): ApiScope,
    Form(params): Form<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    scope.require_read()?;
    let tenant = match tenant(&scope, &params) {
        Ok(t) => t,
        Err(response) => return Ok(response),
    };
    let now = chrono::Utc::now().timestamp_millis();
    let t = match time(&params, "time", Some(now)) {
        Ok(t) => t,
        Err(response) => return Ok(response),
    };
    Ok(evaluate(&state, tenant, &params, t, t, 0).await)
}

pub async fn range(
    State(state): State<AppState>,
    ApiScope(scope): ApiScope,
    Form(params): Form<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    scope.require_read()?;
    let checked = (|| {
        let tenant = tenant(&scope, &params)?;
        let start = time(&params, "start", None)?;
        let end = time(&params, "end", None)?;
        let step = step(&params)?;
        if end < start {
            return Err(bad_data(
                "invalid parameter \"end\": end timestamp must not be before start time".into(),
            ));
        }
        if step <= 0 {
            return Err(bad_data("invalid parameter \"step\": zero or negative query resolution step widths are not accepted. Try a positive integer".into()));
        }
        if (end - start) / step > MAX_POINTS {
            return Err(bad_data("exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query resolution (?step=XX)".into()));
        }
        Ok((tenant, start, end, step))
    })();
    Ok(match checked {
        Ok((tenant, start, end, step)) => evaluate(&state, tenant, &params, start, end, step).await,
        Err(response) => response,
    })
}
