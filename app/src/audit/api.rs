//! Server functions of the audit page.

use leptos::prelude::*;

use super::{AuditFilter, AuditPage};
use crate::error::AppError;

#[server(prefix = "/rpc", endpoint = "list_audit_events")]
pub async fn list_audit_events(
    #[server(default)] filter: AuditFilter,
) -> Result<AuditPage, AppError> {
    use crate::ssr::server_fns::{app_state, current_scope, finish};
    let result = async {
        let (scope, state) = (current_scope().await?, app_state()?);
        super::repo::list_events(&scope, &state.pool, &filter, super::PAGE_SIZE).await
    }
    .await;
    finish("list_audit_events", result)
}
