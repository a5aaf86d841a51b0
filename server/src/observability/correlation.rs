//! Correlation ids: every request carries one, taken from `X-Correlation-ID` when the caller
//! sent a well-formed one and generated otherwise, echoed in the response and present on every
//! log line written while the request is handled.

use std::time::Instant;

use axum::{
    extract::{MatchedPath, Request},
    http::{HeaderName, HeaderValue},
    middleware::Next,
    response::Response,
};
use tracing::Instrument;

pub const CORRELATION_ID: HeaderName = HeaderName::from_static("x-correlation-id");
const MAX_LENGTH: usize = 128;

/// Accepts what tracing systems send (UUIDs, W3C trace ids, ULIDs, `svc-42.retry_1`) and nothing
/// that could forge a log line or a header: 1–128 ASCII letters, digits, `-`, `_`, `.`, `:`.
pub fn is_well_formed(id: &str) -> bool {
    (1..=MAX_LENGTH).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':'))
}

/// The route template of a request (`/health/ready`, never the raw path), for logs and metrics.
pub fn route_of(request: &Request) -> String {
    request
        .extensions()
        .get::<MatchedPath>()
        .map(|path| path.as_str().to_string())
        .unwrap_or_else(|| "fallback".to_string())
}

pub async fn correlate(mut request: Request, next: Next) -> Response {
    let supplied = request
        .headers()
        .get(&CORRELATION_ID)
        .and_then(|value| value.to_str().ok());
    let (id, rejected) = match supplied {
        Some(id) if is_well_formed(id) => (id.to_string(), false),
        Some(_) => (uuid::Uuid::new_v4().to_string(), true),
        None => (uuid::Uuid::new_v4().to_string(), false),
    };
    let header =
        HeaderValue::from_str(&id).expect("a well-formed correlation id is a valid header value");
    request.headers_mut().insert(CORRELATION_ID, header.clone());

    let span = tracing::info_span!(
        "request",
        correlation_id = %id,
        method = %request.method(),
        route = %route_of(&request),
    );
    let started = Instant::now();
    async move {
        if rejected {
            tracing::debug!("Replaced a malformed X-Correlation-ID.");
        }
        let mut response = next.run(request).await;
        let status = response.status().as_u16();
        let duration_ms = started.elapsed().as_secs_f64() * 1000.0;
        if response.status().is_server_error() {
            tracing::warn!(status, duration_ms, "Request failed.");
        } else {
            tracing::info!(status, duration_ms, "Handled request.");
        }
        response.headers_mut().insert(CORRELATION_ID, header);
        response
    }
    .instrument(span)
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn well_formed_ids() {
        for id in [
            "a",
            "0af7651916cd43dd8448eb211c80319c",
            "4bf92f35-77b3-4da6-a3ce-929d0e0e4736",
            "svc:42.retry_1",
        ] {
            assert!(is_well_formed(id), "{id}");
        }
        let too_long = "a".repeat(MAX_LENGTH + 1);
        for id in [
            "",
            "has space",
            "new\nline",
            "quote\"",
            "<script>",
            "é",
            too_long.as_str(),
        ] {
            assert!(!is_well_formed(id), "{id:?}");
        }
    }
}
