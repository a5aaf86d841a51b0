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
pub const TENANTS: [&str; 3] = ["acme", "globex", "initech"];
const USERS: [(&str, &str, Option<&str>); 5] = [
    ("admin@meridian.demo", "admin", None),
    ("manager@meridian.demo", "manager", None),
    ("editor@acme.demo", "tenant-editor", Some("acme")),
    ("viewer@acme.demo", "tenant-viewer", Some("acme")),
    ("viewer@globex.demo", "tenant-viewer", Some("globex")),
];

pub async fn seed(state: &AppState) -> Result<(), AppError> {
    let scope = Scope::system(RequestMeta {
        user_agent: "meridian-demo".into(),
        ..RequestMeta::default()
    });
    let admin = scope.require_admin()?;
    for name in TENANTS {
        if tenants::find_tenant_by_name(&scope, &state.pool, name)
            .await?
            .is_none()
        {
            tenants::create_tenant(&admin, &state.pool, name).await?;
        }
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
        let tenant_id = match tenant {
            Some(name) => tenants::find_tenant_by_name(&scope, &state.pool, name)
                .await?
                .map(|t| t.id.to_string()),
            None => None,
        };
        let change = UserChange::parse(email, "", role, &tenant_id.unwrap_or_default(), "")?;
        users::create_user(&admin, &state.pool, change, DEMO_PASSWORD.to_string()).await?;
    }
    Ok(())
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
