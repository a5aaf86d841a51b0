use prometheus_parse::{Scrape, Value};
use sqlx::PgPool;

use crate::helpers::TestApp;

pub async fn scrape(app: &TestApp) -> Scrape {
    let response = app.get("/metrics").await;
    assert_eq!(response.status(), 200);
    let content_type = response.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        content_type.starts_with("text/plain; version=0.0.4"),
        "{content_type}"
    );
    let body = response.text().await.unwrap();
    Scrape::parse(body.lines().map(|line| Ok(line.to_string())))
        .expect("/metrics is Prometheus text")
}

/// The sum of a counter's samples that carry every one of `labels`.
pub fn counter(scrape: &Scrape, metric: &str, labels: &[(&str, &str)]) -> f64 {
    scrape
        .samples
        .iter()
        .filter(|s| s.metric == metric)
        .filter(|s| {
            labels
                .iter()
                .all(|(name, value)| s.labels.get(name) == Some(*value))
        })
        .map(|s| match s.value {
            Value::Counter(v) | Value::Untyped(v) => v,
            ref other => panic!("unexpected value {other:?}"),
        })
        .sum()
}

fn requests_total(scrape: &Scrape, route: &str, status: &str) -> f64 {
    counter(
        scrape,
        "meridian_http_requests_total",
        &[("route", route), ("status", status)],
    )
}

#[sqlx::test(migrator = "app::ssr::MIGRATOR")]
async fn metrics_count_the_requests_just_made(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let before = requests_total(&scrape(&app).await, "/health/ready", "200");

    for _ in 0..3 {
        assert_eq!(app.get("/health/ready").await.status(), 200);
    }
    let unknown = format!("/no/such/{}", uuid::Uuid::new_v4());
    assert_eq!(app.get(&unknown).await.status(), 404);

    let scrape = scrape(&app).await;
    // Other tests in this process share the global recorder, so they may add to the count.
    assert!(requests_total(&scrape, "/health/ready", "200") >= before + 3.0);
    assert!(requests_total(&scrape, "fallback", "404") >= 1.0);
    for sample in &scrape.samples {
        for (_, value) in sample.labels.iter() {
            assert!(
                !value.contains(&unknown),
                "a raw path became a label: {sample:?}"
            );
        }
    }

    let histogram = scrape
        .samples
        .iter()
        .find(|s| {
            s.metric == "meridian_http_request_duration_seconds"
                && s.labels.get("route") == Some("/health/ready")
        })
        .expect("a latency histogram for the route");
    assert!(
        matches!(histogram.value, Value::Histogram(ref buckets) if buckets.len() >= 10),
        "{histogram:?}"
    );

    let names: Vec<&str> = scrape.samples.iter().map(|s| s.metric.as_str()).collect();
    for expected in [
        "meridian_build_info",
        "meridian_db_pool_connections",
        "meridian_db_pool_max_connections",
        "process_cpu_seconds_total",
        "process_resident_memory_bytes",
    ] {
        assert!(
            names.contains(&expected),
            "{expected} missing from /metrics"
        );
    }
    let build = scrape
        .samples
        .iter()
        .find(|s| s.metric == "meridian_build_info")
        .unwrap();
    assert_eq!(build.labels.get("version"), Some(env!("CARGO_PKG_VERSION")));
}
