use sqlx::PgPool;

use crate::helpers::TestApp;

#[sqlx::test(migrator = "app::ssr::MIGRATOR")]
async fn the_home_page_is_rendered_on_the_server_with_the_status(pool: PgPool) {
    let app = TestApp::spawn(pool).await;

    let response = app.get("/").await;
    assert_eq!(response.status(), 200);
    let html = response.text().await.unwrap();
    assert!(html.contains("<h1>System status</h1>"), "{html}");
    for check in ["database", "migrations", "database_pool", "disk"] {
        assert!(html.contains(&format!("data-check=\"{check}\"")), "{check} not rendered");
    }
    assert!(html.contains("/pkg/meridian.js"), "the hydration script is referenced");
    assert!(html.contains("/pkg/meridian.css"));
    assert!(html.contains("Auto-refresh: off"));
}

#[sqlx::test(migrator = "app::ssr::MIGRATOR")]
async fn an_unknown_page_is_a_404_inside_the_shell(pool: PgPool) {
    let app = TestApp::spawn(pool).await;

    let response = app.get("/no/such/page").await;
    assert_eq!(response.status(), 404);
    let html = response.text().await.unwrap();
    assert!(html.contains("Page not found"));
    assert!(html.contains("class=\"brand\""));
}

#[sqlx::test(migrator = "app::ssr::MIGRATOR")]
async fn the_status_server_function_answers_json(pool: PgPool) {
    let app = TestApp::spawn(pool).await;

    let response = app.client.post(format!("{}/rpc/health_report", app.address)).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let report: serde_json::Value = response.json().await.unwrap();
    assert_eq!(report["checks"][0]["name"], "database");
}
