//! `GET /metrics`: Meridian's own metrics in the Prometheus text format.

use std::sync::OnceLock;

use axum::{extract::State, http::header, response::IntoResponse};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

use super::http_metrics::{REQUESTS_TOTAL, REQUEST_DURATION};
use app::ssr::AppState;

const QUERY_DURATION: &str = "meridian_query_duration_seconds";

/// Prometheus' default buckets, widened at both ends: page renders take well under 5 ms.
const LATENCY_BUCKETS: [f64; 14] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

struct Exporter {
    handle: PrometheusHandle,
    process: metrics_process::Collector,
}

static EXPORTER: OnceLock<Exporter> = OnceLock::new();

/// The metrics recorder is process-global; every `Application` in the process shares it.
fn exporter() -> &'static Exporter {
    EXPORTER.get_or_init(|| {
        let handle = PrometheusBuilder::new()
            .set_buckets_for_metric(
                Matcher::Full(REQUEST_DURATION.to_string()),
                &LATENCY_BUCKETS,
            )
            .expect("the bucket list is not empty")
            .set_buckets_for_metric(Matcher::Full(QUERY_DURATION.to_string()), &LATENCY_BUCKETS)
            .expect("the bucket list is not empty")
            .install_recorder()
            .expect("no other metrics recorder is installed");
        describe();
        let process = metrics_process::Collector::default();
        process.describe();
        Exporter { handle, process }
    })
}

fn describe() {
    metrics::describe_counter!(
        REQUESTS_TOTAL,
        "HTTP requests handled, by method, route template and status."
    );
    metrics::describe_histogram!(
        REQUEST_DURATION,
        metrics::Unit::Seconds,
        "HTTP request latency."
    );
    metrics::describe_histogram!(
        QUERY_DURATION,
        metrics::Unit::Seconds,
        "PromQL queries by kind (instant, range): dashboards, Explore and the query API."
    );
    // Every security event is a series from the start (at 0), so its panels show a line, not
    // "No data", until something happens.
    app::ssr::security::SecurityEvent::register_all();
    metrics::describe_gauge!(
        "meridian_build_info",
        "Always 1; the labels say which build runs."
    );
    metrics::describe_gauge!(
        "meridian_db_pool_connections",
        "Database pool connections by state (idle, in_use)."
    );
    metrics::describe_gauge!(
        "meridian_db_pool_max_connections",
        "Upper bound of the database pool."
    );
    metrics::gauge!(
        "meridian_build_info",
        "version" => env!("CARGO_PKG_VERSION"),
        "revision" => env!("MERIDIAN_REVISION"),
        "rustc" => env!("MERIDIAN_RUSTC_VERSION"),
    )
    .set(1.0);
}

/// Installs the recorder before the first request is counted.
pub fn install() {
    exporter();
}

pub async fn serve_metrics(State(state): State<AppState>) -> impl IntoResponse {
    let exporter = exporter();
    exporter.process.collect();
    let (size, idle) = (state.pool.size(), state.pool.num_idle() as u32);
    metrics::gauge!("meridian_db_pool_connections", "state" => "idle").set(idle as f64);
    metrics::gauge!("meridian_db_pool_connections", "state" => "in_use")
        .set(size.saturating_sub(idle) as f64);
    metrics::gauge!("meridian_db_pool_max_connections")
        .set(state.pool.options().get_max_connections() as f64);
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        exporter.handle.render(),
    )
}
