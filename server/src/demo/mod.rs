//! Demo data for `MERIDIAN_DEMO=true`: three tenants and one user per role, created once, with
//! the credentials printed at start so a newcomer can log in at once; and live metrics for
//! every tenant (`metrics`).

pub mod metrics;

use app::{
    admin::{
        tenants::repo as tenants,
        users::{repo as users, UserChange},
    },
    error::AppError,
    ssr::{request::RequestMeta, scope::Scope, AppState},
};

/// Known to anyone who reads this file: demo mode only.
pub const DEMO_PASSWORD: &str = "meridian-demo-password";
const TENANTS: [&str; 3] = ["acme", "globex", "initech"];
const USERS: [(&str, &str, Option<&str>); 5] = [
    ("admin@meridian.demo", "admin", None),
    ("manager@meridian.demo", "manager", None),
    ("editor@acme.demo", "tenant-editor", Some("acme")),
    ("viewer@acme.demo", "tenant-viewer", Some("acme")),
    ("viewer@globex.demo", "tenant-viewer", Some("globex")),
];

/// Creates the demo tenants and users that are missing; answers the tenants (id, name).
pub async fn seed(state: &AppState) -> Result<Vec<(uuid::Uuid, String)>, AppError> {
    let scope = Scope::system(RequestMeta {
        user_agent: "meridian-demo".into(),
        ..RequestMeta::default()
    });
    let admin = scope.require_admin()?;
    let mut demo_tenants = Vec::with_capacity(TENANTS.len());
    for name in TENANTS {
        let tenant = match tenants::find_tenant_by_name(&scope, &state.pool, name).await? {
            Some(tenant) => tenant,
            None => tenants::create_tenant(&admin, &state.pool, name).await?,
        };
        demo_tenants.push((tenant.id, tenant.name));
    }
    let existing: Vec<String> = users::list_users(&admin, &state.pool)
        .await?
        .into_iter()
        .map(|u| u.email)
        .collect();
    for (email, role, tenant) in USERS {
        if existing.iter().any(|e| e.eq_ignore_ascii_case(email)) {
            continue;
        }
        let tenant_id = tenant
            .and_then(|name| demo_tenants.iter().find(|(_, n)| n == name))
            .map(|(id, _)| id.to_string());
        let change = UserChange::parse(email, "", role, &tenant_id.unwrap_or_default(), "")?;
        users::create_user(&admin, &state.pool, change, DEMO_PASSWORD.to_string()).await?;
    }
    for (id, name) in &demo_tenants {
        app::dashboards::provision::provision_tenant(&scope, &state.pool, *id, name).await?;
    }
    Ok(demo_tenants)
}

/// The lines printed at start in demo mode.
pub fn credentials() -> String {
    let mut text = format!("Demo logins (password for all: {DEMO_PASSWORD}):\n");
    for (email, role, tenant) in USERS {
        text.push_str(&format!(
            "  {email:<24} {role:<14} {}\n",
            tenant.unwrap_or("all tenants")
        ));
    }
    text
}
