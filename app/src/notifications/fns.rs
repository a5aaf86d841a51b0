//! Server functions of the notification pages.

use leptos::prelude::*;

use super::{ContactPointsPage, InboxPage, PoliciesPage, SilencesPage};
use crate::error::AppError;

#[server(prefix = "/rpc", endpoint = "load_contact_points")]
pub async fn load_contact_points(#[server(default)] tenant: String) -> Result<ContactPointsPage, AppError> {
    use crate::ssr::server_fns::{app_state, current_scope, finish};
    let result = async {
        let (scope, state) = (current_scope().await?, app_state()?);
        super::views::contact_points(&scope, &state.pool, &tenant).await
    }
    .await;
    finish("load_contact_points", result)
}

/// Sends a test notification through each integration of a contact point.
#[server(prefix = "/rpc", endpoint = "send_test_notification")]
pub async fn send_test_notification(csrf: String, tenant: String, receiver: String) -> Result<usize, AppError> {
    use crate::ssr::server_fns::{app_state, finish, mutation_scope};
    let result = async {
        let scope = mutation_scope(&csrf).await?;
        super::views::send_test(&scope, &app_state()?.pool, &tenant, &receiver).await
    }
    .await;
    finish("send_test_notification", result)
}

#[server(prefix = "/rpc", endpoint = "load_policies")]
pub async fn load_policies(
    #[server(default)] tenant: String,
    #[server(default)] labels: String,
) -> Result<PoliciesPage, AppError> {
    use crate::ssr::server_fns::{app_state, current_scope, finish};
    let result = async {
        let (scope, state) = (current_scope().await?, app_state()?);
        super::views::policies(&scope, &state.pool, &tenant, &labels).await
    }
    .await;
    finish("load_policies", result)
}

/// Replaces the tenant's configuration with Alertmanager's YAML from the form.
#[server(prefix = "/rpc", endpoint = "save_notification_config")]
pub async fn save_notification_config(csrf: String, tenant: String, yaml: String) -> Result<(), AppError> {
    use crate::ssr::server_fns::{app_state, finish, mutation_scope};
    let result = async {
        let scope = mutation_scope(&csrf).await?;
        super::views::save_config(&scope, &app_state()?.pool, &tenant, &yaml).await
    }
    .await;
    finish("save_notification_config", result)
}

#[server(prefix = "/rpc", endpoint = "load_silences")]
pub async fn load_silences(
    #[server(default)] tenant: String,
    #[server(default)] matchers: String,
) -> Result<SilencesPage, AppError> {
    use crate::ssr::server_fns::{app_state, current_scope, finish};
    let result = async {
        let (scope, state) = (current_scope().await?, app_state()?);
        super::views::silences(&scope, &state.pool, &tenant, &matchers).await
    }
    .await;
    finish("load_silences", result)
}

#[server(prefix = "/rpc", endpoint = "create_silence")]
pub async fn create_silence(
    csrf: String,
    tenant: String,
    matchers: String,
    hours: String,
    #[server(default)] comment: String,
) -> Result<String, AppError> {
    use crate::ssr::server_fns::{app_state, finish, mutation_scope};
    let result = async {
        let scope = mutation_scope(&csrf).await?;
        super::views::create_silence(&scope, &app_state()?.pool, &tenant, &matchers, &hours, &comment).await
    }
    .await;
    finish("create_silence", result)
}

#[server(prefix = "/rpc", endpoint = "expire_silence")]
pub async fn expire_silence(csrf: String, tenant: String, id: String) -> Result<(), AppError> {
    use crate::ssr::server_fns::{app_state, finish, mutation_scope};
    let result = async {
        let scope = mutation_scope(&csrf).await?;
        super::views::expire_silence(&scope, &app_state()?.pool, &tenant, &id).await
    }
    .await;
    finish("expire_silence", result)
}

#[server(prefix = "/rpc", endpoint = "load_inbox")]
pub async fn load_inbox(#[server(default)] tenant: String) -> Result<InboxPage, AppError> {
    use crate::ssr::server_fns::{app_state, current_scope, finish};
    let result = async {
        let (scope, state) = (current_scope().await?, app_state()?);
        super::views::inbox(&scope, &state.pool, &state.auth.secret_key, &tenant).await
    }
    .await;
    finish("load_inbox", result)
}

/// The header's count of inbox notifications the viewer has not seen.
#[server(prefix = "/rpc", endpoint = "unread_notifications")]
pub async fn unread_notifications() -> Result<i64, AppError> {
    use crate::ssr::server_fns::{app_state, current_scope, finish};
    let result = async {
        let (scope, state) = (current_scope().await?, app_state()?);
        super::views::unread(&scope, &state.pool).await
    }
    .await;
    finish("unread_notifications", result)
}

/// A digest of the tenant's configuration (`digest` is its number on the contact points page)
/// for the period running now, rendered as it would be sent.
#[server(prefix = "/rpc", endpoint = "load_digest_preview")]
pub async fn load_digest_preview(
    #[server(default)] tenant: String,
    #[server(default)] digest: String,
) -> Result<super::DigestPreview, AppError> {
    use crate::ssr::server_fns::{app_state, current_scope, finish};
    let result = async {
        let (scope, state) = (current_scope().await?, app_state()?);
        super::digest::preview(&scope, &state.pool, &state.rule_templates.external_url, &tenant, &digest).await
    }
    .await;
    finish("load_digest_preview", result)
}
