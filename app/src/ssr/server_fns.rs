//! What every server function needs: the state, the caller's scope, and answering errors with
//! the right HTTP status — or, for a form posted without JavaScript, with a redirect back to the
//! form carrying the error in the URL.

use axum::http::{header, request::Parts, StatusCode};
use leptos::prelude::use_context;
use leptos_axum::ResponseOptions;
use tower_sessions::Session;

use super::{request::RequestMeta, scope::Scope, security::SecurityEvent, AppState};
use crate::{
    auth::ssr as auth,
    error::AppError,
    url::{decode, encode},
};

/// The state, from the request's context. A resource that outlives its request (the page was
/// already sent) finds no context; it gets an error instead of bringing the worker down.
pub fn app_state() -> Result<AppState, AppError> {
    use_context::<AppState>().ok_or_else(|| {
        tracing::warn!("A server function ran outside a request's context.");
        AppError::Internal
    })
}

pub fn request_meta() -> RequestMeta {
    use_context::<Parts>()
        .map(|parts| RequestMeta::from_parts(&parts))
        .unwrap_or_default()
}

pub async fn session() -> Result<Session, AppError> {
    leptos_axum::extract::<Session>().await.map_err(|error| {
        tracing::error!(error = %error, "No session layer in front of a server function.");
        AppError::Internal
    })
}

/// The signed-in caller's scope; `Unauthorized` when nobody is signed in.
pub async fn current_scope() -> Result<Scope, AppError> {
    let session = session().await?;
    auth::scope_from_session(&app_state()?, &session, request_meta()).await
}

/// The caller's scope for a change: also checks the form's CSRF token against the session's.
pub async fn mutation_scope(csrf: &str) -> Result<Scope, AppError> {
    let session = session().await?;
    let scope = auth::scope_from_session(&app_state()?, &session, request_meta()).await?;
    if !auth::csrf_matches(&session, csrf).await? {
        SecurityEvent::CsrfRejected.emit("server function call without the session's CSRF token");
        return Err(AppError::Forbidden);
    }
    Ok(scope)
}

/// True for a form posted by the browser itself (no JavaScript): it expects a page, not data.
pub fn is_plain_form_post() -> bool {
    use_context::<Parts>()
        .and_then(|parts| {
            parts
                .headers
                .get(header::ACCEPT)?
                .to_str()
                .ok()
                .map(|a| a.contains("text/html"))
        })
        .unwrap_or(false)
}

/// Ends a server function: an error gets its HTTP status, and a plain form post is sent back to
/// its page with `?form=…&field=…&error=…` so the page can show the message beside the field.
pub fn finish<T>(form: &str, result: Result<T, AppError>) -> Result<T, AppError> {
    let Err(error) = &result else { return result };
    if is_plain_form_post() {
        let back = use_context::<Parts>()
            .and_then(|parts| {
                parts
                    .headers
                    .get(header::REFERER)?
                    .to_str()
                    .ok()
                    .map(str::to_string)
            })
            .and_then(|referer| back_to_form(&referer, form, error));
        if let Some(location) = back {
            leptos_axum::redirect(&location);
            return result;
        }
    }
    if let Some(response) = use_context::<ResponseOptions>() {
        response.set_status(
            StatusCode::from_u16(error.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
        );
    }
    result
}

/// The referring page (path and query only, so a forged Referer cannot send the user away)
/// with the error parameters replaced; also any page of ours to send a form's error to.
pub fn back_to_form(referer: &str, form: &str, error: &AppError) -> Option<String> {
    let after_scheme = referer
        .split_once("://")
        .map(|(_, rest)| rest)
        .unwrap_or(referer);
    let path_and_query = &after_scheme[after_scheme.find('/')?..];
    let (path, query) = path_and_query
        .split_once('?')
        .unwrap_or((path_and_query, ""));
    let mut pairs: Vec<(String, String)> = url_decode_pairs(query)
        .into_iter()
        .filter(|(k, _)| !matches!(k.as_str(), "form" | "field" | "error"))
        .collect();
    let (field, message) = match error {
        AppError::Invalid { field, message } => (field.clone(), message.clone()),
        other => (String::new(), other.to_string()),
    };
    pairs.extend([
        ("form".into(), form.into()),
        ("field".into(), field),
        ("error".into(), message),
    ]);
    let query: Vec<String> = pairs
        .iter()
        .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
        .collect();
    Some(format!("{path}?{}", query.join("&")))
}

fn url_decode_pairs(query: &str) -> Vec<(String, String)> {
    query
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (decode(k), decode(v))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_go_back_to_the_form_page_only() {
        let error = AppError::invalid("name", "is taken");
        assert_eq!(
            back_to_form(
                "http://evil.example/admin/tenants?page=2&error=old",
                "create_tenant",
                &error
            )
            .unwrap(),
            "/admin/tenants?page=2&form=create_tenant&field=name&error=is%20taken"
        );
        assert_eq!(
            back_to_form("http://127.0.0.1:3000/login?next=%2Faudit", "login", &AppError::Forbidden).unwrap(),
            "/login?next=%2Faudit&form=login&field=&error=you%20do%20not%20have%20permission%20to%20do%20this"
        );
        assert_eq!(back_to_form("garbage", "x", &error), None);
    }
}
