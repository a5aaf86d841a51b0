//! One way every editor form saves: read the dashboard in the editor's scope, check they may
//! write it (and that a provisioned one may be changed here), apply the form's change to the
//! model, and save it as a new version made from the version the form was loaded with.

use viz::model::Dashboard;

use crate::{
    dashboards::repo::{self, DashboardRecord, Save, StoredDashboard},
    error::AppError,
    ssr::{scope::Scope, AppState},
};

/// The dashboard `uid` if the scope may change it; a viewer's call is refused before any field
/// is looked at.
pub async fn writable(
    state: &AppState,
    scope: &Scope,
    uid: &str,
) -> Result<StoredDashboard, AppError> {
    let stored = repo::get(scope, &state.pool, uid).await?;
    repo::require_writer(scope, stored.record.tenant_id)?;
    Ok(stored)
}

/// Why the UI may not save over `stored`, if it may not.
pub fn provisioned_refusal(state: &AppState, stored: &StoredDashboard) -> Option<String> {
    let from = stored.record.provisioned.as_deref()?;
    if state.dashboard_files.allow_ui_updates && from.starts_with("file:") {
        return None;
    }
    let source = match from.strip_prefix("file:") {
        Some(file) => format!("the file {file} in the dashboards folder"),
        None => "Meridian (a built-in dashboard)".to_string(),
    };
    Some(format!(
        "this dashboard is provisioned from {source}, which would overwrite a change made here; save it as a copy instead"
    ))
}

/// Applies `change` to the model of `uid` and saves it as the version after `base`, with the
/// editor's message or, without one, `what` (say, "changed panel Orders").
pub async fn edit(
    state: &AppState,
    scope: &Scope,
    uid: &str,
    base: i32,
    (message, what): (&str, &str),
    change: impl FnOnce(&mut Dashboard) -> Result<(), AppError>,
) -> Result<DashboardRecord, AppError> {
    let stored = writable(state, scope, uid).await?;
    if let Some(refusal) = provisioned_refusal(state, &stored) {
        return Err(AppError::Conflict(refusal));
    }
    let mut model = stored.model.clone();
    change(&mut model)?;
    model.uid = stored.record.uid.clone();
    model.schema_version = model.schema_version.max(viz::model::SCHEMA_VERSION);
    // The import's notes stay with the panels that are still there as imported (moving one
    // does not count); a panel saved from its form is now what Meridian draws.
    let unplaced = |model: &Dashboard, id: u32| {
        model.panel(id).map(|p| viz::model::Panel {
            grid_pos: Default::default(),
            ..p.clone()
        })
    };
    let mut notes = stored.notes.clone();
    notes.panels.retain(|p| {
        let now = unplaced(&model, p.id);
        now.is_some() && now == unplaced(&stored.model, p.id)
    });
    let message = match message.trim() {
        "" => what,
        message => message,
    };
    let save = Save {
        tenant: stored.record.tenant_id,
        audience: stored.record.audience,
        model: &model,
        provisioned: stored.record.provisioned.as_deref(),
        message,
        notes: Some(&notes),
    };
    repo::update(scope, &state.pool, stored.record.id, Some(base), save).await
}
