//! Ingestion over HTTP: Prometheus remote_write (`/api/v1/write`) and JSON push
//! (`/api/v1/push`). Both need a tenant's API token (or a JWT issued for one) with the `ingest`
//! scope; the tenant is the token's, whatever labels the samples carry.

pub mod push;
pub mod remote_write;

use axum::{
    http::{header, StatusCode},
    response::{IntoResponse, Response},
};
use uuid::Uuid;

use app::ssr::AppState;
use store::{Reason, SeriesSamples, WriteError, WriteOutcome};

/// Bodies larger than this are refused before decoding (Prometheus sends far less).
pub const MAX_BODY_BYTES: usize = 32 * 1024 * 1024;

/// Why an ingestion request failed; rendered as plain text, which is what Prometheus logs.
#[derive(Debug)]
pub enum IngestError {
    /// 415: the wrong Content-Type or Content-Encoding.
    Unsupported(String),
    /// 400: a body that cannot be decoded or is invalid; nothing was stored.
    Invalid(String),
    /// 400: some samples were stored, these were not (and a retry would not help).
    Discarded(String),
    /// 429: over the tenant's rate; a later retry can succeed.
    RateLimited(String),
    /// 503: the store cannot take writes now; retrying is right.
    Unavailable(String),
}

impl IngestError {
    pub fn status(&self) -> StatusCode {
        match self {
            IngestError::Unsupported(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            IngestError::Invalid(_) | IngestError::Discarded(_) => StatusCode::BAD_REQUEST,
            IngestError::RateLimited(_) => StatusCode::TOO_MANY_REQUESTS,
            IngestError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    pub fn message(&self) -> &str {
        match self {
            IngestError::Unsupported(m)
            | IngestError::Invalid(m)
            | IngestError::Discarded(m)
            | IngestError::RateLimited(m)
            | IngestError::Unavailable(m) => m,
        }
    }
}

impl IntoResponse for IngestError {
    fn into_response(self) -> Response {
        if self.status().is_server_error() {
            tracing::warn!(error = self.message(), "Ingestion failed.");
        } else {
            tracing::info!(
                status = self.status().as_u16(),
                error = self.message(),
                "Ingestion refused."
            );
        }
        (
            self.status(),
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            format!("{}\n", self.message()),
        )
            .into_response()
    }
}

/// Writes decoded series; `refused` holds what decoding already turned away. Answers 204 when
/// everything was stored.
pub async fn store_samples(
    state: &AppState,
    tenant: Uuid,
    series: Vec<SeriesSamples>,
    refused: WriteOutcome,
) -> Result<StatusCode, IngestError> {
    for (reason, (count, _)) in &refused.discarded {
        state.store.count_discarded(tenant, *reason, *count).await;
    }
    let mut outcome = if series.is_empty() {
        WriteOutcome::default()
    } else {
        state
            .store
            .write(tenant, series)
            .await
            .map_err(|error| match error {
                WriteError::RateLimited { .. } => IngestError::RateLimited(error.to_string()),
                WriteError::UnknownTenant | WriteError::TenantInactive => {
                    IngestError::Invalid(error.to_string())
                }
                WriteError::Unavailable(_) | WriteError::Closed => {
                    IngestError::Unavailable(error.to_string())
                }
            })?
    };
    for (reason, (count, message)) in refused.discarded {
        outcome.discard(reason, count, || message);
    }
    match outcome.summary() {
        None => Ok(StatusCode::NO_CONTENT),
        Some(summary) => Err(IngestError::Discarded(summary)),
    }
}

/// Labels from name/value pairs; an invalid set is refused with its position.
pub fn labels_of<'a>(
    position: impl FnOnce() -> String,
    pairs: impl IntoIterator<Item = (&'a str, &'a str)>,
    samples: usize,
    refused: &mut WriteOutcome,
) -> Option<store::Labels> {
    match store::Labels::new(pairs) {
        Ok(labels) => Some(labels),
        Err(error) => {
            refused.discard(Reason::InvalidLabels, samples, || {
                format!("{}: {error}", position())
            });
            None
        }
    }
}
