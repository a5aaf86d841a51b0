//! `POST /alerting/upload`: the rule import page's form, a multipart upload (a Prometheus rule
//! file or pasted YAML), which works without JavaScript. It imports as `POST /api/v1/rules`
//! does; the report waits in the session for the page it redirects to.

use axum::{
    extract::{Request, State},
    response::Response,
};
use tower_sessions::Session;

use super::upload;
use crate::api::ApiError;
use app::{
    admin::tenants::repo::{get_tenant, tenant_filter},
    alerting::{repo, RULE_IMPORT_RESULT},
    auth::ssr::scope_from_session,
    error::AppError,
    ssr::{request::RequestMeta, AppState},
};

const PAGE: &str = "/alerting/import";

pub async fn upload(
    State(state): State<AppState>,
    session: Session,
    request: Request,
) -> Result<Response, ApiError> {
    let (parts, body) = request.into_parts();
    let scope = scope_from_session(&state, &session, RequestMeta::from_parts(&parts)).await?;
    // Whoever may edit no tenant's rules learns nothing about the body; an admin still has to
    // name one.
    scope.tenant_to_edit(None).or_else(|e| match e {
        AppError::Invalid { .. } => Ok(uuid::Uuid::nil()),
        other => Err(other),
    })?;
    let form = match upload::fields(Request::from_parts(parts, body), &state).await {
        Ok(form) => form,
        Err(error) => return Ok(upload::back_with(PAGE, &error)),
    };
    upload::require_csrf(&session, &form, "rule import").await?;
    let result = async {
        let named = tenant_filter(&scope, &state.pool, Some(form.get("tenant"))).await?;
        let tenant = scope.tenant_to_edit(named)?;
        let text = form.file_or("file", "yaml");
        if text.trim().is_empty() {
            return Err(AppError::invalid("file", "choose a rule file or paste one"));
        }
        let message = match form.get("message").trim() {
            "" => "imported from the upload form",
            message => message,
        };
        let imported = repo::import(&scope, &state.pool, tenant, text, message).await?;
        let name = get_tenant(&scope, &state.pool, tenant).await?.name;
        session
            .insert(RULE_IMPORT_RESULT, (name, imported))
            .await
            .map_err(|_| AppError::Internal)
    }
    .await;
    upload::finish(PAGE, result)
}
