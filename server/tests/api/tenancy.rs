//! The isolation matrix: every page, server function and REST route × every kind of caller ×
//! a resource of the caller's own tenant and of another, with the exact status expected. The
//! endpoint list comes from the running code (Leptos' route list, the registered server
//! functions, the REST route table), so a new endpoint fails this test until it has a row.

use std::collections::BTreeSet;

use reqwest::{header, Method};
use sqlx::PgPool;
use uuid::Uuid;

use crate::helpers::{Browser, TestApp};
use app::ssr::scope::TokenScope;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Who {
    Anonymous,
    Admin,
    Manager,
    ManagerOfA,
    EditorA,
    ViewerA,
    TokenReadA,
    TokenIngestA,
    TokenWriteA,
}

const EVERYONE: [Who; 9] = [
    Who::Anonymous,
    Who::Admin,
    Who::Manager,
    Who::ManagerOfA,
    Who::EditorA,
    Who::ViewerA,
    Who::TokenReadA,
    Who::TokenIngestA,
    Who::TokenWriteA,
];

impl Who {
    fn has_session(self) -> bool {
        !matches!(
            self,
            Who::Anonymous | Who::TokenReadA | Who::TokenIngestA | Who::TokenWriteA
        )
    }
    fn email(self) -> &'static str {
        match self {
            Who::Admin => "admin@x.io",
            Who::Manager => "manager@x.io",
            Who::ManagerOfA => "manager-a@x.io",
            Who::EditorA => "editor@a.io",
            Who::ViewerA => "viewer@a.io",
            _ => "",
        }
    }
}

/// What each kind of endpoint answers.
#[derive(Clone, Copy, Debug)]
enum Rule {
    /// Anyone, signed in or not.
    Public(u16),
    /// Server functions for any signed-in user.
    SignedIn,
    /// Server functions for admins only.
    AdminOnly,
    /// Pages for any signed-in user; others are sent to the login page.
    Page,
    /// Admin pages.
    AdminPage(u16),
    /// Pages for admins and tenant editors (Explore).
    EditorPage,
    /// Browser forms for admins and tenant editors (the import upload), with the status a
    /// permitted caller gets; there is no way in without a session.
    EditorForm(u16),
    /// Explore's query: admins in any tenant, tenant editors in their own (whatever tenant the
    /// form names); managers may name only tenants they see, and may not explore them.
    ExploreFn,
    /// REST reads of the caller's scope (session, or a token with `read`).
    Read,
    /// REST reads that then check their parameters: readers get the given status.
    ReadParams(u16),
    /// REST reads of one tenant's data: callers who may see several tenants (admins,
    /// managers) must name one (400 without), the rest read their own.
    ReadTenant,
    /// REST reads of one resource: another tenant's answers 404.
    ReadOne,
    /// REST for admins only.
    RestAdmin,
    /// A dashboard page: signed-in users see their tenants' dashboards; another tenant's is 404.
    DashboardPage,
    /// Server functions over one dashboard, with the same visibility.
    DashboardFn,
    /// Server functions that change a tenant's configuration: admins anywhere, tenant editors
    /// in their own tenant.
    EditorFn,
    /// The editor's server functions over one dashboard: admins, and tenant editors on their own
    /// tenant's, get the given status (the matrix's forms stop short of changing anything);
    /// another tenant's dashboard is 404 to whoever does not see it.
    DashboardEdit(u16),
    /// REST creation of configuration: admins, tenant editors and `write` tokens get as far as
    /// the body check (the matrix posts a form, not JSON).
    Edit(u16),
    /// REST changes of one configuration item, with the status a permitted caller gets.
    EditOne(u16),
    /// Ingestion: only a token with `ingest`, which then meets the body check (the matrix
    /// posts a form, not samples).
    Ingest(u16),
    /// Alertmanager's API changes (alerts, silences): tenant editors, `write` tokens (and
    /// `ingest` tokens where `ingest`) reach the body check; an admin must name the tenant.
    AmChange { ok: u16, ingest: bool },
    /// Alertmanager's API change of one silence: another tenant's is not found.
    AmChangeOne(u16),
    /// Alertmanager's API read of one silence: callers who see several tenants must name one,
    /// another tenant's is not found.
    ReadTenantOne,
}

/// The expected status for `who` on a resource of their own tenant (`own`) or another's.
fn expected(rule: Rule, who: Who, own: bool) -> u16 {
    let tenant_bound = matches!(
        who,
        Who::ManagerOfA
            | Who::EditorA
            | Who::ViewerA
            | Who::TokenReadA
            | Who::TokenIngestA
            | Who::TokenWriteA
    );
    match rule {
        Rule::Public(status) => status,
        Rule::SignedIn => {
            if who.has_session() {
                200
            } else {
                401
            }
        }
        Rule::AdminOnly => match who {
            Who::Admin => 200,
            w if w.has_session() => 403,
            _ => 401,
        },
        Rule::Page => {
            if who.has_session() {
                200
            } else {
                302
            }
        }
        Rule::AdminPage(ok) => match who {
            Who::Admin => ok,
            w if w.has_session() => 403,
            _ => 302,
        },
        Rule::EditorPage => match who {
            Who::Admin | Who::EditorA => 200,
            w if w.has_session() => 403,
            _ => 302,
        },
        Rule::EditorForm(ok) => match who {
            Who::Admin | Who::EditorA => ok,
            w if w.has_session() => 403,
            _ => 401,
        },
        Rule::ExploreFn => match who {
            Who::Admin | Who::EditorA => 200,
            w if !w.has_session() => 401,
            Who::ManagerOfA if !own => 404,
            _ => 403,
        },
        Rule::Read => match who {
            Who::Anonymous => 401,
            Who::TokenIngestA | Who::TokenWriteA => 403,
            _ => 200,
        },
        Rule::ReadParams(status) => match who {
            Who::Anonymous => 401,
            Who::TokenIngestA | Who::TokenWriteA => 403,
            _ => status,
        },
        Rule::ReadTenant => match who {
            Who::Anonymous => 401,
            Who::TokenIngestA | Who::TokenWriteA => 403,
            Who::Admin | Who::Manager | Who::ManagerOfA => 400,
            _ => 200,
        },
        Rule::ReadOne => match who {
            Who::Anonymous => 401,
            Who::TokenIngestA | Who::TokenWriteA => 403,
            _ if tenant_bound && !own => 404,
            _ => 200,
        },
        Rule::Ingest(body_status) => match who {
            Who::Anonymous => 401,
            Who::TokenIngestA => body_status,
            _ => 403,
        },
        Rule::EditorFn => match who {
            Who::Admin => 200,
            Who::EditorA if own => 200,
            w if !w.has_session() => 401,
            _ if tenant_bound && !own => 404,
            _ => 403,
        },
        Rule::Edit(ok) => match who {
            Who::Anonymous => 401,
            Who::Admin | Who::EditorA | Who::TokenWriteA => ok,
            _ => 403,
        },
        Rule::EditOne(ok) => match who {
            Who::Anonymous => 401,
            Who::Admin => ok,
            Who::EditorA | Who::TokenWriteA if own => ok,
            _ if tenant_bound && !own => 404,
            _ => 403,
        },
        Rule::AmChange { ok, ingest } => match who {
            Who::Anonymous => 401,
            Who::Admin => 422,
            Who::EditorA | Who::TokenWriteA => ok,
            Who::TokenIngestA if ingest => ok,
            _ => 403,
        },
        Rule::AmChangeOne(ok) => match who {
            Who::Anonymous => 401,
            Who::Admin => 422,
            Who::EditorA | Who::TokenWriteA if own => ok,
            Who::EditorA | Who::TokenWriteA => 404,
            _ => 403,
        },
        Rule::ReadTenantOne => match who {
            Who::Anonymous => 401,
            Who::TokenIngestA | Who::TokenWriteA => 403,
            Who::Admin | Who::Manager | Who::ManagerOfA => 400,
            _ if !own => 404,
            _ => 200,
        },
        Rule::RestAdmin => match who {
            Who::Anonymous => 401,
            Who::Admin => 200,
            _ => 403,
        },
        Rule::DashboardPage => match who {
            w if !w.has_session() => 302,
            _ if tenant_bound && !own => 404,
            _ => 200,
        },
        Rule::DashboardEdit(ok) => match who {
            Who::Admin => ok,
            Who::EditorA if own => ok,
            w if !w.has_session() => 401,
            _ if tenant_bound && !own => 404,
            _ => 403,
        },
        Rule::DashboardFn => match who {
            w if !w.has_session() => 401,
            _ if tenant_bound && !own => 404,
            _ => 200,
        },
    }
}

/// Every endpoint with its rule. Mutations use values that leave the fixtures as they are
/// (activate the active, rename to the same name), so the order of cases does not matter.
fn matrix() -> Vec<(&'static str, &'static str, Rule)> {
    vec![
        // Everyone is sent on: signed in to their landing page, the others to the login page.
        ("GET", "/", Rule::Public(302)),
        ("GET", "/status", Rule::Page),
        ("GET", "/dashboards", Rule::Page),
        ("GET", "/d/{uid}", Rule::DashboardPage),
        ("GET", "/d/{uid}/{slug}", Rule::DashboardPage),
        ("GET", "/login", Rule::Public(200)),
        ("GET", "/audit", Rule::Page),
        ("GET", "/alerts", Rule::Page),
        ("GET", "/alerts/{id}", Rule::DashboardPage),
        ("GET", "/alerting/list", Rule::Page),
        ("POST", "/rpc/list_alerts", Rule::SignedIn),
        ("POST", "/rpc/get_alert", Rule::DashboardFn),
        ("POST", "/rpc/list_rule_groups", Rule::SignedIn),
        ("GET", "/alerting/import", Rule::EditorPage),
        ("POST", "/alerting/upload", Rule::EditorForm(303)),
        ("POST", "/rpc/take_rule_import_result", Rule::SignedIn),
        ("GET", "/alerting/new", Rule::Page),
        ("GET", "/alerting/notifications", Rule::Page),
        ("GET", "/alerting/routes", Rule::Page),
        ("GET", "/alerting/silences", Rule::Page),
        ("GET", "/alerting/templates", Rule::Page),
        ("POST", "/rpc/load_templates", Rule::DashboardFn),
        ("POST", "/rpc/template_form", Rule::EditorFn),
        ("POST", "/rpc/add_contact_point", Rule::EditorFn),
        ("POST", "/rpc/add_route", Rule::EditorFn),
        ("POST", "/rpc/add_inhibit_rule", Rule::EditorFn),
        ("POST", "/rpc/add_time_interval", Rule::EditorFn),
        ("POST", "/rpc/add_escalation", Rule::EditorFn),
        // The matrix's tenant has no contact point of that name: found as far as the caller
        // may change the tenant.
        ("POST", "/rpc/remove_notification_part", Rule::DashboardEdit(404)),
        ("GET", "/inbox", Rule::Page),
        ("POST", "/rpc/load_contact_points", Rule::DashboardFn),
        ("POST", "/rpc/load_digest_preview", Rule::DashboardFn),
        ("POST", "/rpc/load_policies", Rule::DashboardFn),
        ("POST", "/rpc/load_silences", Rule::DashboardFn),
        ("POST", "/rpc/load_inbox", Rule::DashboardFn),
        ("POST", "/rpc/unread_notifications", Rule::SignedIn),
        ("POST", "/rpc/send_test_notification", Rule::EditorFn),
        ("POST", "/rpc/save_notification_config", Rule::EditorFn),
        ("POST", "/rpc/create_silence", Rule::EditorFn),
        ("POST", "/rpc/expire_silence", Rule::EditorFn),
        ("GET", "/alerting/edit", Rule::Page),
        ("POST", "/rpc/rule_editor", Rule::SignedIn),
        // Preview and backtest only send the browser to the editor's address.
        ("POST", "/rpc/rule_form", Rule::SignedIn),
        // The matrix's group has no version 1: found as far as the caller may restore it.
        ("POST", "/rpc/restore_rule_group", Rule::DashboardEdit(404)),
        ("POST", "/rpc/acknowledge_alert", Rule::DashboardEdit(200)),
        ("POST", "/rpc/unacknowledge_alert", Rule::DashboardEdit(200)),
        ("GET", "/scrape", Rule::Page),
        ("GET", "/explore", Rule::EditorPage),
        ("GET", "/dashboards/import", Rule::EditorPage),
        // The matrix posts no upload: a permitted caller is sent back to the form with the error.
        ("POST", "/dashboards/upload", Rule::EditorForm(303)),
        ("GET", "/admin", Rule::AdminPage(302)),
        ("GET", "/admin/tenants", Rule::AdminPage(200)),
        ("GET", "/admin/users", Rule::AdminPage(200)),
        ("GET", "/admin/tokens", Rule::AdminPage(200)),
        ("GET", "/admin/limits", Rule::AdminPage(200)),
        ("GET", "/admin/datasources", Rule::AdminPage(200)),
        ("POST", "/rpc/health_report", Rule::Public(200)),
        ("POST", "/rpc/current_user", Rule::Public(200)),
        // Wrong credentials, whoever asks.
        ("POST", "/rpc/login", Rule::Public(422)),
        ("POST", "/rpc/logout", Rule::SignedIn),
        ("POST", "/rpc/list_tenants", Rule::SignedIn),
        ("POST", "/rpc/list_audit_events", Rule::SignedIn),
        ("POST", "/rpc/create_tenant", Rule::AdminOnly),
        ("POST", "/rpc/rename_tenant", Rule::AdminOnly),
        ("POST", "/rpc/set_tenant_active", Rule::AdminOnly),
        ("POST", "/rpc/list_users", Rule::AdminOnly),
        ("POST", "/rpc/create_user", Rule::AdminOnly),
        ("POST", "/rpc/update_user", Rule::AdminOnly),
        ("POST", "/rpc/reset_password", Rule::AdminOnly),
        ("POST", "/rpc/set_user_active", Rule::AdminOnly),
        ("POST", "/rpc/list_tokens", Rule::AdminOnly),
        ("POST", "/rpc/create_token", Rule::AdminOnly),
        ("POST", "/rpc/revoke_token", Rule::AdminOnly),
        ("POST", "/rpc/take_created_token", Rule::AdminOnly),
        ("POST", "/rpc/list_tenant_limits", Rule::AdminOnly),
        ("POST", "/rpc/set_tenant_limits", Rule::AdminOnly),
        ("POST", "/rpc/list_tenant_datasources", Rule::AdminOnly),
        ("POST", "/rpc/set_tenant_datasource", Rule::AdminOnly),
        ("POST", "/rpc/check_tenant_datasource", Rule::AdminOnly),
        ("POST", "/rpc/explore_query", Rule::ExploreFn),
        ("POST", "/rpc/list_dashboards", Rule::SignedIn),
        ("POST", "/rpc/load_dashboard", Rule::DashboardFn),
        ("POST", "/rpc/render_dashboard", Rule::DashboardFn),
        ("POST", "/rpc/dashboard_series", Rule::DashboardFn),
        ("POST", "/rpc/take_import_result", Rule::SignedIn),
        ("GET", "/dashboard/new", Rule::EditorPage),
        ("POST", "/rpc/create_dashboard", Rule::EditorFn),
        ("POST", "/rpc/dashboard_editor", Rule::DashboardEdit(200)),
        ("POST", "/rpc/preview_panel", Rule::DashboardEdit(200)),
        // The no-JavaScript preview: the same checks as a save, and nothing saved.
        ("POST", "/rpc/save_panel", Rule::DashboardEdit(200)),
        // Saves from a stale version: a conflict for whoever may save.
        ("POST", "/rpc/remove_panel", Rule::DashboardEdit(409)),
        (
            "POST",
            "/rpc/save_dashboard_layout",
            Rule::DashboardEdit(409),
        ),
        (
            "POST",
            "/rpc/restore_dashboard_version",
            Rule::DashboardEdit(409),
        ),
        // Forms without their required field.
        (
            "POST",
            "/rpc/save_dashboard_settings",
            Rule::DashboardEdit(422),
        ),
        ("POST", "/rpc/save_dashboard_json", Rule::DashboardEdit(422)),
        ("POST", "/rpc/delete_dashboard", Rule::DashboardEdit(422)),
        ("POST", "/rpc/copy_dashboard", Rule::DashboardEdit(200)),
        ("POST", "/rpc/dashboard_versions", Rule::DashboardEdit(200)),
        (
            "POST",
            "/rpc/dashboard_version_diff",
            Rule::DashboardEdit(200),
        ),
        ("POST", "/rpc/dashboard_file_problems", Rule::AdminOnly),
        ("POST", "/rpc/list_scrape_jobs", Rule::SignedIn),
        ("POST", "/rpc/create_scrape_job", Rule::EditorFn),
        ("POST", "/rpc/update_scrape_job", Rule::EditorFn),
        ("POST", "/rpc/delete_scrape_job", Rule::EditorFn),
        ("POST", "/api/v1/auth/token", Rule::Public(401)),
        ("GET", "/api/v1/audit/verify", Rule::RestAdmin),
        ("GET", "/api/v1/audit/events", Rule::Read),
        ("GET", "/api/v1/audit/events/{id}", Rule::ReadOne),
        ("GET", "/api/v1/dashboards", Rule::Read),
        ("GET", "/api/v1/dashboards/{uid}", Rule::ReadOne),
        // Permitted callers get as far as the body check: the matrix posts a form, not JSON.
        ("POST", "/api/v1/dashboards/import", Rule::Edit(422)),
        ("GET", "/api/search", Rule::Read),
        ("GET", "/api/dashboards/uid/{uid}", Rule::ReadOne),
        ("DELETE", "/api/dashboards/uid/{uid}", Rule::EditOne(200)),
        ("POST", "/api/dashboards/db", Rule::Edit(400)),
        ("GET", "/d/{uid}/panel/{id}/data.csv", Rule::ReadOne),
        ("GET", "/d/{uid}/panel/{id}/chart.svg", Rule::ReadOne),
        ("GET", "/api/v1/tenants", Rule::Read),
        ("GET", "/api/v1/tenants/{id}", Rule::ReadOne),
        ("GET", "/api/v1/scrape-jobs", Rule::Read),
        ("POST", "/api/v1/scrape-jobs", Rule::Edit(400)),
        ("GET", "/api/v1/scrape-jobs/{id}", Rule::ReadOne),
        ("PUT", "/api/v1/scrape-jobs/{id}", Rule::EditOne(400)),
        ("DELETE", "/api/v1/scrape-jobs/{id}", Rule::EditOne(204)),
        ("GET", "/api/v1/targets", Rule::Read),
        // Readers get as far as the parameter check: the matrix sends no query.
        ("GET", "/api/v1/query", Rule::ReadParams(400)),
        ("POST", "/api/v1/query", Rule::ReadParams(400)),
        ("GET", "/api/v1/query_range", Rule::ReadParams(400)),
        ("POST", "/api/v1/query_range", Rule::ReadParams(400)),
        ("GET", "/api/v1/format_query", Rule::ReadParams(400)),
        ("POST", "/api/v1/format_query", Rule::ReadParams(400)),
        ("GET", "/api/v1/series", Rule::ReadParams(400)),
        ("POST", "/api/v1/series", Rule::ReadParams(400)),
        ("GET", "/api/v1/labels", Rule::ReadTenant),
        ("POST", "/api/v1/labels", Rule::ReadTenant),
        ("GET", "/api/v1/label/{name}/values", Rule::ReadTenant),
        ("GET", "/api/v1/metadata", Rule::ReadTenant),
        ("GET", "/api/v1/rules", Rule::ReadTenant),
        // The matrix posts a form, which is no rule file.
        ("POST", "/api/v1/rules", Rule::Edit(422)),
        ("GET", "/api/v1/alerts", Rule::ReadTenant),
        ("GET", "/api/v1/status/buildinfo", Rule::Read),
        // Notifications: Alertmanager's API v2 and the configuration (the matrix posts a
        // form, which is neither JSON nor a configuration).
        ("GET", "/api/v2/alerts", Rule::ReadTenant),
        ("POST", "/api/v2/alerts", Rule::AmChange { ok: 400, ingest: true }),
        ("GET", "/api/v2/alerts/groups", Rule::ReadTenant),
        ("GET", "/api/v2/silences", Rule::ReadTenant),
        ("POST", "/api/v2/silences", Rule::AmChange { ok: 400, ingest: false }),
        ("GET", "/api/v2/silence/{id}", Rule::ReadTenantOne),
        ("DELETE", "/api/v2/silence/{id}", Rule::AmChangeOne(200)),
        ("GET", "/api/v2/status", Rule::ReadTenant),
        ("GET", "/api/v2/receivers", Rule::ReadTenant),
        ("GET", "/api/v1/alertmanager/config", Rule::ReadTenant),
        ("POST", "/api/v1/alertmanager/config", Rule::Edit(422)),
        ("POST", "/api/v1/write", Rule::Ingest(415)),
        ("POST", "/api/v1/push", Rule::Ingest(400)),
        ("GET", "/audit/export.csv", Rule::Read),
        // An acknowledgement link is its own credential; the matrix's is no valid link.
        ("GET", "/ack/{token}", Rule::Public(404)),
        ("POST", "/ack/{token}", Rule::Public(404)),
        ("GET", "/metrics", Rule::Public(200)),
        ("GET", "/health", Rule::Public(200)),
        ("GET", "/health/live", Rule::Public(200)),
        ("GET", "/health/ready", Rule::Public(200)),
        ("GET", "/health/detailed", Rule::Public(200)),
    ]
}

/// Every endpoint the server has, from the code itself.
fn endpoints_in_code() -> BTreeSet<(String, String)> {
    let mut all = BTreeSet::new();
    for route in leptos_axum::generate_route_list(app::App) {
        all.insert(("GET".to_string(), route.path().to_string()));
    }
    for (path, method) in server_fn::axum::server_fn_paths() {
        all.insert((method.to_string(), path.to_string()));
    }
    for (method, path, _) in server::api::v1::routes()
        .into_iter()
        .chain(server::api::grafana::routes())
        .chain(server::api::alertmanager::routes())
    {
        all.insert((method.to_string(), path.to_string()));
    }
    for path in [
        "/metrics",
        "/audit/export.csv",
        "/d/{uid}/panel/{id}/data.csv",
        "/d/{uid}/panel/{id}/chart.svg",
        "/health",
        "/health/live",
        "/health/ready",
        "/health/detailed",
        "/ack/{token}",
    ] {
        all.insert(("GET".to_string(), path.to_string()));
    }
    for path in ["/dashboards/upload", "/alerting/upload", "/ack/{token}"] {
        all.insert(("POST".to_string(), path.to_string()));
    }
    all
}

#[tokio::test]
async fn the_matrix_covers_every_endpoint_in_the_code() {
    let in_matrix: BTreeSet<(String, String)> = matrix()
        .into_iter()
        .map(|(m, p, _)| (m.to_string(), p.to_string()))
        .collect();
    let in_code = endpoints_in_code();
    let missing: Vec<_> = in_code.difference(&in_matrix).collect();
    let stale: Vec<_> = in_matrix.difference(&in_code).collect();
    assert!(
        missing.is_empty(),
        "endpoints without a row in the isolation matrix: {missing:?}"
    );
    assert!(
        stale.is_empty(),
        "matrix rows for endpoints that do not exist: {stale:?}"
    );
}

struct Fixture {
    tenant_a: Uuid,
    tenant_b: Uuid,
    user_a: Uuid,
    user_b: Uuid,
    event_a: i64,
    event_b: i64,
    token_read: String,
    token_ingest: String,
    token_write: String,
    job_a: Uuid,
    job_b: Uuid,
    dashboard_a: String,
    dashboard_b: String,
    alert_a: Uuid,
    alert_b: Uuid,
    silence_a: String,
    silence_b: String,
}

/// The default notification configuration with a daily digest to the inbox.
const DIGEST_CONFIG: &str = "route:
  receiver: inbox
  group_by: [alertname]
receivers:
  - name: inbox
    inbox_configs: [{}]
digests:
  - {receiver: inbox, every: daily}
";

/// An active silence in `tenant`.
async fn silence(app: &TestApp, tenant: Uuid) -> String {
    let now = app::notifications::repo::now_ms();
    let silence = notify::silence::Silence {
        id: String::new(),
        matchers: vec![notify::matcher::parse("alertname=MatrixDown").unwrap()],
        starts_at: now,
        ends_at: now + 3_600_000,
        updated_at: now,
        created_by: "matrix".into(),
        comment: "matrix".into(),
    };
    app::notifications::repo::save_silence(&app.system(), &app.pool, tenant, silence)
        .await
        .unwrap()
}

/// A firing alert in `tenant`'s history.
async fn alert(app: &TestApp, tenant: Uuid) -> Uuid {
    sqlx::query_scalar(
        "insert into alert (tenant_id, group_name, rule_name, fingerprint, labels, annotations,
                            severity, state, active_at, fired_at, last_eval_at)
         values ($1, 'matrix', 'MatrixDown', 'x', '{\"alertname\": \"MatrixDown\"}', '{}',
                 'critical', 'firing', now(), now(), now()) returning id",
    )
    .bind(tenant)
    .fetch_one(&app.pool)
    .await
    .unwrap()
}

/// A disabled scrape job in `tenant` (the matrix changes and deletes jobs, never scrapes them).
async fn scrape_job(app: &TestApp, tenant: Uuid) -> Uuid {
    let input = serde_json::from_value(serde_json::json!({
        "tenant": tenant,
        "name": format!("job-{}", &Uuid::new_v4().simple().to_string()[..8]),
        "targets": ["127.0.0.1:9"],
        "enabled": false,
    }))
    .unwrap();
    app::scrape::repo::create_job(&app.system(), &app.pool, input)
        .await
        .unwrap()
        .id
}

async fn fixture(app: &TestApp) -> Fixture {
    let tenant_a = app.create_tenant("tenant-a").await;
    let tenant_b = app.create_tenant("tenant-b").await;
    app.create_user(Who::Admin.email(), "admin", None).await;
    app.create_user(Who::Manager.email(), "manager", None).await;
    app.create_user(Who::ManagerOfA.email(), "manager", None)
        .await;
    sqlx::query("insert into manager_tenant (tenant_id, user_id) select $1, id from app_user where email = $2")
        .bind(tenant_a)
        .bind(Who::ManagerOfA.email())
        .execute(&app.pool)
        .await
        .unwrap();
    app.create_user(Who::EditorA.email(), "tenant-editor", Some(tenant_a))
        .await;
    let user_a = app
        .create_user(Who::ViewerA.email(), "tenant-viewer", Some(tenant_a))
        .await;
    let user_b = app
        .create_user("viewer@b.io", "tenant-viewer", Some(tenant_b))
        .await;
    let event = |tenant: Uuid| {
        let pool = app.pool.clone();
        async move {
            sqlx::query_scalar::<_, i64>("select max(id) from audit_event where tenant_id = $1")
                .bind(tenant)
                .fetch_one(&pool)
                .await
                .unwrap()
        }
    };
    Fixture {
        tenant_a,
        tenant_b,
        user_a,
        user_b,
        event_a: event(tenant_a).await,
        event_b: event(tenant_b).await,
        token_read: app.create_token(tenant_a, &[TokenScope::Read]).await,
        token_ingest: app.create_token(tenant_a, &[TokenScope::Ingest]).await,
        token_write: app.create_token(tenant_a, &[TokenScope::Write]).await,
        job_a: scrape_job(app, tenant_a).await,
        job_b: scrape_job(app, tenant_b).await,
        dashboard_a: app.dashboard(tenant_a).await,
        dashboard_b: app.dashboard(tenant_b).await,
        alert_a: alert(app, tenant_a).await,
        alert_b: alert(app, tenant_b).await,
        silence_a: silence(app, tenant_a).await,
        silence_b: silence(app, tenant_b).await,
    }
}

/// Performs one case and answers the status.
async fn perform(
    app: &TestApp,
    fx: &Fixture,
    who: Who,
    browser: &Browser<'_>,
    method: &str,
    path: &str,
    own: bool,
) -> u16 {
    let (tenant, user, event, tenant_name) = if own {
        (fx.tenant_a, fx.user_a, fx.event_a, "tenant-a")
    } else {
        (fx.tenant_b, fx.user_b, fx.event_b, "tenant-b")
    };
    let tenant_id = if own { fx.tenant_a } else { fx.tenant_b };
    // Deleting needs a job of its own each time; other changes leave the fixture's as it was.
    let job = if path.contains("delete_scrape_job")
        || (path.contains("scrape-jobs/") && method == "DELETE")
    {
        scrape_job(app, tenant_id).await
    } else if own {
        fx.job_a
    } else {
        fx.job_b
    };
    // Deleting a dashboard needs one of its own each time.
    let fresh;
    let dashboard = if path.starts_with("/api/dashboards/uid/") && method == "DELETE" {
        fresh = app.dashboard(tenant_id).await;
        &fresh
    } else if own {
        &fx.dashboard_a
    } else {
        &fx.dashboard_b
    };
    let alert = if own { fx.alert_a } else { fx.alert_b };
    // Expiring a silence needs one of its own each time.
    let silence_id = if (path.starts_with("/api/v2/silence/") && method == "DELETE")
        || path == "/rpc/expire_silence"
    {
        silence(app, tenant_id).await
    } else if own {
        fx.silence_a.clone()
    } else {
        fx.silence_b.clone()
    };
    // Previewing needs a digest in the tenant's configuration, whatever another row saved.
    if path == "/rpc/load_digest_preview" {
        app::notifications::repo::import(&app.system(), &app.pool, tenant_id, DIGEST_CONFIG)
            .await
            .unwrap();
    }
    let path = path
        .replace("{uid}", dashboard)
        .replace("{slug}", "matrix")
        .replace("/panel/{id}/", "/panel/1/");
    let path = path.replace("{name}", "job").replace(
        "{id}",
        &if path.contains("/audit/") {
            event.to_string()
        } else if path.contains("/scrape-jobs/") {
            job.to_string()
        } else if path.starts_with("/alerts/") {
            alert.to_string()
        } else if path.starts_with("/api/v2/silence/") {
            silence_id.clone()
        } else {
            tenant.to_string()
        },
    );
    let (tenant, user) = (tenant.to_string(), user.to_string());
    let unique = Uuid::new_v4().simple().to_string();
    let fields: Vec<(&str, String)> = match path.as_str() {
        "/rpc/login" => vec![
            ("email", who.email().to_string()),
            ("password", "not the password".into()),
        ],
        "/rpc/create_tenant" => vec![("name", format!("t-{}", &unique[..12]))],
        "/rpc/rename_tenant" => vec![("id", tenant.clone()), ("name", tenant_name.to_string())],
        "/rpc/set_tenant_active" | "/rpc/set_user_active" => {
            vec![
                (
                    "id",
                    if path.contains("tenant") {
                        tenant.clone()
                    } else {
                        user.clone()
                    },
                ),
                ("active", "true".into()),
            ]
        }
        "/rpc/create_user" => vec![
            ("email", format!("{unique}@x.io")),
            ("display_name", String::new()),
            ("role", "tenant-viewer".into()),
            ("tenant", tenant.clone()),
            ("managed_tenants", String::new()),
            ("password", "a long enough password".into()),
        ],
        "/rpc/update_user" => vec![
            ("id", user.clone()),
            (
                "email",
                if own {
                    Who::ViewerA.email().into()
                } else {
                    "viewer@b.io".into()
                },
            ),
            ("display_name", String::new()),
            ("role", "tenant-viewer".into()),
            ("tenant", tenant.clone()),
            ("managed_tenants", String::new()),
        ],
        "/rpc/reset_password" => vec![
            ("id", user.clone()),
            ("password", crate::helpers::PASSWORD.into()),
        ],
        "/rpc/create_token" => vec![
            ("tenant", tenant.clone()),
            ("name", "matrix".into()),
            ("scope_read", "on".into()),
            ("expires_on", String::new()),
        ],
        "/rpc/revoke_token" => {
            let secret = app
                .create_token(
                    if own { fx.tenant_a } else { fx.tenant_b },
                    &[TokenScope::Read],
                )
                .await;
            let id: Uuid = sqlx::query_scalar("select id from api_token where prefix = $1")
                .bind(&secret[..12])
                .fetch_one(&app.pool)
                .await
                .unwrap();
            vec![("id", id.to_string())]
        }
        "/rpc/create_scrape_job" | "/rpc/update_scrape_job" => {
            let (key, value) = if path.starts_with("/rpc/create") {
                ("tenant", tenant.clone())
            } else {
                ("id", job.to_string())
            };
            let name = if path.starts_with("/rpc/create") {
                format!("job-{}", &unique[..12])
            } else {
                app::scrape::repo::get_job(&app.system(), &app.pool, job)
                    .await
                    .unwrap()
                    .name
            };
            vec![
                (key, value),
                ("name", name),
                ("targets", "127.0.0.1:9".into()),
                ("scheme", "http".into()),
                ("metrics_path", "/metrics".into()),
                ("interval_seconds", "60".into()),
                ("timeout_seconds", "10".into()),
                ("labels", String::new()),
            ]
        }
        "/rpc/delete_scrape_job" => vec![("id", job.to_string())],
        // Every limit back to the default: what the fixture has.
        "/rpc/set_tenant_limits" => [
            "retention_days",
            "max_series",
            "max_samples_per_second",
            "max_labels_per_series",
            "max_label_name_length",
            "max_label_value_length",
        ]
        .into_iter()
        .map(|field| (field, String::new()))
        .chain([("tenant", tenant.clone())])
        .collect(),
        // Back to the built-in store: what the fixture has.
        "/rpc/set_tenant_datasource" => vec![
            ("tenant", tenant.clone()),
            ("url", String::new()),
            ("bearer_token", String::new()),
            ("org_id", String::new()),
        ],
        "/rpc/check_tenant_datasource" => vec![("tenant", tenant.clone())],
        "/rpc/load_dashboard" | "/rpc/render_dashboard" | "/rpc/dashboard_series" => {
            vec![
                ("uid", dashboard.clone()),
                ("query", "from=now-1h&to=now".into()),
            ]
        }
        "/rpc/create_dashboard" => vec![("title", "Matrix".into()), ("tenant", tenant.clone())],
        "/rpc/dashboard_editor" => vec![
            ("uid", dashboard.clone()),
            ("query", "editview=settings".into()),
        ],
        "/rpc/preview_panel" | "/rpc/save_panel" => vec![
            ("uid", dashboard.clone()),
            ("version", "1".into()),
            ("panel_id", "1".into()),
            ("intent", "preview".into()),
            ("panel[kind]", "stat".into()),
            ("panel[title]", "Matrix".into()),
            ("panel[targets][0][expr]", "vector(1)".into()),
            ("panel[x]", "0".into()),
            ("panel[y]", "0".into()),
            ("panel[w]", "12".into()),
            ("panel[h]", "8".into()),
        ],
        "/rpc/remove_panel" => vec![
            ("uid", dashboard.clone()),
            ("version", "0".into()),
            ("panel_id", "1".into()),
        ],
        "/rpc/save_dashboard_layout" => vec![("uid", dashboard.clone()), ("version", "0".into())],
        "/rpc/restore_dashboard_version" => {
            vec![
                ("uid", dashboard.clone()),
                ("version", "0".into()),
                ("restore", "1".into()),
            ]
        }
        "/rpc/save_dashboard_settings" | "/rpc/delete_dashboard" | "/rpc/dashboard_versions" => {
            vec![("uid", dashboard.clone()), ("version", "1".into())]
        }
        "/rpc/save_dashboard_json" => {
            vec![
                ("uid", dashboard.clone()),
                ("version", "1".into()),
                ("json", "{".into()),
            ]
        }
        "/rpc/copy_dashboard" => vec![("uid", dashboard.clone()), ("title", "Matrix copy".into())],
        "/rpc/dashboard_version_diff" => {
            vec![
                ("uid", dashboard.clone()),
                ("from", "1".into()),
                ("to", "1".into()),
            ]
        }
        "/rpc/get_alert" | "/rpc/unacknowledge_alert" => vec![("id", alert.to_string())],
        "/rpc/rule_form" => vec![
            ("intent", "preview".into()),
            ("tenant", tenant_name.into()),
            ("group", "matrix".into()),
            ("name", "Matrix".into()),
            ("expr", "vector(1)".into()),
        ],
        "/rpc/restore_rule_group" => vec![
            ("tenant", tenant_name.into()),
            ("group", "matrix".into()),
            ("version", "1".into()),
        ],
        "/rpc/acknowledge_alert" => vec![("id", alert.to_string()), ("comment", "matrix".into())],
        // Adds a policy to the default contact point each time: harmless to the other cases.
        "/rpc/add_route" => vec![
            ("tenant", tenant_name.into()),
            ("matchers", "alertname=\"Matrix\"".into()),
            ("receiver", "inbox".into()),
        ],
        // A second add of the same name is refused (422), so the name is fresh each time.
        "/rpc/add_contact_point" => vec![
            ("tenant", tenant_name.into()),
            ("name", format!("matrix-{}", uuid::Uuid::new_v4())),
            ("kind", "inbox".into()),
        ],
        "/rpc/remove_notification_part" => vec![
            ("tenant", tenant_name.into()),
            ("part", "contact_point".into()),
            ("key", "nobody".into()),
        ],
        // Each adds a part that changes nothing the other cases rely on; names are fresh.
        "/rpc/add_inhibit_rule" => vec![
            ("tenant", tenant_name.into()),
            ("source_matchers", "alertname=\"MatrixSource\"".into()),
            ("target_matchers", "alertname=\"MatrixTarget\"".into()),
        ],
        "/rpc/add_time_interval" => vec![
            ("tenant", tenant_name.into()),
            ("name", format!("matrix-{}", uuid::Uuid::new_v4())),
            ("weekdays", "saturday".into()),
        ],
        "/rpc/add_escalation" => vec![
            ("tenant", tenant_name.into()),
            ("name", format!("matrix-{}", uuid::Uuid::new_v4())),
            ("matchers", "alertname=\"MatrixEscalation\"".into()),
            ("after_1", "1h".into()),
            ("receiver_1", "inbox".into()),
        ],
        "/rpc/template_form" => vec![
            ("intent", "save".into()),
            ("tenant", tenant_name.into()),
            ("file", "matrix.tmpl".into()),
            ("content", r#"{{ define "matrix.title" }}{{ .Status }}{{ end }}"#.into()),
        ],
        "/rpc/load_contact_points" | "/rpc/load_policies" | "/rpc/load_silences" | "/rpc/load_inbox" | "/rpc/load_templates" => {
            vec![("tenant", tenant_name.into())]
        }
        "/rpc/load_digest_preview" => vec![("tenant", tenant_name.into()), ("digest", "0".into())],
        "/rpc/send_test_notification" => {
            vec![("tenant", tenant_name.into()), ("receiver", "inbox".into())]
        }
        "/rpc/save_notification_config" => vec![
            ("tenant", tenant_name.into()),
            ("yaml", app::notifications::repo::DEFAULT_CONFIG.into()),
        ],
        "/rpc/create_silence" => vec![
            ("tenant", tenant_name.into()),
            ("matchers", "alertname=\"MatrixDown\"".into()),
            ("hours", "1".into()),
            ("comment", "matrix".into()),
        ],
        "/rpc/expire_silence" => vec![("tenant", tenant_name.into()), ("id", silence_id.clone())],
        "/rpc/explore_query" => vec![
            ("request[tenant]", tenant.clone()),
            ("request[expr]", "vector(1)".into()),
            ("request[mode]", "table".into()),
        ],
        _ => vec![],
    };

    let method = Method::from_bytes(method.as_bytes()).unwrap();
    if path == "/api/v1/auth/token" {
        let body = serde_json::json!({"email": "admin@x.io", "password": "not the password"});
        let request = browser
            .client
            .post(app.url(&path))
            .header(header::ORIGIN, app.address.clone());
        return request.json(&body).send().await.unwrap().status().as_u16();
    }
    let mut request = if who.has_session() {
        let mut form: Vec<(&str, String)> = vec![("csrf", browser.csrf().await)];
        form.extend(fields);
        let request = browser
            .client
            .request(method.clone(), app.url(&path))
            .header(header::ORIGIN, app.address.clone());
        if method == Method::POST {
            request.form(&form)
        } else {
            request
        }
    } else {
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        let request = client.request(method.clone(), app.url(&path));
        // The same form a browser would post, with the (empty) CSRF field it would carry.
        let mut form: Vec<(&str, String)> = vec![("csrf", String::new())];
        form.extend(fields);
        if method == Method::POST {
            request.form(&form)
        } else {
            request
        }
    };
    if method == Method::GET {
        request = request.header(header::ACCEPT, "text/html,*/*");
    }
    request = match who {
        Who::TokenReadA => request.bearer_auth(&fx.token_read),
        Who::TokenIngestA => request.bearer_auth(&fx.token_ingest),
        Who::TokenWriteA => request.bearer_auth(&fx.token_write),
        _ => request,
    };
    request.send().await.unwrap().status().as_u16()
}

#[sqlx::test(migrator = "app::ssr::MIGRATOR")]
async fn every_endpoint_answers_every_caller_as_the_matrix_says(pool: PgPool) {
    // A generous lockout: the matrix sends wrong passwords on purpose.
    let app = TestApp::spawn_with(pool, |s| {
        s.login_max_failures = 10_000;
        s.login_max_failures_per_ip = 10_000;
    })
    .await;
    let fx = fixture(&app).await;
    let mut failures = Vec::new();
    let mut checked = 0;
    for who in EVERYONE {
        let session = app.browser();
        if who.has_session() {
            session.login_ok(who.email()).await;
        }
        for (method, path, rule) in matrix() {
            for own in [true, false] {
                // A logout gets a session of its own, so it cannot end the one the others use.
                let fresh = app.browser();
                let browser = if path == "/rpc/logout" && who.has_session() {
                    fresh.login_ok(who.email()).await;
                    &fresh
                } else {
                    &session
                };
                let status = perform(&app, &fx, who, browser, method, path, own).await;
                let want = expected(rule, who, own);
                checked += 1;
                if status != want {
                    failures.push(format!(
                        "{who:?} {method} {path} ({}): got {status}, want {want}",
                        if own { "own" } else { "other" }
                    ));
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {checked} cases differ:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[sqlx::test(migrator = "app::ssr::MIGRATOR")]
async fn lists_show_only_the_callers_tenants(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let fx = fixture(&app).await;
    let names = |value: serde_json::Value| -> Vec<String> {
        value
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["name"].as_str().unwrap().to_string())
            .collect()
    };
    for (who, want) in [
        (Who::Admin, vec!["tenant-a", "tenant-b"]),
        (Who::Manager, vec!["tenant-a", "tenant-b"]),
        (Who::ManagerOfA, vec!["tenant-a"]),
        (Who::EditorA, vec!["tenant-a"]),
        (Who::ViewerA, vec!["tenant-a"]),
    ] {
        let browser = app.browser();
        browser.login_ok(who.email()).await;
        let listed = names(
            browser
                .post("/rpc/list_tenants")
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap(),
        );
        assert_eq!(listed, want, "{who:?} via the server function");
        let listed = names(browser.get("/api/v1/tenants").await.json().await.unwrap());
        assert_eq!(listed, want, "{who:?} via REST");
        let events: serde_json::Value = browser
            .get("/api/v1/audit/events")
            .await
            .json()
            .await
            .unwrap();
        let tenants: BTreeSet<String> = events["events"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| {
                e["tenant_name"]
                    .as_str()
                    .unwrap_or("installation")
                    .to_string()
            })
            .collect();
        if want.len() == 1 {
            assert_eq!(
                tenants,
                BTreeSet::from(["tenant-a".to_string()]),
                "{who:?} audit entries"
            );
        } else {
            assert!(
                tenants.contains("tenant-b") && tenants.contains("installation"),
                "{who:?}: {tenants:?}"
            );
        }
    }
    let by_token: serde_json::Value = app
        .client
        .get(app.url("/api/v1/tenants"))
        .bearer_auth(&fx.token_read)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(names(by_token), ["tenant-a"]);
    // A token's tenant is its own, whatever a query string says.
    let sneaky: serde_json::Value = app
        .client
        .get(app.url("/api/v1/audit/events?tenant=tenant-b"))
        .bearer_auth(&fx.token_read)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(sneaky.to_string().contains("no tenant named"), "{sneaky}");
}
