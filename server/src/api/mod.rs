//! The REST API for machines: JSON in and out, authenticated by `Authorization: Bearer` (a JWT
//! or an API token) or the browser session.

pub mod alertmanager;
pub mod grafana;
pub mod v1;

use axum::{
    extract::FromRequestParts,
    http::{header, request::Parts, StatusCode},
    response::{IntoResponse, Response},
    Json,
};
use serde_json::json;
use tower_sessions::Session;

use app::{
    auth::ssr::{scope_from_bearer, scope_from_session, BearerError},
    error::AppError,
    ssr::{request::RequestMeta, scope::Scope, AppState},
};

/// An error of the REST API: the status and a JSON body naming what is wrong.
#[derive(Debug)]
pub struct ApiError(pub AppError);

impl From<AppError> for ApiError {
    fn from(error: AppError) -> Self {
        ApiError(error)
    }
}

impl From<sqlx::Error> for ApiError {
    fn from(error: sqlx::Error) -> Self {
        ApiError(error.into())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status =
            StatusCode::from_u16(self.0.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let body = match &self.0 {
            AppError::Invalid { field, message } => {
                json!({ "error": format!("{field}: {message}"), "field": field })
            }
            other => json!({ "error": other.to_string() }),
        };
        let mut response = (status, Json(body)).into_response();
        if status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                header::HeaderValue::from_static("Bearer"),
            );
        }
        response
    }
}

/// The caller's scope: from a bearer credential when one is sent (a bad one is a 401, never a
/// fall-back to the session), otherwise from the browser session.
pub struct ApiScope(pub Scope);

impl FromRequestParts<AppState> for ApiScope {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let request = RequestMeta::from_parts(parts);
        if let Some(value) = parts.headers.get(header::AUTHORIZATION) {
            let credential = value
                .to_str()
                .ok()
                .and_then(|v| {
                    v.strip_prefix("Bearer ")
                        .or_else(|| v.strip_prefix("bearer "))
                })
                .map(str::trim)
                .unwrap_or_default();
            return match scope_from_bearer(state, credential, request).await {
                Ok(scope) => Ok(ApiScope(scope)),
                Err(BearerError::Internal(error)) => Err(ApiError(error)),
                Err(error) => {
                    tracing::info!(reason = %error, "Refused a bearer credential.");
                    Err(ApiError(AppError::Unauthorized))
                }
            };
        }
        let session = parts.extensions.get::<Session>().cloned();
        match session {
            Some(session) => Ok(ApiScope(
                scope_from_session(state, &session, request).await?,
            )),
            None => Err(ApiError(AppError::Unauthorized)),
        }
    }
}
