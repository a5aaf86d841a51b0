//! Health endpoints with the semantics Kubernetes probes expect: `live` never touches a
//! dependency, `ready` answers 503 while a critical dependency is down.

use axum::{extract::State, http::StatusCode, response::IntoResponse, routing::get, Json, Router};
use serde_json::json;

use app::{
    health::{checks, HealthReport, HealthStatus},
    ssr::AppState,
};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/health", get(overall))
        .route("/health/live", get(live))
        .route("/health/ready", get(ready))
        .route("/health/detailed", get(detailed))
}

fn status_code(report: &HealthReport) -> StatusCode {
    match report.status {
        HealthStatus::Unhealthy => StatusCode::SERVICE_UNAVAILABLE,
        HealthStatus::Healthy | HealthStatus::Degraded => StatusCode::OK,
    }
}

async fn overall(State(state): State<AppState>) -> impl IntoResponse {
    let report = checks::run_all(&state).await;
    (
        status_code(&report),
        Json(json!({ "status": report.status })),
    )
}

async fn live() -> impl IntoResponse {
    Json(json!({ "status": "alive" }))
}

async fn ready(State(state): State<AppState>) -> impl IntoResponse {
    let report = checks::run_critical(&state).await;
    let failing: Vec<_> = report
        .checks
        .iter()
        .filter(|c| c.status == HealthStatus::Unhealthy)
        .map(|c| &c.name)
        .collect();
    let body = match report.status {
        HealthStatus::Unhealthy => json!({ "status": "not_ready", "failing": failing }),
        _ => json!({ "status": "ready" }),
    };
    (status_code(&report), Json(body))
}

async fn detailed(State(state): State<AppState>) -> impl IntoResponse {
    let report = checks::run_all(&state).await;
    (status_code(&report), Json(report))
}
