//! Scrape jobs over REST (`/api/v1/scrape-jobs`) and the health of their targets in Prometheus'
//! `/api/v1/targets` shape. Reads need `read`; changes an admin, a tenant editor or a token with
//! `write`, and only ever in the caller's own tenant unless an admin names one.

use axum::{
    body::Bytes,
    extract::{Path, State},
    http::StatusCode,
    Json,
};
use serde_json::{json, Value};
use uuid::Uuid;

use crate::api::{ApiError, ApiScope};
use app::{
    error::AppError,
    scrape::{repo, ScrapeJob, ScrapeJobInput},
    ssr::{scope::Scope, AppState},
};

pub async fn list_jobs(
    State(state): State<AppState>,
    ApiScope(scope): ApiScope,
) -> Result<Json<Vec<ScrapeJob>>, ApiError> {
    Ok(Json(repo::list_jobs(&scope, &state.pool).await?))
}

pub async fn get_job(
    State(state): State<AppState>,
    ApiScope(scope): ApiScope,
    Path(id): Path<Uuid>,
) -> Result<Json<ScrapeJob>, ApiError> {
    Ok(Json(repo::get_job(&scope, &state.pool, id).await?))
}

/// The body as a job, with serde's message (line and column) when it is not one.
fn input(body: &Bytes) -> Result<ScrapeJobInput, ApiError> {
    serde_json::from_slice(body)
        .map_err(|e| ApiError(AppError::Request(format!("invalid scrape job: {e}"))))
}

/// Who may not change any tenant's configuration hears so before the body is read.
fn may_edit_some_tenant(scope: &Scope) -> Result<(), ApiError> {
    match scope.home_tenant {
        Some(home) => scope.require_editor(home)?,
        None => {
            let _ = scope.require_admin()?;
        }
    }
    Ok(())
}

pub async fn create_job(
    State(state): State<AppState>,
    ApiScope(scope): ApiScope,
    body: Bytes,
) -> Result<(StatusCode, Json<ScrapeJob>), ApiError> {
    may_edit_some_tenant(&scope)?;
    let job = repo::create_job(&scope, &state.pool, input(&body)?).await?;
    state.scrape.jobs_changed();
    Ok((StatusCode::CREATED, Json(job)))
}

pub async fn update_job(
    State(state): State<AppState>,
    ApiScope(scope): ApiScope,
    Path(id): Path<Uuid>,
    body: Bytes,
) -> Result<Json<ScrapeJob>, ApiError> {
    // 404 for a job the caller cannot see and 403 for one it may not change, before the body.
    scope.require_editor(repo::job_tenant(&scope, &state.pool, id).await?)?;
    let job = repo::update_job(&scope, &state.pool, id, input(&body)?).await?;
    state.scrape.jobs_changed();
    Ok(Json(job))
}

pub async fn delete_job(
    State(state): State<AppState>,
    ApiScope(scope): ApiScope,
    Path(id): Path<Uuid>,
) -> Result<StatusCode, ApiError> {
    repo::delete_job(&scope, &state.pool, id).await?;
    state.scrape.jobs_changed();
    Ok(StatusCode::NO_CONTENT)
}

/// Prometheus' `GET /api/v1/targets`: the caller's tenants' targets and their last scrape.
pub async fn targets(
    State(state): State<AppState>,
    ApiScope(scope): ApiScope,
) -> Result<Json<Value>, ApiError> {
    let jobs = repo::list_jobs(&scope, &state.pool).await?;
    let active: Vec<Value> = jobs
        .iter()
        .filter(|job| job.enabled)
        .flat_map(|job| {
            state.scrape.targets_of(job).into_iter().map(move |t| {
                let mut labels = json!({ "job": job.name, "instance": t.target });
                for (name, value) in &job.labels {
                    labels[name] = json!(value);
                }
                json!({
                    "discoveredLabels": {
                        "__address__": t.target,
                        "__metrics_path__": job.metrics_path,
                        "__scheme__": job.scheme,
                        "job": job.name,
                    },
                    "labels": labels,
                    "scrapePool": job.name,
                    "scrapeUrl": t.url,
                    "globalUrl": t.url,
                    "lastError": t.last_error,
                    "lastScrape": t.last_scrape.map(|at| at.to_rfc3339()).unwrap_or_else(|| "0001-01-01T00:00:00Z".into()),
                    "lastScrapeDuration": t.last_duration_seconds,
                    "health": t.health,
                    "scrapeInterval": format!("{}s", job.interval_seconds),
                    "scrapeTimeout": format!("{}s", job.timeout_seconds),
                })
            })
        })
        .collect();
    Ok(Json(json!({
        "status": "success",
        "data": { "activeTargets": active, "droppedTargets": [] }
    })))
}
