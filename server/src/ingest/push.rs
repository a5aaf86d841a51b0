//! `POST /api/v1/push`: JSON for scripts and business metrics —
//! `[{"labels": {"__name__": "orders_total", "shop": "eu"}, "samples": [[1700000000000, 42], …]}]`.
//! Values are numbers or the strings "NaN", "+Inf", "-Inf" (JSON has no literals for those).
//! The whole body is validated before anything is written.

use std::collections::BTreeMap;

use axum::{body::Bytes, extract::State, response::IntoResponse};
use serde::Deserialize;

use super::{labels_of, store_samples, IngestError};
use crate::api::{ApiError, ApiScope};
use app::ssr::AppState;
use store::{SeriesSamples, WriteOutcome};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PushSeries {
    labels: BTreeMap<String, String>,
    samples: Vec<(i64, PushValue)>,
}

/// A sample value in JSON: a number, or a string for what JSON cannot spell.
#[derive(Deserialize)]
#[serde(untagged)]
pub enum PushValue {
    Number(f64),
    Text(String),
}

impl PushValue {
    pub fn value(&self) -> Option<f64> {
        match self {
            PushValue::Number(v) => Some(*v),
            PushValue::Text(t) => parse_value(t),
        }
    }
}

/// Parses a sample value the way Prometheus prints them.
pub fn parse_value(text: &str) -> Option<f64> {
    match text {
        "NaN" => Some(f64::NAN),
        "+Inf" | "Inf" => Some(f64::INFINITY),
        "-Inf" => Some(f64::NEG_INFINITY),
        other => other.parse::<f64>().ok().filter(|v| v.is_finite()),
    }
}

pub async fn receive(
    State(state): State<AppState>,
    ApiScope(scope): ApiScope,
    body: Bytes,
) -> axum::response::Response {
    let tenant = match scope.require_ingest() {
        Ok(tenant) => tenant,
        Err(error) => return ApiError(error).into_response(),
    };
    let series = match parse(&body) {
        Ok(series) => series,
        Err(error) => return error.into_response(),
    };
    match store_samples(&state, tenant, series, WriteOutcome::default()).await {
        Ok(status) => status.into_response(),
        Err(error) => error.into_response(),
    }
}

fn parse(body: &[u8]) -> Result<Vec<SeriesSamples>, IngestError> {
    let pushed: Vec<PushSeries> = serde_json::from_slice(body).map_err(|e| {
        IngestError::Invalid(format!("body must be a JSON array of {{\"labels\": {{…}}, \"samples\": [[ms, value], …]}}: {e}"))
    })?;
    let mut refused = WriteOutcome::default();
    let mut series = Vec::with_capacity(pushed.len());
    for (i, s) in pushed.iter().enumerate() {
        let pairs = s.labels.iter().map(|(n, v)| (n.as_str(), v.as_str()));
        let Some(labels) = labels_of(
            || format!("[{i}].labels"),
            pairs,
            s.samples.len(),
            &mut refused,
        ) else {
            continue;
        };
        if labels.metric_name().is_none() {
            return Err(IngestError::Invalid(format!(
                "[{i}].labels: __name__ (the metric name) is required"
            )));
        }
        let mut samples = Vec::with_capacity(s.samples.len());
        for (j, (timestamp, value)) in s.samples.iter().enumerate() {
            let value = match value {
                PushValue::Number(v) => *v,
                PushValue::Text(t) => parse_value(t).ok_or_else(|| {
                    IngestError::Invalid(format!("[{i}].samples[{j}]: value {t:?} is not a number, \"NaN\", \"+Inf\" or \"-Inf\""))
                })?,
            };
            samples.push((*timestamp, value));
        }
        series.push(SeriesSamples { labels, samples });
    }
    if let Some(summary) = refused.summary() {
        return Err(IngestError::Invalid(summary));
    }
    Ok(series)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_name_the_position() {
        let error = |body: &str| {
            parse(body.as_bytes())
                .err()
                .map(|e| e.message().to_string())
                .unwrap_or_default()
        };
        assert!(error("{}").contains("JSON array"));
        assert!(
            error(r#"[{"labels": {"__name__": "a"}, "samples": [[1, "x"]]}]"#)
                .contains("[0].samples[0]: value \"x\"")
        );
        assert!(error(r#"[{"labels": {"__name__": "a"}, "samples": []}, {"labels": {"1bad": "x"}, "samples": [[1, 1]]}]"#).contains("[1].labels"));
        assert!(error(r#"[{"labels": {"job": "a"}, "samples": [[1, 1]]}]"#).contains("__name__"));
        let ok = parse(
            br#"[{"labels": {"__name__": "a"}, "samples": [[1, 1.5], [2, "NaN"], [3, "-Inf"]]}]"#,
        )
        .unwrap();
        assert_eq!(ok[0].samples.len(), 3);
    }
}
