//! Server functions of the status page.

use leptos::prelude::*;

use super::HealthReport;

#[server(prefix = "/rpc", endpoint = "health_report")]
pub async fn get_health_report() -> Result<HealthReport, ServerFnError> {
    let state = expect_context::<crate::ssr::AppState>();
    Ok(super::checks::run_all(&state).await)
}
