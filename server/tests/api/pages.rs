use reqwest::StatusCode;
use sqlx::PgPool;

use crate::helpers::TestApp;

#[sqlx::test(migrator = "app::ssr::MIGRATOR")]
async fn the_status_page_is_rendered_on_the_server_for_a_signed_in_user(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    app.create_user("ada@example.com", "manager", None).await;
    let browser = app.browser();

    let anonymous = browser.get("/").await;
    assert_eq!(anonymous.status(), StatusCode::FOUND);
    assert_eq!(anonymous.headers()["location"], "/login");

    browser.login_ok("ada@example.com").await;
    let response = browser.get("/status").await;
    assert_eq!(response.status(), 200);
    let html = response.text().await.unwrap();
    assert!(html.contains("<h1>System status</h1>"), "{html}");
    for check in ["database", "migrations", "database_pool", "disk"] {
        assert!(
            html.contains(&format!("data-check=\"{check}\"")),
            "{check} not rendered"
        );
    }
    assert!(
        html.contains("/pkg/meridian.js"),
        "the hydration script is referenced"
    );
    assert!(html.contains("/pkg/meridian.css"));
    assert!(html.contains("Auto-refresh: off"));
    assert!(
        html.contains("ada@example.com"),
        "the header names the user"
    );
}

#[sqlx::test(migrator = "app::ssr::MIGRATOR")]
async fn a_deep_link_comes_back_after_login(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let response = app.browser().get("/audit?action=tenant.").await;
    assert_eq!(response.status(), StatusCode::FOUND);
    assert_eq!(
        response.headers()["location"],
        "/login?next=%2Faudit%3Faction%3Dtenant."
    );
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

    let response = app
        .client
        .post(app.url("/rpc/health_report"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let report: serde_json::Value = response.json().await.unwrap();
    assert_eq!(report["checks"][0]["name"], "database");
}
