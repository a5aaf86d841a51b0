//! `/api/v1`: every route is listed in `routes()`, which builds the router and is what the
//! isolation matrix test walks, so no route can be added without a row in the matrix.

mod audit;
mod auth;
mod dashboards;
pub mod prometheus;
mod scrape_jobs;
mod tenants;

use axum::{
    extract::DefaultBodyLimit,
    routing::{delete, get, post, put, MethodRouter},
    Router,
};

use crate::ingest;
use app::ssr::AppState;

/// The largest dashboard JSON an import takes (Node Exporter Full is about 500 KB).
pub const IMPORT_MAX_BYTES: usize = 16 * 1024 * 1024;

pub fn routes() -> Vec<(&'static str, &'static str, MethodRouter<AppState>)> {
    vec![
        ("POST", "/api/v1/auth/token", post(auth::issue_token)),
        ("GET", "/api/v1/audit/verify", get(audit::verify)),
        ("GET", "/api/v1/audit/events", get(audit::list_events)),
        ("GET", "/api/v1/audit/events/{id}", get(audit::get_event)),
        ("GET", "/api/v1/dashboards", get(dashboards::list)),
        ("GET", "/api/v1/dashboards/{uid}", get(dashboards::get)),
        (
            "POST",
            "/api/v1/dashboards/import",
            post(dashboards::import).layer(DefaultBodyLimit::max(IMPORT_MAX_BYTES)),
        ),
        ("GET", "/api/v1/tenants", get(tenants::list_tenants)),
        ("GET", "/api/v1/tenants/{id}", get(tenants::get_tenant)),
        ("GET", "/api/v1/scrape-jobs", get(scrape_jobs::list_jobs)),
        ("POST", "/api/v1/scrape-jobs", post(scrape_jobs::create_job)),
        ("GET", "/api/v1/scrape-jobs/{id}", get(scrape_jobs::get_job)),
        (
            "PUT",
            "/api/v1/scrape-jobs/{id}",
            put(scrape_jobs::update_job),
        ),
        (
            "DELETE",
            "/api/v1/scrape-jobs/{id}",
            delete(scrape_jobs::delete_job),
        ),
        ("GET", "/api/v1/targets", get(scrape_jobs::targets)),
        ("GET", "/api/v1/query", get(prometheus::query::instant)),
        ("POST", "/api/v1/query", post(prometheus::query::instant)),
        ("GET", "/api/v1/query_range", get(prometheus::query::range)),
        (
            "POST",
            "/api/v1/query_range",
            post(prometheus::query::range),
        ),
        (
            "GET",
            "/api/v1/format_query",
            get(prometheus::query::format_query),
        ),
        (
            "POST",
            "/api/v1/format_query",
            post(prometheus::query::format_query),
        ),
        ("GET", "/api/v1/series", get(prometheus::series::series)),
        ("POST", "/api/v1/series", post(prometheus::series::series)),
        (
            "GET",
            "/api/v1/labels",
            get(prometheus::series::label_names),
        ),
        (
            "POST",
            "/api/v1/labels",
            post(prometheus::series::label_names),
        ),
        (
            "GET",
            "/api/v1/label/{name}/values",
            get(prometheus::series::label_values),
        ),
        ("GET", "/api/v1/metadata", get(prometheus::series::metadata)),
        ("GET", "/api/v1/rules", get(prometheus::rules::list)),
        (
            "POST",
            "/api/v1/rules",
            post(prometheus::rules::import).layer(DefaultBodyLimit::max(IMPORT_MAX_BYTES)),
        ),
        ("GET", "/api/v1/alerts", get(prometheus::rules::alerts)),
        (
            "GET",
            "/api/v1/status/buildinfo",
            get(prometheus::status::buildinfo),
        ),
        (
            "POST",
            "/api/v1/write",
            post(ingest::remote_write::receive)
                .layer(DefaultBodyLimit::max(ingest::MAX_BODY_BYTES)),
        ),
        (
            "POST",
            "/api/v1/push",
            post(ingest::push::receive).layer(DefaultBodyLimit::max(ingest::MAX_BODY_BYTES)),
        ),
    ]
}

pub fn router() -> Router<AppState> {
    routes()
        .into_iter()
        .fold(Router::new(), |router, (_, path, handler)| {
            router.route(path, handler)
        })
}
