//! The error every server function returns. It crosses to the browser, so it carries only what a
//! user may see: internal failures are logged on the server and shown as an opaque message.

use serde::{Deserialize, Serialize};
use server_fn::{
    codec::JsonEncoding,
    error::{FromServerFnError, ServerFnErrorErr},
};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum AppError {
    #[error("please log in")]
    Unauthorized,
    #[error("you do not have permission to do this")]
    Forbidden,
    #[error("not found")]
    NotFound,
    /// A field of the request is wrong; `field` names it as the form does.
    #[error("{field}: {message}")]
    Invalid { field: String, message: String },
    #[error("{0}")]
    TooManyRequests(String),
    /// The change meets a newer state than the one it was made from (another save, an existing
    /// uid); the message says whose and when.
    #[error("{0}")]
    Conflict(String),
    #[error("something went wrong on the server; it has been logged")]
    Internal,
    /// The request itself could not be decoded or sent.
    #[error("request failed: {0}")]
    Request(String),
}

impl AppError {
    pub fn invalid(field: &str, message: impl Into<String>) -> AppError {
        AppError::Invalid {
            field: field.to_string(),
            message: message.into(),
        }
    }

    /// The HTTP status the error is answered with.
    pub fn status(&self) -> u16 {
        match self {
            AppError::Unauthorized => 401,
            AppError::Forbidden => 403,
            AppError::NotFound => 404,
            AppError::Invalid { .. } => 422,
            AppError::Conflict(_) => 409,
            AppError::TooManyRequests(_) => 429,
            AppError::Request(_) => 400,
            AppError::Internal => 500,
        }
    }

    /// The message to show next to `field` in a form, if this error is about it.
    pub fn for_field(&self, name: &str) -> Option<String> {
        match self {
            AppError::Invalid { field, message } if field == name => Some(message.clone()),
            _ => None,
        }
    }
}

impl FromServerFnError for AppError {
    type Encoder = JsonEncoding;

    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        match value {
            ServerFnErrorErr::ServerError(_) => AppError::Internal,
            other => AppError::Request(other.to_string()),
        }
    }
}

#[cfg(feature = "ssr")]
impl From<sqlx::Error> for AppError {
    fn from(error: sqlx::Error) -> Self {
        tracing::error!(error = %error, "Database error.");
        AppError::Internal
    }
}
