//! Server functions of the API tokens page.

use leptos::prelude::*;
use uuid::Uuid;

use super::{ApiToken, CreatedToken};
use crate::error::AppError;

#[server(prefix = "/rpc", endpoint = "list_tokens")]
pub async fn list_tokens() -> Result<Vec<ApiToken>, AppError> {
    use crate::ssr::server_fns::{app_state, current_scope, finish};
    let result = async {
        let (scope, state) = (current_scope().await?, app_state()?);
        super::repo::list_tokens(&scope.require_admin()?, &state.pool).await
    }
    .await;
    finish("list_tokens", result)
}

/// Creates a token and answers its secret: the only time anyone sees it.
#[server(prefix = "/rpc", endpoint = "create_token")]
#[allow(clippy::too_many_arguments)]
pub async fn create_token(
    csrf: String,
    tenant: String,
    name: String,
    scope_ingest: Option<String>,
    scope_read: Option<String>,
    scope_write: Option<String>,
    expires_on: String,
) -> Result<CreatedToken, AppError> {
    use crate::ssr::{
        scope::TokenScope,
        server_fns::{app_state, finish, mutation_scope, session},
    };
    let result = async {
        let scope = mutation_scope(&csrf).await?;
        let admin = scope.require_admin()?;
        let tenant: Uuid = tenant
            .trim()
            .parse()
            .map_err(|_| AppError::invalid("tenant", "choose a tenant"))?;
        let scopes: Vec<TokenScope> = [
            (scope_ingest, TokenScope::Ingest),
            (scope_read, TokenScope::Read),
            (scope_write, TokenScope::Write),
        ]
        .into_iter()
        .filter(|(checked, _)| checked.is_some())
        .map(|(_, scope)| scope)
        .collect();
        let expires_at = super::parse_expiry(&expires_on)?;
        let state = app_state()?;
        let created =
            super::repo::create_token(&admin, &state.pool, tenant, &name, &scopes, expires_at)
                .await?;
        // The page shows the secret once, whichever way the form was posted: it is kept in the
        // session (server-side) until the next page load takes it.
        session()
            .await?
            .insert(CREATED_TOKEN, &created)
            .await
            .map_err(|_| AppError::Internal)?;
        Ok(created)
    }
    .await;
    finish("create_token", result)
}

#[cfg(feature = "ssr")]
const CREATED_TOKEN: &str = "created_token";

/// The token this session just created, once: its secret is never shown again.
#[server(prefix = "/rpc", endpoint = "take_created_token")]
pub async fn take_created_token() -> Result<Option<CreatedToken>, AppError> {
    use crate::ssr::server_fns::{current_scope, finish, session};
    let result = async {
        let scope = current_scope().await?;
        let _admin = scope.require_admin()?;
        session()
            .await?
            .remove::<CreatedToken>(CREATED_TOKEN)
            .await
            .map_err(|_| AppError::Internal)
    }
    .await;
    finish("take_created_token", result)
}

#[server(prefix = "/rpc", endpoint = "revoke_token")]
pub async fn revoke_token(csrf: String, id: Uuid) -> Result<ApiToken, AppError> {
    use crate::ssr::server_fns::{app_state, finish, mutation_scope};
    let result = async {
        let scope = mutation_scope(&csrf).await?;
        let (admin, state) = (scope.require_admin()?, app_state()?);
        super::repo::revoke_token(&admin, &state.pool, id).await
    }
    .await;
    finish("revoke_token", result)
}
