//! Server functions of signing in and out.

use leptos::prelude::*;

use super::CurrentUser;
use crate::error::AppError;

/// The signed-in user, or `None`; the page shell asks this once per page load.
#[server(prefix = "/rpc", endpoint = "current_user")]
pub async fn get_current_user() -> Result<Option<CurrentUser>, AppError> {
    use crate::ssr::server_fns::{app_state, session};
    let session = session().await?;
    let state = app_state()?;
    let Some(user) = super::ssr::session_user(&state, &session).await? else {
        return Ok(None);
    };
    Ok(Some(CurrentUser {
        email: user.email,
        display_name: user.display_name,
        role: user.role,
        tenant_name: user.tenant_name,
        csrf_token: super::ssr::csrf_token(&session).await?,
    }))
}

/// Signs in and answers the local path to continue to.
#[server(prefix = "/rpc", endpoint = "login")]
pub async fn login(
    email: String,
    password: String,
    next: Option<String>,
) -> Result<String, AppError> {
    use crate::ssr::server_fns::{app_state, finish, is_plain_form_post, request_meta, session};
    let result = async {
        let session = session().await?;
        super::ssr::login(
            &app_state()?,
            Some(&session),
            request_meta(),
            &email,
            password,
        )
        .await?;
        let next = super::safe_next(next.as_deref());
        if is_plain_form_post() {
            leptos_axum::redirect(&next);
        }
        Ok(next)
    }
    .await;
    finish("login", result)
}

/// Signs out and answers where to go: the login page.
#[server(prefix = "/rpc", endpoint = "logout")]
pub async fn logout(csrf: String) -> Result<String, AppError> {
    use crate::ssr::server_fns::{
        app_state, finish, is_plain_form_post, mutation_scope, request_meta, session,
    };
    let result = async {
        mutation_scope(&csrf).await?;
        super::ssr::logout(&app_state()?, &session().await?, request_meta()).await?;
        if is_plain_form_post() {
            leptos_axum::redirect("/login");
        }
        Ok("/login".to_string())
    }
    .await;
    finish("logout", result)
}
