//! Server functions of the data sources page.

use leptos::prelude::*;

use super::TenantDatasource;
use crate::error::AppError;

#[server(prefix = "/rpc", endpoint = "list_tenant_datasources")]
pub async fn list_tenant_datasources() -> Result<Vec<TenantDatasource>, AppError> {
    use crate::ssr::server_fns::{app_state, current_scope, finish};
    let result = async {
        let (scope, state) = (current_scope().await?, app_state()?);
        super::repo::list(&scope.require_admin()?, &state.pool).await
    }
    .await;
    finish("list_tenant_datasources", result)
}

/// Points a tenant at an external server, or back at the store (empty URL). An empty token
/// keeps the one saved unless `remove_token` is ticked.
#[server(prefix = "/rpc", endpoint = "set_tenant_datasource")]
pub async fn set_tenant_datasource(
    csrf: String,
    tenant: uuid::Uuid,
    url: String,
    bearer_token: String,
    #[server(default)] remove_token: Option<String>,
    org_id: String,
) -> Result<TenantDatasource, AppError> {
    use crate::ssr::server_fns::{app_state, finish, mutation_scope};
    let result = async {
        let scope = mutation_scope(&csrf).await?;
        let admin = scope.require_admin()?;
        let change = super::repo::Setting {
            url: super::parse_url(&url)?,
            token: match (super::parse_token(&bearer_token)?, remove_token.is_some()) {
                (Some(token), _) => super::repo::Token::Set(token),
                (None, true) => super::repo::Token::Remove,
                (None, false) => super::repo::Token::Keep,
            },
            org_id: super::parse_org_id(&org_id)?,
        };
        super::repo::set(&admin, &app_state()?.pool, tenant, change).await
    }
    .await;
    finish("set_tenant_datasource", result)
}

/// Asks the tenant's data source for `vector(1)` and says how it went, as Grafana's "Save &
/// test" does.
#[server(prefix = "/rpc", endpoint = "check_tenant_datasource")]
pub async fn check_tenant_datasource(csrf: String, tenant: uuid::Uuid) -> Result<String, AppError> {
    use crate::ssr::server_fns::{app_state, finish, mutation_scope};
    let result = async {
        let scope = mutation_scope(&csrf).await?;
        let admin = scope.require_admin()?;
        let state = app_state()?;
        let name = super::repo::list(&admin, &state.pool)
            .await?
            .into_iter()
            .find(|s| s.tenant_id == tenant)
            .ok_or(AppError::NotFound)?
            .tenant_name;
        let Some(remote) = crate::query::remote::remote_for(&state.pool, tenant)
            .await
            .map_err(|_| AppError::Internal)?
        else {
            return Ok(format!("{name} reads the built-in store."));
        };
        let now = chrono::Utc::now().timestamp_millis();
        let began = std::time::Instant::now();
        match remote
            .query(
                "vector(1)",
                (now, now, 0),
                std::time::Duration::from_secs(10),
            )
            .await
        {
            Ok(promql::Value::Vector(samples)) if samples.len() == 1 && samples[0].v == 1.0 => {
                Ok(format!(
                    "{name}: {} answered in {:.0} ms.",
                    remote.url,
                    began.elapsed().as_secs_f64() * 1000.0
                ))
            }
            Ok(other) => Err(AppError::invalid(
                "url",
                format!("{} answered vector(1) with a {}", remote.url, other.kind()),
            )),
            Err(error) => Err(AppError::invalid("url", error.to_string())),
        }
    }
    .await;
    finish("check_tenant_datasource", result)
}
