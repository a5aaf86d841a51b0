//! Server functions of the tenants page.

use leptos::prelude::*;
use uuid::Uuid;

use super::Tenant;
use crate::error::AppError;

/// The tenants the caller may see: all for admins, the assigned ones for managers, their own
/// for tenant users.
#[server(prefix = "/rpc", endpoint = "list_tenants")]
pub async fn list_tenants() -> Result<Vec<Tenant>, AppError> {
    use crate::ssr::server_fns::{app_state, current_scope, finish};
    let result = async {
        let (scope, state) = (current_scope().await?, app_state()?);
        super::repo::list_tenants(&scope, &state.pool).await
    }
    .await;
    finish("list_tenants", result)
}

#[server(prefix = "/rpc", endpoint = "create_tenant")]
pub async fn create_tenant(csrf: String, name: String) -> Result<Tenant, AppError> {
    use crate::ssr::server_fns::{app_state, finish, mutation_scope};
    let result = async {
        let scope = mutation_scope(&csrf).await?;
        let (admin, state) = (scope.require_admin()?, app_state()?);
        super::repo::create_tenant(&admin, &state.pool, &name).await
    }
    .await;
    finish("create_tenant", result)
}

#[server(prefix = "/rpc", endpoint = "rename_tenant")]
pub async fn rename_tenant(csrf: String, id: Uuid, name: String) -> Result<Tenant, AppError> {
    use crate::ssr::server_fns::{app_state, finish, mutation_scope};
    let result = async {
        let scope = mutation_scope(&csrf).await?;
        let (admin, state) = (scope.require_admin()?, app_state()?);
        super::repo::rename_tenant(&admin, &state.pool, id, &name).await
    }
    .await;
    finish("rename_tenant", result)
}

#[server(prefix = "/rpc", endpoint = "set_tenant_active")]
pub async fn set_tenant_active(csrf: String, id: Uuid, active: bool) -> Result<Tenant, AppError> {
    use crate::ssr::server_fns::{app_state, finish, mutation_scope};
    let result = async {
        let scope = mutation_scope(&csrf).await?;
        let (admin, state) = (scope.require_admin()?, app_state()?);
        super::repo::set_tenant_active(&admin, &state.pool, id, active).await
    }
    .await;
    finish("set_tenant_active", result)
}
