//! `POST /api/v1/auth/token`: credentials or an API token in, a short-lived JWT out.

use axum::{
    extract::{rejection::JsonRejection, State},
    http::request::Parts,
    Json,
};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::api::ApiError;
use app::{
    auth::ssr::{api_token_scope, jwt_for, login, TokenLookup},
    error::AppError,
    ssr::{request::RequestMeta, tokens::prefix_of, AppState},
};

#[derive(Deserialize)]
#[serde(untagged, deny_unknown_fields)]
pub enum TokenRequest {
    Password { email: String, password: String },
    ApiToken { api_token: String },
}

pub async fn issue_token(
    State(state): State<AppState>,
    parts: Parts,
    body: Result<Json<TokenRequest>, JsonRejection>,
) -> Result<Json<Value>, ApiError> {
    let Json(body) = body.map_err(|rejection| {
        AppError::Request(format!(
            "expected JSON {{\"email\": …, \"password\": …}} or {{\"api_token\": …}}: {}",
            rejection.body_text()
        ))
    })?;
    let request = RequestMeta::from_parts(&parts);
    let scope = match body {
        TokenRequest::Password { email, password } => {
            match login(&state, None, request.clone(), &email, password).await {
                Ok(user) => user.scope(request),
                Err(AppError::Invalid { .. }) => return Err(ApiError(AppError::Unauthorized)),
                Err(other) => return Err(ApiError(other)),
            }
        }
        TokenRequest::ApiToken { api_token } => {
            let prefix = prefix_of(&api_token).ok_or(AppError::Unauthorized)?;
            let lookup = TokenLookup::Secret {
                prefix,
                secret: &api_token,
            };
            api_token_scope(&state, lookup, request)
                .await?
                .ok_or(AppError::Unauthorized)?
        }
    };
    Ok(Json(json!({
        "access_token": jwt_for(&state, &scope),
        "token_type": "Bearer",
        "expires_in": state.auth.jwt_ttl.as_secs(),
    })))
}
