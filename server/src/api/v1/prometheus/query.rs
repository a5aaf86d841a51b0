//! `/api/v1/query`, `/api/v1/query_range` and `/api/v1/format_query`.

use std::fmt::Write as _;

use axum::{
    extract::{Form, State},
    http::header,
    response::{IntoResponse, Response},
};
use serde_json::json;
use uuid::Uuid;

use super::{bad_data, forwarded, query_failure, success, tenant, time, Params};
use crate::api::{ApiError, ApiScope};
use app::{query, ssr::AppState};
use promql::{format_float, Value};

/// Seconds (`15`, `0.5`) or a duration (`15s`, `1m30s`); milliseconds.
fn step(params: &Params) -> Result<i64, Response> {
    let text = params.get("step").unwrap_or_default();
    promql::parse_seconds_or_duration(text).map_err(|_| {
        bad_data(format!(
            "invalid parameter \"step\": cannot parse {text:?} to a valid duration"
        ))
    })
}

/// A sample time as Prometheus writes it: Unix seconds, a fraction only when there is one.
fn write_seconds(out: &mut String, ms: i64) {
    if ms % 1000 == 0 {
        let _ = write!(out, "{}", ms / 1000);
    } else {
        let _ = write!(out, "{}", ms as f64 / 1000.0);
    }
}

/// `[time, "value"]`.
fn write_point(out: &mut String, ms: i64, v: f64) {
    out.push('[');
    write_seconds(out, ms);
    let _ = write!(out, ",\"{}\"]", format_float(v));
}

/// Opens the `index`th series of a result: `{"metric":{…}`.
fn open_series(out: &mut String, index: usize, labels: &promql::Labels) {
    out.push_str(if index > 0 { ",{" } else { "{" });
    out.push_str(r#""metric":{"#);
    for (i, (name, value)) in labels.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(&json!(name).to_string());
        out.push(':');
        out.push_str(&json!(value).to_string());
    }
    out.push('}');
}

/// The success answer, written straight into the body: a range answer runs to millions of
/// points, and building a JSON tree of them first costs more than evaluating the query.
fn answer(value: Value, t: i64) -> Response {
    let mut out = String::from(r#"{"status":"success","data":{"resultType":"#);
    match value {
        Value::Scalar(v) => {
            out.push_str(r#""scalar","result":"#);
            write_point(&mut out, t, v);
        }
        Value::String(text) => {
            out.push_str(r#""string","result":["#);
            write_seconds(&mut out, t);
            let _ = write!(out, ",{}]", json!(text));
        }
        Value::Vector(samples) => {
            out.push_str(r#""vector","result":["#);
            for (i, sample) in samples.iter().enumerate() {
                open_series(&mut out, i, &sample.labels);
                out.push_str(r#","value":"#);
                write_point(&mut out, t, sample.v);
                out.push('}');
            }
            out.push(']');
        }
        Value::Matrix(series) => {
            out.push_str(r#""matrix","result":["#);
            for (i, s) in series.iter().enumerate() {
                open_series(&mut out, i, &s.labels);
                out.push_str(r#","values":["#);
                for (k, (ms, v)) in s.points.iter().enumerate() {
                    if k > 0 {
                        out.push(',');
                    }
                    write_point(&mut out, *ms, *v);
                }
                out.push_str("]}");
            }
            out.push(']');
        }
    }
    out.push_str("}}");
    ([(header::CONTENT_TYPE, "application/json")], out).into_response()
}

async fn evaluate(
    state: &AppState,
    tenant: Uuid,
    params: &Params,
    (start, end, step): (i64, i64, i64),
) -> Response {
    let Some(query) = params.get("query").filter(|q| !q.trim().is_empty()) else {
        return bad_data("invalid parameter \"query\": missing".into());
    };
    let span = (start, end, step);
    match query::run(&state.store, tenant, query, span, state.query_limits).await {
        Ok(value) => answer(value, start),
        Err(error) => query_failure(error),
    }
}

pub async fn instant(
    State(state): State<AppState>,
    ApiScope(scope): ApiScope,
    Form(params): Form<Vec<(String, String)>>,
) -> Result<Response, ApiError> {
    scope.require_read()?;
    let params = Params(params);
    if let Some(answer) = forwarded(&state, &scope, &params, "/api/v1/query", false).await {
        return Ok(answer);
    }
    let checked = (|| {
        let tenant = tenant(&scope, &params)?;
        let now = chrono::Utc::now().timestamp_millis();
        Ok((tenant, time(&params, "time", Some(now))?))
    })();
    Ok(match checked {
        Ok((tenant, t)) => evaluate(&state, tenant, &params, (t, t, 0)).await,
        Err(response) => response,
    })
}

pub async fn range(
    State(state): State<AppState>,
    ApiScope(scope): ApiScope,
    Form(params): Form<Vec<(String, String)>>,
) -> Result<Response, ApiError> {
    scope.require_read()?;
    let params = Params(params);
    if let Some(answer) = forwarded(&state, &scope, &params, "/api/v1/query_range", false).await {
        return Ok(answer);
    }
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
        if (end - start) / step > query::MAX_POINTS {
            return Err(bad_data("exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query resolution (?step=XX)".into()));
        }
        Ok((tenant, start, end, step))
    })();
    Ok(match checked {
        Ok((tenant, start, end, step)) => {
            evaluate(&state, tenant, &params, (start, end, step)).await
        }
        Err(response) => response,
    })
}

/// The expression laid out as Prometheus' formatter does.
pub async fn format_query(
    ApiScope(scope): ApiScope,
    Form(params): Form<Vec<(String, String)>>,
) -> Result<Response, ApiError> {
    scope.require_read()?;
    let params = Params(params);
    let query = params.get("query").unwrap_or_default();
    Ok(match promql::parse(query) {
        Ok(expr) => success(json!(expr.prettify())),
        Err(message) => bad_data(format!("invalid parameter \"query\": {message}")),
    })
}
