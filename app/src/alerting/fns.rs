//! Server functions of the alerts and rules pages.

use leptos::prelude::*;
use uuid::Uuid;

use super::{AlertDetail, AlertFilter, AlertsPage, GroupView};
use crate::error::AppError;

#[server(prefix = "/rpc", endpoint = "list_alerts")]
pub async fn list_alerts(#[server(default)] filter: AlertFilter) -> Result<AlertsPage, AppError> {
    use crate::ssr::server_fns::{app_state, current_scope, finish};
    let result = async {
        let (scope, state) = (current_scope().await?, app_state()?);
        super::history::list(&scope, &state.pool, &filter).await
    }
    .await;
    finish("list_alerts", result)
}

#[server(prefix = "/rpc", endpoint = "get_alert")]
pub async fn get_alert(id: Uuid) -> Result<AlertDetail, AppError> {
    use crate::ssr::server_fns::{app_state, current_scope, finish};
    let result = async {
        let (scope, state) = (current_scope().await?, app_state()?);
        super::history::detail(&scope, &state.pool, id).await
    }
    .await;
    finish("get_alert", result)
}

/// Acknowledges an alert, with a comment (which may be empty).
#[server(prefix = "/rpc", endpoint = "acknowledge_alert")]
pub async fn acknowledge_alert(
    csrf: String,
    id: Uuid,
    #[server(default)] comment: String,
) -> Result<(), AppError> {
    use crate::ssr::server_fns::{app_state, finish, mutation_scope};
    let result = async {
        let scope = mutation_scope(&csrf).await?;
        super::history::acknowledge(&scope, &app_state()?.pool, id, Some(&comment)).await
    }
    .await;
    finish("acknowledge_alert", result)
}

#[server(prefix = "/rpc", endpoint = "unacknowledge_alert")]
pub async fn unacknowledge_alert(csrf: String, id: Uuid) -> Result<(), AppError> {
    use crate::ssr::server_fns::{app_state, finish, mutation_scope};
    let result = async {
        let scope = mutation_scope(&csrf).await?;
        super::history::acknowledge(&scope, &app_state()?.pool, id, None).await
    }
    .await;
    finish("unacknowledge_alert", result)
}

/// The rule groups of the caller's tenants (or of the one named), with each rule's state.
#[server(prefix = "/rpc", endpoint = "list_rule_groups")]
pub async fn list_rule_groups(
    #[server(default)] tenant: String,
) -> Result<Vec<GroupView>, AppError> {
    use crate::ssr::server_fns::{app_state, current_scope, finish};
    let result = async {
        let (scope, state) = (current_scope().await?, app_state()?);
        let tenant =
            crate::admin::tenants::repo::tenant_filter(&scope, &state.pool, Some(&tenant)).await?;
        super::repo::group_views(&scope, &state.pool, tenant).await
    }
    .await;
    finish("list_rule_groups", result)
}

/// The report of the rule file this session just imported through the upload form, once: the
/// tenant's name and what became of each group.
#[server(prefix = "/rpc", endpoint = "take_rule_import_result")]
pub async fn take_rule_import_result() -> Result<Option<(String, super::Imported)>, AppError> {
    use crate::ssr::server_fns::{current_scope, finish, session};
    let result = async {
        current_scope().await?;
        session()
            .await?
            .remove::<(String, super::Imported)>(super::RULE_IMPORT_RESULT)
            .await
            .map_err(|_| AppError::Internal)
    }
    .await;
    finish("take_rule_import_result", result)
}
