//! Rule groups through Prometheus' APIs (import, list, export) and the evaluator over the store:
//! alert states with `for`, a restart in the middle of `for`, recording rules seen by the rules
//! after them, and two replicas that evaluate each slot once.

use serde_json::{json, Value};
use sqlx::PgPool;
use uuid::Uuid;

use crate::{helpers::TestApp, query::get};
use app::{alerting::evaluator, ssr::scope::TokenScope};

const RULES: &str = "groups:
  - name: availability
    interval: 10s
    rules:
      - record: job:up:sum
        expr: sum by (job) (up)
      - alert: JobDown
        expr: job:up:sum == 0
        for: 20s
        labels:
          severity: critical
        annotations:
          summary: 'Job {{ $labels.job }} is down'
";

async fn import(app: &TestApp, token: &str, body: &str) -> (u16, Value) {
    let response = app
        .client
        .post(app.url("/api/v1/rules"))
        .bearer_auth(token)
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    (
        response.status().as_u16(),
        response.json::<Value>().await.unwrap(),
    )
}

async fn groups_of(pool: &PgPool, tenant: Uuid) -> Vec<(String, i32)> {
    sqlx::query_as("select name, version from rule_group where tenant_id = $1 order by name")
        .bind(tenant)
        .fetch_all(pool)
        .await
        .unwrap()
}

#[sqlx::test(migrator = "app::ssr::MIGRATOR")]
async fn rule_files_import_list_and_export_within_the_callers_tenant(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let a = app.create_tenant("tenant-a").await;
    let b = app.create_tenant("tenant-b").await;
    let writer = app
        .create_token(a, &[TokenScope::Write, TokenScope::Read])
        .await;
    let reader_b = app.create_token(b, &[TokenScope::Read]).await;

    let (status, body) = import(&app, &writer, RULES).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["created"], json!(["availability"]));

    // Prometheus' shape, with the group's rules in order.
    let (status, body) = get(&app, &writer, "/api/v1/rules").await;
    assert_eq!(status, 200, "{body}");
    let group = &body["data"]["groups"][0];
    assert_eq!(group["name"], "availability");
    assert_eq!(group["interval"], 10.0);
    assert_eq!(group["rules"][0]["type"], "recording");
    assert_eq!(group["rules"][0]["name"], "job:up:sum");
    assert_eq!(group["rules"][1]["type"], "alerting");
    assert_eq!(group["rules"][1]["duration"], 20.0);
    assert_eq!(group["rules"][1]["labels"], json!({"severity": "critical"}));
    assert_eq!(group["rules"][1]["health"], "unknown");
    let (_, only_alerts) = get(&app, &writer, "/api/v1/rules?type=alert").await;
    assert_eq!(
        only_alerts["data"]["groups"][0]["rules"]
            .as_array()
            .unwrap()
            .len(),
        1
    );

    // The export reads back as the same groups, and promtool accepts it.
    let exported = app
        .client
        .get(app.url("/api/v1/rules?format=yaml"))
        .bearer_auth(&writer)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(
        rules::file::parse(&exported).unwrap(),
        rules::file::parse(RULES).unwrap()
    );
    let path = std::env::temp_dir().join(format!("meridian-export-{}.yml", Uuid::new_v4()));
    std::fs::write(&path, &exported).unwrap();
    let checked = std::process::Command::new("/usr/bin/promtool")
        .args(["check", "rules"])
        .arg(&path)
        .output()
        .expect("scripts/test installs Debian's promtool");
    std::fs::remove_file(&path).ok();
    assert!(
        checked.status.success(),
        "{}",
        String::from_utf8_lossy(&checked.stdout)
    );

    // The same file again changes nothing; a changed group is its next version, audited.
    let (_, body) = import(&app, &writer, RULES).await;
    assert_eq!(body["data"]["unchanged"], json!(["availability"]));
    let (status, body) = import(&app, &writer, &RULES.replace("for: 20s", "for: 30s")).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["updated"], json!(["availability"]));
    assert_eq!(
        groups_of(&app.pool, a).await,
        [("availability".to_string(), 2)]
    );
    let versions: i64 =
        sqlx::query_scalar("select count(*) from rule_group_version where tenant_id = $1")
            .bind(a)
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(versions, 2);
    let audited: Vec<String> = sqlx::query_scalar(
        "select action from audit_event where target_type = 'rule_group' order by id",
    )
    .fetch_all(&app.pool)
    .await
    .unwrap();
    assert_eq!(audited, ["rule_group.create", "rule_group.update"]);

    // A bad file names its line and field, and nothing of it is written, not even its good
    // groups.
    let bad =
        format!("{RULES}  - name: second\n    rules:\n      - alert: Broken\n        expr: sum(\n");
    let (status, body) = import(&app, &writer, &bad).await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["field"], "line 17", "{body}");
    assert!(body["error"].as_str().unwrap().contains("expr"), "{body}");
    let bad_duration = RULES.replace("for: 20s", "for: 20 seconds");
    let (status, body) = import(&app, &writer, &bad_duration).await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["field"], "line 9", "{body}");
    assert_eq!(
        groups_of(&app.pool, a).await,
        [("availability".to_string(), 2)]
    );

    // Another tenant sees none of it.
    let (status, body) = get(&app, &reader_b, "/api/v1/rules").await;
    assert_eq!(status, 200);
    assert_eq!(body["data"]["groups"], json!([]));
    let (_, body) = get(&app, &reader_b, "/api/v1/alerts").await;
    assert_eq!(body["data"]["alerts"], json!([]));
    // A read token may not import.
    let (status, _) = import(&app, &reader_b, RULES).await;
    assert_eq!(status, 403);
    assert!(groups_of(&app.pool, b).await.is_empty());
}

/// `up` of job `api` for the 10 minutes before `until`: 1 until `down_from`, then 0.
async fn push_up(app: &TestApp, tenant: Uuid, until: i64, down_from: i64) {
    let ingest = app.create_token(tenant, &[TokenScope::Ingest]).await;
    let samples: Vec<Value> = (0..=120)
        .map(|i| until - 600_000 + i * 5_000)
        .map(|t| json!([t, if t >= down_from { 0.0 } else { 1.0 }]))
        .collect();
    let body = json!([{"labels": {"__name__": "up", "job": "api", "instance": "a:9090"}, "samples": samples}]);
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

/// Claims and evaluates whatever is due at `now`; answers the slots evaluated.
async fn evaluate_due(app: &TestApp, now: i64) -> Vec<i64> {
    let claimed = evaluator::claim_due(&app.pool, "test", now).await.unwrap();
    let evaluated = evaluator::evaluate(&app.state, claimed).await.unwrap();
    evaluated
        .iter()
        .map(|group| {
            assert_eq!(group.failures, 0);
            group.ts
        })
        .collect()
}

async fn alert_rows(pool: &PgPool, tenant: Uuid) -> Vec<(String, Value, Value)> {
    sqlx::query_as(
        "select state, labels, annotations from alert where tenant_id = $1 order by active_at",
    )
    .bind(tenant)
    .fetch_all(pool)
    .await
    .unwrap()
}

#[sqlx::test(migrator = "app::ssr::MIGRATOR")]
async fn alerts_go_pending_then_firing_and_keep_their_for_progress_across_a_restart(pool: PgPool) {
    let app = TestApp::spawn(pool.clone()).await;
    let tenant = app.create_tenant("tenant-a").await;
    let token = app
        .create_token(tenant, &[TokenScope::Write, TokenScope::Read])
        .await;
    let (status, body) = import(&app, &token, RULES).await;
    assert_eq!(status, 200, "{body}");

    // The group's slots, as Prometheus spaces them; the job goes down before the first one
    // that evaluates.
    let now = chrono::Utc::now().timestamp_millis() - 120_000;
    let first = evaluator::slot(tenant, "availability", 10_000, now) + 10_000;
    push_up(&app, tenant, first + 60_000, first - 30_000).await;

    // A new group waits for its first slot.
    assert!(evaluate_due(&app, now).await.is_empty());
    assert_eq!(evaluate_due(&app, first).await, [first]);
    let rows = alert_rows(&app.pool, tenant).await;
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].0, "pending");
    assert_eq!(
        rows[0].1,
        json!({"alertname": "JobDown", "job": "api", "severity": "critical"})
    );
    assert_eq!(rows[0].2, json!({"summary": "Job api is down"}));
    // Due again only at the next slot.
    assert!(evaluate_due(&app, first + 5_000).await.is_empty());
    assert_eq!(evaluate_due(&app, first + 10_000).await, [first + 10_000]);

    // A restart: another server on the same database goes on with the alert's `for`.
    drop(app);
    let app = TestApp::spawn(pool).await;
    let (_, body) = get(&app, &token, "/api/v1/alerts").await;
    let alerts = body["data"]["alerts"].as_array().unwrap().clone();
    assert_eq!(alerts.len(), 1, "{body}");
    assert_eq!(alerts[0]["state"], "pending");
    assert_eq!(alerts[0]["value"], "0e+00");
    assert_eq!(evaluate_due(&app, first + 20_000).await, [first + 20_000]);
    let (_, body) = get(&app, &token, "/api/v1/alerts").await;
    assert_eq!(body["data"]["alerts"][0]["state"], "firing", "{body}");
    let rows = alert_rows(&app.pool, tenant).await;
    assert_eq!(rows.len(), 1, "one row for the alert's life");
    assert_eq!(rows[0].0, "firing");

    // The recording rule's series and ALERTS are in the store: the recording rule ran first,
    // so the alert saw its result at the same slot.
    let at = (first + 20_000) as f64 / 1000.0;
    let (_, body) = get(
        &app,
        &token,
        &format!("/api/v1/query?query=job:up:sum&time={at}"),
    )
    .await;
    assert_eq!(body["data"]["result"][0]["value"][1], "0", "{body}");
    let (_, body) = get(
        &app,
        &token,
        &format!("/api/v1/query?query=ALERTS&time={at}"),
    )
    .await;
    assert_eq!(
        body["data"]["result"][0]["metric"]["alertstate"], "firing",
        "{body}"
    );
    let at = (first + 10_000) as f64 / 1000.0;
    let (_, body) = get(
        &app,
        &token,
        &format!("/api/v1/query?query=ALERTS&time={at}"),
    )
    .await;
    assert_eq!(
        body["data"]["result"][0]["metric"]["alertstate"], "pending",
        "{body}"
    );
    let (_, body) = get(
        &app,
        &token,
        &format!("/api/v1/query?query=ALERTS_FOR_STATE&time={at}"),
    )
    .await;
    assert_eq!(
        body["data"]["result"][0]["value"][1],
        (first / 1000).to_string(),
        "{body}"
    );

    // A missed slot is counted, and evaluation goes on at the current one.
    assert_eq!(evaluate_due(&app, first + 60_000).await, [first + 60_000]);
    let (missed, evaluations): (i64, i64) =
        sqlx::query_as("select missed, evaluations from rule_group_state where tenant_id = $1")
            .bind(tenant)
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!((missed, evaluations), (3, 4));
}

#[sqlx::test(migrator = "app::ssr::MIGRATOR")]
async fn two_replicas_evaluate_each_slot_once(pool: PgPool) {
    let app = TestApp::spawn(pool.clone()).await;
    let tenant = app.create_tenant("tenant-a").await;
    let token = app.create_token(tenant, &[TokenScope::Write]).await;
    let file: String = (0..50)
        .map(|i| format!("  - name: g{i}\n    interval: 10s\n    rules:\n      - record: r{i}\n        expr: vector({i})\n"))
        .collect();
    let (status, body) = import(&app, &token, &format!("groups:\n{file}")).await;
    assert_eq!(status, 200, "{body}");
    let now = chrono::Utc::now().timestamp_millis();
    // Both replicas schedule the new groups; each group's first slot is scheduled once.
    let (one, two) = tokio::join!(
        evaluator::claim_due(&pool, "one", now),
        evaluator::claim_due(&pool, "two", now)
    );
    assert!(one.unwrap().is_empty() && two.unwrap().is_empty());
    // Three intervals: every slot goes to exactly one replica.
    for step in 1..=3 {
        let at = now + step * 10_000;
        let (one, two) = tokio::join!(
            evaluator::claim_due(&pool, "one", at),
            evaluator::claim_due(&pool, "two", at)
        );
        let (one, two) = (one.unwrap(), two.unwrap());
        let mut claimed: Vec<Uuid> = one.iter().chain(&two).map(|c| c.id).collect();
        assert_eq!(
            claimed.len(),
            50,
            "step {step}: {} + {}",
            one.len(),
            two.len()
        );
        claimed.sort();
        claimed.dedup();
        assert_eq!(claimed.len(), 50);
    }
    // A replica that stops: the other takes every group at the next slot, and evaluates them
    // together (one read, one write, one save): each group's state and series are its own.
    let at = now + 40_000;
    let claimed = evaluator::claim_due(&pool, "two", at).await.unwrap();
    assert_eq!(claimed.len(), 50);
    let slots: std::collections::HashMap<String, i64> = claimed
        .iter()
        .map(|c| (c.group.name.clone(), c.ts))
        .collect();
    let evaluated = evaluator::evaluate(&app.state, claimed).await.unwrap();
    assert!(evaluated.iter().all(|g| g.saved && g.failures == 0));
    let saved: i64 =
        sqlx::query_scalar("select count(*) from rule_group_state where evaluations = 1")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(saved, 50);
    let reader = app.create_token(tenant, &[TokenScope::Read]).await;
    for i in [0, 17, 49] {
        let time = slots[&format!("g{i}")] as f64 / 1000.0;
        let (status, body) = get(
            &app,
            &reader,
            &format!("/api/v1/query?query=r{i}&time={time}"),
        )
        .await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(
            body["data"]["result"][0]["value"][1],
            json!(i.to_string()),
            "{body}"
        );
    }
}

/// Tenant `tenant-a` with `JobDown` firing (three evaluations of RULES); answers the tenant.
async fn firing(app: &TestApp) -> Uuid {
    let tenant = app.create_tenant("tenant-a").await;
    let token = app.create_token(tenant, &[TokenScope::Write]).await;
    let (status, body) = import(app, &token, RULES).await;
    assert_eq!(status, 200, "{body}");
    let now = chrono::Utc::now().timestamp_millis() - 60_000;
    let first = evaluator::slot(tenant, "availability", 10_000, now) + 10_000;
    push_up(app, tenant, first + 30_000, first - 30_000).await;
    evaluate_due(app, now).await;
    for step in 0..3 {
        assert_eq!(evaluate_due(app, first + step * 10_000).await.len(), 1);
    }
    tenant
}

#[sqlx::test(migrator = "app::ssr::MIGRATOR")]
async fn the_alerts_page_lists_filters_and_acknowledges_within_the_tenant(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let tenant = firing(&app).await;
    let other = app.create_tenant("tenant-b").await;
    app.create_user("editor@a.io", "tenant-editor", Some(tenant))
        .await;
    app.create_user("viewer@a.io", "tenant-viewer", Some(tenant))
        .await;
    app.create_user("viewer@b.io", "tenant-viewer", Some(other))
        .await;
    app.create_user("manager@x.io", "manager", None).await;
    let id: Uuid = sqlx::query_scalar("select id from alert where tenant_id = $1")
        .bind(tenant)
        .fetch_one(&app.pool)
        .await
        .unwrap();

    let editor = app.browser();
    editor.login_ok("editor@a.io").await;
    let page = editor.get("/alerts").await.text().await.unwrap();
    assert!(
        page.contains("JobDown") && page.contains("Job api is down"),
        "{page}"
    );
    assert!(page.contains("1 firing"), "{page}");
    // Filters: by severity, by label matchers, and a bad matcher names its field.
    let listed = |fields: &'static [(&'static str, &'static str)]| {
        let editor = &editor;
        async move {
            let response = editor.call("list_alerts", fields).await;
            let status = response.status().as_u16();
            (status, response.json::<Value>().await.unwrap())
        }
    };
    let (_, body) = listed(&[("filter[severity]", "warning")]).await;
    assert_eq!(body["alerts"], json!([]));
    let (_, body) = listed(&[("filter[labels]", "job=\"api\", severity=~\"crit.*\"")]).await;
    assert_eq!(body["alerts"][0]["rule_name"], "JobDown", "{body}");
    let (_, body) = listed(&[("filter[labels]", "job!=\"api\"")]).await;
    assert_eq!(body["alerts"], json!([]));
    let (status, body) = listed(&[("filter[labels]", "job=\"api\" 9")]).await;
    assert_eq!(status, 422, "{body}");
    let (_, body) = listed(&[("filter[state]", "resolved")]).await;
    assert_eq!(body["alerts"], json!([]));

    // The alert's page: rendered annotations, labels, its rule.
    let page = editor
        .get(&format!("/alerts/{id}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("Job api is down") && page.contains("job=api"),
        "{page}"
    );
    assert!(
        page.contains("job:up:sum == 0"),
        "the rule's expression: {page}"
    );

    // A viewer may read but not acknowledge; another tenant's viewer does not find it.
    let viewer = app.browser();
    viewer.login_ok("viewer@a.io").await;
    let refused = viewer
        .call("acknowledge_alert", &[("id", &id.to_string())])
        .await;
    assert_eq!(refused.status(), 403);
    let stranger = app.browser();
    stranger.login_ok("viewer@b.io").await;
    assert_eq!(stranger.get(&format!("/alerts/{id}")).await.status(), 404);
    let (_, body) = {
        let response = stranger.call("list_alerts", &[]).await;
        (response.status(), response.json::<Value>().await.unwrap())
    };
    assert_eq!(body["alerts"], json!([]));

    // Acknowledged: who, when, the comment; audited; shown on the pages and the dashboards.
    let audits = app.audit_count().await;
    let done = editor
        .call(
            "acknowledge_alert",
            &[("id", &id.to_string()), ("comment", "draining api-2")],
        )
        .await;
    assert_eq!(done.status(), 200, "{}", done.text().await.unwrap());
    let (by, comment): (String, String) =
        sqlx::query_as("select acknowledged_by, ack_comment from alert where id = $1")
            .bind(id)
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(
        (by.as_str(), comment.as_str()),
        ("editor@a.io", "draining api-2")
    );
    assert_eq!(app.audit_count().await, audits + 1);
    let action: String =
        sqlx::query_scalar("select action from audit_event order by id desc limit 1")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(action, "alert.acknowledge");
    let page = editor
        .get(&format!("/alerts/{id}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("Acknowledged by editor@a.io") && page.contains("draining api-2"),
        "{page}"
    );
    assert!(editor
        .get("/alerts")
        .await
        .text()
        .await
        .unwrap()
        .contains("✓ editor@a.io"));
    app::dashboards::provision::provision_builtin(&app.system(), &app.pool)
        .await
        .unwrap();
    let manager = app.browser();
    manager.login_ok("manager@x.io").await;
    let executive = manager.get("/d/executive").await.text().await.unwrap();
    assert!(
        executive.contains("alert-list") && executive.contains("JobDown"),
        "{executive}"
    );
    assert!(executive.contains("✓ editor@a.io"));

    // Un-acknowledged, audited too.
    let audits = app.audit_count().await;
    let undone = editor
        .call("unacknowledge_alert", &[("id", &id.to_string())])
        .await;
    assert_eq!(undone.status(), 200);
    let by: Option<String> = sqlx::query_scalar("select acknowledged_by from alert where id = $1")
        .bind(id)
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(by, None);
    assert_eq!(app.audit_count().await, audits + 1);

    // The rules page shows the group with its rules' state.
    let rules = editor.get("/alerting/list").await.text().await.unwrap();
    assert!(
        rules.contains("availability") && rules.contains("job:up:sum") && rules.contains("firing"),
        "{rules}"
    );
}

#[sqlx::test(migrator = "app::ssr::MIGRATOR")]
async fn the_editor_previews_backtests_saves_versions_and_restores(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let tenant = app.create_tenant("tenant-a").await;
    app.create_user("editor@a.io", "tenant-editor", Some(tenant))
        .await;
    app.create_user("viewer@a.io", "tenant-viewer", Some(tenant))
        .await;
    let now = chrono::Utc::now().timestamp_millis();
    // Down for the 4 minutes before now.
    push_up(&app, tenant, now, now - 240_000).await;
    let editor = app.browser();
    editor.login_ok("editor@a.io").await;
    let fields = |intent: &'static str, expr: &'static str, for_text: &'static str| {
        vec![
            ("intent", intent),
            ("tenant", "tenant-a"),
            ("group", "availability"),
            ("interval", "15s"),
            ("kind", "alert"),
            ("name", "JobDown"),
            ("expr", expr),
            ("for_text", for_text),
            ("severity", "critical"),
            ("summary", "{{ $labels.job }} is down ({{ $value }})"),
        ]
    };
    let view = |query: String| {
        let editor = &editor;
        async move {
            let response = editor.call("rule_editor", &[("query", &query)]).await;
            assert_eq!(response.status(), 200);
            response.json::<Value>().await.unwrap()
        }
    };
    // Preview and backtest send the browser to the editor's address with the form in it.
    let sent = editor
        .call("rule_form", &fields("preview", "up == 0", "1m"))
        .await;
    let address: String = sent.json().await.unwrap();
    assert!(
        address.starts_with("/alerting/edit?") && address.contains("intent=preview"),
        "{address}"
    );
    let preview = view(address.trim_start_matches("/alerting/edit?").to_string()).await;
    let series = &preview["preview"]["series"];
    assert_eq!(series.as_array().unwrap().len(), 1, "{preview}");
    assert_eq!(
        series[0]["state"], "firing",
        "down for 4m with for 1m: {preview}"
    );
    assert_eq!(
        series[0]["annotations"][0],
        json!(["summary", "api is down (0)"])
    );

    // The backtest over the last 10 minutes: pending for 1m from the first evaluation that saw
    // it down, then firing; one notification would have gone out.
    let from = chrono::DateTime::from_timestamp_millis(now - 600_000)
        .unwrap()
        .format("%Y-%m-%dT%H:%M:%S")
        .to_string();
    let query = format!(
        "tenant=tenant-a&group=availability&interval=15s&kind=alert&name=JobDown&expr=up%20%3D%3D%200&for_text=1m&from={from}&intent=backtest"
    );
    let backtest = view(query).await;
    let run = &backtest["backtest"];
    assert_eq!(run["series"].as_array().unwrap().len(), 1, "{backtest}");
    assert_eq!(run["firing_notifications"], 1);
    let episode = &run["series"][0]["episodes"][0];
    let (active, fired) = (episode[0].as_i64().unwrap(), episode[1].as_i64().unwrap());
    assert_eq!(fired - active, 60_000, "{episode}");
    assert!((active - (now - 240_000)).abs() <= 15_000, "{episode}");

    // Bad values come back by field, with the expression's error at its position.
    let bad = view(
        "tenant=tenant-a&group=g&name=X&expr=sum(up&for_text=5%20minutes&intent=preview".into(),
    )
    .await;
    let errors = bad["errors"].as_array().unwrap();
    let field = |name: &str| {
        errors
            .iter()
            .find(|e| e[0] == name)
            .map(|e| e[1].as_str().unwrap().to_string())
    };
    assert!(field("expr").unwrap().ends_with('^'), "{bad}");
    assert!(field("for_text").is_some(), "{bad}");

    // Without JavaScript a failed save goes back to the editor with the values and the error.
    let csrf = editor.csrf().await;
    let mut plain = fields("save", "up == 0", "5 minutes");
    plain.push(("csrf", &csrf));
    let back = editor
        .post("/rpc/rule_form")
        .header(reqwest::header::ACCEPT, "text/html")
        .form(&plain)
        .send()
        .await
        .unwrap();
    assert_eq!(back.status(), 302);
    let url = back.headers()[reqwest::header::LOCATION]
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        url.contains("/alerting/edit?") && url.contains("name=JobDown"),
        "{url}"
    );
    assert!(
        url.contains("form=rule_form&field=for_text&error="),
        "{url}"
    );

    // A viewer may look but not save.
    let viewer = app.browser();
    viewer.login_ok("viewer@a.io").await;
    let refused = viewer
        .call("rule_form", &fields("save", "up == 0", "1m"))
        .await;
    assert_eq!(refused.status(), 403);

    // Saved: a new group, version 1; changed: version 2; restored: version 3 = version 1.
    let saved = editor
        .call("rule_form", &fields("save", "up == 0", "1m"))
        .await;
    assert_eq!(saved.status(), 200, "{}", saved.text().await.unwrap());
    let mut second = fields("save", "up == 0", "2m");
    second.extend([("rule", "0"), ("version", "1"), ("message", "longer for")]);
    let saved = editor.call("rule_form", &second).await;
    assert_eq!(saved.status(), 200, "{}", saved.text().await.unwrap());
    // A save from a stale version is refused.
    let stale = editor.call("rule_form", &second).await;
    assert_eq!(stale.status(), 409);
    let group = |app: &TestApp| {
        let pool = app.pool.clone();
        async move {
            app::alerting::repo::list(
                &app::ssr::scope::Scope::system(Default::default()),
                &pool,
                tenant,
            )
            .await
            .unwrap()
            .remove(0)
        }
    };
    let stored = group(&app).await;
    assert_eq!((stored.version, stored.group.rules[0].for_ms), (2, 120_000));
    let editor_view = view("tenant=tenant-a&group=availability&rule=0".into()).await;
    assert_eq!(editor_view["form"]["for_text"], "2m");
    let versions = editor_view["versions"].as_array().unwrap();
    assert_eq!(versions.len(), 2);
    assert_eq!(versions[0]["message"], "longer for");
    assert!(
        versions[0]["diff"]
            .as_array()
            .unwrap()
            .iter()
            .any(|d| d == &json!(["+", "        for: 2m"])),
        "{}",
        versions[0]
    );
    let restored = editor
        .call(
            "restore_rule_group",
            &[
                ("tenant", "tenant-a"),
                ("group", "availability"),
                ("version", "1"),
            ],
        )
        .await;
    assert_eq!(restored.status(), 200);
    let stored = group(&app).await;
    assert_eq!((stored.version, stored.group.rules[0].for_ms), (3, 60_000));
    let audited: i64 =
        sqlx::query_scalar("select count(*) from audit_event where target_type = 'rule_group'")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(audited, 3);

    // The pages render, without JavaScript.
    let page = editor
        .get("/alerting/edit?tenant=tenant-a&group=availability&rule=0")
        .await
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("rule-form")
            && page.contains("up == 0")
            && page.contains("Versions of the group"),
        "{page}"
    );
}

/// A `multipart/form-data` body of text fields; `file` goes as a chosen file, as a browser sends it.
fn upload_form(fields: &[(&str, &str)]) -> (String, String) {
    let boundary = "----meridian-test-boundary";
    let mut body = String::new();
    for (name, value) in fields {
        let file = if *name == "file" {
            "; filename=\"rules.yml\"\r\nContent-Type: application/yaml"
        } else {
            ""
        };
        body.push_str(&format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"{file}\r\n\r\n{value}\r\n"
        ));
    }
    body.push_str(&format!("--{boundary}--\r\n"));
    (format!("multipart/form-data; boundary={boundary}"), body)
}

async fn upload(browser: &crate::helpers::Browser<'_>, fields: &[(&str, &str)]) -> (u16, String) {
    let (content_type, body) = upload_form(fields);
    let response = browser
        .post("/alerting/upload")
        .header(reqwest::header::CONTENT_TYPE, content_type)
        .body(body)
        .send()
        .await
        .unwrap();
    let location = response
        .headers()
        .get(reqwest::header::LOCATION)
        .map(|l| l.to_str().unwrap().to_string())
        .unwrap_or_default();
    (response.status().as_u16(), app::url::decode(&location))
}

#[sqlx::test(migrator = "app::ssr::MIGRATOR")]
async fn rule_files_upload_through_the_import_page(pool: PgPool) {
    let app = TestApp::spawn(pool.clone()).await;
    let tenant_a = app.create_tenant("tenant-a").await;
    let tenant_b = app.create_tenant("tenant-b").await;
    app.create_user("editor@a.io", "tenant-editor", Some(tenant_a))
        .await;
    app.create_user("viewer@a.io", "tenant-viewer", Some(tenant_a))
        .await;
    app.create_user("admin@m.io", "admin", None).await;
    let editor = app.browser();
    editor.login_ok("editor@a.io").await;
    let page = editor.get("/alerting/import").await;
    assert_eq!(page.status(), 200);
    assert!(page.text().await.unwrap().contains("rule-import-form"));
    let csrf = editor.csrf().await;

    // A chosen file wins over the text box; the import lands in the editor's own tenant.
    let audit_before = app.audit_count().await;
    let (status, location) = upload(
        &editor,
        &[
            ("csrf", &csrf),
            ("file", RULES),
            ("yaml", "not: [a rule file"),
            ("message", "from the form"),
        ],
    )
    .await;
    assert_eq!((status, location.as_str()), (303, "/alerting/import?done"));
    assert_eq!(
        groups_of(&pool, tenant_a).await,
        [("availability".to_string(), 1)]
    );
    assert_eq!(app.audit_count().await, audit_before + 1);
    // The page shows the report once.
    let report = editor.call("take_rule_import_result", &[]).await;
    assert_eq!(
        report.json::<Value>().await.unwrap(),
        json!(["tenant-a", {"created": ["availability"], "updated": [], "unchanged": []}])
    );
    let again = editor.call("take_rule_import_result", &[]).await;
    assert_eq!(again.json::<Value>().await.unwrap(), Value::Null);

    // A bad file goes back to the form with its line, and nothing is written.
    let broken = RULES.replace("sum by (job) (up)", "sum by (job) (up");
    let (status, location) = upload(&editor, &[("csrf", &csrf), ("yaml", &broken)]).await;
    assert_eq!(status, 303);
    assert!(
        location.starts_with("/alerting/import?error=line 6"),
        "{location}"
    );
    assert_eq!(
        groups_of(&pool, tenant_a).await,
        [("availability".to_string(), 1)]
    );
    let (_, location) = upload(&editor, &[("csrf", &csrf), ("yaml", " ")]).await;
    assert!(
        location.contains("error=file: choose a rule file"),
        "{location}"
    );

    // Another tenant is not found; nothing is written there.
    let (status, location) = upload(
        &editor,
        &[("csrf", &csrf), ("tenant", "tenant-b"), ("yaml", RULES)],
    )
    .await;
    assert_eq!(status, 303);
    assert!(location.contains("no tenant named"), "{location}");
    assert!(groups_of(&pool, tenant_b).await.is_empty());

    // Without the session's CSRF token, or as a viewer: refused.
    let (status, _) = upload(&editor, &[("yaml", RULES)]).await;
    assert_eq!(status, 403);
    let viewer = app.browser();
    viewer.login_ok("viewer@a.io").await;
    let viewer_csrf = viewer.csrf().await;
    let (status, _) = upload(&viewer, &[("csrf", &viewer_csrf), ("yaml", RULES)]).await;
    assert_eq!(status, 403);

    // An admin names the tenant; the same file again changes nothing.
    let admin = app.browser();
    admin.login_ok("admin@m.io").await;
    let admin_csrf = admin.csrf().await;
    let (_, location) = upload(&admin, &[("csrf", &admin_csrf), ("yaml", RULES)]).await;
    assert!(
        location.contains("error=tenant: choose a tenant"),
        "{location}"
    );
    let (_, location) = upload(
        &admin,
        &[
            ("csrf", &admin_csrf),
            ("tenant", "tenant-b"),
            ("yaml", RULES),
        ],
    )
    .await;
    assert_eq!(location, "/alerting/import?done");
    assert_eq!(
        groups_of(&pool, tenant_b).await,
        [("availability".to_string(), 1)]
    );
    let (_, location) = upload(
        &admin,
        &[
            ("csrf", &admin_csrf),
            ("tenant", "tenant-a"),
            ("file", RULES),
        ],
    )
    .await;
    assert_eq!(location, "/alerting/import?done");
    let report = admin.call("take_rule_import_result", &[]).await;
    assert_eq!(
        report.json::<Value>().await.unwrap()[1]["unchanged"],
        json!(["availability"])
    );
}

#[sqlx::test(migrator = "app::ssr::MIGRATOR")]
async fn templates_see_the_installations_external_labels_and_url(pool: PgPool) {
    let app = TestApp::spawn_with(pool, |settings| {
        settings.external_labels =
            server::settings::ExternalLabels(vec![("region".into(), "eu-1".into())]);
        settings.external_url = Some("https://meridian.example.com".into());
    })
    .await;
    let tenant = app.create_tenant("tenant-a").await;
    let token = app.create_token(tenant, &[TokenScope::Write]).await;
    let file = "groups:
  - name: external
    interval: 10s
    rules:
      - alert: Always
        expr: vector(1)
        annotations:
          summary: '{{ $externalLabels.region }} {{ $externalURL }}'
";
    let (status, body) = import(&app, &token, file).await;
    assert_eq!(status, 200, "{body}");
    let now = chrono::Utc::now().timestamp_millis();
    let first = evaluator::slot(tenant, "external", 10_000, now) + 10_000;
    assert!(evaluate_due(&app, now).await.is_empty());
    assert_eq!(evaluate_due(&app, first).await, [first]);
    let rows = alert_rows(&app.pool, tenant).await;
    assert_eq!(
        rows[0].2,
        json!({"summary": "eu-1 https://meridian.example.com"})
    );
}
