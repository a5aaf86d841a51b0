//! Server functions of the limits page.

use leptos::prelude::*;

use super::TenantLimits;
use crate::error::AppError;

#[server(prefix = "/rpc", endpoint = "list_tenant_limits")]
pub async fn list_tenant_limits() -> Result<Vec<TenantLimits>, AppError> {
    use crate::ssr::server_fns::{app_state, current_scope, finish};
    let result = async {
        let (scope, state) = (current_scope().await?, app_state()?);
        super::repo::list_limits(
            &scope.require_admin()?,
            &state.pool,
            state.store.default_limits(),
        )
        .await
    }
    .await;
    finish("list_tenant_limits", result)
}

/// Sets every limit of one tenant; an empty field goes back to the default.
#[server(prefix = "/rpc", endpoint = "set_tenant_limits")]
#[allow(clippy::too_many_arguments)]
pub async fn set_tenant_limits(
    csrf: String,
    tenant: uuid::Uuid,
    retention_days: String,
    max_series: String,
    max_samples_per_second: String,
    max_labels_per_series: String,
    max_label_name_length: String,
    max_label_value_length: String,
) -> Result<TenantLimits, AppError> {
    use crate::ssr::server_fns::{app_state, finish, mutation_scope};
    let result = async {
        let scope = mutation_scope(&csrf).await?;
        let admin = scope.require_admin()?;
        let texts = [
            retention_days,
            max_series,
            max_samples_per_second,
            max_labels_per_series,
            max_label_name_length,
            max_label_value_length,
        ];
        let mut values = [None; 6];
        for (i, text) in texts.iter().enumerate() {
            values[i] = super::parse_limit(i, text)?;
        }
        let state = app_state()?;
        let limits = super::repo::set_limits(
            &admin,
            &state.pool,
            tenant,
            values,
            state.store.default_limits(),
        )
        .await?;
        state.store.limits_changed(tenant);
        Ok(limits)
    }
    .await;
    finish("set_tenant_limits", result)
}
