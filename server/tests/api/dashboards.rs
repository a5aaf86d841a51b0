//! Dashboards through the real router: the built-in ones per audience, global panels run in each
//! of the viewer's tenants, variables that an edited URL cannot widen, the model over REST, the
//! panel downloads, landing pages and the audit trail.

use serde_json::{json, Value};
use sqlx::PgPool;
use store::{Labels, SeriesSamples};
use uuid::Uuid;

use crate::helpers::TestApp;
use app::dashboards::{provision, repo, Audience};

struct Fixture {
    acme: Uuid,
}

/// acme and globex, each with `up` for its own job and its own number of active users; the
/// built-in dashboards; an admin, a manager and acme's viewer.
async fn fixture(app: &TestApp) -> Fixture {
    let acme = app.create_tenant("acme").await;
    let globex = app.create_tenant("globex").await;
    let now = chrono::Utc::now().timestamp_millis();
    for (tenant, job, users) in [(acme, "api-acme", 100.0), (globex, "api-globex", 50.0)] {
        let samples: Vec<(i64, f64)> = (0..60).rev().map(|i| (now - i * 30_000, users)).collect();
        let up: Vec<(i64, f64)> = samples.iter().map(|(t, _)| (*t, 1.0)).collect();
        let counter = |per_step: f64| -> Vec<(i64, f64)> {
            samples
                .iter()
                .enumerate()
                .map(|(i, (t, _))| (*t, i as f64 * per_step))
                .collect()
        };
        let requests = |status: &str, per_step: f64| SeriesSamples {
            labels: Labels::new([("__name__", "http_requests_total"), ("status", status)]).unwrap(),
            samples: counter(per_step),
        };
        let series = vec![
            requests("200", users * 30.0),
            requests("500", users / 10.0),
            SeriesSamples {
                labels: Labels::new([("__name__", "active_users")]).unwrap(),
                samples,
            },
            SeriesSamples {
                labels: Labels::new([("__name__", "up"), ("job", job), ("tenant", "forged")])
                    .unwrap(),
                samples: up,
            },
        ];
        app.store.write(tenant, series).await.unwrap();
    }
    provision::provision_builtin(&app.system(), &app.pool)
        .await
        .unwrap();
    app.create_user("admin@x.io", "admin", None).await;
    app.create_user("manager@x.io", "manager", None).await;
    app.create_user("viewer@acme.io", "tenant-viewer", Some(acme))
        .await;
    Fixture { acme }
}

async fn save(app: &TestApp, tenant: Option<Uuid>, model: Value) -> String {
    let model: viz::model::Dashboard = serde_json::from_value(model).unwrap();
    repo::create(
        &app.system(),
        &app.pool,
        repo::Save {
            tenant,
            audience: Audience::Everyone,
            model: &model,
            provisioned: None,
            message: "test",
            notes: None,
        },
    )
    .await
    .unwrap();
    model.uid
}

fn uids(list: &Value) -> Vec<String> {
    let mut uids: Vec<String> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["uid"].as_str().unwrap().to_string())
        .collect();
    uids.sort();
    uids
}

#[sqlx::test(migrator = "app::ssr::MIGRATOR")]
async fn builtin_dashboards_are_listed_for_their_audiences(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    fixture(&app).await;
    for (who, want) in [
        (
            "admin@x.io",
            vec![
                "executive",
                "operations",
                "security",
                "tenant-overview",
                "usage",
            ],
        ),
        (
            "manager@x.io",
            vec!["executive", "operations", "tenant-overview", "usage"],
        ),
        ("viewer@acme.io", vec!["tenant-overview"]),
    ] {
        let browser = app.browser();
        browser.login_ok(who).await;
        let list: Value = browser
            .get("/api/v1/dashboards")
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(uids(&list), want, "{who}");
        let found: Value = browser
            .get("/api/v1/dashboards?query=EXEC")
            .await
            .json()
            .await
            .unwrap();
        let expected: Vec<&str> = want.iter().copied().filter(|u| *u == "executive").collect();
        assert_eq!(uids(&found), expected, "{who}: search by title, any case");
        let tagged: Value = browser
            .get("/api/v1/dashboards?tag=security")
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(
            uids(&tagged).len(),
            usize::from(who == "admin@x.io"),
            "{who}: by tag"
        );
    }
    // Provisioning again writes nothing when nothing changed.
    assert_eq!(
        provision::provision_builtin(&app.system(), &app.pool)
            .await
            .unwrap(),
        0
    );
}

#[sqlx::test(migrator = "app::ssr::MIGRATOR")]
async fn each_role_lands_on_its_dashboard(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    fixture(&app).await;
    for (who, landing) in [
        ("admin@x.io", "/dashboards"),
        ("manager@x.io", "/d/executive"),
        ("viewer@acme.io", "/d/tenant-overview"),
    ] {
        let browser = app.browser();
        browser.login_ok(who).await;
        let response = browser.get("/").await;
        assert_eq!(response.status(), 302, "{who}");
        assert_eq!(response.headers()["location"], landing, "{who}");
        let page = browser.get(landing).await;
        assert_eq!(page.status(), 200, "{who}");
        let html = page.text().await.unwrap();
        assert!(
            html.contains("class=\"panel ") || html.contains("id=\"dashboards\""),
            "{who}: {html}"
        );
    }
}

/// A panel's CSV as the browser downloads it.
async fn csv(browser: &crate::helpers::Browser<'_>, uid: &str, query: &str) -> String {
    let response = browser
        .get(&format!("/d/{uid}/panel/1/data.csv?{query}"))
        .await;
    assert_eq!(response.status(), 200);
    response.text().await.unwrap()
}

#[sqlx::test(migrator = "app::ssr::MIGRATOR")]
async fn a_global_panel_runs_in_each_tenant_and_labels_it(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    fixture(&app).await;
    let uid = save(&app, None, json!({
        "uid": "users", "title": "Users",
        "panels": [{"id": 1, "type": "timeseries", "title": "Users", "gridPos": {"x": 0, "y": 0, "w": 24, "h": 8},
                    "targets": [{"refId": "A", "expr": "sum(active_users)", "legendFormat": "{{tenant}}"}]},
                   {"id": 2, "type": "stat", "title": "All users", "options": {"tenantReduce": "sum", "graphMode": "none"},
                    "gridPos": {"x": 0, "y": 8, "w": 6, "h": 4}, "targets": [{"refId": "A", "expr": "sum(active_users)"}]},
                   {"id": 3, "type": "table", "title": "Jobs", "gridPos": {"x": 6, "y": 8, "w": 18, "h": 4},
                    "targets": [{"refId": "A", "expr": "up", "instant": true}]}]
    })).await;
    let admin = app.browser();
    admin.login_ok("admin@x.io").await;
    let text = csv(&admin, &uid, "from=now-30m&to=now").await;
    assert!(text.starts_with("Time,acme,globex\n"), "{text}");
    assert!(text.lines().nth(1).unwrap().ends_with(",100,50"), "{text}");
    let viewer = app.browser();
    viewer.login_ok("viewer@acme.io").await;
    let text = csv(&viewer, &uid, "from=now-30m&to=now&var-tenant=globex").await;
    assert!(
        text.starts_with("Time,acme\n"),
        "acme's viewer sees acme only: {text}"
    );
    assert!(!text.contains(",50"));

    let page: Value = admin
        .call(
            "load_dashboard",
            &[("uid", &uid), ("query", "from=now-30m&to=now")],
        )
        .await
        .json()
        .await
        .unwrap();
    let stat = page["panels"][1]["html"].as_str().unwrap();
    assert!(
        stat.contains(r#"<span class="stat-value">150</span>"#),
        "the tenants summed: {stat}"
    );
    // The data's own `tenant` label cannot pass for another tenant.
    let table = page["panels"][2]["html"].as_str().unwrap();
    assert!(
        table.contains("<td>acme</td>") && table.contains("<td>globex</td>"),
        "{table}"
    );
    assert!(!table.contains("forged"), "{table}");
}

#[sqlx::test(migrator = "app::ssr::MIGRATOR")]
async fn variables_from_the_url_cannot_widen_a_query(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let fx = fixture(&app).await;
    let uid = save(&app, Some(fx.acme), json!({
        "uid": "jobs", "title": "Jobs",
        "templating": {"list": [
            {"name": "job", "type": "query", "query": "label_values(up, job)", "multi": true, "includeAll": true},
            {"name": "name", "type": "textbox", "query": "api-acme"},
            {"name": "chained", "type": "query", "query": "label_values(up{job=~\"$job\"}, tenant)"},
            {"name": "every", "type": "interval", "query": "1m,5m", "auto": true, "auto_count": 10}
        ]},
        "panels": [{"id": 1, "type": "timeseries", "title": "Up", "gridPos": {"x": 0, "y": 0, "w": 24, "h": 8},
                    "targets": [{"refId": "A", "expr": "sum by (job) (up{job=~\"$job\"})", "legendFormat": "{{job}}"}]},
                   {"id": 2, "type": "timeseries", "title": "By name", "gridPos": {"x": 0, "y": 8, "w": 24, "h": 8},
                    "targets": [{"refId": "A", "expr": "up{job=\"$name\"}", "legendFormat": "{{job}}"}]}]
    })).await;
    let viewer = app.browser();
    viewer.login_ok("viewer@acme.io").await;
    let injection = "\"} or vector(1) or {x=\"";
    for value in [
        ".*",
        injection,
        "api-globex",
        &Uuid::new_v4().to_string(),
        "no-such-job",
    ] {
        let query = format!("from=now-30m&to=now&var-job={}", app::url::encode(value));
        let page: Value = viewer
            .call("load_dashboard", &[("uid", &uid), ("query", &query)])
            .await
            .json()
            .await
            .unwrap();
        let notices = page["notices"].to_string();
        assert!(
            notices.contains("is not a value of $job"),
            "{value}: {notices}"
        );
        assert_eq!(
            page["variables"][0]["selected"],
            json!(["$__all"]),
            "{value}"
        );
        let options = page["variables"][0]["options"].to_string();
        assert!(!options.contains("globex"), "{options}");
        let text = csv(&viewer, &uid, &query).await;
        assert_eq!(
            text.lines().next(),
            Some("Time,api-acme"),
            "{value}: {text}"
        );
    }
    // A chained variable lists what the one before it allows; an interval offers auto.
    let page: Value = viewer
        .call(
            "load_dashboard",
            &[("uid", &uid), ("query", "from=now-30m&to=now")],
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        page["variables"][2]["options"],
        json!([["forged", "forged"]])
    );
    assert_eq!(
        page["variables"][3]["options"][0],
        json!(["auto", "$__auto_interval"])
    );
    // A textbox takes any text, but only ever as the label value it stands for.
    let query = format!(
        "from=now-30m&to=now&var-name={}",
        app::url::encode(injection)
    );
    let text = viewer
        .get(&format!("/d/{uid}/panel/2/data.csv?{query}"))
        .await
        .text()
        .await
        .unwrap();
    assert_eq!(
        text, "Time\n",
        "the injection matched nothing and ran nothing: {text}"
    );
    // Another tenant's dashboard does not exist for acme's viewer, by any path.
    let initech = app.create_tenant("initech").await;
    let other = save(
        &app,
        Some(initech),
        json!({"uid": "initech-only", "title": "Initech",
        "panels": [{"id": 1, "type": "timeseries", "targets": [{"refId": "A", "expr": "up"}]}]}),
    )
    .await;
    assert_eq!(viewer.get(&format!("/d/{other}")).await.status(), 404);
    assert_eq!(
        viewer
            .get(&format!("/api/v1/dashboards/{other}"))
            .await
            .status(),
        404
    );
    assert_eq!(
        viewer
            .get(&format!("/d/{other}/panel/1/data.csv"))
            .await
            .status(),
        404
    );
}

#[sqlx::test(migrator = "app::ssr::MIGRATOR")]
async fn the_model_is_grafana_json_over_rest_and_changes_are_audited(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let fx = fixture(&app).await;
    let manager = app.browser();
    manager.login_ok("manager@x.io").await;
    let model: Value = manager
        .get("/api/v1/dashboards/executive")
        .await
        .json()
        .await
        .unwrap();
    let shipped: Value = serde_json::from_str(include_str!(
        "../../../app/src/dashboards/builtin/executive.json"
    ))
    .unwrap();
    assert_eq!(model["uid"], "executive");
    assert_eq!(model["schemaVersion"], 39);
    assert_eq!(
        model["panels"], shipped["panels"],
        "the model as it was provisioned"
    );
    assert_eq!(model["version"], 1);

    let uid = save(
        &app,
        Some(fx.acme),
        json!({"uid": "audited", "title": "Audited"}),
    )
    .await;
    let (action, tenant, target): (String, Option<Uuid>, String) = sqlx::query_as(
        "select action, tenant_id, target_type from audit_event order by id desc limit 1",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(
        (action.as_str(), tenant, target.as_str()),
        ("dashboard.create", Some(fx.acme), "dashboard")
    );
    let versions: i64 = sqlx::query_scalar("select count(*) from dashboard_version v join dashboard d on d.id = v.dashboard_id where d.uid = $1")
        .bind(&uid)
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(versions, 1);
}

#[sqlx::test(migrator = "app::ssr::MIGRATOR")]
async fn the_page_is_complete_without_javascript(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    fixture(&app).await;
    let manager = app.browser();
    manager.login_ok("manager@x.io").await;
    let html = manager
        .get("/d/executive?from=now-1h&to=now")
        .await
        .text()
        .await
        .unwrap();
    assert_eq!(
        html.matches("class=\"panel panel-").count(),
        11,
        "every panel is drawn: {html}"
    );
    assert!(html.matches("<svg").count() >= 4, "charts are inline SVG");
    assert!(
        html.contains("Last 1 hour"),
        "the time picker names the range"
    );
    assert!(
        html.contains("<form method=\"get\""),
        "the controls are GET forms"
    );
    assert!(
        html.contains("href=\"/d/executive/panel/6/data.csv?"),
        "the CSV link"
    );
    let alone = manager
        .get("/d/executive?viewPanel=6")
        .await
        .text()
        .await
        .unwrap();
    assert_eq!(alone.matches("class=\"panel panel-").count(), 1);
    let kiosk = manager
        .get("/d/executive?kiosk")
        .await
        .text()
        .await
        .unwrap();
    assert!(kiosk.contains("class=\"dashboard kiosk\""));
    let svg = manager
        .get("/d/executive/panel/6/chart.svg?from=now-1h&to=now")
        .await;
    assert_eq!(svg.headers()["content-type"], "image/svg+xml");
    assert!(svg.text().await.unwrap().starts_with("<svg"));
    let no_chart = manager.get("/d/executive/panel/1/chart.svg").await;
    assert_eq!(no_chart.status(), 422, "a stat has no chart");
}
