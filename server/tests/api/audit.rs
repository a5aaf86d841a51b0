//! The audit trail: one entry per change, the hash chain, row-level security as a second wall.

use reqwest::StatusCode;
use serde_json::Value;
use sqlx::PgPool;

use crate::helpers::{TestApp, PASSWORD};
use app::ssr::{
    audit::verify_chain,
    request::RequestMeta,
    scope::{Actor, Scope, TenantAccess, TokenScope},
};

async fn last_actions(app: &TestApp, n: i64) -> Vec<String> {
    let mut actions: Vec<String> =
        sqlx::query_scalar("select action from audit_event order by id desc limit $1")
            .bind(n)
            .fetch_all(&app.pool)
            .await
            .unwrap();
    actions.reverse();
    actions
}

#[sqlx::test(migrator = "app::ssr::MIGRATOR")]
async fn every_mutating_server_function_writes_exactly_one_entry(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    app.create_user("root@example.com", "admin", None).await;
    let admin = app.browser();
    admin.login_ok("root@example.com").await;

    let acme = app.create_tenant("acme").await.to_string();
    let viewer = app
        .create_user(
            "viewer@acme.io",
            "tenant-viewer",
            Some(acme.parse().unwrap()),
        )
        .await
        .to_string();
    let created: Value = admin
        .call(
            "create_token",
            &[
                ("tenant", &acme),
                ("name", "ci"),
                ("scope_read", "on"),
                ("expires_on", ""),
            ],
        )
        .await
        .json()
        .await
        .unwrap();
    let token = created["token"]["id"].as_str().unwrap().to_string();

    let calls: Vec<(&str, Vec<(&str, &str)>, &str)> = vec![
        ("create_tenant", vec![("name", "globex")], "tenant.create"),
        (
            "rename_tenant",
            vec![("id", &acme), ("name", "acme-corp")],
            "tenant.rename",
        ),
        (
            "set_tenant_active",
            vec![("id", &acme), ("active", "true")],
            "tenant.activate",
        ),
        (
            "create_user",
            vec![
                ("email", "new@acme.io"),
                ("display_name", "New"),
                ("role", "tenant-editor"),
                ("tenant", &acme),
                ("managed_tenants", ""),
                ("password", PASSWORD),
            ],
            "user.create",
        ),
        (
            "update_user",
            vec![
                ("id", &viewer),
                ("email", "viewer@acme.io"),
                ("display_name", "V"),
                ("role", "tenant-editor"),
                ("tenant", &acme),
                ("managed_tenants", ""),
            ],
            "user.update",
        ),
        (
            "reset_password",
            vec![("id", &viewer), ("password", "another long password")],
            "user.reset_password",
        ),
        (
            "set_user_active",
            vec![("id", &viewer), ("active", "false")],
            "user.deactivate",
        ),
        (
            "create_token",
            vec![
                ("tenant", &acme),
                ("name", "prom"),
                ("scope_ingest", "on"),
                ("expires_on", "2099-12-31"),
            ],
            "api_token.create",
        ),
        ("revoke_token", vec![("id", &token)], "api_token.revoke"),
    ];
    for (function, fields, action) in calls {
        let before = app.audit_count().await;
        let response = admin.call(function, &fields).await;
        assert_eq!(
            response.status(),
            200,
            "{function}: {}",
            response.text().await.unwrap()
        );
        assert_eq!(
            app.audit_count().await,
            before + 1,
            "{function} wrote one entry"
        );
        assert_eq!(last_actions(&app, 1).await, [action]);
    }

    // A refused change writes nothing: validation happens before the transaction commits.
    let before = app.audit_count().await;
    let response = admin.call("create_tenant", &[("name", "GLOBEX")]).await;
    assert_eq!(response.status(), 422);
    let error: Value = response.json().await.unwrap();
    assert_eq!(error["Invalid"]["field"], "name");
    assert_eq!(
        error["Invalid"]["message"],
        "a tenant with this name exists"
    );
    assert_eq!(app.audit_count().await, before);

    // The rename is recorded with its before and after, by whom and from where.
    let (actor, before, after, ip, correlation): (String, Value, Value, Option<String>, String) = sqlx::query_as(
        "select actor_label, before, after, host(ip), correlation_id from audit_event where action = 'tenant.rename'",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(actor, "root@example.com");
    assert_eq!(before["name"], "acme");
    assert_eq!(after["name"], "acme-corp");
    assert_eq!(ip.as_deref(), Some("127.0.0.1"));
    assert!(uuid::Uuid::parse_str(&correlation).is_ok());
    // Secrets never reach the trail.
    let everything: String = sqlx::query_scalar("select string_agg(coalesce(before::text, '') || coalesce(after::text, ''), '') from audit_event")
        .fetch_one(&app.pool).await.unwrap();
    assert!(!everything.contains(PASSWORD) && !everything.contains("another long password"));
    assert!(!everything.contains(created["secret"].as_str().unwrap()));
}

#[sqlx::test(migrator = "app::ssr::MIGRATOR")]
async fn logins_and_failures_are_audited(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    app.create_user("ada@example.com", "admin", None).await;
    let browser = app.browser();
    browser.login("ada@example.com", "wrong password!!").await;
    browser.login_ok("ada@example.com").await;
    browser.call("logout", &[]).await;
    assert_eq!(
        last_actions(&app, 3).await,
        ["auth.login_failed", "auth.login", "auth.logout"]
    );
    let (actor_type, label): (String, String) = sqlx::query_as(
        "select actor_type, actor_label from audit_event where action = 'auth.login_failed'",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(
        (actor_type.as_str(), label.as_str()),
        ("anonymous", "ada@example.com")
    );
}

#[sqlx::test(migrator = "app::ssr::MIGRATOR")]
async fn verify_finds_a_row_changed_or_removed_behind_the_application(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    for name in ["a", "b", "c", "d"] {
        app.create_tenant(name).await;
    }
    let system = app.system();
    let admin = system.require_admin().unwrap();
    let report = verify_chain(&admin, &app.pool).await.unwrap();
    assert!(report.intact);
    assert_eq!(report.checked, 4);

    // A superuser edits history.
    sqlx::query("update audit_event set after = jsonb_set(after, '{name}', '\"z\"') where id = 2")
        .execute(&app.pool)
        .await
        .unwrap();
    let report = verify_chain(&admin, &app.pool).await.unwrap();
    assert!(!report.intact);
    let broken = report.first_broken.unwrap();
    assert_eq!(broken.id, 2);
    assert!(broken.reason.contains("changed"), "{}", broken.reason);

    // Recomputing that row's hash does not help: the next row no longer links to it.
    sqlx::query("update audit_event e set hash = sha256(convert_to(audit_event_canonical(e), 'UTF8')) where id = 2")
        .execute(&app.pool).await.unwrap();
    let broken = verify_chain(&admin, &app.pool)
        .await
        .unwrap()
        .first_broken
        .unwrap();
    assert_eq!(broken.id, 3);

    // Deleting the last entry is noticed too.
    sqlx::query("delete from audit_event where id >= 2")
        .execute(&app.pool)
        .await
        .unwrap();
    let broken = verify_chain(&admin, &app.pool)
        .await
        .unwrap()
        .first_broken
        .unwrap();
    assert!(broken.reason.contains("removed"), "{}", broken.reason);
}

#[sqlx::test(migrator = "app::ssr::MIGRATOR")]
async fn verify_is_served_to_admins(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    app.create_user("root@example.com", "admin", None).await;
    let jwt = app.jwt_for("root@example.com").await;
    let report: Value = app
        .client
        .get(app.url("/api/v1/audit/verify"))
        .bearer_auth(&jwt)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(report["intact"], true);
    assert_eq!(report["checked"], 2, "user.create and the login");
    sqlx::query("update audit_event set actor_label = 'someone else' where id = 1")
        .execute(&app.pool)
        .await
        .unwrap();
    let report: Value = app
        .client
        .get(app.url("/api/v1/audit/verify"))
        .bearer_auth(&jwt)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(report["intact"], false);
    assert_eq!(report["first_broken"]["id"], 1);
}

#[sqlx::test(migrator = "app::ssr::MIGRATOR")]
async fn the_application_role_cannot_rewrite_history(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    app.create_tenant("acme").await;
    let scope = app.system();
    for statement in [
        "update audit_event set action = 'x'",
        "delete from audit_event",
        "update audit_chain_head set last_id = 0",
    ] {
        let mut tx = scope.begin(&app.pool).await.unwrap();
        let error = sqlx::query(statement).execute(tx.conn()).await.unwrap_err();
        assert!(
            error.to_string().contains("permission denied"),
            "{statement}: {error}"
        );
    }
}

#[sqlx::test(migrator = "app::ssr::MIGRATOR")]
async fn row_level_security_hides_other_tenants_from_a_query_without_a_filter(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let acme = app.create_tenant("acme").await;
    let globex = app.create_tenant("globex").await;
    app.create_token(acme, &[TokenScope::Read]).await;
    app.create_token(globex, &[TokenScope::Read]).await;
    app.create_user("viewer@acme.io", "tenant-viewer", Some(acme))
        .await;

    let acme_scope = Scope {
        actor: Actor::System,
        role: None,
        token_scopes: vec![],
        tenants: TenantAccess::Only(vec![acme]),
        home_tenant: Some(acme),
        request: RequestMeta::default(),
    };
    let mut tx = acme_scope.begin(&app.pool).await.unwrap();
    // Written as if someone forgot the tenant filter.
    let tokens: Vec<uuid::Uuid> = sqlx::query_scalar("select tenant_id from api_token")
        .fetch_all(tx.conn())
        .await
        .unwrap();
    let tenants: Vec<String> = sqlx::query_scalar("select name from tenant")
        .fetch_all(tx.conn())
        .await
        .unwrap();
    let audit_tenants: Vec<Option<uuid::Uuid>> =
        sqlx::query_scalar("select distinct tenant_id from audit_event")
            .fetch_all(tx.conn())
            .await
            .unwrap();
    let users: i64 = sqlx::query_scalar("select count(*) from app_user")
        .fetch_one(tx.conn())
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(tokens, [acme]);
    assert_eq!(tenants, ["acme"]);
    assert_eq!(audit_tenants, [Some(acme)]);
    assert_eq!(users, 1);

    // A transaction that sets no scope at all sees no tenant data.
    let nobody = Scope {
        tenants: TenantAccess::Only(vec![]),
        ..acme_scope
    };
    let mut tx = nobody.begin(&app.pool).await.unwrap();
    let count: i64 = sqlx::query_scalar("select count(*) from api_token")
        .fetch_one(tx.conn())
        .await
        .unwrap();
    assert_eq!(count, 0);
}

#[sqlx::test(migrator = "app::ssr::MIGRATOR")]
async fn the_audit_list_filters_and_the_csv_export_streams_the_scope(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let acme = app.create_tenant("acme").await;
    app.create_tenant("globex").await;
    app.create_user("viewer@acme.io", "tenant-viewer", Some(acme))
        .await;
    app.create_user("root@example.com", "admin", None).await;

    let viewer = app.browser();
    viewer.login_ok("viewer@acme.io").await;
    let csv = viewer.get("/audit/export.csv").await;
    assert_eq!(csv.status(), 200);
    assert_eq!(csv.headers()["content-type"], "text/csv; charset=utf-8");
    let text = csv.text().await.unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines[0].starts_with("id,occurred_at,actor_type,actor,tenant,action"));
    assert!(lines.len() >= 3, "{text}");
    assert!(
        lines[1..].iter().all(|l| l.contains(",acme,")),
        "only acme's entries: {text}"
    );
    assert!(!text.contains("globex"));

    let admin = app.browser();
    admin.login_ok("root@example.com").await;
    let page: Value = admin
        .post("/rpc/list_audit_events")
        .form(&[("filter[action]", "tenant.")])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let actions: Vec<&str> = page["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["tenant.create", "tenant.create"]);

    let bad = admin.get("/audit/export.csv?from=yesterday").await;
    assert_eq!(bad.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad.text().await.unwrap().contains("from: must be a time"));
}

#[sqlx::test(migrator = "app::ssr::MIGRATOR")]
async fn the_last_active_admin_cannot_be_removed(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let root = app
        .create_user("root@example.com", "admin", None)
        .await
        .to_string();
    let manager = app
        .create_user("manager@example.com", "manager", None)
        .await
        .to_string();
    let admin = app.browser();
    admin.login_ok("root@example.com").await;
    let response = admin
        .call("set_user_active", &[("id", &root), ("active", "false")])
        .await;
    assert_eq!(response.status(), 422);
    let error: Value = response.json().await.unwrap();
    assert_eq!(
        error["Invalid"]["message"],
        "the last active admin must stay an active admin"
    );
    // Other users are unaffected by the rule.
    assert_eq!(
        admin
            .call("set_user_active", &[("id", &manager), ("active", "false")])
            .await
            .status(),
        200
    );
}
