//! The dashboards Meridian ships (`builtin/*.json`, Grafana JSON like any other): provisioned at
//! every start, global, each for its audience. The demo adds one dashboard a tenant.

use sqlx::PgPool;
use uuid::Uuid;
use viz::model::Dashboard;

use super::{
    repo::{self, Save},
    Audience,
};
use crate::{error::AppError, ssr::scope::Scope};

/// (file, audience): Executive is the managers' landing page, Tenant overview the tenant users'.
const BUILTIN: [(&str, Audience); 5] = [
    (include_str!("builtin/executive.json"), Audience::Managers),
    (
        include_str!("builtin/tenant-overview.json"),
        Audience::Everyone,
    ),
    (include_str!("builtin/operations.json"), Audience::Managers),
    (include_str!("builtin/security.json"), Audience::Admins),
    (include_str!("builtin/usage.json"), Audience::Managers),
];

/// Where each role lands after signing in.
pub const EXECUTIVE: &str = "executive";
pub const TENANT_OVERVIEW: &str = "tenant-overview";

const BUILTIN_MARK: &str = "builtin";

fn parse(json: &str) -> Dashboard {
    serde_json::from_str(json).expect("the built-in dashboards are valid Grafana JSON")
}

/// Creates or updates the built-in dashboards; answers how many it wrote.
pub async fn provision_builtin(scope: &Scope, pool: &PgPool) -> Result<usize, AppError> {
    let mut written = 0;
    for (json, audience) in BUILTIN {
        let model = parse(json);
        let save = Save {
            tenant: None,
            audience,
            model: &model,
            provisioned: Some(BUILTIN_MARK),
            message: "provisioned by Meridian",
            notes: None,
        };
        written += usize::from(repo::provision(scope, pool, save).await?);
    }
    Ok(written)
}

/// The demo's dashboard of one tenant (uid `<tenant>-agents`), owned by that tenant.
pub fn tenant_dashboard(tenant: &str) -> Dashboard {
    let mut model = parse(include_str!("builtin/agents.json"));
    model.uid = format!("{tenant}-agents");
    model.title = format!("{tenant}: agents and tools");
    for variable in &mut model.templating.list {
        if variable.name == "tenant_name" {
            variable.query = serde_json::Value::String(tenant.to_string());
        }
    }
    model
}

pub async fn provision_tenant(
    scope: &Scope,
    pool: &PgPool,
    tenant: Uuid,
    name: &str,
) -> Result<bool, AppError> {
    let model = tenant_dashboard(name);
    let save = Save {
        tenant: Some(tenant),
        audience: Audience::Managers,
        model: &model,
        provisioned: None,
        message: "created by the demo",
        notes: None,
    };
    repo::provision(scope, pool, save).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_builtin_dashboard_reads_and_its_queries_parse() {
        for (json, _) in BUILTIN {
            let model = parse(json);
            assert!(!model.panels.is_empty(), "{}", model.uid);
            let mut ids: Vec<u32> = model.panels.iter().map(|p| p.id).collect();
            ids.dedup();
            assert_eq!(
                ids.len(),
                model.panels.len(),
                "{}: panel ids are unique",
                model.uid
            );
            for panel in &model.panels {
                assert!(
                    panel.grid_pos.x + panel.grid_pos.w <= 24,
                    "{} {}",
                    model.uid,
                    panel.title
                );
                for target in &panel.targets {
                    let expr = target
                        .expr
                        .replace("$__rate_interval", "1m")
                        .replace("$__range", "1h")
                        .replace("$price", "0.5");
                    assert!(
                        promql::syntax::parse(&expr).is_ok(),
                        "{} / {}: {expr}",
                        model.uid,
                        panel.title
                    );
                }
            }
        }
        assert_eq!(tenant_dashboard("acme").uid, "acme-agents");
    }
}
