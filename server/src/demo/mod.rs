//! Demo data for `MERIDIAN_DEMO=true`: three tenants and one user per role, created once, with
//! the credentials printed at start so a newcomer can log in at once; live metrics for every
//! tenant (`metrics`); rules (`rules.yml`) that fire on the metrics' incidents, replayed
//! over the demo week when they are first provisioned; and notification routing by severity to
//! inboxes (`alertmanager.yml`).

pub mod metrics;

use app::{
    admin::{
        tenants::repo as tenants,
        users::{repo as users, UserChange},
    },
    alerting::{backfill, repo as rule_groups},
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
        app::notifications::repo::provision(&scope, &state.pool, *id, &without_digests()).await?;
    }
    Ok(demo_tenants)
}

/// The demo routing without its digests: those are added once the demo week's alerts are
/// replayed (`run`), so that the first digest, sent at once, reports that week, not an empty one.
fn without_digests() -> String {
    let mut file = notify::config::parse(NOTIFICATIONS).expect("the demo routing is valid").file;
    file.digests.clear();
    notify::config::to_yaml(&file)
}

/// Adds the demo routing's digests to a tenant that has none.
async fn add_digests(scope: &Scope, state: &AppState, tenant: uuid::Uuid) -> Result<(), AppError> {
    let digests = notify::config::parse(NOTIFICATIONS).expect("the demo routing is valid").file.digests;
    app::notifications::repo::change(scope, &state.pool, tenant, |stored| {
        let mut file = stored.file.clone();
        if file.digests.is_empty() {
            file.digests = digests;
        }
        Ok(file)
    })
    .await
    .map(|_| ())
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

/// The demo tenants' notification routing (Alertmanager's YAML).
const NOTIFICATIONS: &str = include_str!("alertmanager.yml");

/// The demo tenants' rules.
const RULES: &str = include_str!("rules.yml");

/// Backfills the demo week and writes live samples; provisions the demo rules in each tenant
/// that lacks them and replays them over the week.
pub async fn run(state: AppState, tenants: Vec<(uuid::Uuid, String)>) {
    let now = chrono::Utc::now().timestamp_millis();
    let apps = metrics::backfill(&state.store, &tenants, now).await;
    tokio::spawn(metrics::live(state.store.clone(), apps));
    for (tenant, name) in &tenants {
        match provision_rules(&state, *tenant, now).await {
            Ok(0) => {}
            Ok(episodes) => {
                tracing::info!(tenant = %name, episodes, "Provisioned the demo rules over the demo week.")
            }
            Err(error) => {
                tracing::warn!(tenant = %name, error = %error, "Could not provision the demo rules.")
            }
        }
    }
}

/// Provisions the demo rules in `tenant`; the groups it creates are replayed from the start of
/// the demo week to `now`. Answers the alert episodes the replay found.
async fn provision_rules(
    state: &AppState,
    tenant: uuid::Uuid,
    now: i64,
) -> Result<usize, AppError> {
    let scope = Scope::system(RequestMeta {
        user_agent: "meridian-demo".into(),
        ..RequestMeta::default()
    });
    let imported = rule_groups::provision(&scope, &state.pool, tenant, RULES, "demo").await?;
    if imported.created.is_empty() {
        return Ok(0);
    }
    let mut episodes = 0;
    for stored in rule_groups::list(&scope, &state.pool, tenant).await? {
        if !imported.created.contains(&stored.group.name) {
            continue;
        }
        let span = (now - metrics::BACKFILL_MS, now);
        let filled = backfill::backfill(
            state,
            tenant,
            stored.id,
            &stored.group,
            stored.interval_ms,
            span,
        )
        .await?;
        episodes += filled.episodes;
    }
    // The first provisioning: the week is in the alert history now.
    add_digests(&scope, state, tenant).await?;
    Ok(episodes)
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_demo_routing_is_valid_and_routes_by_severity() {
        let config = notify::config::parse(super::NOTIFICATIONS).unwrap();
        let receiver = |severity: &str| {
            let labels = [("alertname", "X"), ("severity", severity)]
                .into_iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
            config.route.matches(&labels)[0].receiver.clone()
        };
        assert_eq!(receiver("critical"), "on-call");
        assert_eq!(receiver("warning"), "team");
        assert_eq!(receiver("security"), "security");
        assert_eq!(config.escalations[0].steps, vec![(15 * 60_000, "on-call-lead".to_string())]);
    }
}
