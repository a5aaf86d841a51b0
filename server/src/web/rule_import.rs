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
    error::AppError,
    ssr::{scope::Scope, AppState},
};

const PAGE: &str = "/alerting/import";

pub async fn upload(
    State(state): State<AppState>,
    session: Session,
    request: Request,
) -> Result<Response, ApiError> {
    let allowed = |scope: &Scope| scope.tenant_to_edit(None).map(drop);
    let opened = upload::open(&state, &session, request, PAGE, "rule import", allowed);
    let (scope, form) = match opened.await? {
        upload::Opened::Form(scope, form) => (scope, form),
        upload::Opened::Back(response) => return Ok(response),
    };
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
