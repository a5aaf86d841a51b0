//! The Prometheus query API over the store: JSON shapes, errors, and tenant isolation.

use serde_json::{json, Value};
use sqlx::PgPool;

use crate::helpers::TestApp;
use app::ssr::scope::TokenScope;

#[sqlx::test(migrator = "app::ssr::MIGRATOR")]
async fn queries_answer_in_prometheus_shapes_over_the_callers_tenant_only(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
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
    let reader = app.create_token(a, &[TokenScope::Read]).await;
    let get = |path: String| {
        let request = app.client.get(app.url(&path)).bearer_auth(&reader);
        async move {
            let response = request.send().await.unwrap();
            (
                response.status().as_u16(),
                response.json::<Value>().await.unwrap(),
            )
        }
    };
    let at = now as f64 / 1000.0;

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
        at - 300.0
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
