//! The Prometheus query API over the store: JSON shapes, errors, and tenant isolation.

use serde_json::{json, Value};
use sqlx::PgPool;

use uuid::Uuid;

use crate::helpers::TestApp;
use app::ssr::scope::TokenScope;

/// Tenants A and B with the same two `requests_total` series over the last 10 minutes (B's
/// grow 100 times faster; one carries a `tenant="tenant-b"` label); answers A, B and now (ms).
async fn two_tenants(app: &TestApp) -> (Uuid, Uuid, i64) {
    let a = app.create_tenant("tenant-a").await;
    let b = app.create_tenant("tenant-b").await;
    let now = chrono::Utc::now().timestamp_millis() / 1000 * 1000;
    let start = now - 600_000;
    for (tenant, per_step) in [(a, 1.0), (b, 100.0)] {
        let ingest = app.create_token(tenant, &[TokenScope::Ingest]).await;
        let samples: Vec<Value> = (0..=40)
            .map(|i| json!([start + i * 15_000, i as f64 * per_step * 15.0]))
            .collect();
        let body = json!([
            {"labels": {"__name__": "requests_total", "path": "/a"}, "samples": samples},
            {"labels": {"__name__": "requests_total", "path": "/b", "tenant": "tenant-b"}, "samples": samples},
        ]);
        let pushed = app
            .client
            .post(app.url("/api/v1/push"))
            .bearer_auth(&ingest)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(pushed.status(), 204, "{}", pushed.text().await.unwrap());
    }
    (a, b, now)
}

/// GET `path` with `token`: status and JSON body.
pub(crate) async fn get(app: &TestApp, token: &str, path: &str) -> (u16, Value) {
    let response = app
        .client
        .get(app.url(path))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    (
        response.status().as_u16(),
        response.json::<Value>().await.unwrap(),
    )
}

#[sqlx::test(migrator = "app::ssr::MIGRATOR")]
async fn queries_answer_in_prometheus_shapes_over_the_callers_tenant_only(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let (a, _, now) = two_tenants(&app).await;
    let reader = app.create_token(a, &[TokenScope::Read]).await;
    let get = |path: String| {
        let (app, reader) = (&app, &reader);
        async move { get(app, reader, &path).await }
    };
    // Whole seconds: Prometheus writes such times as integers.
    let at = now / 1000;

    let (status, body) = get(format!(
        "/api/v1/query?query=sum(rate(requests_total[5m]))&time={at}"
    ))
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["resultType"], "vector");
    let result = &body["data"]["result"];
    assert_eq!(result.as_array().unwrap().len(), 1);
    assert_eq!(result[0]["metric"], json!({}));
    assert_eq!(result[0]["value"][0], json!(at));
    assert_eq!(
        result[0]["value"][1], "2",
        "two series of tenant A at 1/s each; B's 100/s never counted"
    );

    // The store holds a `tenant` label only as data: it selects nothing of another tenant's.
    let (_, body) = get(format!(
        "/api/v1/query?query=requests_total{{tenant=\"tenant-b\"}}&time={at}"
    ))
    .await;
    assert_eq!(body["data"]["result"][0]["metric"]["path"], "/b");
    assert_eq!(body["data"]["result"][0]["value"][1], "600");

    let (status, body) = get(format!(
        "/api/v1/query_range?query=rate(requests_total{{path=\"/a\"}}[1m])&start={}&end={at}&step=60s",
        at - 300
    ))
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["resultType"], "matrix");
    let values = body["data"]["result"][0]["values"].as_array().unwrap();
    assert_eq!(values.len(), 6);
    assert!(values.iter().all(|v| v[1] == "1"), "{values:?}");
    assert_eq!(body["data"]["result"][0]["metric"], json!({"path": "/a"}));

    let (status, body) = get("/api/v1/query?query=1%2B%2B".into()).await;
    assert_eq!(
        (status, body["errorType"].as_str()),
        (400, Some("bad_data")),
        "{body}"
    );
    assert!(
        body["error"]
            .as_str()
            .unwrap()
            .starts_with("invalid parameter \"query\": "),
        "{body}"
    );
    let (status, body) = get(format!(
        "/api/v1/query_range?query=up&start=0&end={at}&step=1"
    ))
    .await;
    assert_eq!(status, 400);
    assert!(
        body["error"].as_str().unwrap().contains("11,000 points"),
        "{body}"
    );
    let (status, body) = get(format!("/api/v1/query?query=label_replace(requests_total, \"x\", \"1\", \"\", \"\")%2Bon()group_left requests_total&time={at}")).await;
    assert_eq!(
        (status, body["errorType"].as_str()),
        (422, Some("execution")),
        "{body}"
    );

    let form = app
        .client
        .post(app.url("/api/v1/query"))
        .bearer_auth(&reader)
        .form(&[
            ("query", "scalar(count(requests_total))"),
            ("time", &at.to_string()),
        ])
        .send()
        .await
        .unwrap();
    let body: Value = form.json().await.unwrap();
    assert_eq!(
        body["data"],
        json!({"resultType": "scalar", "result": [at, "2"]})
    );
}

#[sqlx::test(migrator = "app::ssr::MIGRATOR")]
async fn series_and_label_apis_list_the_callers_tenant_only(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let (a, b, _) = two_tenants(&app).await;
    let extra = app.create_token(b, &[TokenScope::Ingest]).await;
    let now = chrono::Utc::now().timestamp_millis();
    let pushed = app
        .client
        .post(app.url("/api/v1/push"))
        .bearer_auth(&extra)
        .json(&json!([{"labels": {"__name__": "only_in_b", "secret": "x"}, "samples": [[now, 1]]}]))
        .send()
        .await
        .unwrap();
    assert_eq!(pushed.status(), 204);
    let reader = app.create_token(a, &[TokenScope::Read]).await;

    let (status, body) = get(&app, &reader, "/api/v1/series?match[]=requests_total").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["data"],
        json!([
            {"__name__": "requests_total", "path": "/a"},
            {"__name__": "requests_total", "path": "/b", "tenant": "tenant-b"},
        ])
    );
    // Several selectors are a union; `or` inside braces too; a series is listed once.
    let (_, body) = get(
        &app,
        &reader,
        "/api/v1/series?match[]={path=\"/a\"}&match[]={path=\"/a\" or path=\"/b\"}&match[]=only_in_b",
    )
    .await;
    assert_eq!(body["data"].as_array().unwrap().len(), 2, "{body}");
    let (_, body) = get(
        &app,
        &reader,
        "/api/v1/series?match[]=requests_total&limit=1",
    )
    .await;
    assert_eq!(body["data"].as_array().unwrap().len(), 1, "{body}");
    // A time span before any sample lists nothing.
    let (_, body) = get(
        &app,
        &reader,
        "/api/v1/series?match[]=requests_total&start=1000&end=2000",
    )
    .await;
    assert_eq!(body["data"], json!([]));

    let (status, body) = get(&app, &reader, "/api/v1/labels").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"], json!(["__name__", "path", "tenant"]));
    let (_, body) = get(&app, &reader, "/api/v1/labels?match[]={path=\"/a\"}").await;
    assert_eq!(body["data"], json!(["__name__", "path"]));
    let (_, body) = get(&app, &reader, "/api/v1/label/__name__/values").await;
    assert_eq!(
        body["data"],
        json!(["requests_total"]),
        "B's only_in_b stays in B"
    );
    let (_, body) = get(&app, &reader, "/api/v1/label/path/values").await;
    assert_eq!(body["data"], json!(["/a", "/b"]));
    let (_, body) = get(&app, &reader, "/api/v1/label/secret/values").await;
    assert_eq!(body["data"], json!([]));

    let (status, body) = get(&app, &reader, "/api/v1/series").await;
    assert_eq!(
        (status, &body["error"]),
        (400, &json!("no match[] parameter provided"))
    );
    let (status, body) = get(&app, &reader, "/api/v1/series?match[]=rate(x[5m])").await;
    assert_eq!(
        (status, body["errorType"].as_str()),
        (400, Some("bad_data"))
    );
    assert!(
        body["error"].as_str().unwrap().contains("match[]"),
        "{body}"
    );
    let (status, body) = get(&app, &reader, "/api/v1/label/not-a-name/values").await;
    assert_eq!(
        (status, &body["error"]),
        (400, &json!("invalid label name: \"not-a-name\""))
    );

    let (status, body) = get(&app, &reader, "/api/v1/status/buildinfo").await;
    assert_eq!(status, 200);
    assert_eq!(body["data"]["version"], env!("CARGO_PKG_VERSION"));
    let (status, body) = get(
        &app,
        &reader,
        "/api/v1/format_query?query=sum(rate(x{a=\"b\"}[5m]))by(a)",
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"], "sum by (a) (rate(x{a=\"b\"}[5m]))");
}

#[sqlx::test(migrator = "app::ssr::MIGRATOR")]
async fn metadata_lists_what_scrapes_and_remote_write_delivered(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let a = app.create_tenant("tenant-a").await;
    let b = app.create_tenant("tenant-b").await;
    for (tenant, help) in [(a, "Requests served."), (b, "B's own help.")] {
        app.store
            .write_metadata(
                tenant,
                &[
                    store::Metadata {
                        metric: "requests_total".into(),
                        kind: "counter".into(),
                        help: help.into(),
                        unit: String::new(),
                    },
                    store::Metadata {
                        metric: "queue_depth".into(),
                        kind: "gauge".into(),
                        help: "Jobs waiting.".into(),
                        unit: String::new(),
                    },
                ],
            )
            .await
            .unwrap();
    }
    let reader = app.create_token(a, &[TokenScope::Read]).await;
    let (status, body) = get(&app, &reader, "/api/v1/metadata").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["data"],
        json!({
            "queue_depth": [{"type": "gauge", "help": "Jobs waiting.", "unit": ""}],
            "requests_total": [{"type": "counter", "help": "Requests served.", "unit": ""}],
        })
    );
    let (_, body) = get(&app, &reader, "/api/v1/metadata?metric=requests_total").await;
    assert_eq!(body["data"].as_object().unwrap().len(), 1);
    let (_, body) = get(&app, &reader, "/api/v1/metadata?limit=1").await;
    assert_eq!(body["data"].as_object().unwrap().len(), 1);
}

#[sqlx::test(migrator = "app::ssr::MIGRATOR")]
async fn a_query_over_its_sample_limit_fails_as_prometheus_does(pool: PgPool) {
    let app = TestApp::spawn_with(pool, |settings| settings.query_max_samples = 50).await;
    let (a, _, now) = two_tenants(&app).await;
    let reader = app.create_token(a, &[TokenScope::Read]).await;
    let at = now / 1000;
    // One series' 41 samples fit; both series' 82 do not.
    let (status, body) = get(
        &app,
        &reader,
        &format!(
            "/api/v1/query?query=count_over_time(requests_total{{path=\"/a\"}}[15m])&time={at}"
        ),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["result"][0]["value"][1], "41");
    let (status, body) = get(
        &app,
        &reader,
        &format!("/api/v1/query?query=count_over_time(requests_total[15m])&time={at}"),
    )
    .await;
    assert_eq!(
        (status, body["errorType"].as_str(), body["error"].as_str()),
        (
            422,
            Some("execution"),
            Some("query processing would load too many samples into memory in query execution")
        )
    );
}
