//! Notifications: Alertmanager as the oracle (the same configuration and scripted alerts into
//! Debian's Alertmanager 0.25 and into Meridian, on one clock), the configuration API, amtool
//! against Meridian's API v2, and delivery that loses nothing and sends nothing twice.

use std::{net::TcpListener, process::Command};

use serde_json::Value;
use sqlx::PgPool;

use crate::{
    alert_oracle::{oracle_dir, run},
    helpers::TestApp,
};
use app::ssr::scope::TokenScope;

pub(crate) fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// Starts the notification machinery of `app` (the test server starts none of it).
pub(crate) fn start_notifier(app: &TestApp, replica: &str) -> Vec<tokio::task::JoinHandle<()>> {
    vec![
        tokio::spawn(app::notifications::dispatcher::run(app.state.clone())),
        tokio::spawn(app::notifications::delivery::run(app.state.clone(), replica.into())),
    ]
}

/// One notification as the comparison sees it: receiver, group labels, status and alerts.
#[derive(Debug, Clone, PartialEq)]
struct Seen {
    t: f64,
    what: String,
    group_key: String,
    fingerprints: Vec<String>,
    firing_ends: Vec<Option<f64>>,
}

fn seen(recorded: &Value) -> Vec<Seen> {
    recorded["notifications"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| {
            let alerts = n["alerts"].as_array().unwrap();
            let names: Vec<String> = alerts
                .iter()
                .map(|a| format!("{}/{}:{}", a["alertname"].as_str().unwrap(), a["instance"].as_str().unwrap(), a["status"].as_str().unwrap()))
                .collect();
            Seen {
                t: n["t"].as_f64().unwrap(),
                what: format!("{} {} {} [{}]", n["receiver"].as_str().unwrap(), n["groupLabels"], n["status"].as_str().unwrap(), names.join(", ")),
                group_key: n["groupKey"].as_str().unwrap_or_default().to_string(),
                fingerprints: alerts.iter().map(|a| a["fingerprint"].as_str().unwrap_or_default().to_string()).collect(),
                firing_ends: alerts
                    .iter()
                    .filter(|a| a["status"] == "firing")
                    .map(|a| a["endsAt_rel"].as_f64())
                    .collect(),
            }
        })
        .collect()
}

#[sqlx::test(migrator = "app::ssr::MIGRATOR")]
async fn alertmanager_and_meridian_send_the_same_notifications(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let tenant = app.create_tenant("oracle").await;
    let token = app.create_token(tenant, &[TokenScope::Read, TokenScope::Write]).await;
    let notifier = start_notifier(&app, "oracle");
    let work = tempfile::tempdir().unwrap();
    let (am_out, m_out) = (work.path().join("am"), work.path().join("meridian"));
    let (base, config_url) = (app.url(""), app.url("/api/v1/alertmanager/config"));
    let port = free_port().to_string();
    // Both on one clock: Alertmanager and Meridian run the ~51 s script side by side.
    let script = oracle_dir().join("am_oracle.py");
    let (s1, s2) = (script.clone(), script);
    let am_dir = am_out.clone();
    let alertmanager = tokio::task::spawn_blocking(move || {
        run(
            "am_oracle.py (Alertmanager)",
            Command::new("python3").arg(s1).args(["--out", am_dir.to_str().unwrap()]),
        )
    });
    let m_dir = m_out.clone();
    let meridian = tokio::task::spawn_blocking(move || {
        run(
            "am_oracle.py (Meridian)",
            Command::new("python3")
                .arg(s2)
                .args(["--out", m_dir.to_str().unwrap()])
                .args(["--target", base.trim_end_matches('/'), "--token", &token])
                .args(["--webhook-port", &port, "--config-post-url", &config_url]),
        )
    });
    alertmanager.await.unwrap();
    meridian.await.unwrap();
    for task in notifier {
        task.abort();
    }
    let read = |dir: &std::path::Path| -> Value {
        serde_json::from_str(&std::fs::read_to_string(dir.join("notifications.json")).unwrap()).unwrap()
    };
    let (am, m) = (read(&am_out), read(&m_out));
    assert_eq!(m["config_post"]["code"], 200, "{}", m["config_post"]);
    for action in m["actions"].as_array().unwrap() {
        assert_eq!(action["code"], 200, "{action}");
    }
    let (expected, got) = (seen(&am), seen(&m));
    assert!(expected.len() >= 10, "Alertmanager sent only {expected:#?}");
    // Each of Alertmanager's notifications has its twin within 1 s (a repeat may come one
    // group_interval, 5 s, later or earlier: Alertmanager checks repeats on its ticks).
    for (who, list) in [("Alertmanager", &expected), ("Meridian", &got)] {
        eprintln!("{who}:");
        for n in list {
            eprintln!("  {:6.2} {}", n.t, n.what);
        }
    }
    let mut unmatched = got.clone();
    for e in &expected {
        let twin = unmatched.iter().position(|g| {
            let dt = g.t - e.t;
            g.what == e.what && (dt.abs() <= 1.0 || (dt.abs() - 5.0).abs() <= 1.0)
        });
        let Some(i) = twin else {
            panic!("Meridian did not send {e:?}\nAlertmanager: {expected:#?}\nMeridian: {got:#?}");
        };
        let g = unmatched.remove(i);
        assert_eq!(g.group_key, e.group_key, "{}", e.what);
        assert_eq!(g.fingerprints, e.fingerprints, "{}", e.what);
        assert!(g.firing_ends.iter().all(Option::is_none), "firing alerts have no end: {g:?}");
    }
    assert!(unmatched.is_empty(), "Meridian also sent {unmatched:#?}");
}

/// A local HTTP receiver: every request's path, idempotency key and JSON body.
#[derive(Clone, Default)]
pub(crate) struct Receiver {
    got: std::sync::Arc<std::sync::Mutex<Vec<(String, String, Value)>>>,
}

impl Receiver {
    /// Listens on `port` until the test ends.
    pub(crate) async fn listen(&self, port: u16) {
        let got = self.got.clone();
        let handler = move |uri: axum::http::Uri, headers: axum::http::HeaderMap, body: axum::body::Bytes| {
            let got = got.clone();
            async move {
                let key = headers
                    .get("idempotency-key")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or_default()
                    .to_string();
                let body = serde_json::from_slice(&body).unwrap_or(Value::Null);
                got.lock().unwrap().push((uri.path().to_string(), key, body));
                "ok"
            }
        };
        let router = axum::Router::new().fallback(handler);
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await.unwrap();
        tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    }

    pub(crate) fn requests(&self) -> Vec<(String, String, Value)> {
        self.got.lock().unwrap().clone()
    }
}

/// Debian's Alertmanager 0.25 (`prometheus-alertmanager`), stopped when dropped.
pub(crate) struct Alertmanager(std::process::Child);

impl Alertmanager {
    /// Starts one with `config` (its files in `work`), ready; answers its base URL too.
    pub(crate) async fn start(config: &str, work: &std::path::Path) -> (Alertmanager, String) {
        let file = work.join("alertmanager.yml");
        std::fs::write(&file, config).unwrap();
        let port = free_port();
        let am = Alertmanager(
            Command::new("prometheus-alertmanager")
                .arg(format!("--config.file={}", file.display()))
                .arg(format!("--storage.path={}", work.join("data").display()))
                .arg(format!("--web.listen-address=127.0.0.1:{port}"))
                .arg("--cluster.listen-address=")
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .spawn()
                .expect("prometheus-alertmanager (Debian's package) runs"),
        );
        let url = format!("http://127.0.0.1:{port}");
        let client = reqwest::Client::new();
        for _ in 0..100 {
            if client.get(format!("{url}/-/ready")).send().await.is_ok_and(|r| r.status().is_success()) {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        (am, url)
    }
}

impl Drop for Alertmanager {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A configuration sending everything to a webhook on `port`, quickly.
fn webhook_config(port: u16) -> String {
    format!(
        "route:
  receiver: hook
  group_by: [alertname]
  group_wait: 1s
  group_interval: 2s
  repeat_interval: 1h
receivers:
  - name: hook
    webhook_configs:
      - url: http://127.0.0.1:{port}/hook
"
    )
}

/// Posts alerts named `names` to the tenant's Alertmanager API.
pub(crate) async fn post_alerts(app: &TestApp, token: &str, names: &[String]) {
    let alerts: Vec<Value> = names
        .iter()
        .map(|n| serde_json::json!({"labels": {"alertname": n, "severity": "critical"}, "annotations": {"summary": "down"}}))
        .collect();
    let response = app
        .client
        .post(app.url("/api/v2/alerts"))
        .bearer_auth(token)
        .json(&alerts)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200, "{}", response.text().await.unwrap());
}

pub(crate) async fn configure(app: &TestApp, token: &str, yaml: &str) -> reqwest::Response {
    app.client
        .post(app.url("/api/v1/alertmanager/config"))
        .bearer_auth(token)
        .header("content-type", "application/yaml")
        .body(yaml.to_string())
        .send()
        .await
        .unwrap()
}

/// Waits until `done` holds (at most `seconds`).
pub(crate) async fn until(seconds: u64, mut done: impl FnMut() -> bool) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(seconds);
    while !done() {
        assert!(std::time::Instant::now() < deadline, "gave up waiting");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

async fn outbox_states(app: &TestApp) -> Vec<(String, i32)> {
    sqlx::query_as("select state, attempts from notify_outbox order by created_ms")
        .fetch_all(&app.pool)
        .await
        .unwrap()
}

#[sqlx::test(migrator = "app::ssr::MIGRATOR")]
async fn the_configuration_is_checked_whole_and_audited(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let tenant = app.create_tenant("conf").await;
    let other = app.create_tenant("other").await;
    let token = app.create_token(tenant, &[TokenScope::Read, TokenScope::Write]).await;
    let other_token = app.create_token(other, &[TokenScope::Read]).await;
    let export = |token: String| {
        let app = &app;
        async move {
            app.client
                .get(app.url("/api/v1/alertmanager/config"))
                .bearer_auth(token)
                .send()
                .await
                .unwrap()
                .text()
                .await
                .unwrap()
        }
    };
    let default = export(token.clone()).await;
    assert!(default.contains("inbox_configs"), "{default}");
    // An undefined receiver on line 2: refused, nothing written.
    let response = configure(&app, &token, "route:\n  receiver: nobody\nreceivers:\n  - name: hook\n").await;
    assert_eq!(response.status(), 422);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["field"], "line 2", "{body}");
    assert!(body["error"].as_str().unwrap().contains("undefined receiver \"nobody\""), "{body}");
    assert_eq!(export(token.clone()).await, default);
    let yaml = webhook_config(9);
    let response = configure(&app, &token, &yaml).await;
    assert_eq!(response.status(), 200);
    let exported = export(token.clone()).await;
    assert_eq!(notify::config::parse(&exported).unwrap().file, notify::config::parse(&yaml).unwrap().file);
    // The other tenant still has its own (the default).
    assert_eq!(export(other_token).await, default);
    let audited: i64 = sqlx::query_scalar(
        "select count(*) from audit_event where action = 'notifications.configure' and tenant_id = $1",
    )
    .bind(tenant)
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(audited, 1);
    // The status shows it, as Alertmanager's does.
    let status: Value = app
        .client
        .get(app.url("/api/v2/status"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(status["config"]["original"].as_str().unwrap(), exported);
    assert_eq!(status["cluster"]["status"], "disabled");
}

#[sqlx::test(migrator = "app::ssr::MIGRATOR")]
async fn amtool_queries_alerts_and_adds_queries_and_expires_silences(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let tenant = app.create_tenant("amtool").await;
    let token = app.create_token(tenant, &[TokenScope::Read, TokenScope::Write]).await;
    let work = tempfile::tempdir().unwrap();
    let http_config = work.path().join("http.yml");
    std::fs::write(&http_config, format!("authorization:\n  type: Bearer\n  credentials: {token}\n")).unwrap();
    let url = app.url("/");
    let amtool = move |args: &[&str]| -> String {
        let output = Command::new("amtool")
            .arg(format!("--alertmanager.url={url}"))
            .arg(format!("--http.config.file={}", http_config.display()))
            .args(args)
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "amtool {args:?}: {}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8(output.stdout).unwrap()
    };
    let run = |args: Vec<&'static str>| {
        let amtool = amtool.clone();
        tokio::task::spawn_blocking(move || amtool(&args))
    };
    run(vec!["alert", "add", "alertname=AmtoolTest", "severity=warning", "--annotation=summary=from amtool"])
        .await
        .unwrap();
    let query = run(vec!["alert", "query"]).await.unwrap();
    assert!(query.contains("AmtoolTest") && query.contains("from amtool"), "{query}");
    let id = run(vec!["silence", "add", "alertname=AmtoolTest", "--comment=maintenance", "--author=ops", "--duration=1h"])
        .await
        .unwrap();
    let id = id.trim().to_string();
    assert_eq!(id.len(), 36, "{id}");
    let silences = run(vec!["silence", "query", "-q"]).await.unwrap();
    assert_eq!(silences.trim(), id);
    // Silenced: gone from the default query, shown with --silenced.
    let query = run(vec!["alert", "query"]).await.unwrap();
    assert!(!query.contains("AmtoolTest"), "{query}");
    let query = run(vec!["alert", "query", "--silenced"]).await.unwrap();
    assert!(query.contains("AmtoolTest"), "{query}");
    let expire_id: &'static str = Box::leak(id.clone().into_boxed_str());
    run(vec!["silence", "expire", expire_id]).await.unwrap();
    assert_eq!(run(vec!["silence", "query", "-q"]).await.unwrap().trim(), "");
    assert_eq!(run(vec!["silence", "query", "-q", "--expired"]).await.unwrap().trim(), id);
    let query = run(vec!["alert", "query"]).await.unwrap();
    assert!(query.contains("AmtoolTest"), "{query}");
    let audited: i64 = sqlx::query_scalar(
        "select count(*) from audit_event where target_type = 'silence' and tenant_id = $1",
    )
    .bind(tenant)
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(audited, 2, "created and expired");
}

#[sqlx::test(migrator = "app::ssr::MIGRATOR")]
async fn a_receiver_that_is_down_gets_the_notification_once_it_is_up(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let tenant = app.create_tenant("down").await;
    let token = app.create_token(tenant, &TokenScope::ALL).await;
    let port = free_port();
    assert_eq!(configure(&app, &token, &webhook_config(port)).await.status(), 200);
    let notifier = start_notifier(&app, "down");
    post_alerts(&app, &token, &["ReceiverDown".into()]).await;
    // Refused while nothing listens: attempts are logged, the notification stays pending.
    loop {
        let states = outbox_states(&app).await;
        if states.first().is_some_and(|(_, attempts)| *attempts >= 2) {
            assert_eq!(states[0].0, "pending");
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    let errors: Vec<Option<String>> = sqlx::query_scalar("select error from notify_attempt order by at_ms")
        .fetch_all(&app.pool)
        .await
        .unwrap();
    assert!(errors.iter().all(|e| e.as_deref() == Some("could not connect")), "{errors:?}");
    let receiver = Receiver::default();
    receiver.listen(port).await;
    until(20, || !receiver.requests().is_empty()).await;
    tokio::time::sleep(std::time::Duration::from_secs(3)).await;
    for task in notifier {
        task.abort();
    }
    let requests = receiver.requests();
    assert_eq!(requests.len(), 1, "{requests:?}");
    let (path, key, body) = &requests[0];
    assert_eq!(path, "/hook");
    assert_eq!(body["version"], "4");
    assert_eq!(body["alerts"][0]["labels"]["alertname"], "ReceiverDown");
    let states = outbox_states(&app).await;
    assert_eq!(states.len(), 1);
    assert_eq!(states[0].0, "delivered");
    let id: uuid::Uuid = sqlx::query_scalar("select id from notify_outbox").fetch_one(&app.pool).await.unwrap();
    assert_eq!(key, &id.to_string(), "the idempotency key is the outbox row's id");
}

#[sqlx::test(migrator = "app::ssr::MIGRATOR")]
async fn a_delivery_cut_short_is_made_again_under_the_same_key_and_never_lost(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let tenant = app.create_tenant("cut").await;
    let token = app.create_token(tenant, &TokenScope::ALL).await;
    let port = free_port();
    let receiver = Receiver::default();
    receiver.listen(port).await;
    assert_eq!(configure(&app, &token, &webhook_config(port)).await.status(), 200);
    post_alerts(&app, &token, &["CutShort".into(), "Untouched".into()]).await;
    // Only the dispatcher: the messages wait in the outbox.
    let dispatcher = tokio::spawn(app::notifications::dispatcher::run(app.state.clone()));
    let app_ref = &app;
    loop {
        if outbox_states(app_ref).await.len() == 2 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    dispatcher.abort();
    // A replica takes both, sends one, and dies before recording it (as a kill -9 would).
    use app::notifications::delivery;
    let now = app::notifications::repo::now_ms();
    let taken = delivery::take(&app.state, now, 10).await.unwrap();
    assert_eq!(taken.len(), 2);
    assert!(delivery::take(&app.state, now, 10).await.unwrap().is_empty(), "leased rows are not taken twice");
    let client = delivery::client();
    let sent = delivery::deliver(&app.state, &client, &taken[0]).await;
    assert!(sent.error.is_none());
    drop(taken);
    // Its lease runs out; another replica's worker delivers both.
    sqlx::query("update notify_outbox set lease_until_ms = $1").bind(now - 1).execute(&app.pool).await.unwrap();
    let worker = tokio::spawn(delivery::run(app.state.clone(), "survivor".into()));
    until(10, || receiver.requests().len() >= 3).await;
    tokio::time::sleep(std::time::Duration::from_secs(1)).await;
    worker.abort();
    let requests = receiver.requests();
    assert_eq!(requests.len(), 3, "one was sent twice, as the crash left it unrecorded");
    let keys: std::collections::BTreeSet<&String> = requests.iter().map(|(_, k, _)| k).collect();
    assert_eq!(keys.len(), 2, "the repeat carries the same idempotency key: {requests:?}");
    assert!(outbox_states(&app).await.iter().all(|(s, _)| s == "delivered"));
}

#[sqlx::test(migrator = "app::ssr::MIGRATOR")]
async fn two_replicas_send_each_notification_once(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let tenant = app.create_tenant("replicas").await;
    let token = app.create_token(tenant, &TokenScope::ALL).await;
    let port = free_port();
    let receiver = Receiver::default();
    receiver.listen(port).await;
    assert_eq!(configure(&app, &token, &webhook_config(port)).await.status(), 200);
    let mut tasks = start_notifier(&app, "one");
    tasks.extend(start_notifier(&app, "two"));
    let names: Vec<String> = (0..30).map(|i| format!("Replica{i}")).collect();
    post_alerts(&app, &token, &names).await;
    until(20, || receiver.requests().len() >= 30).await;
    // Long enough for a second flush or delivery to show up if there were one.
    tokio::time::sleep(std::time::Duration::from_secs(3)).await;
    for task in tasks {
        task.abort();
    }
    let requests = receiver.requests();
    let groups: std::collections::BTreeSet<String> = requests
        .iter()
        .map(|(_, _, body)| body["groupLabels"]["alertname"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(requests.len(), 30, "{requests:?}");
    assert_eq!(groups.len(), 30);
    let replicas: Vec<String> = sqlx::query_scalar("select distinct replica from notify_attempt")
        .fetch_all(&app.pool)
        .await
        .unwrap();
    assert!(!replicas.is_empty());
}

#[sqlx::test(migrator = "app::ssr::MIGRATOR")]
async fn unacknowledged_alerts_escalate_and_a_link_acknowledges_once(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let tenant = app.create_tenant("escalate").await;
    let token = app.create_token(tenant, &TokenScope::ALL).await;
    let port = free_port();
    let receiver = Receiver::default();
    receiver.listen(port).await;
    let yaml = format!(
        "route:
  receiver: on-call
  group_by: [alertname]
  group_wait: 1s
  group_interval: 1s
  repeat_interval: 3s
receivers:
  - name: on-call
    webhook_configs: [{{url: 'http://127.0.0.1:{port}/on-call'}}]
  - name: lead
    webhook_configs: [{{url: 'http://127.0.0.1:{port}/lead'}}]
escalation_policies:
  - name: critical
    matchers: ['severity=\"critical\"']
    steps: [{{after: 2s, receiver: lead}}]
"
    );
    assert_eq!(configure(&app, &token, &yaml).await.status(), 200);
    let notifier = start_notifier(&app, "escalate");
    let to = |path: &str, name: &str| {
        receiver
            .requests()
            .iter()
            .filter(|(p, _, body)| p == path && body["groupLabels"]["alertname"] == name)
            .count()
    };
    // Nobody acknowledges: the lead is told once, the on-call person is reminded.
    post_alerts(&app, &token, &["Ignored".into()]).await;
    until(20, || to("/lead", "Ignored") == 1).await;
    until(20, || to("/on-call", "Ignored") >= 2).await;

    // Acknowledged through its link before the step: no escalation, no more repeats.
    post_alerts(&app, &token, &["Handled".into()]).await;
    until(10, || to("/on-call", "Handled") == 1).await;
    let (fp, starts): (i64, i64) = sqlx::query_as(
        "select fingerprint, starts_ms from notify_alert where labels->>'alertname' = 'Handled'",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    let link = app::notifications::acknowledge::sign_link(&app.state.auth.secret_key, tenant, fp as u64, starts);
    let page = app.client.get(app.url(&format!("/ack/{link}"))).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(html.contains("Acknowledge Handled") && html.contains("acknowledge-link"), "{html}");
    let post = |link: String| {
        let app = &app;
        async move {
            app.client
                .post(app.url(&format!("/ack/{link}")))
                .header("origin", app.address.clone())
                .send()
                .await
                .unwrap()
        }
    };
    let done = post(link.clone()).await;
    assert_eq!(done.status(), 200);
    assert!(done.text().await.unwrap().contains("id=\"acknowledged\""));
    // It works once.
    assert_eq!(post(link.clone()).await.status(), 410);
    // A link that is not Meridian's does nothing.
    assert_eq!(post(format!("{link}x")).await.status(), 404);
    let on_call_before = to("/on-call", "Handled");
    tokio::time::sleep(std::time::Duration::from_secs(9)).await;
    assert_eq!(to("/lead", "Handled"), 0, "an acknowledged alert is not escalated");
    assert_eq!(to("/on-call", "Handled"), on_call_before, "nor repeated");
    for task in notifier {
        task.abort();
    }
    let audited: i64 = sqlx::query_scalar("select count(*) from audit_event where action = 'alert.acknowledge_by_link'")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(audited, 1);
}

#[sqlx::test(migrator = "app::ssr::MIGRATOR")]
async fn slack_pagerduty_and_another_alertmanager_get_their_bodies_and_secrets_stay_sealed(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let tenant = app.create_tenant("integrations").await;
    let token = app.create_token(tenant, &TokenScope::ALL).await;
    let port = free_port();
    let receiver = Receiver::default();
    receiver.listen(port).await;
    let yaml = format!(
        "route:
  receiver: everyone
  group_by: [alertname]
  group_wait: 1s
receivers:
  - name: everyone
    slack_configs:
      - api_url: http://127.0.0.1:{port}/slack/T000/B000/hook-secret-path
        channel: '#ops'
    pagerduty_configs:
      - url: http://127.0.0.1:{port}/pagerduty
        routing_key: pd-routing-key-0123456789
    alertmanager_configs:
      - url: http://127.0.0.1:{port}/other-am
"
    );
    let response = configure(&app, &token, &yaml).await;
    assert_eq!(response.status(), 200, "{}", response.text().await.unwrap());
    let notifier = start_notifier(&app, "integrations");
    post_alerts(&app, &token, &["DatabaseDown".into()]).await;
    until(20, || receiver.requests().len() >= 3).await;
    for task in notifier {
        task.abort();
    }
    let requests = receiver.requests();
    let body = |prefix: &str| {
        requests
            .iter()
            .find(|(path, _, _)| path.starts_with(prefix))
            .map(|(_, _, body)| body.clone())
            .unwrap_or_else(|| panic!("nothing at {prefix}: {requests:?}"))
    };
    let slack = body("/slack/");
    assert_eq!(slack["channel"], "#ops");
    assert_eq!(slack["attachments"][0]["color"], "#d63232", "critical is red: {slack}");
    let buttons: Vec<&str> = slack["attachments"][0]["blocks"][2]["elements"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["text"]["text"].as_str().unwrap())
        .collect();
    assert_eq!(buttons, ["View alert", "Silence", "Acknowledge"]);
    let pagerduty = body("/pagerduty");
    assert_eq!(pagerduty["routing_key"], "pd-routing-key-0123456789");
    assert_eq!(pagerduty["event_action"], "trigger");
    assert_eq!(pagerduty["payload"]["severity"], "critical");
    assert_eq!(
        pagerduty["dedup_key"],
        notify::bodies::dedup_key("{}:{alertname=\"DatabaseDown\"}"),
        "the group key's SHA-256, as Alertmanager's"
    );
    let forwarded = body("/other-am/api/v2/alerts");
    assert_eq!(forwarded[0]["labels"]["alertname"], "DatabaseDown");

    // The secrets are sealed in the database and masked in the export; importing the export
    // keeps them.
    let stored: String = sqlx::query_scalar("select config::text from notify_config").fetch_one(&app.pool).await.unwrap();
    let outbox: String = sqlx::query_scalar("select string_agg(target::text, ' ') from notify_outbox").fetch_one(&app.pool).await.unwrap();
    let audit: String = sqlx::query_scalar("select string_agg(coalesce(after::text, ''), ' ') from audit_event").fetch_one(&app.pool).await.unwrap();
    for text in [&stored, &outbox, &audit] {
        assert!(!text.contains("pd-routing-key-0123456789") && !text.contains("hook-secret-path"), "{text}");
    }
    let export = app
        .client
        .get(app.url("/api/v1/alertmanager/config"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(export.contains("<secret>") && !export.contains("pd-routing-key"), "{export}");
    let response = configure(&app, &token, &export).await;
    assert_eq!(response.status(), 200, "{}", response.text().await.unwrap());
    let mut tx = app.pool.begin().await.unwrap();
    let (config, version) = app::notifications::repo::config(&mut tx, tenant).await.unwrap();
    assert_eq!(version, 2);
    match &config.receivers[0].integrations[1] {
        notify::config::Integration::PagerDuty { routing_key, .. } => assert_eq!(routing_key, "pd-routing-key-0123456789"),
        other => panic!("{other:?}"),
    }
}
