//! Server functions of the scrape jobs page.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{ScrapeJob, TargetHealth};
use crate::error::AppError;

/// A job with the health of its targets, and whether the caller may change it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct JobView {
    pub job: ScrapeJob,
    pub targets: Vec<TargetHealth>,
    pub editable: bool,
}

#[server(prefix = "/rpc", endpoint = "list_scrape_jobs")]
pub async fn list_scrape_jobs() -> Result<Vec<JobView>, AppError> {
    use crate::ssr::server_fns::{app_state, current_scope, finish};
    let result = async {
        let (scope, state) = (current_scope().await?, app_state()?);
        let jobs = super::repo::list_jobs(&scope, &state.pool).await?;
        Ok(jobs
            .into_iter()
            .map(|job| JobView {
                targets: state.scrape.targets_of(&job),
                editable: scope.require_editor(job.tenant_id).is_ok(),
                job,
            })
            .collect())
    }
    .await;
    finish("list_scrape_jobs", result)
}

/// The form's fields as a job input: targets and labels are text areas, numbers are text.
#[cfg(feature = "ssr")]
#[allow(clippy::too_many_arguments)]
fn form_input(
    tenant: &str,
    name: String,
    targets: &str,
    scheme: String,
    metrics_path: String,
    interval_seconds: &str,
    timeout_seconds: &str,
    labels: &str,
    enabled: bool,
) -> Result<super::ScrapeJobInput, AppError> {
    let seconds = |field: &str, text: &str| {
        text.trim()
            .parse::<i32>()
            .map_err(|_| AppError::invalid(field, "must be a whole number of seconds"))
    };
    let tenant = match tenant.trim() {
        "" => None,
        id => Some(
            id.parse::<Uuid>()
                .map_err(|_| AppError::invalid("tenant", "choose a tenant"))?,
        ),
    };
    Ok(super::ScrapeJobInput {
        tenant,
        name,
        targets: super::parse_targets(targets),
        scheme,
        metrics_path,
        interval_seconds: seconds("interval_seconds", interval_seconds)?,
        timeout_seconds: seconds("timeout_seconds", timeout_seconds)?,
        labels: super::parse_labels(labels)?,
        enabled,
    })
}

#[server(prefix = "/rpc", endpoint = "create_scrape_job")]
#[allow(clippy::too_many_arguments)]
pub async fn create_scrape_job(
    csrf: String,
    #[server(default)] tenant: String,
    name: String,
    targets: String,
    scheme: String,
    metrics_path: String,
    interval_seconds: String,
    timeout_seconds: String,
    labels: String,
) -> Result<ScrapeJob, AppError> {
    use crate::ssr::server_fns::{app_state, finish, mutation_scope};
    let result = async {
        let scope = mutation_scope(&csrf).await?;
        let input = form_input(
            &tenant,
            name,
            &targets,
            scheme,
            metrics_path,
            &interval_seconds,
            &timeout_seconds,
            &labels,
            true,
        )?;
        let state = app_state()?;
        let job = super::repo::create_job(&scope, &state.pool, input).await?;
        state.scrape.jobs_changed();
        Ok(job)
    }
    .await;
    finish("create_scrape_job", result)
}

#[server(prefix = "/rpc", endpoint = "update_scrape_job")]
#[allow(clippy::too_many_arguments)]
pub async fn update_scrape_job(
    csrf: String,
    id: Uuid,
    name: String,
    targets: String,
    scheme: String,
    metrics_path: String,
    interval_seconds: String,
    timeout_seconds: String,
    labels: String,
    enabled: Option<String>,
) -> Result<ScrapeJob, AppError> {
    use crate::ssr::server_fns::{app_state, finish, mutation_scope};
    let result = async {
        let scope = mutation_scope(&csrf).await?;
        let input = form_input(
            "",
            name,
            &targets,
            scheme,
            metrics_path,
            &interval_seconds,
            &timeout_seconds,
            &labels,
            enabled.is_some(),
        )?;
        let state = app_state()?;
        let job = super::repo::update_job(&scope, &state.pool, id, input).await?;
        state.scrape.jobs_changed();
        Ok(job)
    }
    .await;
    finish("update_scrape_job", result)
}

#[server(prefix = "/rpc", endpoint = "delete_scrape_job")]
pub async fn delete_scrape_job(csrf: String, id: Uuid) -> Result<ScrapeJob, AppError> {
    use crate::ssr::server_fns::{app_state, finish, mutation_scope};
    let result = async {
        let scope = mutation_scope(&csrf).await?;
        let state = app_state()?;
        let job = super::repo::delete_job(&scope, &state.pool, id).await?;
        state.scrape.jobs_changed();
        Ok(job)
    }
    .await;
    finish("delete_scrape_job", result)
}
