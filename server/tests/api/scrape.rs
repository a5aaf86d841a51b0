//! Scraping: jobs over REST (validation, isolation, audit), the scrape loop against a real HTTP
//! target (report series, labels, staleness), the self-scrape into `system`, and Debian's
//! Prometheus scraping a target and remote-writing into Meridian.

use std::{
    collections::BTreeMap,
    sync::{Arc, Mutex},
    time::Duration,
};

use axum::{routing::get, Router};
use serde_json::{json, Value};
use sqlx::PgPool;
use store::{Matcher, STALE_NAN};
use uuid::Uuid;

use crate::helpers::TestApp;
use app::{scrape::repo, ssr::scope::TokenScope};
use server::scrape::target::{Scraper, TargetConfig};

/// An exporter whose /metrics answers whatever the test last put in it.
async fn exporter(body: &str) -> (String, Arc<Mutex<String>>) {
    let text = Arc::new(Mutex::new(body.to_string()));
    let shared = Arc::clone(&text);
    let app = Router::new().route(
        "/metrics",
        get(move || {
            let text = shared.lock().unwrap().clone();
            async move {
                if text == "fail" {
                    (axum::http::StatusCode::INTERNAL_SERVER_ERROR, text)
                } else {
                    (axum::http::StatusCode::OK, text)
                }
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap().to_string();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (address, text)
}

/// Every sample of the series matching `matchers`, by their labels as text.
async fn series(app: &TestApp, tenant: Uuid, matchers: &[Matcher]) -> BTreeMap<String, Vec<f64>> {
    let now = chrono::Utc::now().timestamp_millis();
    app.store
        .select(tenant, matchers, now - 3_600_000, now + 60_000)
        .await
        .unwrap()
        .iter()
        .map(|s| {
            let labels: Vec<String> = s.labels.iter().map(|(n, v)| format!("{n}={v}")).collect();
            (labels.join(","), s.samples().map(|(_, v)| v).collect())
        })
        .collect()
}

fn is_stale(value: f64) -> bool {
    value.to_bits() == STALE_NAN
}

#[sqlx::test(migrator = "app::ssr::MIGRATOR")]
async fn a_scrape_writes_samples_report_series_and_staleness_markers(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let tenant = app.create_tenant("acme").await;
    let (address, body) = exporter(
        "# TYPE jobs_total counter\n# HELP jobs_total Jobs done.\njobs_total{queue=\"a\",job=\"theirs\"} 3\njobs_total{queue=\"b\"} 4\n",
    )
    .await;
    let mut scraper = Scraper::new(TargetConfig {
        job_id: Uuid::new_v4(),
        tenant,
        job: "worker".into(),
        target: address.clone(),
        url: format!("http://{address}/metrics"),
        interval: Duration::from_secs(15),
        timeout: Duration::from_secs(5),
        labels: BTreeMap::from([("env".to_string(), "test".to_string())]),
    });
    let client = reqwest::Client::new();

    let health = scraper.scrape(&client, &app.store).await;
    assert_eq!(
        (health.health.as_str(), health.samples),
        ("up", 2),
        "{health:?}"
    );
    let jobs = series(&app, tenant, &[Matcher::equal("__name__", "jobs_total")]).await;
    let instance = format!("instance={address}");
    assert_eq!(
        jobs.keys().cloned().collect::<Vec<_>>(),
        vec![
            format!(
                "__name__=jobs_total,env=test,exported_job=theirs,{instance},job=worker,queue=a"
            ),
            format!("__name__=jobs_total,env=test,{instance},job=worker,queue=b"),
        ],
        "target labels win; the scraped job label is kept as exported_job"
    );
    let up = |values: &BTreeMap<String, Vec<f64>>| values.values().next().unwrap().clone();
    assert_eq!(
        up(&series(&app, tenant, &[Matcher::equal("__name__", "up")]).await),
        vec![1.0]
    );
    assert_eq!(
        up(&series(
            &app,
            tenant,
            &[Matcher::equal("__name__", "scrape_samples_scraped")]
        )
        .await),
        vec![2.0]
    );
    let duration = up(&series(
        &app,
        tenant,
        &[Matcher::equal("__name__", "scrape_duration_seconds")],
    )
    .await);
    assert!(duration[0] > 0.0 && duration[0] < 5.0, "{duration:?}");
    let metadata = app.store.metadata(tenant).await.unwrap();
    assert_eq!(
        (metadata[0].kind.as_str(), metadata[0].help.as_str()),
        ("counter", "Jobs done.")
    );

    // Queue b disappears: its series gets a staleness marker at the next scrape.
    tokio::time::sleep(Duration::from_millis(5)).await;
    *body.lock().unwrap() = "jobs_total{queue=\"a\",job=\"theirs\"} 5\n".into();
    scraper.scrape(&client, &app.store).await;
    let jobs = series(&app, tenant, &[Matcher::equal("queue", "b")]).await;
    let b = jobs.values().next().unwrap();
    assert_eq!(b.len(), 2);
    assert!(
        is_stale(b[1]),
        "queue b ends with a staleness marker: {b:?}"
    );

    // The target fails: up is 0, the error is reported, and every series goes stale.
    tokio::time::sleep(Duration::from_millis(5)).await;
    *body.lock().unwrap() = "fail".into();
    let health = scraper.scrape(&client, &app.store).await;
    assert_eq!(health.health, "down");
    assert_eq!(
        health.last_error,
        "server returned HTTP status 500 Internal Server Error"
    );
    assert_eq!(
        up(&series(&app, tenant, &[Matcher::equal("__name__", "up")]).await),
        vec![1.0, 1.0, 0.0]
    );
    let a = series(&app, tenant, &[Matcher::equal("queue", "a")]).await;
    let a = a.values().next().unwrap();
    assert_eq!(a[..2], [3.0, 5.0]);
    assert!(is_stale(a[2]), "{a:?}");

    // A body that is not the format: down, with the line named.
    tokio::time::sleep(Duration::from_millis(5)).await;
    *body.lock().unwrap() = "ok 1\nbroken{ 2\n".into();
    let health = scraper.scrape(&client, &app.store).await;
    assert_eq!(health.health, "down");
    assert!(
        health.last_error.starts_with("line 2: "),
        "{}",
        health.last_error
    );

    // The target is dropped: the report series end too.
    tokio::time::sleep(Duration::from_millis(5)).await;
    scraper.end(&app.store).await;
    let ups = up(&series(&app, tenant, &[Matcher::equal("__name__", "up")]).await);
    assert!(is_stale(*ups.last().unwrap()), "{ups:?}");
}

#[sqlx::test(migrator = "app::ssr::MIGRATOR")]
async fn scrape_jobs_over_rest_validate_audit_and_stay_in_their_tenant(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let a = app.create_tenant("tenant-a").await;
    let b = app.create_tenant("tenant-b").await;
    let writer_a = app
        .create_token(a, &[TokenScope::Write, TokenScope::Read])
        .await;
    let writer_b = app.create_token(b, &[TokenScope::Write]).await;
    let reader_a = app.create_token(a, &[TokenScope::Read]).await;
    let send = |method: reqwest::Method, path: &str, token: &str, body: Option<Value>| {
        let request = app.client.request(method, app.url(path)).bearer_auth(token);
        let request = match body {
            Some(body) => request.json(&body),
            None => request,
        };
        async move {
            let response = request.send().await.unwrap();
            let status = response.status().as_u16();
            (
                status,
                response.json::<Value>().await.unwrap_or(Value::Null),
            )
        }
    };
    let post = reqwest::Method::POST;
    let audits_before = app.audit_count().await;

    // The tenant in the body is not the token's: that tenant does not exist for it.
    let job = json!({"name": "node", "targets": ["127.0.0.1:9"], "interval_seconds": 30, "labels": {"env": "prod"}});
    let mut elsewhere = job.clone();
    elsewhere["tenant"] = json!(b);
    assert_eq!(
        send(
            post.clone(),
            "/api/v1/scrape-jobs",
            &writer_a,
            Some(elsewhere)
        )
        .await
        .0,
        404
    );

    let (status, created) = send(
        post.clone(),
        "/api/v1/scrape-jobs",
        &writer_a,
        Some(job.clone()),
    )
    .await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["tenant_id"], json!(a));
    assert_eq!(
        (
            &created["scheme"],
            &created["metrics_path"],
            &created["timeout_seconds"],
            &created["labels"]
        ),
        (
            &json!("http"),
            &json!("/metrics"),
            &json!(10),
            &json!({"env": "prod"})
        )
    );
    let id = created["id"].as_str().unwrap().to_string();

    // Bad input: the field and what is wrong; a body that is not JSON: where it broke.
    let (status, error) = send(
        post.clone(),
        "/api/v1/scrape-jobs",
        &writer_a,
        Some(json!({"name": "x", "targets": ["a:1"], "timeout_seconds": 90})),
    )
    .await;
    assert_eq!(
        (status, error["field"].as_str()),
        (422, Some("timeout_seconds")),
        "{error}"
    );
    let (status, error) = send(
        post.clone(),
        "/api/v1/scrape-jobs",
        &writer_a,
        Some(job.clone()),
    )
    .await;
    assert_eq!(
        (status, error["error"].as_str().unwrap()),
        (422, "name: this tenant already has a job with this name")
    );
    let response = app
        .client
        .post(app.url("/api/v1/scrape-jobs"))
        .bearer_auth(&writer_a)
        .body("{\"name\": \"x\",\n \"targets\": [\"a:1\"")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    let text = response.text().await.unwrap();
    assert!(
        text.contains("invalid scrape job: EOF while parsing a list at line 2 column"),
        "{text}"
    );
    let (status, _) = send(
        post.clone(),
        "/api/v1/scrape-jobs",
        &writer_a,
        Some(json!({"name": "x", "targets": ["a:1"], "colour": "red"})),
    )
    .await;
    assert_eq!(status, 400, "unknown fields are refused");

    // Another tenant's token: 404 whatever it tries; a read-only token: 403 on its own job.
    let path = format!("/api/v1/scrape-jobs/{id}");
    assert_eq!(
        send(reqwest::Method::GET, &path, &writer_b, None).await.0,
        403,
        "write-only tokens do not read"
    );
    assert_eq!(
        send(reqwest::Method::PUT, &path, &writer_b, Some(job.clone()))
            .await
            .0,
        404
    );
    assert_eq!(
        send(reqwest::Method::DELETE, &path, &writer_b, None)
            .await
            .0,
        404
    );
    assert_eq!(
        send(reqwest::Method::PUT, &path, &reader_a, Some(job.clone()))
            .await
            .0,
        403
    );
    assert_eq!(
        send(reqwest::Method::GET, &path, &reader_a, None).await.0,
        200
    );

    let mut changed = job.clone();
    changed["targets"] = json!(["127.0.0.1:9", "127.0.0.1:10"]);
    changed["enabled"] = json!(false);
    let (status, updated) = send(reqwest::Method::PUT, &path, &writer_a, Some(changed)).await;
    assert_eq!(
        (status, &updated["targets"], &updated["enabled"]),
        (200, &json!(["127.0.0.1:9", "127.0.0.1:10"]), &json!(false))
    );
    let (_, list) = send(reqwest::Method::GET, "/api/v1/scrape-jobs", &reader_a, None).await;
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert_eq!(
        send(reqwest::Method::DELETE, &path, &writer_a, None)
            .await
            .0,
        204
    );
    assert_eq!(
        send(reqwest::Method::GET, &path, &reader_a, None).await.0,
        404
    );

    let actions: Vec<String> = sqlx::query_scalar(
        "select action from audit_event where target_type = 'scrape_job' order by id",
    )
    .fetch_all(&app.pool)
    .await
    .unwrap();
    assert_eq!(app.audit_count().await - audits_before, 3);
    assert_eq!(
        actions,
        [
            "scrape_job.create",
            "scrape_job.update",
            "scrape_job.delete"
        ],
        "one entry per change, none for refusals"
    );
}

/// Polls until `check` holds, for up to `seconds`.
async fn eventually<F, Fut>(seconds: u64, what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = std::time::Instant::now() + Duration::from_secs(seconds);
    while std::time::Instant::now() < deadline {
        if check().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    panic!("timed out waiting for {what}");
}

#[sqlx::test(migrator = "app::ssr::MIGRATOR")]
async fn the_scraper_runs_saved_jobs_reports_targets_and_ends_deleted_ones(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let tenant = app.create_tenant("acme").await;
    let token = app
        .create_token(tenant, &[TokenScope::Write, TokenScope::Read])
        .await;
    let (address, _body) = exporter("temperature_celsius{room=\"lab\"} 21.5\n").await;
    let response = app
        .client
        .post(app.url("/api/v1/scrape-jobs"))
        .bearer_auth(&token)
        .json(&json!({"name": "sensors", "targets": [address], "interval_seconds": 1, "timeout_seconds": 1}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    let id = response.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();

    let targets = || async {
        let response = app
            .client
            .get(app.url("/api/v1/targets"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        response.json::<Value>().await.unwrap()["data"]["activeTargets"].clone()
    };
    eventually(15, "the target to be scraped", || async {
        targets().await[0]["health"] == "up"
    })
    .await;
    let target = &targets().await[0];
    assert_eq!(
        target["scrapeUrl"],
        json!(format!("http://{address}/metrics"))
    );
    assert_eq!(
        target["labels"],
        json!({"job": "sensors", "instance": address})
    );
    assert_eq!(target["scrapeInterval"], "1s");
    let found = series(
        &app,
        tenant,
        &[Matcher::equal("__name__", "temperature_celsius")],
    )
    .await;
    assert_eq!(found.values().next().unwrap()[0], 21.5);

    // Deleting the job stops its target, whose series end with a staleness marker.
    let deleted = app
        .client
        .delete(app.url(&format!("/api/v1/scrape-jobs/{id}")))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), 204);
    eventually(10, "the staleness marker", || async {
        let found = series(
            &app,
            tenant,
            &[Matcher::equal("__name__", "temperature_celsius")],
        )
        .await;
        found
            .values()
            .next()
            .and_then(|v| v.last())
            .is_some_and(|v| is_stale(*v))
    })
    .await;
    assert_eq!(targets().await, json!([]));
}

#[sqlx::test(migrator = "app::ssr::MIGRATOR")]
async fn meridian_scrapes_itself_into_the_system_tenant(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let target = app.address.trim_start_matches("http://").to_string();
    let scope = app.system();
    let job = repo::ensure_self_scrape(&scope, &app.pool, "127.0.0.1:1")
        .await
        .unwrap();
    assert_eq!(
        (
            job.name.as_str(),
            job.tenant_name.as_str(),
            job.builtin,
            job.interval_seconds
        ),
        ("meridian", "system", true, 15)
    );
    // The next start listens elsewhere: the built-in job follows, keeping its other settings.
    sqlx::query("update scrape_job set interval_seconds = 1, timeout_seconds = 1")
        .execute(&app.pool)
        .await
        .unwrap();
    let moved = repo::ensure_self_scrape(&scope, &app.pool, &target)
        .await
        .unwrap();
    assert_eq!(
        (moved.id, moved.targets.clone(), moved.interval_seconds),
        (job.id, vec![target.clone()], 1)
    );
    let again = repo::ensure_self_scrape(&scope, &app.pool, &target)
        .await
        .unwrap();
    assert_eq!(
        again.updated_at, moved.updated_at,
        "unchanged when nothing moved"
    );
    let actions: Vec<String> = sqlx::query_scalar(
        "select action from audit_event where target_type = 'scrape_job' order by id",
    )
    .fetch_all(&app.pool)
    .await
    .unwrap();
    assert_eq!(actions, ["scrape_job.create", "scrape_job.update"]);

    // The running scraper reads the jobs every 30 s, or at once when a change through the
    // API or the form signals it: an admin's change, here.
    app.create_user("admin@x.io", "admin", None).await;
    let jwt = app.jwt_for("admin@x.io").await;
    let system = job.tenant_id;
    let response = app
        .client
        .put(app.url(&format!("/api/v1/scrape-jobs/{}", job.id)))
        .bearer_auth(&jwt)
        .json(&json!({"name": "meridian", "targets": [target], "interval_seconds": 1, "timeout_seconds": 1}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    eventually(
        15,
        "Meridian's own metrics in the system tenant",
        || async {
            !series(
                &app,
                system,
                &[Matcher::equal("__name__", "meridian_http_requests_total")],
            )
            .await
            .is_empty()
        },
    )
    .await;
    let up = series(
        &app,
        system,
        &[
            Matcher::equal("__name__", "up"),
            Matcher::equal("job", "meridian"),
        ],
    )
    .await;
    assert_eq!(up.values().next().unwrap()[0], 1.0);
}

#[sqlx::test(migrator = "app::ssr::MIGRATOR")]
async fn debians_prometheus_scrapes_a_target_and_remote_writes_into_meridian(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let tenant = app.create_tenant("acme").await;
    let token = app.create_token(tenant, &[TokenScope::Ingest]).await;
    let (address, _body) = exporter(
        "# TYPE orders_total counter\norders_total{shop=\"eu\"} 42\n# TYPE queue_depth gauge\nqueue_depth 7\n",
    )
    .await;
    let prometheus = std::path::Path::new("/usr/bin/prometheus");
    assert!(
        prometheus.exists(),
        "Debian's prometheus is needed: apt-get install prometheus (scripts/test installs it)"
    );
    let dir = tempfile::tempdir().unwrap();
    let config = format!(
        "global:\n  scrape_interval: 1s\n  external_labels: {{replica: r1}}\nscrape_configs:\n  - job_name: shop\n    static_configs: [{{targets: ['{address}']}}]\nremote_write:\n  - url: {}/api/v1/write\n    authorization: {{credentials: {token}}}\n    queue_config: {{batch_send_deadline: 1s, min_backoff: 100ms}}\n",
        app.address
    );
    std::fs::write(dir.path().join("prometheus.yml"), config).unwrap();
    let port = crate::helpers::unused_port();
    let mut child = std::process::Command::new(prometheus)
        .arg(format!(
            "--config.file={}",
            dir.path().join("prometheus.yml").display()
        ))
        .arg(format!(
            "--storage.tsdb.path={}",
            dir.path().join("data").display()
        ))
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .stdout(std::process::Stdio::null())
        .stderr(std::fs::File::create(dir.path().join("prometheus.log")).unwrap())
        .spawn()
        .unwrap();
    let result = tokio::time::timeout(Duration::from_secs(60), async {
        loop {
            let orders = series(&app, tenant, &[Matcher::equal("__name__", "orders_total")]).await;
            let up = series(
                &app,
                tenant,
                &[
                    Matcher::equal("__name__", "up"),
                    Matcher::equal("job", "shop"),
                ],
            )
            .await;
            if !orders.is_empty() && !up.is_empty() {
                return (orders, up);
            }
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
    })
    .await;
    let _ = child.kill();
    let _ = child.wait();
    let log = std::fs::read_to_string(dir.path().join("prometheus.log")).unwrap_or_default();
    let (orders, up) =
        result.unwrap_or_else(|_| panic!("nothing arrived from Prometheus; its log:\n{log}"));
    assert_eq!(
        orders.keys().next().unwrap(),
        &format!("__name__=orders_total,instance={address},job=shop,replica=r1,shop=eu")
    );
    assert!(orders.values().next().unwrap().iter().all(|v| *v == 42.0));
    assert_eq!(up.values().next().unwrap()[0], 1.0);
    assert!(!log.contains("level=error"), "{log}");
}
