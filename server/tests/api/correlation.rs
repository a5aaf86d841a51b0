use sqlx::PgPool;

use crate::helpers::{log_lines_with, TestApp};

const HEADER: &str = "x-correlation-id";

#[sqlx::test(migrator = "app::ssr::MIGRATOR")]
async fn a_well_formed_correlation_id_is_echoed_and_logged(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let id = format!("e2e-{}", uuid::Uuid::new_v4());

    let response = app
        .client
        .get(format!("{}/health/ready", app.address))
        .header(HEADER, &id)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()[HEADER], id.as_str());

    let lines = log_lines_with(&id);
    assert!(!lines.is_empty(), "no log line carries {id}");
    let done = lines
        .iter()
        .find(|l| l["message"] == "Handled request.")
        .expect("a completion line");
    assert_eq!(done["route"], "/health/ready");
    assert_eq!(done["method"], "GET");
    assert_eq!(done["status"], 200);
}

#[sqlx::test(migrator = "app::ssr::MIGRATOR")]
async fn a_missing_correlation_id_is_generated(pool: PgPool) {
    let app = TestApp::spawn(pool).await;

    let first = app.get("/health/live").await;
    let second = app.get("/health/live").await;
    let first = first.headers()[HEADER].to_str().unwrap().to_string();
    let second = second.headers()[HEADER].to_str().unwrap().to_string();
    assert!(uuid::Uuid::parse_str(&first).is_ok(), "{first}");
    assert_ne!(first, second);
    assert!(!log_lines_with(&first).is_empty());
}

#[sqlx::test(migrator = "app::ssr::MIGRATOR")]
async fn malformed_correlation_ids_are_replaced(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let too_long = "a".repeat(129);
    for bad in [
        "has spaces",
        "quote\"d",
        "{\"json\":1}",
        "../../etc",
        too_long.as_str(),
    ] {
        let response = app
            .client
            .get(format!("{}/health/live", app.address))
            .header(HEADER, bad)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "a bad id must not fail the request");
        let echoed = response.headers()[HEADER].to_str().unwrap();
        assert_ne!(echoed, bad);
        assert!(
            uuid::Uuid::parse_str(echoed).is_ok(),
            "{bad:?} was replaced by {echoed}"
        );
        assert!(log_lines_with(bad).is_empty(), "{bad:?} reached the logs");
    }
}
