//! Server functions of the users page. Field names are the form's.

use leptos::prelude::*;
use uuid::Uuid;

use super::User;
use crate::error::AppError;

#[server(prefix = "/rpc", endpoint = "list_users")]
pub async fn list_users() -> Result<Vec<User>, AppError> {
    use crate::ssr::server_fns::{app_state, current_scope, finish};
    let result = async {
        let (scope, state) = (current_scope().await?, app_state()?);
        super::repo::list_users(&scope.require_admin()?, &state.pool).await
    }
    .await;
    finish("list_users", result)
}

#[server(prefix = "/rpc", endpoint = "create_user")]
pub async fn create_user(
    csrf: String,
    email: String,
    display_name: String,
    role: String,
    tenant: String,
    managed_tenants: String,
    password: String,
) -> Result<User, AppError> {
    use crate::ssr::server_fns::{app_state, finish, mutation_scope};
    let result = async {
        let scope = mutation_scope(&csrf).await?;
        let admin = scope.require_admin()?;
        let change =
            super::UserChange::parse(&email, &display_name, &role, &tenant, &managed_tenants)?;
        let state = app_state()?;
        super::repo::create_user(&admin, &state.pool, change, password).await
    }
    .await;
    finish("create_user", result)
}

#[server(prefix = "/rpc", endpoint = "update_user")]
pub async fn update_user(
    csrf: String,
    id: Uuid,
    email: String,
    display_name: String,
    role: String,
    tenant: String,
    managed_tenants: String,
) -> Result<User, AppError> {
    use crate::ssr::server_fns::{app_state, finish, mutation_scope};
    let result = async {
        let scope = mutation_scope(&csrf).await?;
        let admin = scope.require_admin()?;
        let change =
            super::UserChange::parse(&email, &display_name, &role, &tenant, &managed_tenants)?;
        let state = app_state()?;
        super::repo::update_user(&admin, &state.pool, id, change).await
    }
    .await;
    finish("update_user", result)
}

#[server(prefix = "/rpc", endpoint = "reset_password")]
pub async fn reset_password(csrf: String, id: Uuid, password: String) -> Result<User, AppError> {
    use crate::ssr::server_fns::{app_state, finish, mutation_scope};
    let result = async {
        let scope = mutation_scope(&csrf).await?;
        let (admin, state) = (scope.require_admin()?, app_state()?);
        super::repo::reset_password(&admin, &state.pool, id, password).await
    }
    .await;
    finish("reset_password", result)
}

#[server(prefix = "/rpc", endpoint = "set_user_active")]
pub async fn set_user_active(csrf: String, id: Uuid, active: bool) -> Result<User, AppError> {
    use crate::ssr::server_fns::{app_state, finish, mutation_scope};
    let result = async {
        let scope = mutation_scope(&csrf).await?;
        let (admin, state) = (scope.require_admin()?, app_state()?);
        super::repo::set_user_active(&admin, &state.pool, id, active).await
    }
    .await;
    finish("set_user_active", result)
}
