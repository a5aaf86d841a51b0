//! The dashboard editor over HTTP, as its forms post: create, panels, settings, layout, JSON,
//! versions with their diff and restore, the 409 of two editors saving over the same version,
//! what viewers and managers get, provisioned dashboards, and the dashboards folder.

use std::time::Duration;

use serde_json::Value;
use sqlx::PgPool;

use crate::helpers::{Browser, TestApp};

async fn json(response: reqwest::Response) -> (u16, Value) {
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

fn panel_fields<'a>(title: &'a str, expr: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("panel[kind]", "timeseries"),
        ("panel[title]", title),
        ("panel[targets][0][expr]", expr),
        ("panel[targets][0][legend]", "{{job}}"),
        ("panel[unit]", "reqps"),
        ("panel[thresholds][0][color]", "green"),
        ("panel[thresholds][1][color]", "red"),
        ("panel[thresholds][1][value]", "80"),
        ("panel[legend]", "table"),
        ("panel[legend_calcs]", "mean, max"),
        ("panel[x]", "0"),
        ("panel[y]", "0"),
        ("panel[w]", "12"),
        ("panel[h]", "8"),
    ]
}

async fn save_settings(browser: &Browser<'_>, fields: &[(&str, String)]) -> (u16, Value) {
    let refs: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
    json(browser.call("save_dashboard_settings", &refs).await).await
}

async fn model(app: &TestApp, browser: &Browser<'_>, uid: &str) -> Value {
    let _ = app;
    browser
        .get(&format!("/api/v1/dashboards/{uid}"))
        .await
        .json()
        .await
        .unwrap()
}

#[sqlx::test(migrator = "app::ssr::MIGRATOR")]
async fn an_editor_builds_a_dashboard_and_every_save_is_a_version(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let acme = app.create_tenant("acme").await;
    app.create_user("editor@acme.io", "tenant-editor", Some(acme))
        .await;
    app.create_user("other@acme.io", "tenant-editor", Some(acme))
        .await;
    let editor = app.browser();
    editor.login_ok("editor@acme.io").await;

    let (status, path) = json(
        editor
            .call("create_dashboard", &[("title", "Checkout")])
            .await,
    )
    .await;
    assert_eq!(status, 200, "{path}");
    let path = path.as_str().unwrap().to_string();
    assert!(path.ends_with("?editPanel=new"), "{path}");
    let uid = path
        .trim_start_matches("/d/")
        .split('?')
        .next()
        .unwrap()
        .to_string();

    // The preview draws the form as typed and names a query's syntax error by its position.
    let mut fields = panel_fields("Requests", "sum(rate(http_requests_total[5m])) by (job");
    fields.extend([("uid", uid.as_str()), ("query", "from=now-1h&to=now")]);
    let (status, preview) = json(editor.call("preview_panel", &fields).await).await;
    assert_eq!(status, 200, "{preview}");
    let errors = preview["errors"].as_array().unwrap();
    assert_eq!(errors[0][0], "targets[0][expr]");
    assert!(
        errors[0][1].as_str().unwrap().starts_with("1:"),
        "{errors:?}"
    );
    let mut fields = panel_fields("Requests", "vector(1)");
    fields.extend([("uid", uid.as_str())]);
    let (_, preview) = json(editor.call("preview_panel", &fields).await).await;
    assert_eq!(preview["errors"], serde_json::json!([]));
    assert!(
        preview["html"].as_str().unwrap().contains("<svg"),
        "{preview}"
    );

    // Two panels, each a version.
    for (version, title) in [("1", "Requests"), ("2", "Errors")] {
        let mut fields = panel_fields(title, "vector(1)");
        fields.extend([("uid", uid.as_str()), ("version", version)]);
        let (status, path) = json(editor.call("save_panel", &fields).await).await;
        assert_eq!(status, 200, "{path}");
    }
    let saved = model(&app, &editor, &uid).await;
    let panels = saved["panels"].as_array().unwrap();
    assert_eq!(panels.len(), 2);
    assert_eq!(
        (panels[0]["id"].as_u64(), panels[1]["id"].as_u64()),
        (Some(1), Some(2))
    );
    assert_eq!(panels[0]["fieldConfig"]["defaults"]["unit"], "reqps");
    assert_eq!(
        panels[0]["options"]["legend"]["calcs"],
        serde_json::json!(["mean", "max"])
    );
    assert_eq!(saved["version"], 3);

    // A field in error is named; nothing is saved.
    let mut fields: Vec<(&str, &str)> = panel_fields("Errors", "vector(1)")
        .into_iter()
        .map(|(k, v)| (k, if k == "panel[w]" { "30" } else { v }))
        .collect();
    fields.extend([("uid", uid.as_str()), ("version", "3"), ("panel_id", "2")]);
    let (status, error) = json(editor.call("save_panel", &fields).await).await;
    assert_eq!(
        (status, error["Invalid"]["field"].as_str()),
        (422, Some("w")),
        "{error}"
    );

    // Rename from the settings; then another editor saves over the same version: 409, naming who.
    let settings = |version: &'static str, title: &'static str| {
        vec![
            ("uid", uid.clone()),
            ("version", version.to_string()),
            ("settings[title]", title.to_string()),
            ("settings[from]", "now-24h".to_string()),
            ("settings[to]", "now".to_string()),
            ("settings[tags]", "payments, sla".to_string()),
        ]
    };
    let (status, _) = save_settings(&editor, &settings("3", "Checkout service")).await;
    assert_eq!(status, 200);
    let other = app.browser();
    other.login_ok("other@acme.io").await;
    let (status, conflict) = save_settings(&other, &settings("3", "Checkout (mine)")).await;
    assert_eq!(status, 409, "{conflict}");
    let message = conflict["Conflict"].as_str().unwrap();
    assert!(
        message.contains("version 4 was saved by editor@acme.io at 20"),
        "{message}"
    );
    assert_eq!(
        model(&app, &editor, &uid).await["title"],
        "Checkout service"
    );

    // The history, its diff, and restoring version 1 (as a new version).
    let (_, versions) = json(
        editor
            .call("dashboard_versions", &[("uid", uid.as_str())])
            .await,
    )
    .await;
    let numbers: Vec<i64> = versions
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["version"].as_i64().unwrap())
        .collect();
    assert_eq!(numbers, [4, 3, 2, 1]);
    assert_eq!(versions[0]["author"], "editor@acme.io");
    let (_, diff) = json(
        editor
            .call(
                "dashboard_version_diff",
                &[("uid", uid.as_str()), ("from", "1"), ("to", "4")],
            )
            .await,
    )
    .await;
    let summary: Vec<&str> = diff["summary"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap())
        .collect();
    assert!(
        summary.contains(&"Title changed: Checkout → Checkout service"),
        "{summary:?}"
    );
    assert!(
        summary.contains(&"Panel added: Requests (panel 1)"),
        "{summary:?}"
    );
    assert!(diff["lines"]
        .as_array()
        .unwrap()
        .iter()
        .any(|l| l[0] == "+" && l[1].as_str().unwrap().contains("reqps")));
    let (status, _) = json(
        editor
            .call(
                "restore_dashboard_version",
                &[("uid", uid.as_str()), ("version", "4"), ("restore", "1")],
            )
            .await,
    )
    .await;
    assert_eq!(status, 200);
    let restored = model(&app, &editor, &uid).await;
    assert_eq!(
        (restored["title"].as_str(), restored["version"].as_i64()),
        (Some("Checkout"), Some(5))
    );
    assert_eq!(restored["panels"], serde_json::json!([]));

    // The JSON model: a syntax error names its line and column.
    let (status, error) = json(
        editor
            .call(
                "save_dashboard_json",
                &[
                    ("uid", uid.as_str()),
                    ("version", "5"),
                    ("json", "{\n  \"title\": }"),
                ],
            )
            .await,
    )
    .await;
    assert_eq!(status, 422);
    assert!(
        error["Invalid"]["message"]
            .as_str()
            .unwrap()
            .contains("line 2, column"),
        "{error}"
    );
    let (status, _) = json(
        editor
            .call(
                "save_dashboard_json",
                &[
                    ("uid", uid.as_str()),
                    ("version", "5"),
                    (
                        "json",
                        "{\"uid\": \"elsewhere\", \"title\": \"From JSON\", \"panels\": []}",
                    ),
                ],
            )
            .await,
    )
    .await;
    assert_eq!(status, 200);
    let from_json = model(&app, &editor, &uid).await;
    assert_eq!(
        (from_json["uid"].as_str(), from_json["title"].as_str()),
        (Some(uid.as_str()), Some("From JSON"))
    );

    // Copy, then delete the original (only with the confirmation).
    let (status, copy) = json(
        editor
            .call(
                "copy_dashboard",
                &[("uid", uid.as_str()), ("title", "Checkout copy")],
            )
            .await,
    )
    .await;
    assert_eq!(status, 200);
    let copy_uid = copy.as_str().unwrap().trim_start_matches("/d/").to_string();
    assert_eq!(
        model(&app, &editor, &copy_uid).await["title"],
        "Checkout copy"
    );
    let (status, error) = json(
        editor
            .call("delete_dashboard", &[("uid", uid.as_str())])
            .await,
    )
    .await;
    assert_eq!(
        (status, error["Invalid"]["field"].as_str()),
        (422, Some("confirm"))
    );
    let (status, _) = json(
        editor
            .call(
                "delete_dashboard",
                &[("uid", uid.as_str()), ("confirm", "on")],
            )
            .await,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(
        editor
            .get(&format!("/api/v1/dashboards/{uid}"))
            .await
            .status(),
        404
    );
}

#[sqlx::test(migrator = "app::ssr::MIGRATOR")]
async fn viewers_and_managers_see_no_edit_controls_and_provisioned_dashboards_are_copied(
    pool: PgPool,
) {
    let app = TestApp::spawn(pool).await;
    let acme = app.create_tenant("acme").await;
    app.create_user("admin@x.io", "admin", None).await;
    app.create_user("manager@x.io", "manager", None).await;
    app.create_user("editor@acme.io", "tenant-editor", Some(acme))
        .await;
    app.create_user("viewer@acme.io", "tenant-viewer", Some(acme))
        .await;
    let uid = app.dashboard(acme).await;
    let mut version = 1;
    for (who, editable) in [
        ("editor@acme.io", true),
        ("admin@x.io", true),
        ("viewer@acme.io", false),
        ("manager@x.io", false),
    ] {
        let browser = app.browser();
        browser.login_ok(who).await;
        let page = browser
            .get(&format!("/d/{uid}"))
            .await
            .text()
            .await
            .unwrap();
        assert_eq!(page.contains("id=\"dash-edit\""), editable, "{who}");
        assert_eq!(page.contains("class=\"edit-panel\""), editable, "{who}");
        let list = browser.get("/dashboards").await.text().await.unwrap();
        assert_eq!(
            list.contains("id=\"new-dashboard\""),
            editable && who != "manager@x.io",
            "{who}"
        );
        let editor = browser.get(&format!("/d/{uid}?editview=settings")).await;
        assert_eq!(
            editor.status().as_u16(),
            if editable { 200 } else { 403 },
            "{who}"
        );
        let mut fields = panel_fields("Mine", "vector(1)");
        let base = version.to_string();
        fields.extend([
            ("uid", uid.as_str()),
            ("version", base.as_str()),
            ("panel_id", "1"),
        ]);
        let status = browser.call("save_panel", &fields).await.status().as_u16();
        assert_eq!(status, if editable { 200 } else { 403 }, "{who}");
        version += i32::from(editable);
    }

    // A built-in dashboard is provisioned: a save is refused and says why; a copy is saved.
    app::dashboards::provision::provision_builtin(&app.system(), &app.pool)
        .await
        .unwrap();
    let admin = app.browser();
    admin.login_ok("admin@x.io").await;
    let page = admin
        .get("/d/executive?editview=settings")
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("id=\"provisioned-note\""));
    let (status, refusal) = json(
        admin
            .call(
                "save_dashboard_settings",
                &[
                    ("uid", "executive"),
                    ("version", "1"),
                    ("settings[title]", "Mine"),
                    ("settings[from]", "now-6h"),
                    ("settings[to]", "now"),
                ],
            )
            .await,
    )
    .await;
    assert_eq!(status, 409);
    assert!(
        refusal["Conflict"]
            .as_str()
            .unwrap()
            .contains("save it as a copy"),
        "{refusal}"
    );
    let (status, copy) = json(admin.call("copy_dashboard", &[("uid", "executive")]).await).await;
    assert_eq!(status, 200, "{copy}");
    let copy_uid = copy.as_str().unwrap().trim_start_matches("/d/");
    let copied: Value = admin
        .get(&format!("/api/v1/dashboards/{copy_uid}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(copied["title"], "Copy of Executive overview");
    // A tenant editor's copy of a global dashboard lands in their tenant.
    let editor = app.browser();
    editor.login_ok("editor@acme.io").await;
    let (status, copy) = json(
        editor
            .call("copy_dashboard", &[("uid", "tenant-overview")])
            .await,
    )
    .await;
    assert_eq!(status, 200, "{copy}");
    let copy_uid = copy.as_str().unwrap().trim_start_matches("/d/");
    let listed: Value = editor.get("/api/v1/dashboards").await.json().await.unwrap();
    let row = listed
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["uid"] == copy_uid)
        .unwrap()
        .clone();
    assert_eq!(row["tenant"], "acme", "{row}");
}

/// Waits for the watcher to load what changed.
async fn eventually(mut check: impl AsyncFnMut() -> bool) -> bool {
    for _ in 0..60 {
        if check().await {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    false
}

#[sqlx::test(migrator = "app::ssr::MIGRATOR")]
async fn the_dashboards_folder_is_loaded_watched_and_reported(pool: PgPool) {
    let dir = tempfile::tempdir().unwrap();
    let testdata = format!(
        "{}/../crates/viz/tests/dashboards",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::create_dir_all(dir.path().join("_global")).unwrap();
    std::fs::create_dir_all(dir.path().join("acme")).unwrap();
    std::fs::create_dir_all(dir.path().join("nobody")).unwrap();
    std::fs::copy(
        format!("{testdata}/dotdc/k8s-system-coredns.json"),
        dir.path().join("_global/coredns.json"),
    )
    .unwrap();
    std::fs::write(dir.path().join("acme/checkout.json"), r#"{"title": "Checkout", "panels": [{"id": 1, "type": "graph", "title": "RPS", "targets": [{"expr": "vector(1)"}]}]}"#).unwrap();
    std::fs::write(
        dir.path().join("acme/broken.json"),
        "{\"title\": \"Broken\",\n  \"panels\": [}",
    )
    .unwrap();
    std::fs::write(dir.path().join("nobody/x.json"), r#"{"title": "Orphan"}"#).unwrap();

    // The tenant must exist when the folder is loaded at start.
    let setup = TestApp::spawn(pool.clone()).await;
    setup.create_tenant("acme").await;
    setup.create_user("admin@x.io", "admin", None).await;
    let path = dir.path().to_path_buf();
    let app = TestApp::spawn_with(pool, move |s| s.dashboards_dir = Some(path)).await;
    let admin = app.browser();
    admin.login_ok("admin@x.io").await;
    let list = |query: &'static str| {
        let admin = &admin;
        async move {
            let listed: Value = admin
                .get(&format!("/api/v1/dashboards{query}"))
                .await
                .json()
                .await
                .unwrap();
            listed.as_array().unwrap().clone()
        }
    };
    let checkout = list("?query=Checkout").await;
    assert_eq!(checkout.len(), 1, "{checkout:?}");
    assert_eq!(
        (
            checkout[0]["tenant"].as_str(),
            checkout[0]["provisioned"].as_bool()
        ),
        (Some("acme"), Some(true))
    );
    assert_eq!(list("?query=CoreDNS").await.len(), 1);
    let (_, problems) = json(admin.call("dashboard_file_problems", &[]).await).await;
    let problems = problems.as_array().unwrap();
    assert_eq!(problems.len(), 2, "{problems:?}");
    assert!(problems[0][0]
        .as_str()
        .unwrap()
        .ends_with("acme/broken.json"));
    assert!(
        problems[0][1].as_str().unwrap().contains("line 2, column"),
        "{problems:?}"
    );
    assert!(
        problems[1][1]
            .as_str()
            .unwrap()
            .contains("no tenant \"nobody\""),
        "{problems:?}"
    );
    let page = admin.get("/dashboards").await.text().await.unwrap();
    assert!(
        page.contains("broken.json"),
        "admins see the problems on the list"
    );

    // A changed file is read again; a removed one takes its dashboard with it.
    std::fs::write(
        dir.path().join("acme/checkout.json"),
        r#"{"title": "Checkout v2", "panels": []}"#,
    )
    .unwrap();
    assert!(
        eventually(async || list("?query=Checkout%20v2").await.len() == 1).await,
        "the change is loaded"
    );
    std::fs::remove_file(dir.path().join("_global/coredns.json")).unwrap();
    assert!(
        eventually(async || list("?query=CoreDNS").await.is_empty()).await,
        "the removal is loaded"
    );
}
