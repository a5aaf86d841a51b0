//! Grafana dashboards in and out: `POST /api/v1/dashboards/import` takes every test dashboard
//! (their report shows on the page), export then import gives the same model, a uid is replaced
//! only when asked, another tenant's uid is never touched; and Grafana's own API
//! (`/api/search`, `/api/dashboards/uid/…`, `/api/dashboards/db`) works with tokens of each scope.

use serde_json::{json, Value};
use sqlx::PgPool;

use crate::helpers::TestApp;
use app::ssr::scope::TokenScope;

fn test_dashboard(path: &str) -> String {
    std::fs::read_to_string(format!(
        "{}/../crates/viz/tests/dashboards/{path}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

async fn post_import(app: &TestApp, token: &str, body: String, query: &str) -> reqwest::Response {
    app.client
        .post(app.url(&format!("/api/v1/dashboards/import{query}")))
        .bearer_auth(token)
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap()
}

/// Sends the request and reads its answer as JSON.
async fn json_of(request: reqwest::RequestBuilder) -> Value {
    request.send().await.unwrap().json().await.unwrap()
}

/// `GET /api/v1/dashboards/{uid}`: the model as Grafana JSON.
async fn export(app: &TestApp, token: &str, uid: &str) -> Value {
    json_of(
        app.client
            .get(app.url(&format!("/api/v1/dashboards/{uid}")))
            .bearer_auth(token),
    )
    .await
}

#[sqlx::test(migrator = "app::ssr::MIGRATOR")]
async fn every_test_dashboard_imports_and_round_trips(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let acme = app.create_tenant("acme").await;
    let write = app
        .create_token(acme, &[TokenScope::Read, TokenScope::Write])
        .await;
    for file in [
        "dockprom/docker_containers.json",
        "dotdc/k8s-system-coredns.json",
        "kube-prometheus/namespace-by-workload.json",
        "kube-prometheus/nodes.json",
        "kube-prometheus/prometheus.json",
        "rfmoz/node-exporter-full.json",
    ] {
        let response = post_import(&app, &write, test_dashboard(file), "").await;
        assert_eq!(response.status(), 200, "{file}");
        let imported: Value = response.json().await.unwrap();
        let uid = imported["uid"].as_str().unwrap().to_string();
        assert_eq!(imported["version"], 1, "{file}");
        assert!(
            imported["panels"].as_u64().unwrap() > 5,
            "{file}: {imported}"
        );
        // Export, then import the export over it: the same model, one version on.
        let exported = export(&app, &write, &uid).await;
        assert_eq!(exported["uid"], uid.as_str());
        let again = post_import(&app, &write, exported.to_string(), "?overwrite=true").await;
        assert_eq!(again.status(), 200, "{file}");
        let again: Value = again.json().await.unwrap();
        assert_eq!(
            (again["uid"].as_str(), again["version"].as_i64()),
            (Some(uid.as_str()), Some(2)),
            "{file}"
        );
        let exported_again = export(&app, &write, &uid).await;
        let without_version = |mut v: Value| {
            v.as_object_mut().unwrap().remove("version");
            v
        };
        assert_eq!(
            without_version(exported_again),
            without_version(exported),
            "{file}: import(export(d)) = d"
        );
    }
    // The report shows on the panels it is about.
    let dockprom = post_import(
        &app,
        &write,
        test_dashboard("dockprom/docker_containers.json"),
        "?overwrite=true",
    )
    .await;
    let uid = dockprom.json::<Value>().await.unwrap()["uid"]
        .as_str()
        .unwrap()
        .to_string();
    app.create_user("viewer@acme.io", "tenant-viewer", Some(acme))
        .await;
    let viewer = app.browser();
    viewer.login_ok("viewer@acme.io").await;
    let html = viewer.get(&format!("/d/{uid}")).await.text().await.unwrap();
    assert!(html.contains("class=\"panel-unsupported\""), "{html}");
    assert!(html.contains("not supported: a relative time of its own (10s)"));
}

#[sqlx::test(migrator = "app::ssr::MIGRATOR")]
async fn a_uid_is_replaced_only_when_asked_and_never_another_tenants(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let (acme, globex) = (
        app.create_tenant("acme").await,
        app.create_tenant("globex").await,
    );
    let acme_write = app.create_token(acme, &[TokenScope::Write]).await;
    let globex_write = app.create_token(globex, &[TokenScope::Write]).await;
    let body = json!({"uid": "shared", "title": "Mine", "panels": []}).to_string();
    assert_eq!(
        post_import(&app, &acme_write, body.clone(), "")
            .await
            .status(),
        200
    );
    let again = post_import(&app, &acme_write, body.clone(), "").await;
    assert_eq!(again.status(), 409);
    assert!(again
        .text()
        .await
        .unwrap()
        .contains("import with overwrite"));
    assert_eq!(
        post_import(&app, &acme_write, body.clone(), "?overwrite=true")
            .await
            .status(),
        200
    );
    // globex cannot see acme's dashboard: it gets a uid of its own, and acme's stays acme's.
    let theirs: Value = post_import(&app, &globex_write, body, "?overwrite=true")
        .await
        .json()
        .await
        .unwrap();
    assert_ne!(theirs["uid"], "shared");
    assert!(
        theirs["report"]["notes"][0]
            .as_str()
            .unwrap()
            .contains("is taken"),
        "{theirs}"
    );
    let owner: uuid::Uuid =
        sqlx::query_scalar("select tenant_id from dashboard where uid = 'shared'")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(owner, acme);
    // Bad JSON names its position; a token without `write` may not import.
    let bad = post_import(
        &app,
        &acme_write,
        "{\"title\": \"x\",\n \"panels\": [}".into(),
        "",
    )
    .await;
    assert_eq!(bad.status(), 422);
    assert!(
        bad.text().await.unwrap().contains("line 2, column"),
        "the position of the error"
    );
    let read = app.create_token(acme, &[TokenScope::Read]).await;
    assert_eq!(
        post_import(&app, &read, "{}".into(), "").await.status(),
        403
    );
}

#[sqlx::test(migrator = "app::ssr::MIGRATOR")]
async fn grafanas_api_works_with_tokens_of_each_scope(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let acme = app.create_tenant("acme").await;
    let write = app.create_token(acme, &[TokenScope::Write]).await;
    let read = app.create_token(acme, &[TokenScope::Read]).await;
    let ingest = app.create_token(acme, &[TokenScope::Ingest]).await;
    let call = |method: reqwest::Method, path: &str, token: &str| {
        app.client
            .request(method, app.url(path))
            .bearer_auth(token.to_string())
    };
    let dashboard = json!({"dashboard": {"uid": "tf-1", "title": "From Terraform", "tags": ["infra"],
        "panels": [{"type": "graph", "title": "Old", "gridPos": {"x": 0, "y": 0, "w": 12, "h": 8}, "targets": [{"refId": "A", "expr": "up"}]}]},
        "overwrite": false, "message": "first"});
    let saved = call(reqwest::Method::POST, "/api/dashboards/db", &write)
        .json(&dashboard)
        .send()
        .await
        .unwrap();
    assert_eq!(saved.status(), 200);
    let saved: Value = saved.json().await.unwrap();
    assert_eq!(
        (
            saved["status"].as_str(),
            saved["uid"].as_str(),
            saved["version"].as_i64()
        ),
        (Some("success"), Some("tf-1"), Some(1))
    );
    assert_eq!(saved["url"], "/d/tf-1/from-terraform");
    for (token, status) in [(&read, 403), (&ingest, 403)] {
        let refused = call(reqwest::Method::POST, "/api/dashboards/db", token)
            .json(&dashboard)
            .send()
            .await
            .unwrap();
        assert_eq!(refused.status(), status);
    }

    let found = json_of(call(
        reqwest::Method::GET,
        "/api/search?query=terra&tag=infra",
        &read,
    ))
    .await;
    assert_eq!(found[0]["uid"], "tf-1");
    assert_eq!(found[0]["type"], "dash-db");
    let none = json_of(call(reqwest::Method::GET, "/api/search?tag=nothing", &read)).await;
    assert_eq!(none, json!([]));
    assert_eq!(
        call(reqwest::Method::GET, "/api/search", &ingest)
            .send()
            .await
            .unwrap()
            .status(),
        403
    );

    let got = json_of(call(
        reqwest::Method::GET,
        "/api/dashboards/uid/tf-1",
        &read,
    ))
    .await;
    assert_eq!(got["dashboard"]["panels"][0]["type"], "timeseries");
    assert_eq!(got["dashboard"]["version"], 1);
    assert_eq!(
        (
            got["meta"]["slug"].as_str(),
            got["meta"]["canSave"].as_bool()
        ),
        (Some("from-terraform"), Some(false))
    );

    // A save from an older version is refused as Grafana refuses it; overwrite replaces.
    let mut stale = got["dashboard"].clone();
    stale["title"] = json!("Renamed");
    let first = call(reqwest::Method::POST, "/api/dashboards/db", &write)
        .json(&json!({"dashboard": stale}))
        .send()
        .await
        .unwrap();
    assert_eq!(first.status(), 200);
    let second = call(reqwest::Method::POST, "/api/dashboards/db", &write)
        .json(&json!({"dashboard": stale}))
        .send()
        .await
        .unwrap();
    assert_eq!(second.status(), 412);
    let refusal: Value = second.json().await.unwrap();
    assert_eq!(refusal["status"], "version-mismatch");
    assert!(
        refusal["message"]
            .as_str()
            .unwrap()
            .contains("version 2 was saved by"),
        "{refusal}"
    );
    let forced = call(reqwest::Method::POST, "/api/dashboards/db", &write)
        .json(&json!({"dashboard": stale, "overwrite": true}))
        .send()
        .await
        .unwrap();
    assert_eq!(forced.json::<Value>().await.unwrap()["version"], 3);

    assert_eq!(
        call(reqwest::Method::DELETE, "/api/dashboards/uid/tf-1", &read)
            .send()
            .await
            .unwrap()
            .status(),
        403
    );
    let deleted = call(reqwest::Method::DELETE, "/api/dashboards/uid/tf-1", &write)
        .send()
        .await
        .unwrap();
    assert_eq!(
        deleted.json::<Value>().await.unwrap()["message"],
        "Dashboard Renamed deleted"
    );
    let gone = call(reqwest::Method::GET, "/api/dashboards/uid/tf-1", &read)
        .send()
        .await
        .unwrap();
    assert_eq!(gone.status(), 404);
    assert_eq!(
        gone.json::<Value>().await.unwrap()["message"],
        "Dashboard not found"
    );
}
