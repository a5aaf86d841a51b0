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
    dashboards::{import, Audience, ImportResult, IMPORT_RESULT},
    error::AppError,
    ssr::AppState,
};

const PAGE: &str = "/dashboards/import";

pub async fn upload(
    State(state): State<AppState>,
    session: Session,
    request: Request,
) -> Result<Response, ApiError> {
    let allowed = |scope: &_| import::destination(scope, None).map(drop);
    let opened = upload::open(&state, &session, request, PAGE, "dashboard import", allowed);
    let (scope, form) = match opened.await? {
        upload::Opened::Form(scope, form) => (scope, form),
        upload::Opened::Back(response) => return Ok(response),
    };
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
