//! Running an Explore query on the server: the tenant and time span from the form, the query
//! wherever the tenant's data lives (crate::query), the answer as table rows or a chart.

use std::time::Instant;

use promql::{format_float, Value};
use uuid::Uuid;

use super::{chart, ExploreAnswer, ExploreRequest, Explored, LegendEntry, Row, MAX_ROWS};
use crate::{
    error::AppError,
    query::{self, show_labels, QueryError, MAX_POINTS},
    ssr::{
        scope::{Scope, TenantChoice},
        AppState,
    },
};

/// Points a chart aims for when the step is left empty (Prometheus' UI uses the same width).
const AUTO_POINTS: i64 = 250;

/// The form's tenant: the user's own, or (admins, managers) the one they chose, if they see it.
pub fn tenant(scope: &Scope, request: &ExploreRequest) -> Result<Uuid, AppError> {
    scope
        .chosen_tenant(request.tenant.as_deref())
        .map_err(|refused| match refused {
            TenantChoice::Missing => AppError::invalid("tenant", "choose a tenant"),
            TenantChoice::NotAnId | TenantChoice::NotVisible => AppError::NotFound,
        })
}

/// Milliseconds of a duration field: `15s`, `1h30m`, or seconds (`30`), as the API's `step`.
fn duration(field: &str, text: &str) -> Result<i64, AppError> {
    let ms = promql::parse_seconds_or_duration(text)
        .map_err(|_| AppError::invalid(field, "must be a duration like 30s, 5m, 1h or 2d"))?;
    if ms <= 0 {
        return Err(AppError::invalid(field, "must be more than zero"));
    }
    Ok(ms)
}

/// A form field's text, unless it is empty or blank.
fn filled(field: &Option<String>) -> Option<&str> {
    field
        .as_deref()
        .map(str::trim)
        .filter(|text| !text.is_empty())
}

/// `(start, end, step)` in milliseconds; a table is one instant query at `end`.
fn span(request: &ExploreRequest, now: i64) -> Result<(i64, i64, i64), AppError> {
    let end = match crate::audit::parse_time("end", request.end.as_deref().unwrap_or_default())? {
        Some(end) => end.timestamp_millis(),
        None => now,
    };
    if !request.graph() {
        return Ok((end, end, 0));
    }
    let range = duration("range", filled(&request.range).unwrap_or("1h"))?;
    let step = match filled(&request.step) {
        Some(text) => duration("step", text)?,
        None => (range / AUTO_POINTS / 1000).max(1) * 1000,
    };
    if range / step > MAX_POINTS {
        return Err(AppError::invalid(
            "step",
            format!("gives more than {MAX_POINTS} points a series; choose a larger step"),
        ));
    }
    Ok((end - range, end, step))
}

pub async fn explore(
    state: &AppState,
    tenant: Uuid,
    request: &ExploreRequest,
) -> Result<Explored, AppError> {
    let expr = request.expr.as_deref().unwrap_or_default();
    if expr.trim().is_empty() {
        return Err(AppError::invalid("expr", "enter an expression"));
    }
    // Checked here first so that a syntax error is shown at its position, whatever the source.
    if let Err(error) = promql::syntax::parse(expr) {
        return Ok(Explored::ParseError {
            message: error.to_string(),
            offset: error.offset,
            line: error.line,
            column: error.column,
        });
    }
    let (start, end, step) = span(request, chrono::Utc::now().timestamp_millis())?;
    let began = Instant::now();
    let value = match query::evaluate(state, tenant, expr, (start, end, step)).await {
        Ok(value) => value,
        Err(QueryError::Store(message)) => {
            tracing::error!(error = %message, "Explore could not read the store.");
            return Err(AppError::Internal);
        }
        Err(error) => {
            return Ok(Explored::Failed {
                message: error.to_string(),
            })
        }
    };
    let elapsed_ms = began.elapsed().as_secs_f64() * 1000.0;
    let mut answer = ExploreAnswer {
        kind: value.kind().to_string(),
        start,
        end,
        step,
        elapsed_ms,
        ..ExploreAnswer::default()
    };
    match value {
        Value::Scalar(v) => answer.rows.push(row(String::new(), v, end)),
        Value::String(text) => answer.rows.push(Row {
            series: String::new(),
            value: text,
            time: time(end),
        }),
        Value::Vector(samples) => {
            answer.total = samples.len();
            answer.rows = samples
                .into_iter()
                .take(MAX_ROWS)
                .map(|s| row(show_labels(&s.labels), s.v, s.t))
                .collect();
        }
        Value::Matrix(series) if request.graph() => {
            answer.total = series.len();
            let drawn = &series[..series.len().min(chart::MAX_SERIES)];
            answer.chart = Some(chart::render(drawn, (start, end, step)));
            answer.legend = drawn
                .iter()
                .enumerate()
                .map(|(i, s)| LegendEntry {
                    color: chart::color(i),
                    series: show_labels(&s.labels),
                })
                .collect();
        }
        // A range vector in the table: each series with its samples.
        Value::Matrix(series) => {
            answer.total = series.len();
            answer.rows = series
                .into_iter()
                .take(MAX_ROWS)
                .map(|s| Row {
                    series: show_labels(&s.labels),
                    value: s
                        .points
                        .iter()
                        .map(|(t, v)| format!("{} @{}", format_float(*v), *t as f64 / 1000.0))
                        .collect::<Vec<_>>()
                        .join("\n"),
                    time: String::new(),
                })
                .collect();
        }
    }
    Ok(Explored::Answer(answer))
}

fn row(series: String, v: f64, t: i64) -> Row {
    Row {
        series,
        value: format_float(v),
        time: time(t),
    }
}

fn time(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| t.format("%Y-%m-%d %H:%M:%S%.3f UTC").to_string())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use promql::Labels;

    fn request(range: &str, step: &str) -> ExploreRequest {
        ExploreRequest {
            mode: Some("graph".into()),
            range: Some(range.into()),
            step: Some(step.into()),
            end: Some("2026-11-21T12:00".into()),
            ..ExploreRequest::default()
        }
    }

    #[test]
    fn the_span_comes_from_range_end_and_step() {
        let end = 1_795_262_400_000; // 2026-11-21T12:00Z
        assert_eq!(
            span(&request("1h", ""), 0).unwrap(),
            (end - 3_600_000, end, 14_000)
        );
        assert_eq!(
            span(&request(" ", ""), 0).unwrap(),
            (end - 3_600_000, end, 14_000)
        );
        assert_eq!(
            span(&request("1h", "30"), 0).unwrap(),
            (end - 3_600_000, end, 30_000)
        );
        let table = ExploreRequest {
            mode: Some("table".into()),
            end: Some(String::new()),
            ..ExploreRequest::default()
        };
        assert_eq!(span(&table, 42).unwrap(), (42, 42, 0));
        for (range, step, field) in [
            ("1h", "0s", "step"),
            ("soon", "", "range"),
            ("30d", "1s", "step"),
        ] {
            let error = span(&request(range, step), 0).unwrap_err();
            assert!(error.for_field(field).is_some(), "{range} {step}: {error}");
        }
    }

    #[test]
    fn labels_show_as_prometheus_writes_them() {
        let labels = Labels::new(vec![
            ("__name__".into(), "up".into()),
            ("job".into(), "a\"b".into()),
        ]);
        assert_eq!(show_labels(&labels), r#"up{job="a\"b"}"#);
        assert_eq!(show_labels(&Labels::new(vec![])), "{}");
    }
}
