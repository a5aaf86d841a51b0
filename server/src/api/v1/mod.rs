//! `/api/v1`: every route is listed in `routes()`, which builds the router and is what the
//! isolation matrix test walks, so no route can be added without a row in the matrix.

mod audit;
mod auth;
mod query;
mod scrape_jobs;
mod tenants;

use axum::{
    extract::DefaultBodyLimit,
    routing::{delete, get, post, put, MethodRouter},
    Router,
};

use crate::ingest;
use app::ssr::AppState;

pub fn routes() -> Vec<(&'static str, &'static str, MethodRouter<AppState>)> {
    vec![
        ("POST", "/api/v1/auth/token", post(auth::issue_token)),
        ("GET", "/api/v1/audit/verify", get(audit::verify)),
        ("GET", "/api/v1/audit/events", get(audit::list_events)),
        ("GET", "/api/v1/audit/events/{id}", get(audit::get_event)),
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
        ("GET", "/api/v1/query", get(query::instant)),
        ("POST", "/api/v1/query", post(query::instant)),
        ("GET", "/api/v1/query_range", get(query::range)),
        ("POST", "/api/v1/query_range", post(query::range)),
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
