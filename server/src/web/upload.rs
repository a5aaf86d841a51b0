//! What the upload forms (`/dashboards/upload`, `/alerting/upload`) share: multipart forms that
//! work without JavaScript. Each posts a file or pasted text; the handler leaves its report in the
//! session and sends the browser back to its page (`?done`), or back to the form with the error
//! in the address.

use axum::{
    extract::{FromRequest, Multipart, Request},
    response::{IntoResponse, Redirect, Response},
};
use tower_sessions::Session;

use crate::api::ApiError;
use app::{
    auth::ssr::{csrf_matches, scope_from_session},
    error::AppError,
    ssr::{request::RequestMeta, scope::Scope, security::SecurityEvent, AppState},
};

/// An upload form, opened: the caller's scope with the form, or the way back to the form.
pub enum Opened {
    Form(Scope, Fields),
    Back(Response),
}

/// Opens an upload to `page`: the signed-in caller must pass `allowed` before the body is read
/// (whoever may not upload here learns nothing about it; an `Invalid` answer passes, as the form
/// may name what is missing, e.g. an admin's tenant), then the form is read and its CSRF token
/// checked. `what` names the upload in the security log.
pub async fn open(
    state: &AppState,
    session: &Session,
    request: Request,
    page: &str,
    what: &str,
    allowed: impl FnOnce(&Scope) -> Result<(), AppError>,
) -> Result<Opened, ApiError> {
    let (parts, body) = request.into_parts();
    let scope = scope_from_session(state, session, RequestMeta::from_parts(&parts)).await?;
    match allowed(&scope) {
        Ok(()) | Err(AppError::Invalid { .. }) => {}
        Err(refused) => return Err(ApiError(refused)),
    }
    let form = match fields(Request::from_parts(parts, body), state).await {
        Ok(form) => form,
        Err(error) => return Ok(Opened::Back(back_with(page, &error))),
    };
    require_csrf(session, &form, what).await?;
    Ok(Opened::Form(scope, form))
}

/// An upload form's fields as text, files included, in the order they came.
#[derive(Default)]
pub struct Fields(Vec<(String, String)>);

impl Fields {
    pub fn get(&self, name: &str) -> &str {
        self.0
            .iter()
            .find(|(n, _)| n == name)
            .map_or("", |(_, v)| v.as_str())
    }

    /// The chosen file's text, or else the text box's: a file wins.
    pub fn file_or(&self, file: &str, text: &str) -> &str {
        match self.get(file) {
            chosen if !chosen.trim().is_empty() => chosen,
            _ => self.get(text),
        }
    }
}

/// Reads the form; an unreadable upload is an error of its `file` field.
async fn fields(request: Request, state: &AppState) -> Result<Fields, AppError> {
    let mut multipart = Multipart::from_request(request, state)
        .await
        .map_err(|e| AppError::invalid("file", format!("not an upload form: {e}")))?;
    let unreadable = |e: axum::extract::multipart::MultipartError| {
        AppError::invalid("file", format!("the upload could not be read: {e}"))
    };
    let mut fields = Fields::default();
    while let Some(field) = multipart.next_field().await.map_err(unreadable)? {
        let name = field.name().unwrap_or_default().to_string();
        fields
            .0
            .push((name, field.text().await.map_err(unreadable)?));
    }
    Ok(fields)
}

/// Refuses a form without the session's CSRF token.
async fn require_csrf(session: &Session, fields: &Fields, what: &str) -> Result<(), ApiError> {
    if csrf_matches(session, fields.get("csrf")).await? {
        return Ok(());
    }
    SecurityEvent::CsrfRejected.emit(&format!("{what} without the session's CSRF token"));
    Err(ApiError(AppError::Forbidden))
}

/// Back to the form at `page`, with the error beside it.
fn back_with(page: &str, error: &AppError) -> Response {
    let message = match error {
        AppError::Invalid { field, message } => format!("{field}: {message}"),
        other => other.to_string(),
    };
    Redirect::to(&format!("{page}?error={}", app::url::encode(&message))).into_response()
}

/// Where the browser goes after the upload: the page with its report, the form with a problem of
/// the input, or an error page for what the form cannot fix.
pub fn finish(page: &str, result: Result<(), AppError>) -> Result<Response, ApiError> {
    match result {
        Ok(()) => Ok(Redirect::to(&format!("{page}?done")).into_response()),
        Err(error @ (AppError::Internal | AppError::Forbidden | AppError::NotFound)) => {
            Err(ApiError(error))
        }
        Err(error) => Ok(back_with(page, &error)),
    }
}
