//! External data sources against Debian's Prometheus: a tenant pointed at it is answered by it
//! through the Prometheus API and Explore, with its bearer token and X-Scope-OrgID; other
//! tenants keep reading the store; a source that is down is a 503 naming it.

use std::{
    process::{Child, Command, Stdio},
    sync::{Arc, Mutex},
    time::Duration,
};

use axum::{body::Bytes, extract::State, http::HeaderMap, response::IntoResponse};
use serde_json::{json, Value};
use sqlx::PgPool;
use uuid::Uuid;

use crate::{
    helpers::{unused_port, TestApp},
    query::get,
};
use app::ssr::scope::TokenScope;

/// Debian's Prometheus scraping itself every second; killed on drop.
struct Prometheus {
    child: Child,
    url: String,
    _dir: tempfile::TempDir,
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn start_prometheus() -> Prometheus {
    assert!(
        std::path::Path::new("/usr/bin/prometheus").exists(),
        "Debian's prometheus is needed: apt-get install prometheus (scripts/test installs it)"
    );
    let dir = tempfile::tempdir().unwrap();
    let port = unused_port();
    let config = dir.path().join("prometheus.yml");
    std::fs::write(
        &config,
        format!(
            "global: {{scrape_interval: 1s}}\nscrape_configs:\n- job_name: prometheus\n  static_configs: [{{targets: ['127.0.0.1:{port}']}}]\n"
        ),
    )
    .unwrap();
    let child = Command::new("/usr/bin/prometheus")
        .arg(format!("--config.file={}", config.display()))
        .arg(format!(
            "--storage.tsdb.path={}",
            dir.path().join("data").display()
        ))
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let prometheus = Prometheus {
        child,
        url: format!("http://127.0.0.1:{port}"),
        _dir: dir,
    };
    // Ready once it has scraped itself a few times.
    for _ in 0..300 {
        let answer = reqwest::get(format!(
            "{}/api/v1/query?query=count_over_time(up[1m])",
            prometheus.url
        ))
        .await;
        if let Ok(answer) = answer {
            if let Ok(body) = answer.json::<Value>().await {
                if body["data"]["result"][0]["value"][1]
                    .as_str()
                    .is_some_and(|n| n.parse::<f64>().unwrap_or(0.0) >= 3.0)
                {
                    return prometheus;
                }
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("Prometheus did not scrape itself within 30 s");
}

/// What the data source was sent: `Authorization` and `X-Scope-OrgID` of each request.
type Seen = Arc<Mutex<Vec<(String, String)>>>;

/// An HTTP hop in front of Prometheus that writes down the headers it is sent and passes the
/// request on unchanged: Prometheus itself ignores both headers.
async fn recording_hop(upstream: String) -> (String, Seen) {
    let seen: Seen = Arc::default();
    async fn pass(
        State((upstream, seen)): State<(String, Seen)>,
        uri: axum::http::Uri,
        method: axum::http::Method,
        headers: HeaderMap,
        body: Bytes,
    ) -> impl IntoResponse {
        let header = |name: &str| {
            headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_string()
        };
        seen.lock()
            .unwrap()
            .push((header("authorization"), header("x-scope-orgid")));
        let mut request = reqwest::Client::new().request(
            reqwest::Method::from_bytes(method.as_str().as_bytes()).unwrap(),
            format!("{upstream}{uri}"),
        );
        if let Some(kind) = headers.get("content-type") {
            request = request.header("content-type", kind.to_str().unwrap());
        }
        let answer = request.body(body).send().await.unwrap();
        let status = answer.status().as_u16();
        (
            axum::http::StatusCode::from_u16(status).unwrap(),
            answer.bytes().await.unwrap(),
        )
    }
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = format!("http://{}", listener.local_addr().unwrap());
    let router = axum::Router::new()
        .fallback(pass)
        .with_state((upstream, seen.clone()));
    tokio::spawn(async move { axum::serve(listener, router).await });
    (address, seen)
}

async fn direct(prometheus: &Prometheus, path: &str) -> Value {
    reqwest::get(format!("{}{path}", prometheus.url))
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// Pushes one sample of `store_only` into the tenant's store.
async fn push_to_store(app: &TestApp, tenant: Uuid) {
    let ingest = app.create_token(tenant, &[TokenScope::Ingest]).await;
    let now = chrono::Utc::now().timestamp_millis();
    let pushed = app
        .client
        .post(app.url("/api/v1/push"))
        .bearer_auth(&ingest)
        .json(&json!([{"labels": {"__name__": "store_only"}, "samples": [[now, 7]]}]))
        .send()
        .await
        .unwrap();
    assert_eq!(pushed.status(), 204);
}

#[sqlx::test(migrator = "app::ssr::MIGRATOR")]
async fn a_tenant_on_an_external_prometheus_is_answered_by_it(pool: PgPool) {
    let prometheus = start_prometheus().await;
    let (hop, seen) = recording_hop(prometheus.url.clone()).await;
    let app = TestApp::spawn(pool).await;
    let (a, b) = (
        app.create_tenant("on-prometheus").await,
        app.create_tenant("on-store").await,
    );
    push_to_store(&app, a).await;
    push_to_store(&app, b).await;
    app.create_user("admin@x.io", "admin", None).await;
    let admin = app.browser();
    admin.login_ok("admin@x.io").await;
    let tenant_a = a.to_string();
    let set = |url: String, token: &'static str, org: &'static str| {
        let (admin, tenant) = (&admin, tenant_a.clone());
        async move {
            let fields = [
                ("tenant", tenant.as_str()),
                ("url", url.as_str()),
                ("bearer_token", token),
                ("org_id", org),
            ];
            admin.call("set_tenant_datasource", &fields).await
        }
    };

    // Validation names the field and writes nothing.
    let audit_before = app.audit_count().await;
    let refused = set("prometheus:9090".into(), "", "").await;
    assert_eq!(refused.status(), 422);
    let body: Value = refused.json().await.unwrap();
    assert_eq!(body["Invalid"]["field"], "url");
    assert_eq!(app.audit_count().await, audit_before);

    let saved = set(format!("{hop}/"), "s3cret-token", "team-a").await;
    assert_eq!(saved.status(), 200);
    let saved: Value = saved.json().await.unwrap();
    assert_eq!(saved["url"], json!(hop), "the trailing slash is dropped");
    assert_eq!(saved["has_token"], json!(true));
    assert!(
        !saved.to_string().contains("s3cret"),
        "the token never comes back"
    );
    let audit: (Value,) = sqlx::query_as(
        "select after from audit_event where action = 'tenant.datasource_update' order by id desc limit 1",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(audit.0["org_id"], "team-a");
    assert!(
        !audit.0.to_string().contains("s3cret"),
        "nor goes into the audit trail"
    );

    // The API answers for tenant A exactly as Prometheus does, over GET and POST.
    let reader_a = app.create_token(a, &[TokenScope::Read]).await;
    // A time at which Prometheus has a sample, so that every answer below has data.
    let latest = direct(&prometheus, "/api/v1/query?query=timestamp(up)").await;
    let now = latest["data"]["result"][0]["value"][1]
        .as_str()
        .and_then(|t| t.parse::<f64>().ok())
        .expect("a scrape of itself") as i64;
    for path in [
        format!("/api/v1/query?query=up&time={now}"),
        format!(
            "/api/v1/query_range?query=sum(up)&start={}&end={now}&step=1",
            now - 5
        ),
        "/api/v1/labels".to_string(),
        "/api/v1/label/job/values".to_string(),
        format!("/api/v1/series?match[]=up&start={}&end={now}", now - 5),
    ] {
        let (status, through) = get(&app, &reader_a, &path).await;
        assert_eq!(status, 200, "{path}: {through}");
        assert_eq!(through, direct(&prometheus, &path).await, "{path}");
    }
    let posted: Value = app
        .client
        .post(app.url("/api/v1/query"))
        .bearer_auth(&reader_a)
        .form(&[("query", "up"), ("time", &now.to_string())])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let path = format!("/api/v1/query?query=up&time={now}");
    assert_eq!(posted, direct(&prometheus, &path).await);
    assert_eq!(posted["data"]["result"][0]["metric"]["job"], "prometheus");
    let (_, store_only) = get(&app, &reader_a, "/api/v1/query?query=store_only").await;
    assert_eq!(
        store_only["data"]["result"],
        json!([]),
        "tenant A's store is not read"
    );
    // Errors come back as Prometheus gives them.
    let (status, error) = get(&app, &reader_a, "/api/v1/query?query=sum(").await;
    assert_eq!(
        (status, error["errorType"].as_str()),
        (400, Some("bad_data"))
    );

    // Every request carried the source's credentials.
    let headers = seen.lock().unwrap().clone();
    assert!(headers.len() >= 7, "{headers:?}");
    assert!(
        headers
            .iter()
            .all(|h| h == &("Bearer s3cret-token".to_string(), "team-a".to_string())),
        "{headers:?}"
    );

    // Explore runs on the same source.
    let explored: Value = admin
        .call(
            "explore_query",
            &[
                ("request[tenant]", tenant_a.as_str()),
                ("request[expr]", "up"),
                ("request[mode]", "table"),
            ],
        )
        .await
        .json()
        .await
        .unwrap();
    let rows = &explored["Answer"]["rows"];
    assert_eq!(rows.as_array().map(Vec::len), Some(1), "{explored}");
    assert!(
        rows[0]["series"]
            .as_str()
            .unwrap()
            .contains("job=\"prometheus\""),
        "{explored}"
    );

    // Tenant B still reads the store.
    let reader_b = app.create_token(b, &[TokenScope::Read]).await;
    let (_, up) = get(&app, &reader_b, "/api/v1/query?query=up").await;
    assert_eq!(up["data"]["result"], json!([]));
    let (_, mine) = get(&app, &reader_b, "/api/v1/query?query=store_only").await;
    assert_eq!(mine["data"]["result"][0]["value"][1], "7");

    // A source that is down: 503, naming it.
    let down = format!("http://127.0.0.1:{}", unused_port());
    assert_eq!(set(down.clone(), "", "").await.status(), 200);
    let (status, error) = get(&app, &reader_a, "/api/v1/query?query=up").await;
    assert_eq!(
        (status, error["errorType"].as_str()),
        (503, Some("unavailable")),
        "{error}"
    );
    assert!(error["error"].as_str().unwrap().contains(&down), "{error}");

    // An empty URL goes back to the store.
    assert_eq!(set(String::new(), "", "").await.status(), 200);
    let (_, mine) = get(&app, &reader_a, "/api/v1/query?query=store_only").await;
    assert_eq!(mine["data"]["result"][0]["value"][1], "7");
}

#[sqlx::test(migrator = "app::ssr::MIGRATOR")]
async fn explore_shows_syntax_errors_at_their_position(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let tenant = app.create_tenant("acme").await;
    app.create_user("editor@x.io", "tenant-editor", Some(tenant))
        .await;
    app.create_user("viewer@x.io", "tenant-viewer", Some(tenant))
        .await;
    let editor = app.browser();
    editor.login_ok("editor@x.io").await;
    let explored: Value = editor
        .call("explore_query", &[("request[expr]", "sum(rate(x[5m]) +)")])
        .await
        .json()
        .await
        .unwrap();
    let error = &explored["ParseError"];
    assert_eq!(
        (error["line"].as_u64(), error["column"].as_u64()),
        (Some(1), Some(18)),
        "{explored}"
    );
    assert_eq!(error["offset"], 17);
    assert!(
        error["message"]
            .as_str()
            .unwrap()
            .starts_with("1:18: parse error: unexpected \")\""),
        "{explored}"
    );

    // The API says the same.
    let reader = app.create_token(tenant, &[TokenScope::Read]).await;
    let (status, body) = get(&app, &reader, "/api/v1/query?query=sum(rate(x[5m])%20%2B)").await;
    assert_eq!(status, 400);
    assert_eq!(
        body["error"].as_str().unwrap(),
        format!(
            "invalid parameter \"query\": {}",
            error["message"].as_str().unwrap()
        )
    );

    // Viewers may not explore.
    let viewer = app.browser();
    viewer.login_ok("viewer@x.io").await;
    let refused = viewer
        .call("explore_query", &[("request[expr]", "up")])
        .await;
    assert_eq!(refused.status(), 403);
}
