use serde_json::Value;
use sqlx::PgPool;

use crate::helpers::TestApp;

#[sqlx::test(migrator = "app::ssr::MIGRATOR")]
async fn liveness_and_readiness_are_ok_with_a_healthy_database(pool: PgPool) {
    let app = TestApp::spawn(pool).await;

    let live = app.get("/health/live").await;
    assert_eq!(live.status(), 200);
    assert_eq!(live.json::<Value>().await.unwrap()["status"], "alive");

    let ready = app.get("/health/ready").await;
    assert_eq!(ready.status(), 200);
    assert_eq!(ready.json::<Value>().await.unwrap()["status"], "ready");

    let overall = app.get("/health").await;
    assert_eq!(overall.status(), 200);
    let status = overall.json::<Value>().await.unwrap()["status"].clone();
    assert!(status == "healthy" || status == "degraded", "{status}");
}

#[sqlx::test(migrator = "app::ssr::MIGRATOR")]
async fn detailed_health_reports_each_check(pool: PgPool) {
    let installation: String = sqlx::query_scalar("select id::text from installation")
        .fetch_one(&pool)
        .await
        .unwrap();
    let app = TestApp::spawn(pool).await;

    let response = app.get("/health/detailed").await;
    assert_eq!(response.status(), 200);
    let report: Value = response.json().await.unwrap();
    let checks = report["checks"].as_array().unwrap();
    let names: Vec<_> = checks.iter().map(|c| c["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["database", "migrations", "database_pool", "disk"]);
    for check in checks {
        assert!(
            ["healthy", "degraded", "unhealthy"].contains(&check["status"].as_str().unwrap()),
            "{check}"
        );
        assert!(check["duration_ms"].as_f64().unwrap() >= 0.0);
        assert!(check["timeout_ms"].as_u64().unwrap() > 0);
        assert!(check["message"].is_string());
    }
    let database = &checks[0];
    assert_eq!(database["status"], "healthy", "{database}");
    assert_eq!(database["critical"], true);
    assert_eq!(checks[1]["status"], "healthy", "{}", checks[1]);
    assert!(checks[1]["message"]
        .as_str()
        .unwrap()
        .starts_with("schema at version 2026"));
    assert_eq!(report["total"], 4);
    let healthy = checks.iter().filter(|c| c["status"] == "healthy").count();
    assert_eq!(report["passed"], healthy);
    assert_eq!(report["installation_id"], installation);
    assert_eq!(report["version"], env!("CARGO_PKG_VERSION"));
}

#[tokio::test]
async fn readiness_is_503_when_the_database_is_unreachable() {
    let app = TestApp::spawn_with_unreachable_database().await;

    let live = app.get("/health/live").await;
    assert_eq!(
        live.status(),
        200,
        "liveness must not depend on the database"
    );

    let ready = app.get("/health/ready").await;
    assert_eq!(ready.status(), 503);
    let body: Value = ready.json().await.unwrap();
    assert_eq!(body["status"], "not_ready");
    assert_eq!(
        body["failing"],
        serde_json::json!(["database", "migrations"])
    );

    assert_eq!(app.get("/health").await.status(), 503);

    let detailed = app.get("/health/detailed").await;
    assert_eq!(detailed.status(), 503);
    let report: Value = detailed.json().await.unwrap();
    assert_eq!(report["status"], "unhealthy");
    let database = &report["checks"][0];
    assert_eq!(database["status"], "unhealthy");
    let message = database["message"].as_str().unwrap();
    assert!(
        message.starts_with("PostgreSQL unreachable") || message.starts_with("no answer within"),
        "{message}"
    );
    // The per-check timeout bounds the answer even though the database never replies.
    assert!(
        database["duration_ms"].as_f64().unwrap()
            <= database["timeout_ms"].as_f64().unwrap() + 50.0
    );
}
