//! A dashboard panel's data as CSV and its chart as SVG, as plain downloads (links on the panel
//! work without JavaScript), with the page's query string: the same time span, zone and
//! variables, run in the caller's scope.

use axum::{
    extract::{Path, RawQuery, State},
    http::header,
    response::{IntoResponse, Response},
};

use crate::api::{ApiError, ApiScope};
use app::{
    dashboards::view::{self, DEFAULT_WIDTH_PX},
    ssr::AppState,
};

async fn prepared(
    state: &AppState,
    scope: &app::ssr::scope::Scope,
    uid: &str,
    query: Option<String>,
) -> Result<view::Prepared, ApiError> {
    scope.require_read()?;
    let query = query.unwrap_or_default();
    // `width`: the page's grid width to draw for (the page's links leave it out).
    let width = app::dashboards::run::Request::parse(&query)
        .get("width")
        .and_then(|w| w.parse().ok())
        .unwrap_or(DEFAULT_WIDTH_PX);
    Ok(view::prepare(state, scope, uid, &query, width, None).await?)
}

fn download(content_type: &str, name: String, body: String) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type.to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
        ],
        body,
    )
        .into_response()
}

pub async fn csv(
    State(state): State<AppState>,
    ApiScope(scope): ApiScope,
    Path((uid, panel)): Path<(String, u32)>,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let prepared = prepared(&state, &scope, &uid, query).await?;
    let body = view::csv(&prepared, &state, panel).await?;
    Ok(download(
        "text/csv; charset=utf-8",
        format!("{uid}-panel-{panel}.csv"),
        body,
    ))
}

pub async fn svg(
    State(state): State<AppState>,
    ApiScope(scope): ApiScope,
    Path((uid, panel)): Path<(String, u32)>,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let prepared = prepared(&state, &scope, &uid, query).await?;
    let body = view::chart_svg(&prepared, &state, panel).await?;
    Ok(download(
        "image/svg+xml",
        format!("{uid}-panel-{panel}.svg"),
        body,
    ))
}
