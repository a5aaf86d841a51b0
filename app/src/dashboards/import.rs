//! Importing a Grafana dashboard into the caller's tenant (or, for admins, as a global one): the
//! JSON read with the position of any syntax error, converted (`viz::import`), and saved with its
//! report, as a new dashboard or over the one with its uid.

use serde::Serialize;
use sqlx::PgPool;
use uuid::Uuid;
use viz::import::Report;

use super::{
    repo::{self, DashboardRecord, Save},
    Audience,
};
use crate::{error::AppError, ssr::scope::Scope};

/// Where an import goes and what it may replace.
pub struct Target {
    /// The tenant asked for (admins); tenant users and tokens always import into their own.
    pub tenant: Option<Uuid>,
    /// For global dashboards (admins).
    pub audience: Audience,
    /// Replace the dashboard that has the same uid.
    pub overwrite: bool,
    /// Grafana's `version`: with it and without `overwrite`, a dashboard saved since is a
    /// conflict rather than overwritten.
    pub base_version: Option<i32>,
    pub message: String,
    /// `MERIDIAN_DASHBOARDS_ALLOW_UI_UPDATES`: a dashboard provisioned from a file may be
    /// replaced (the file wins again when it changes); a built-in one never.
    pub allow_ui_updates: bool,
}

#[derive(Clone, Debug, Serialize)]
pub struct Imported {
    pub uid: String,
    pub title: String,
    pub url: String,
    pub version: i32,
    pub panels: usize,
    pub report: Report,
    #[serde(skip)]
    pub record: DashboardRecord,
}

/// The JSON text as a value; a syntax error names its line and column.
pub fn parse(text: &str) -> Result<serde_json::Value, AppError> {
    serde_json::from_str(text).map_err(|e| {
        AppError::invalid(
            "dashboard",
            format!("not JSON at line {}, column {}: {e}", e.line(), e.column()),
        )
    })
}

/// A uid for a dashboard that has none or whose uid is taken.
pub fn new_uid() -> String {
    Uuid::new_v4().simple().to_string()[..12].to_string()
}

/// Where the scope's import of `requested` goes: admins without a tenant import a global
/// dashboard, everyone else into their own tenant. Checked before the body is read, so a caller
/// without the right learns nothing from it.
pub fn destination(scope: &Scope, requested: Option<Uuid>) -> Result<Option<Uuid>, AppError> {
    let tenant = match (requested, scope.home_tenant) {
        (None, None) => {
            let _admin = scope.require_admin()?;
            None
        }
        (requested, _) => Some(scope.tenant_to_edit(requested)?),
    };
    repo::require_writer(scope, tenant)?;
    Ok(tenant)
}

pub async fn import(
    scope: &Scope,
    pool: &PgPool,
    json: &serde_json::Value,
    target: Target,
) -> Result<Imported, AppError> {
    let tenant = destination(scope, target.tenant)?;
    let (mut model, mut report) =
        viz::import::import(json).map_err(|e| AppError::invalid("dashboard", e))?;
    if !repo::valid_uid(&model.uid) {
        let uid = new_uid();
        if !model.uid.is_empty() {
            report.notes.push(format!(
                "its uid {:?} is not one Meridian takes; it is {uid}",
                model.uid
            ));
        }
        model.uid = uid;
    }
    let replaces = match repo::uid_owner(pool, &model.uid).await? {
        None => None,
        // The target's own dashboard (the caller may write there): replaced when asked to.
        Some(owner) if owner.tenant_id == tenant => {
            if let Some(from) = &owner.provisioned {
                if !(target.allow_ui_updates && from.starts_with("file:")) {
                    return Err(AppError::Conflict(format!(
                        "the dashboard with uid {} is provisioned ({from}) and cannot be replaced here",
                        model.uid
                    )));
                }
            }
            if !target.overwrite && target.base_version.is_none() {
                return Err(AppError::Conflict(format!(
                    "a dashboard with uid {} exists; import with overwrite to replace it",
                    model.uid
                )));
            }
            Some(owner.id)
        }
        // Another tenant's uid (or one the caller does not see): imported under a new one.
        Some(_) => {
            let uid = new_uid();
            report
                .notes
                .push(format!("its uid {} is taken; it is {uid}", model.uid));
            model.uid = uid;
            None
        }
    };
    let save = Save {
        tenant,
        audience: target.audience,
        model: &model,
        provisioned: None,
        message: &target.message,
        notes: Some(&report),
    };
    let record = match replaces {
        Some(id) => {
            let base = if target.overwrite {
                None
            } else {
                target.base_version
            };
            repo::update(scope, pool, id, base, save).await?
        }
        None => repo::create(scope, pool, save).await?,
    };
    Ok(Imported {
        url: format!("/d/{}", record.uid),
        uid: record.uid.clone(),
        title: record.title.clone(),
        version: record.version,
        panels: model.visible_panels().len(),
        report,
        record,
    })
}
