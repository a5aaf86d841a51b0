//! The Explore page's server function: runs one query for the page and shapes its answer.

use leptos::prelude::*;

use super::{ExploreRequest, Explored};
use crate::error::AppError;

#[server(prefix = "/rpc", endpoint = "explore_query")]
pub async fn explore_query(
    #[server(default)] request: ExploreRequest,
) -> Result<Explored, AppError> {
    use crate::ssr::server_fns::{app_state, current_scope, finish};
    let result = async {
        let (scope, state) = (current_scope().await?, app_state()?);
        let tenant = super::run::tenant(&scope, &request)?;
        scope.require_editor(tenant)?;
        super::run::explore(&state, tenant, &request).await
    }
    .await;
    match result {
        // Part of the answer, not a failed form post: the page shows it where the result goes
        // (`finish` would send a page render back to its referrer).
        Err(AppError::Invalid { field, message }) => Ok(Explored::Invalid { field, message }),
        other => finish("explore_query", other),
    }
}
