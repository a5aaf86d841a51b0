//! Per-tenant limits from the admin form: validated, audited, and in force at once.

use serde_json::{json, Value};
use sqlx::PgPool;

use crate::helpers::TestApp;
use app::ssr::scope::TokenScope;

const FIELDS: [&str; 6] = [
    "retention_days",
    "max_series",
    "max_samples_per_second",
    "max_labels_per_series",
    "max_label_name_length",
    "max_label_value_length",
];

#[sqlx::test(migrator = "app::ssr::MIGRATOR")]
async fn an_admin_sets_a_tenants_limits_and_writers_meet_them(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let tenant = app.create_tenant("acme").await.to_string();
    let token = app
        .create_token(tenant.parse().unwrap(), &[TokenScope::Ingest])
        .await;
    app.create_user("admin@x.io", "admin", None).await;
    let admin = app.browser();
    admin.login_ok("admin@x.io").await;
    let set = |values: [&'static str; 6]| {
        let mut fields: Vec<(&str, &str)> = FIELDS.iter().copied().zip(values).collect();
        fields.push(("tenant", tenant.as_str()));
        let admin = &admin;
        async move { admin.call("set_tenant_limits", &fields).await }
    };

    let refused = set(["0", "", "", "", "", ""]).await;
    assert_eq!(refused.status(), 422);
    let body: Value = refused.json().await.unwrap();
    assert_eq!(
        body,
        json!({"Invalid": {"field": "retention_days", "message": "must be a whole number from 1 to 3650, or empty for the default"}})
    );

    let saved = set(["7", "", "", "2", "", ""]).await;
    assert_eq!(saved.status(), 200);
    let saved: Value = saved.json().await.unwrap();
    assert_eq!(saved["overrides"], json!([7, null, null, 2, null, null]));
    assert_eq!(saved["defaults"][0], json!(30));

    // In force at once: three labels are one too many.
    let now = chrono::Utc::now().timestamp_millis();
    let response = app
        .client
        .post(app.url("/api/v1/push"))
        .bearer_auth(&token)
        .json(&json!([{"labels": {"__name__": "a", "b": "1", "c": "2"}, "samples": [[now, 1]]}]))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    let text = response.text().await.unwrap();
    assert!(text.contains("max_labels_per_series=2"), "{text}");

    let entries: Vec<(Value, Value)> = sqlx::query_as(
        "select before, after from audit_event where action = 'tenant.limits_update' order by id",
    )
    .fetch_all(&app.pool)
    .await
    .unwrap();
    assert_eq!(entries.len(), 1, "the refused change wrote nothing");
    assert_eq!(
        entries[0].0["overrides"],
        json!([null, null, null, null, null, null])
    );
    assert_eq!(entries[0].1["overrides"][0], json!(7));
}
