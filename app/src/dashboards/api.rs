//! Server functions of the dashboard pages: the list, one dashboard drawn for the page, the same
//! drawn as HTML for the island to swap in, and the panels' values for the hover crosshair.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use super::{DashboardSummary, DashboardView};
use crate::error::AppError;

/// A time panel's series at their query step, for the hover values.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct HoverPanel {
    pub id: u32,
    pub step: i64,
    pub series: Vec<HoverSeries>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct HoverSeries {
    pub name: String,
    pub color: String,
    /// (ms, the value as the panel shows it: unit, decimals, mappings); points without a
    /// finite value are left out. Formatted on the server, so the browser needs no unit code.
    pub points: Vec<(i64, String)>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct HoverData {
    pub panels: Vec<HoverPanel>,
    /// The dashboard zone's UTC offset at the start and each change after it: (ms, seconds).
    pub offsets: Vec<(i64, i32)>,
}

#[server(prefix = "/rpc", endpoint = "list_dashboards")]
pub async fn list_dashboards(
    #[server(default)] search: String,
    #[server(default)] tag: String,
) -> Result<Vec<DashboardSummary>, AppError> {
    use crate::ssr::server_fns::{app_state, current_scope, finish};
    let result = async {
        let (scope, state) = (current_scope().await?, app_state()?);
        let tag = Some(tag.as_str()).filter(|t| !t.trim().is_empty());
        let list = super::repo::list(&scope, &state.pool, &search, tag).await?;
        Ok(list.iter().map(super::repo::summary).collect())
    }
    .await;
    finish("list_dashboards", result)
}

/// The page's grid width and the browser's zone, as the island last reported them (cookies).
#[cfg(feature = "ssr")]
pub fn viewport() -> (Option<u32>, Option<viz::time::Tz>) {
    let cookies = use_context::<axum::http::request::Parts>()
        .and_then(|parts| {
            parts
                .headers
                .get(axum::http::header::COOKIE)
                .and_then(|c| c.to_str().ok())
                .map(str::to_string)
        })
        .unwrap_or_default();
    let cookie = |name: &str| {
        cookies.split(';').find_map(|c| {
            let (k, v) = c.trim().split_once('=')?;
            (k == name).then(|| crate::url::decode(v))
        })
    };
    let width = cookie("meridian_vw").and_then(|w| w.parse().ok());
    let zone = cookie("meridian_tz").and_then(|z| z.parse().ok());
    (width, zone)
}

#[cfg(feature = "ssr")]
async fn prepared(
    uid: &str,
    query: &str,
    width: Option<u32>,
) -> Result<(super::view::Prepared, crate::ssr::AppState), AppError> {
    use crate::ssr::server_fns::{app_state, current_scope};
    let (scope, state) = (current_scope().await?, app_state()?);
    let (cookie_width, zone) = viewport();
    let width = width
        .or(cookie_width)
        .unwrap_or(super::view::DEFAULT_WIDTH_PX);
    let prepared = super::view::prepare(&state, &scope, uid, query, width, zone).await?;
    Ok((prepared, state))
}

/// One dashboard drawn for its page; `query` is the page's query string.
#[server(prefix = "/rpc", endpoint = "load_dashboard")]
pub async fn load_dashboard(
    uid: String,
    #[server(default)] query: String,
    #[server(default)] width: Option<u32>,
) -> Result<DashboardView, AppError> {
    use crate::ssr::server_fns::finish;
    let result = async {
        let (prepared, state) = prepared(&uid, &query, width).await?;
        Ok(prepared.view(&state).await)
    }
    .await;
    finish("load_dashboard", result)
}

/// The dashboard's page body as HTML, as the island swaps it in after a change of time range,
/// zone, refresh or variables (and on each auto-refresh).
#[server(prefix = "/rpc", endpoint = "render_dashboard")]
pub async fn render_dashboard(
    uid: String,
    #[server(default)] query: String,
    #[server(default)] width: Option<u32>,
) -> Result<String, AppError> {
    use crate::ssr::server_fns::finish;
    use leptos::tachys::view::RenderHtml;
    let result = async {
        let (prepared, state) = prepared(&uid, &query, width).await?;
        let view = prepared.view(&state).await;
        Ok(leptos::view! { <super::page::DashboardBody view/> }.to_html())
    }
    .await;
    finish("render_dashboard", result)
}

/// The time panels' series, for the values the hover crosshair shows.
#[server(prefix = "/rpc", endpoint = "dashboard_series")]
pub async fn dashboard_series(
    uid: String,
    #[server(default)] query: String,
    #[server(default)] width: Option<u32>,
) -> Result<HoverData, AppError> {
    use crate::ssr::server_fns::finish;
    let result = async {
        let (prepared, state) = prepared(&uid, &query, width).await?;
        Ok(super::view::hover(&prepared, &state).await)
    }
    .await;
    finish("dashboard_series", result)
}

/// The report of the import this session just made through the upload form, once.
#[server(prefix = "/rpc", endpoint = "take_import_result")]
pub async fn take_import_result() -> Result<Option<super::ImportResult>, AppError> {
    use crate::ssr::server_fns::{current_scope, finish, session};
    let result = async {
        current_scope().await?;
        session()
            .await?
            .remove::<super::ImportResult>(super::IMPORT_RESULT)
            .await
            .map_err(|_| AppError::Internal)
    }
    .await;
    finish("take_import_result", result)
}
