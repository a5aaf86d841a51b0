//! `POST /dashboards/upload`: the import page's form, a multipart upload (a Grafana JSON file or
//! pasted text), which works without JavaScript. The result waits in the session for the page it
//! redirects to, which shows the report; an error goes back in the URL, beside the form.

use axum::{
    extract::{FromRequest, Multipart, Request, State},
    response::{IntoResponse, Redirect, Response},
};
use tower_sessions::Session;

use crate::api::ApiError;
use app::{
    auth::ssr::{csrf_matches, scope_from_session},
    dashboards::{import, Audience, ImportResult, IMPORT_RESULT},
    error::AppError,
    ssr::{request::RequestMeta, security::SecurityEvent, AppState},
};

/// The form's fields.
#[derive(Default)]
struct Form {
    csrf: String,
    json: String,
    tenant: String,
    audience: String,
    overwrite: bool,
}

async fn read_form(request: Request, state: &AppState) -> Result<Form, AppError> {
    let mut multipart = Multipart::from_request(request, state)
        .await
        .map_err(|e| AppError::invalid("file", format!("not an upload form: {e}")))?;
    let mut form = Form::default();
    let unreadable = |e: axum::extract::multipart::MultipartError| {
        AppError::invalid("file", format!("the upload could not be read: {e}"))
    };
    while let Some(field) = multipart.next_field().await.map_err(unreadable)? {
        let name = field.name().unwrap_or_default().to_string();
        let text = field.text().await.map_err(unreadable)?;
        match name.as_str() {
            "csrf" => form.csrf = text,
            // A chosen file wins over the text box.
            "file" if !text.trim().is_empty() => form.json = text,
            "json" if form.json.is_empty() => form.json = text,
            "tenant" => form.tenant = text,
            "audience" => form.audience = text,
            "overwrite" => form.overwrite = !text.is_empty(),
            _ => {}
        }
    }
    Ok(form)
}

fn back_with(error: &AppError) -> Response {
    let message = match error {
        AppError::Invalid { field, message } => format!("{field}: {message}"),
        other => other.to_string(),
    };
    Redirect::to(&format!(
        "/dashboards/import?error={}",
        app::url::encode(&message)
    ))
    .into_response()
}

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
    let form = match read_form(Request::from_parts(parts, body), &state).await {
        Ok(form) => form,
        Err(error) => return Ok(back_with(&error)),
    };
    if !csrf_matches(&session, &form.csrf).await? {
        SecurityEvent::CsrfRejected.emit("dashboard import without the session's CSRF token");
        return Err(ApiError(AppError::Forbidden));
    }
    let result = async {
        let tenant = match form.tenant.trim() {
            "" => None,
            text => Some(
                text.parse()
                    .map_err(|_| AppError::invalid("tenant", "choose a tenant"))?,
            ),
        };
        let json = import::parse(&form.json)?;
        let target = import::Target {
            tenant,
            audience: Audience::parse(&form.audience).unwrap_or(Audience::Managers),
            overwrite: form.overwrite,
            base_version: None,
            message: "imported from the upload form".into(),
            allow_ui_updates: state.dashboard_files.allow_ui_updates,
        };
        import::import(&scope, &state.pool, &json, target).await
    }
    .await;
    match result {
        Ok(imported) => {
            session
                .insert(IMPORT_RESULT, ImportResult::from(&imported))
                .await
                .map_err(|_| AppError::Internal)?;
            Ok(Redirect::to("/dashboards/import?done").into_response())
        }
        Err(error @ (AppError::Internal | AppError::Forbidden | AppError::NotFound)) => {
            Err(ApiError(error))
        }
        Err(error) => Ok(back_with(&error)),
    }
}
