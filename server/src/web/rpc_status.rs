//! Server functions answer a request they cannot decode (a missing or malformed field) with
//! 500; it is the caller's mistake, so it becomes a 400 with the same message.

use axum::{
    body::{to_bytes, Body},
    extract::Request,
    http::StatusCode,
    middleware::Next,
    response::Response,
};

/// Decode errors are small; anything larger is passed through untouched.
const MAX_ERROR_BODY: usize = 64 * 1024;

pub async fn decode_errors_are_bad_requests(request: Request, next: Next) -> Response {
    let response = next.run(request).await;
    if response.status() != StatusCode::INTERNAL_SERVER_ERROR {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let Ok(bytes) = to_bytes(body, MAX_ERROR_BODY).await else {
        parts.status = StatusCode::INTERNAL_SERVER_ERROR;
        return Response::from_parts(parts, Body::empty());
    };
    // `AppError::Request` is how a server function reports input it could not decode.
    if bytes.starts_with(br#"{"Request":"#) {
        parts.status = StatusCode::BAD_REQUEST;
    }
    Response::from_parts(parts, Body::from(bytes))
}
