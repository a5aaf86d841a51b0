//! Server functions of the status page.

use leptos::prelude::*;

use super::HealthReport;

#[server(prefix = "/rpc", endpoint = "health_report")]
pub async fn get_health_report() -> Result<HealthReport, ServerFnError> {
    let state = crate::ssr::server_fns::app_state()
        .map_err(|_| ServerFnError::new("no application state"))?;
    Ok(super::checks::run_all(&state).await)
}
