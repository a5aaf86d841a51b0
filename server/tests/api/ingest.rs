//! Ingestion over HTTP: remote_write with Prometheus' real request bodies, JSON push, the exact
//! 4xx answers, limits, tenant isolation and durability across a killed server.

use std::{collections::BTreeSet, path::Path, time::Duration};

use reqwest::StatusCode;
use serde_json::{json, Value};
use sqlx::PgPool;
use uuid::Uuid;

use app::ssr::scope::TokenScope;
use server::ingest::remote_write::{self, Label, Sample, TimeSeries, WriteRequest};
use store::{Matcher, Store, StoreConfig};

use crate::{
    helpers::{database_url, server, unused_port, TestApp},
    metrics::{counter, scrape},
};

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/remote_write");

/// A second replica's view of the store: it sees what the server acknowledged through the log
/// or the chunks, never through the server's memory.
fn reader(pool: &PgPool) -> Store {
    Store::open_without_replay(pool.clone(), StoreConfig::new(Uuid::new_v4()))
}

async fn all_samples(
    pool: &PgPool,
    tenant: Uuid,
    matchers: &[Matcher],
) -> Vec<(String, Vec<(i64, f64)>)> {
    let now = chrono::Utc::now().timestamp_millis();
    let mut found: Vec<_> = reader(pool)
        .select(tenant, matchers, 0, now + 3_600_000)
        .await
        .unwrap()
        .into_iter()
        .map(|s| (s.labels.to_string(), s.samples().collect::<Vec<_>>()))
        .collect();
    found.sort_by(|a, b| a.0.cmp(&b.0));
    found
}

fn any_name() -> Vec<Matcher> {
    vec![Matcher::regex("__name__", ".+").unwrap()]
}

/// A tenant whose retention covers the fixtures whatever today's date is.
async fn tenant(app: &TestApp, name: &str) -> Uuid {
    let id = app.create_tenant(name).await;
    sqlx::query("insert into tenant_limits (tenant_id, retention_days) values ($1, 36500)")
        .bind(id)
        .execute(&app.pool)
        .await
        .unwrap();
    id
}

fn post_fixture(app: &TestApp, token: &str, number: usize) -> reqwest::RequestBuilder {
    let body = std::fs::read(format!("{FIXTURES}/{number:04}.bin")).unwrap();
    let headers: Value = serde_json::from_slice(
        &std::fs::read(format!("{FIXTURES}/{number:04}.headers.json")).unwrap(),
    )
    .unwrap();
    let mut request = app
        .client
        .post(app.url("/api/v1/write"))
        .bearer_auth(token)
        .body(body);
    for name in [
        "Content-Encoding",
        "Content-Type",
        "User-Agent",
        "X-Prometheus-Remote-Write-Version",
    ] {
        request = request.header(name, headers[name].as_str().unwrap());
    }
    request
}

#[sqlx::test(migrator = "app::ssr::MIGRATOR")]
async fn real_remote_write_bodies_are_stored_under_the_tokens_tenant(pool: PgPool) {
    let app = TestApp::spawn(pool.clone()).await;
    let acme = tenant(&app, "acme").await;
    let globex = tenant(&app, "globex").await;
    let token = app.create_token(globex, &[TokenScope::Ingest]).await;
    let mut expected: BTreeSet<(String, i64)> = BTreeSet::new();
    let mut families = BTreeSet::new();
    for number in 0..10 {
        let response = post_fixture(&app, &token, number).send().await.unwrap();
        assert_eq!(
            response.status(),
            StatusCode::NO_CONTENT,
            "fixture {number}: {}",
            response.text().await.unwrap()
        );
        let decoded: Value =
            serde_json::from_slice(&std::fs::read(format!("{FIXTURES}/{number:04}.json")).unwrap())
                .unwrap();
        for series in decoded["timeseries"].as_array().unwrap() {
            let labels = store::Labels::new(
                series["labels"]
                    .as_object()
                    .unwrap()
                    .iter()
                    .map(|(k, v)| (k.as_str(), v.as_str().unwrap())),
            )
            .unwrap();
            for sample in series["samples"].as_array().unwrap() {
                expected.insert((labels.to_string(), sample[0].as_i64().unwrap()));
            }
        }
        for m in decoded["metadata"].as_array().unwrap() {
            families.insert(m["metric_family_name"].as_str().unwrap().to_string());
        }
    }
    let stored: BTreeSet<(String, i64)> = all_samples(&pool, globex, &any_name())
        .await
        .into_iter()
        .flat_map(|(l, s)| s.into_iter().map(move |(t, _)| (l.clone(), t)))
        .collect();
    assert_eq!(stored.len(), expected.len());
    assert_eq!(stored, expected, "every sample of every fixture, once");
    // The bodies carry tenant="acme" labels: labels never choose the tenant.
    assert!(all_samples(&pool, acme, &any_name()).await.is_empty());
    assert_eq!(
        all_samples(
            &pool,
            globex,
            &[
                Matcher::equal("tenant", "acme"),
                Matcher::equal("__name__", "go_goroutines")
            ]
        )
        .await
        .len(),
        1
    );
    let metadata = reader(&pool).metadata(globex).await.unwrap();
    assert_eq!(metadata.len(), families.len());
    let goroutines = metadata
        .iter()
        .find(|m| m.metric == "go_goroutines")
        .unwrap();
    assert_eq!(
        (goroutines.kind.as_str(), goroutines.help.as_str()),
        ("gauge", "Number of goroutines that currently exist.")
    );
    // The last body again (a retry): each sample repeats its series' last one, which is
    // ignored, as Prometheus does. An older body is refused as out of order (400, so the
    // sender does not retry it) and changes nothing either.
    assert_eq!(
        post_fixture(&app, &token, 8).send().await.unwrap().status(),
        StatusCode::NO_CONTENT
    );
    let response = post_fixture(&app, &token, 0).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert!(response.text().await.unwrap().contains("out_of_order"));
    let again: BTreeSet<(String, i64)> = all_samples(&pool, globex, &any_name())
        .await
        .into_iter()
        .flat_map(|(l, s)| s.into_iter().map(move |(t, _)| (l.clone(), t)))
        .collect();
    assert_eq!(again, expected);
}

#[sqlx::test(migrator = "app::ssr::MIGRATOR")]
async fn bad_remote_write_requests_get_exact_4xx_answers(pool: PgPool) {
    let app = TestApp::spawn(pool.clone()).await;
    let acme = tenant(&app, "acme").await;
    let token = app.create_token(acme, &[TokenScope::Ingest]).await;
    let read_token = app.create_token(acme, &[TokenScope::Read]).await;
    let send = |content_type: &'static str, encoding: &'static str, body: Vec<u8>| {
        app.client
            .post(app.url("/api/v1/write"))
            .bearer_auth(&token)
            .header("Content-Type", content_type)
            .header("Content-Encoding", encoding)
            .body(body)
            .send()
    };
    let answer = |response: reqwest::Response| async move {
        (response.status().as_u16(), response.text().await.unwrap())
    };
    let fixture = std::fs::read(format!("{FIXTURES}/0000.bin")).unwrap();

    let (status, body) = answer(
        send("application/json", "snappy", fixture.clone())
            .await
            .unwrap(),
    )
    .await;
    assert_eq!((status, body.as_str()), (415, "Content-Type must be application/x-protobuf (remote write 1.0, prometheus.WriteRequest), got \"application/json\"\n"));
    let (status, body) = answer(
        send("application/x-protobuf", "gzip", fixture.clone())
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        (status, body.as_str()),
        (415, "Content-Encoding must be snappy, got \"gzip\"\n")
    );
    let (status, body) = answer(
        send(
            "application/x-protobuf;proto=io.prometheus.write.v2.Request",
            "snappy",
            fixture.clone(),
        )
        .await
        .unwrap(),
    )
    .await;
    assert_eq!(status, 415, "{body}");
    let (status, body) = answer(
        send(
            "application/x-protobuf",
            "snappy",
            b"not snappy at all".to_vec(),
        )
        .await
        .unwrap(),
    )
    .await;
    assert_eq!(status, 400);
    assert!(
        body.starts_with("body is not snappy block format: "),
        "{body}"
    );
    let garbage = snap::raw::Encoder::new().compress_vec(&[0xff; 64]).unwrap();
    let (status, body) = answer(
        send("application/x-protobuf", "snappy", garbage)
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 400);
    assert!(
        body.starts_with("body is not a protobuf WriteRequest: "),
        "{body}"
    );
    let mut truncated = fixture.clone();
    truncated.truncate(fixture.len() / 2);
    assert_eq!(
        send("application/x-protobuf", "snappy", truncated)
            .await
            .unwrap()
            .status(),
        400
    );

    // Invalid labels: the other series are stored, the answer names the bad one.
    let now = chrono::Utc::now().timestamp_millis();
    let series = |pairs: &[(&str, &str)]| TimeSeries {
        labels: pairs
            .iter()
            .map(|(n, v)| Label {
                name: n.to_string(),
                value: v.to_string(),
            })
            .collect(),
        samples: vec![Sample {
            value: 1.0,
            timestamp: now,
        }],
        histograms: vec![],
    };
    let request = WriteRequest {
        timeseries: vec![
            series(&[("__name__", "ok")]),
            series(&[("__name__", "bad"), ("0x", "1")]),
        ],
        metadata: vec![],
    };
    let (status, body) = answer(
        send(
            "application/x-protobuf",
            "snappy",
            remote_write::encode(&request),
        )
        .await
        .unwrap(),
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(body, "1 of 2 samples were not stored: invalid_labels (1): timeseries[1]: invalid label name \"0x\": must match [a-zA-Z_][a-zA-Z0-9_]*\n");
    assert_eq!(
        all_samples(&pool, acme, &[Matcher::equal("__name__", "ok")])
            .await
            .len(),
        1
    );

    // Credentials: none, and a token without `ingest`.
    let response = app
        .client
        .post(app.url("/api/v1/write"))
        .body(fixture.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    let response = app
        .client
        .post(app.url("/api/v1/write"))
        .bearer_auth(&read_token)
        .body(fixture)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 403);
}

fn push_body(name: &str, samples: &[(i64, f64)]) -> Value {
    json!([{"labels": {"__name__": name, "shop": "eu"}, "samples": samples.iter().map(|(t, v)| json!([t, v])).collect::<Vec<_>>()}])
}

async fn discarded(app: &TestApp, tenant: &str, reason: &str) -> f64 {
    counter(
        &scrape(app).await,
        "meridian_discarded_samples_total",
        &[("tenant", tenant), ("reason", reason)],
    )
}

#[sqlx::test(migrator = "app::ssr::MIGRATOR")]
async fn push_stores_json_samples_and_limits_answer_429_and_400(pool: PgPool) {
    let app = TestApp::spawn(pool.clone()).await;
    let name = format!("shop-{}", &Uuid::new_v4().simple().to_string()[..8]);
    let shop = tenant(&app, &name).await;
    let token = app.create_token(shop, &[TokenScope::Ingest]).await;
    let now = chrono::Utc::now().timestamp_millis();
    let push = |body: Value| {
        app.client
            .post(app.url("/api/v1/push"))
            .bearer_auth(&token)
            .json(&body)
            .send()
    };

    let response = push(json!([{"labels": {"__name__": "orders_total", "shop": "eu"}, "samples": [[now - 2000, 1], [now - 1000, "NaN"], [now, 3.5]]}])).await.unwrap();
    assert_eq!(response.status(), 204);
    let stored = all_samples(&pool, shop, &[Matcher::equal("__name__", "orders_total")]).await;
    assert_eq!(stored[0].0, "orders_total{shop=\"eu\"}");
    assert_eq!(stored[0].1.len(), 3);
    assert!(stored[0].1[1].1.is_nan());

    let response = push(json!([{"labels": {"__name__": "x"}, "samples": [[now, true]]}]))
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    assert!(response
        .text()
        .await
        .unwrap()
        .starts_with("body must be a JSON array of"));
    let response = push(json!([{"labels": {"__name__": "x"}, "samples": [[now, "many"]]}]))
        .await
        .unwrap();
    assert_eq!(
        response.text().await.unwrap(),
        "[0].samples[0]: value \"many\" is not a number, \"NaN\", \"+Inf\" or \"-Inf\"\n"
    );

    // Out of order: counted and named.
    let before = discarded(&app, &name, "out_of_order").await;
    let response = push(push_body("orders_total", &[(now - 5000, 1.0)]))
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    let body = response.text().await.unwrap();
    assert!(body.starts_with("1 of 1 samples were not stored: out_of_order (1): out of order sample for orders_total{shop=\"eu\"}"), "{body}");
    assert_eq!(discarded(&app, &name, "out_of_order").await - before, 1.0);

    // Limits: 5 samples/s (bursts of 10), two series.
    sqlx::query(
        "update tenant_limits set max_samples_per_second = 5, max_series = 2 where tenant_id = $1",
    )
    .bind(shop)
    .execute(&pool)
    .await
    .unwrap();
    // Limits are cached for a minute: tell the server they changed.
    app.store.limits_changed(shop);
    let eight: Vec<(i64, f64)> = (1..=8).map(|i| (now + i, i as f64)).collect();
    assert_eq!(
        push(push_body("orders_total", &eight))
            .await
            .unwrap()
            .status(),
        204
    );
    let later: Vec<(i64, f64)> = (9..=16).map(|i| (now + i, i as f64)).collect();
    let response = push(push_body("orders_total", &later)).await.unwrap();
    assert_eq!(response.status(), 429);
    assert_eq!(response.text().await.unwrap(), "ingestion rate limit exceeded: 8 samples in this request, limit max_samples_per_second=5\n");
    assert_eq!(discarded(&app, &name, "rate_limited").await, 8.0);

    tokio::time::sleep(Duration::from_millis(1200)).await;
    let response = push(json!([
        {"labels": {"__name__": "a"}, "samples": [[now, 1]]},
        {"labels": {"__name__": "b"}, "samples": [[now, 1]]},
    ]))
    .await
    .unwrap();
    assert_eq!(response.status(), 400);
    let body = response.text().await.unwrap();
    assert_eq!(body, "1 of 2 samples were not stored: series_limit (1): per-tenant series limit max_series=2 reached; series b{} refused\n");
}

/// Starts the release binary on the test database; answers the child and its address.
fn start_server(database: &str, data_dir: &Path, port: u16) -> std::process::Child {
    server()
        .env("MERIDIAN_DATABASE_URL", database_url(database))
        .env("MERIDIAN_LISTEN", format!("127.0.0.1:{port}"))
        .env("MERIDIAN_DATA_DIR", data_dir)
        .env(
            "MERIDIAN_SECRET_KEY",
            "durability-test-secret-key-0123456789",
        )
        .env("MERIDIAN_LOG", "warn")
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap()
}

async fn wait_ready(client: &reqwest::Client, port: u16) {
    for _ in 0..200 {
        if client
            .get(format!("http://127.0.0.1:{port}/health/live"))
            .send()
            .await
            .is_ok_and(|r| r.status() == 200)
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the server did not start");
}

#[sqlx::test(migrator = "app::ssr::MIGRATOR")]
async fn acknowledged_samples_survive_a_killed_server(pool: PgPool) {
    let app = TestApp::spawn(pool.clone()).await;
    let acme = tenant(&app, "acme").await;
    let token = app.create_token(acme, &[TokenScope::Ingest]).await;
    let database: String = sqlx::query_scalar("select current_database()")
        .fetch_one(&pool)
        .await
        .unwrap();
    let data_dir = tempfile::tempdir().unwrap();
    let port = unused_port();
    let mut child = start_server(&database, data_dir.path(), port);
    let client = reqwest::Client::new();
    wait_ready(&client, port).await;

    let t0 = chrono::Utc::now().timestamp_millis() - 60_000;
    let mut acknowledged = Vec::new();
    for i in 0..50 {
        let sample = (t0 + i * 1000, i as f64);
        let response = client
            .post(format!("http://127.0.0.1:{port}/api/v1/push"))
            .bearer_auth(&token)
            .json(&push_body("durable_total", &[sample]))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 204);
        acknowledged.push(sample);
    }
    child.kill().unwrap(); // SIGKILL: no shutdown, no checkpoint
    child.wait().unwrap();
    let found = all_samples(&pool, acme, &[Matcher::equal("__name__", "durable_total")]).await;
    assert_eq!(
        found[0].1, acknowledged,
        "every acknowledged sample, from the log"
    );

    // The restarted server replays its log, checkpoints it and goes on.
    let mut child = start_server(&database, data_dir.path(), port);
    wait_ready(&client, port).await;
    let more = (t0 + 50_000, 50.0);
    let response = client
        .post(format!("http://127.0.0.1:{port}/api/v1/push"))
        .bearer_auth(&token)
        .json(&push_body("durable_total", &[more]))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 204);
    acknowledged.push(more);
    let found = all_samples(&pool, acme, &[Matcher::equal("__name__", "durable_total")]).await;
    assert_eq!(found[0].1, acknowledged);
    child.kill().unwrap();
    child.wait().unwrap();
}
