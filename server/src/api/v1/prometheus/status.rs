//! `/api/v1/status/buildinfo`: what Grafana reads to learn which server it talks to.

use axum::response::Response;
use serde_json::json;

use super::success;
use crate::api::{ApiError, ApiScope};

pub async fn buildinfo(ApiScope(scope): ApiScope) -> Result<Response, ApiError> {
    scope.require_read()?;
    Ok(success(json!({
        "application": "Meridian",
        "version": env!("CARGO_PKG_VERSION"),
        "revision": option_env!("MERIDIAN_REVISION").unwrap_or("unknown"),
        "branch": "",
        "buildUser": "",
        "buildDate": "",
        "goVersion": "",
    })))
}
