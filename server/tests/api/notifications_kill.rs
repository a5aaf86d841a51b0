//! Meridian killed mid-delivery (SIGKILL, the release binary): after a restart every
//! notification arrives, and a notification that arrives twice (it was in flight at the kill, so
//! its delivery was never recorded) carries the same `Idempotency-Key` both times.

use std::{
    collections::{BTreeMap, BTreeSet},
    path::Path,
    sync::{Arc, Mutex},
    time::Duration,
};

use serde_json::{json, Value};
use sqlx::PgPool;

use crate::helpers::{database_url, server, unused_port, TestApp};
use app::ssr::scope::TokenScope;

/// A receiver that takes a second to answer, and records a request when it has answered it.
#[derive(Clone, Default)]
struct SlowReceiver {
    got: Arc<Mutex<Vec<(String, String)>>>,
}

impl SlowReceiver {
    async fn listen(&self, port: u16) {
        let got = self.got.clone();
        let handler = move |headers: axum::http::HeaderMap, body: axum::body::Bytes| {
            let got = got.clone();
            async move {
                tokio::time::sleep(Duration::from_secs(1)).await;
                let key = headers.get("idempotency-key").and_then(|v| v.to_str().ok()).unwrap_or_default().to_string();
                let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
                got.lock().unwrap().push((body["groupKey"].as_str().unwrap_or_default().to_string(), key));
                "ok"
            }
        };
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await.unwrap();
        tokio::spawn(async move { axum::serve(listener, axum::Router::new().fallback(handler)).await.unwrap() });
    }

    fn requests(&self) -> Vec<(String, String)> {
        self.got.lock().unwrap().clone()
    }
}

fn start(database: &str, data_dir: &Path, port: u16) -> std::process::Child {
    server()
        .env("MERIDIAN_DATABASE_URL", database_url(database))
        .env("MERIDIAN_LISTEN", format!("127.0.0.1:{port}"))
        .env("MERIDIAN_DATA_DIR", data_dir)
        .env("MERIDIAN_SECRET_KEY", "notification-kill-test-secret-key-0123")
        .env("MERIDIAN_LOG", "warn")
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap()
}

async fn ready(client: &reqwest::Client, port: u16) {
    for _ in 0..300 {
        if client.get(format!("http://127.0.0.1:{port}/health/live")).send().await.is_ok_and(|r| r.status() == 200) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the server did not start");
}

#[sqlx::test(migrator = "app::ssr::MIGRATOR")]
async fn a_server_killed_mid_delivery_loses_nothing_and_repeats_only_under_the_same_key(pool: PgPool) {
    let app = TestApp::spawn(pool.clone()).await;
    let tenant = app.create_tenant("killed").await;
    let token = app.create_token(tenant, &TokenScope::ALL).await;
    let database: String = sqlx::query_scalar("select current_database()").fetch_one(&pool).await.unwrap();
    let receiver = SlowReceiver::default();
    let hook = unused_port();
    receiver.listen(hook).await;
    let (data_dir, port, client) = (tempfile::tempdir().unwrap(), unused_port(), reqwest::Client::new());
    let base = format!("http://127.0.0.1:{port}");

    let mut child = start(&database, data_dir.path(), port);
    ready(&client, port).await;
    let yaml = format!(
        "route:\n  receiver: hook\n  group_by: [alertname]\n  group_wait: 0s\n  group_interval: 1m\n  repeat_interval: 1h\nreceivers:\n  - name: hook\n    webhook_configs:\n      - url: http://127.0.0.1:{hook}/hook\n"
    );
    let response = client.post(format!("{base}/api/v1/alertmanager/config")).bearer_auth(&token).header("content-type", "application/yaml").body(yaml).send().await.unwrap();
    assert_eq!(response.status(), 200, "{}", response.text().await.unwrap());
    // Forty groups, posted in two halves so that the kill finds some delivered and some in
    // flight.
    let alerts = |from: usize, to: usize| -> Value {
        json!((from..to).map(|i| json!({"labels": {"alertname": format!("Killed{i:02}")}})).collect::<Vec<_>>())
    };
    let post = |body: Value| client.post(format!("{base}/api/v2/alerts")).bearer_auth(&token).json(&body).send();
    assert_eq!(post(alerts(0, 20)).await.unwrap().status(), 200);
    // The first half delivered and recorded, then the second half in flight at the kill.
    for i in 0.. {
        let delivered: i64 = sqlx::query_scalar("select count(*) from notify_outbox where state = 'delivered'").fetch_one(&pool).await.unwrap();
        if delivered == 20 {
            break;
        }
        assert!(i < 300, "the first half was not delivered ({delivered})");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(post(alerts(20, 40)).await.unwrap().status(), 200);
    tokio::time::sleep(Duration::from_millis(300)).await;
    child.kill().unwrap(); // SIGKILL: in-flight requests are never recorded as delivered
    child.wait().unwrap();
    let at_kill = receiver.requests().len();
    let pending: i64 = sqlx::query_scalar("select count(*) from notify_outbox where state = 'pending'").fetch_one(&pool).await.unwrap();
    eprintln!("at the kill: {at_kill} received, {pending} outbox rows not delivered");
    assert!(pending > 0, "the kill came before every delivery was recorded");

    // The restarted server finishes the work (in-flight rows once their lease ends).
    let mut child = start(&database, data_dir.path(), port);
    ready(&client, port).await;
    let deadline = std::time::Instant::now() + Duration::from_secs(90);
    loop {
        let delivered: i64 = sqlx::query_scalar("select count(*) from notify_outbox where state = 'delivered'").fetch_one(&pool).await.unwrap();
        let total: i64 = sqlx::query_scalar("select count(*) from notify_outbox").fetch_one(&pool).await.unwrap();
        if total == 40 && delivered == 40 {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "{delivered} of {total} delivered");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;
    child.kill().unwrap();
    child.wait().unwrap();

    let requests = receiver.requests();
    let mut keys: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (group, key) in &requests {
        keys.entry(group.clone()).or_default().insert(key.clone());
    }
    assert_eq!(keys.len(), 40, "every group's notification arrived: {keys:?}");
    for (group, group_keys) in &keys {
        assert_eq!(group_keys.len(), 1, "{group} arrived as two different notifications: {group_keys:?}");
    }
    let repeated = requests.len() - keys.len();
    eprintln!("{} requests for 40 notifications; {repeated} repeated under the same key", requests.len());
    assert!(repeated <= 20, "only deliveries in flight at the kill are repeated");
}
