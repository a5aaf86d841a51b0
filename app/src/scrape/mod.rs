//! Scrape jobs: per tenant, the /metrics endpoints Meridian pulls (server/src/scrape runs them).
//! Everyone signed in sees their tenants' jobs and the health of every target; admins and tenant
//! editors create, change and delete them here or through `/api/v1/scrape-jobs`.

mod api;
mod job;
#[cfg(feature = "ssr")]
pub mod repo;
#[cfg(feature = "ssr")]
pub mod runtime;

use leptos::prelude::*;
use leptos_meta::Title;

use crate::{
    admin::tenants::list_tenants,
    auth::{use_current_user, Role},
    components::{
        forms::{use_form_error, CsrfField, FieldError, FormError},
        load_error,
    },
    error::AppError,
};
pub use api::*;
pub use job::*;

fn when(at: Option<chrono::DateTime<chrono::Utc>>) -> String {
    at.map(|t| t.format("%H:%M:%S").to_string())
        .unwrap_or_else(|| "never".to_string())
}

#[component]
fn TargetList(targets: Vec<TargetHealth>) -> impl IntoView {
    view! {
        <ul class="targets">
            {targets.into_iter().map(|t| {
                let pill = match t.health.as_str() {
                    "up" => "healthy",
                    "down" => "unhealthy",
                    _ => "degraded",
                };
                let detail = if t.last_error.is_empty() {
                    format!("{} samples in {:.0} ms at {}", t.samples, t.last_duration_seconds * 1000.0, when(t.last_scrape))
                } else {
                    t.last_error.clone()
                };
                view! {
                    <li data-target=t.target.clone()>
                        <span class=format!("pill pill-{pill}")>{t.health.clone()}</span>
                        " "<a href=t.url.clone() rel="noreferrer">{t.url.clone()}</a>
                        <span class="muted small">" — "{detail}</span>
                    </li>
                }
            }).collect_view()}
        </ul>
    }
}

/// Fields shared by the new-job and the edit forms, filled from `job` when editing.
#[component]
fn JobFields(job: Option<ScrapeJob>, error: Signal<Option<AppError>>) -> impl IntoView {
    let job = job.as_ref();
    let text = |f: fn(&ScrapeJob) -> String, default: &str| {
        job.map(f).unwrap_or_else(|| default.to_string())
    };
    let scheme = text(|j| j.scheme.clone(), "http");
    view! {
        <label class="field"><span>"Job name"</span>
            <input name="name" required maxlength="64" placeholder="node" value=text(|j| j.name.clone(), "")/>
            <FieldError error field="name"/></label>
        <label class="field wide"><span>"Targets (host:port, one per line)"</span>
            <textarea name="targets" rows="3" required placeholder="10.0.0.5:9100">{text(|j| j.targets.join("\n"), "")}</textarea>
            <FieldError error field="targets"/></label>
        <label class="field"><span>"Scheme"</span>
            <select name="scheme">
                <option value="http" selected=scheme == "http">"http"</option>
                <option value="https" selected=scheme == "https">"https"</option>
            </select>
            <FieldError error field="scheme"/></label>
        <label class="field"><span>"Metrics path"</span>
            <input name="metrics_path" required value=text(|j| j.metrics_path.clone(), "/metrics")/>
            <FieldError error field="metrics_path"/></label>
        <label class="field"><span>"Interval (s)"</span>
            <input name="interval_seconds" type="number" min="1" max="3600" required value=text(|j| j.interval_seconds.to_string(), "60")/>
            <FieldError error field="interval_seconds"/></label>
        <label class="field"><span>"Timeout (s)"</span>
            <input name="timeout_seconds" type="number" min="1" max="3600" required value=text(|j| j.timeout_seconds.to_string(), "10")/>
            <FieldError error field="timeout_seconds"/></label>
        <label class="field wide"><span>"Extra labels (name=value, one per line)"</span>
            <textarea name="labels" rows="2" placeholder="env=prod">{text(|j| format_labels(&j.labels), "")}</textarea>
            <FieldError error field="labels"/></label>
    }
}

const FIELDS: &[&str] = &[
    "tenant",
    "name",
    "targets",
    "scheme",
    "metrics_path",
    "interval_seconds",
    "timeout_seconds",
    "labels",
];

#[component]
fn JobRow(
    view: JobView,
    update: ServerAction<UpdateScrapeJob>,
    delete: ServerAction<DeleteScrapeJob>,
    update_error: Signal<Option<AppError>>,
) -> impl IntoView {
    let JobView {
        job,
        targets,
        editable,
    } = view;
    let id = job.id.to_string();
    let labels = job
        .labels
        .iter()
        .map(|(n, v)| format!("{n}=\"{v}\""))
        .collect::<Vec<_>>()
        .join(", ");
    let summary = format!(
        "every {} s, timeout {} s",
        job.interval_seconds, job.timeout_seconds
    );
    let (name, tenant_name, builtin, enabled) = (
        job.name.clone(),
        job.tenant_name.clone(),
        job.builtin,
        job.enabled,
    );
    let job_name = name.clone();
    let actions = editable.then(move || {
        let (edit_id, delete_id) = (id.clone(), id);
        view! {
            <details class="edit-job">
                <summary class="button subtle">"Edit"</summary>
                <ActionForm action=update attr:class="form grid">
                    <CsrfField/>
                    <input type="hidden" name="id" value=edit_id/>
                    <JobFields job=Some(job) error=update_error/>
                    <label class="field checkbox"><input type="checkbox" name="enabled" checked=enabled/>" enabled"</label>
                    <div class="actions"><button type="submit" class="button primary">"Save"</button></div>
                </ActionForm>
            </details>
            <ActionForm action=delete attr:class="form inline compact">
                <CsrfField/>
                <input type="hidden" name="id" value=delete_id/>
                <button type="submit" class="button subtle danger">"Delete"</button>
            </ActionForm>
        }
    });
    view! {
        <tr data-job=name>
            <td>{tenant_name}</td>
            <td><strong>{job_name}</strong>
                {builtin.then(|| view! { " "<span class="tag">"built-in"</span> })}
                {(!enabled).then(|| view! { " "<span class="pill pill-degraded">"disabled"</span> })}
                <div class="muted small">{summary}</div>
                <div class="muted small">{labels}</div>
            </td>
            <td><TargetList targets/></td>
            <td>{actions}</td>
        </tr>
    }
}

#[component]
pub fn ScrapeJobsPage() -> impl IntoView {
    let create = ServerAction::<CreateScrapeJob>::new();
    let update = ServerAction::<UpdateScrapeJob>::new();
    let delete = ServerAction::<DeleteScrapeJob>::new();
    let user = use_current_user();
    let data = Resource::new(
        move || {
            (
                create.version().get(),
                update.version().get(),
                delete.version().get(),
            )
        },
        |_| async move { Ok::<_, AppError>((list_scrape_jobs().await?, list_tenants().await?)) },
    );
    let create_error = use_form_error("create_scrape_job", create);
    let update_error = use_form_error("update_scrape_job", update);
    let delete_error = use_form_error("delete_scrape_job", delete);

    view! {
        <Title text="Scrape jobs"/>
        <div class="page-header">
            <div>
                <h1>"Scrape jobs"</h1>
                <p class="muted">"Meridian pulls each target’s metrics at the job’s interval, as Prometheus does, and stores them with job and instance labels; up, scrape_duration_seconds and scrape_samples_scraped tell how each scrape went."</p>
            </div>
        </div>
        <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                let ((jobs, tenants), role) = match (data.await, user.await) {
                    (Ok(data), Ok(Some(user))) => (data, user.role),
                    (Err(error), _) | (_, Err(error)) => return load_error(error),
                    (_, Ok(None)) => return load_error(AppError::Unauthorized),
                };
                let can_create = matches!(role, Role::Admin | Role::TenantEditor);
                view! {
                    {can_create.then(|| view! {
                        <section class="card">
                            <h2>"New scrape job"</h2>
                            <ActionForm action=create attr:class="form grid" attr:id="create-scrape-job">
                                <CsrfField/>
                                {(role == Role::Admin).then(|| view! {
                                    <label class="field"><span>"Tenant"</span>
                                        <select name="tenant" required>
                                            <option value="">"— choose —"</option>
                                            {tenants.iter().filter(|t| t.active).map(|t| view! { <option value=t.id.to_string()>{t.name.clone()}</option> }).collect_view()}
                                        </select>
                                        <FieldError error=create_error field="tenant"/></label>
                                })}
                                <JobFields job=None error=create_error/>
                                <div class="actions"><button type="submit" class="button primary">"Create job"</button></div>
                            </ActionForm>
                            <FormError error=create_error fields=FIELDS/>
                        </section>
                    })}
                    <FormError error=update_error fields=FIELDS/>
                    <FormError error=delete_error fields=&[]/>
                    {if jobs.is_empty() {
                        view! { <p class="muted" id="no-scrape-jobs">"No scrape jobs yet."</p> }.into_any()
                    } else {
                        view! {
                            <table class="table" id="scrape-jobs">
                                <thead><tr><th>"Tenant"</th><th>"Job"</th><th>"Targets"</th><th></th></tr></thead>
                                <tbody>
                                    {jobs.into_iter().map(|view| view! { <JobRow view update delete update_error/> }).collect_view()}
                                </tbody>
                            </table>
                        }.into_any()
                    }}
                }.into_any()
            })}
        </Transition>
    }
}
