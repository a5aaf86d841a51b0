//! Request counts and latencies by method, route template and status.

use std::time::Instant;

use axum::{extract::Request, middleware::Next, response::Response};

use super::correlation::route_of;

pub const REQUESTS_TOTAL: &str = "meridian_http_requests_total";
pub const REQUEST_DURATION: &str = "meridian_http_request_duration_seconds";

pub async fn record(request: Request, next: Next) -> Response {
    let method = request.method().as_str().to_owned();
    let route = route_of(&request);
    let started = Instant::now();
    let response = next.run(request).await;
    let status = response.status().as_u16().to_string();
    let labels = [("method", method), ("route", route), ("status", status)];
    metrics::counter!(REQUESTS_TOTAL, &labels).increment(1);
    metrics::histogram!(REQUEST_DURATION, &labels).record(started.elapsed().as_secs_f64());
    response
}
