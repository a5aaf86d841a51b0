//! `POST /dashboards/upload`: the import page's form, a multipart upload (a Grafana JSON file or
//! pasted text), which works without JavaScript. The result waits in the session for the page it
//! redirects to, which shows the report; an error goes back in the URL, beside the form.

use axum::{
    extract::{Request, State},
    response::Response,
};
use tower_sessions::Session;

use super::upload;
use crate::api::ApiError;
use app::{
    auth::ssr::scope_from_session,
    dashboards::{import, Audience, ImportResult, IMPORT_RESULT},
    error::AppError,
    ssr::{request::RequestMeta, AppState},
};

const PAGE: &str = "/dashboards/import";

pub async fn upload(
    State(state): State<AppState>,
    session: Session,
    request: Request,
) -> Result<Response, ApiError> {
    let (parts, body) = request.into_parts();
    let scope = scope_from_session(&state, &session, RequestMeta::from_parts(&parts)).await?;
    // Whoever may not import at all learns nothing about the body.
    import::destination(&scope, None).or_else(|e| match e {
        AppError::Invalid { .. } => Ok(None),
        other => Err(other),
    })?;
    let form = match upload::fields(Request::from_parts(parts, body), &state).await {
        Ok(form) => form,
        Err(error) => return Ok(upload::back_with(PAGE, &error)),
    };
    upload::require_csrf(&session, &form, "dashboard import").await?;
    let result = async {
        let tenant = match form.get("tenant").trim() {
            "" => None,
            text => Some(
                text.parse()
                    .map_err(|_| AppError::invalid("tenant", "choose a tenant"))?,
            ),
        };
        let json = import::parse(form.file_or("file", "json"))?;
        let target = import::Target {
            tenant,
            audience: Audience::parse(form.get("audience")).unwrap_or(Audience::Managers),
            overwrite: !form.get("overwrite").is_empty(),
            base_version: None,
            message: "imported from the upload form".into(),
            allow_ui_updates: state.dashboard_files.allow_ui_updates,
        };
        let imported = import::import(&scope, &state.pool, &json, target).await?;
        session
            .insert(IMPORT_RESULT, ImportResult::from(&imported))
            .await
            .map_err(|_| AppError::Internal)
    }
    .await;
    upload::finish(PAGE, result)
}
