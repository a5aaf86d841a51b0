//! Dashboards kept as files (GitOps): `MERIDIAN_DASHBOARDS_DIR` holds Grafana JSON, one
//! subfolder per tenant name and `_global` for global dashboards (shown to everyone, each tenant
//! user over their own tenant). They are loaded at start and again whenever a file changes, added,
//! or removed (a watcher compares names, sizes and times every few seconds). Each goes through
//! the Grafana import, so every classic generation works and its report shows on the panels.
//!
//! A provisioned dashboard says so in the UI. Editing one in the UI is refused — the file would
//! overwrite it — unless `MERIDIAN_DASHBOARDS_ALLOW_UI_UPDATES` is set (Grafana's
//! `allowUiUpdates`); a copy can always be saved. A bad file is reported with its path and reason
//! (in the log and to admins on /dashboards), and the other files still load; the dashboard of a
//! file that became bad keeps its last good version, and one whose file is gone is deleted.

use std::{
    collections::BTreeSet,
    path::{Path, PathBuf},
    sync::RwLock,
    time::{Duration, SystemTime},
};

use sqlx::PgPool;
use uuid::Uuid;

use super::{
    import,
    repo::{self, Save},
    Audience,
};
use crate::{admin::tenants, error::AppError, ssr::scope::Scope};

/// The folder of global dashboards.
pub const GLOBAL_FOLDER: &str = "_global";
/// How a file's dashboard is marked in `dashboard.provisioned`: `file:<tenant>/<name>.json`.
const MARK: &str = "file:";
const WATCH_EVERY: Duration = Duration::from_secs(3);

/// The installation's dashboard files and what their last load found.
#[derive(Debug, Default)]
pub struct DashboardFiles {
    pub dir: Option<PathBuf>,
    pub allow_ui_updates: bool,
    /// (path, reason) of each file the last load could not take.
    pub problems: RwLock<Vec<(String, String)>>,
}

/// What one load did.
#[derive(Debug, Default, PartialEq)]
pub struct Loaded {
    pub written: usize,
    pub unchanged: usize,
    pub deleted: usize,
    pub problems: Vec<(String, String)>,
}

/// The files under `dir` as (tenant folder, relative path, full path), sorted.
fn files(dir: &Path) -> std::io::Result<Vec<(String, String, PathBuf)>> {
    let mut out = Vec::new();
    for folder in std::fs::read_dir(dir)? {
        let folder = folder?;
        if !folder.file_type()?.is_dir() {
            continue;
        }
        let tenant = folder.file_name().to_string_lossy().to_string();
        for file in std::fs::read_dir(folder.path())? {
            let file = file?;
            let name = file.file_name().to_string_lossy().to_string();
            if name.ends_with(".json") && file.file_type()?.is_file() {
                out.push((tenant.clone(), format!("{tenant}/{name}"), file.path()));
            }
        }
    }
    out.sort_by(|a, b| a.1.cmp(&b.1));
    Ok(out)
}

/// What changes when a file changes: names, sizes and modification times.
fn fingerprint(dir: &Path) -> Vec<(String, u64, Option<SystemTime>)> {
    files(dir)
        .unwrap_or_default()
        .into_iter()
        .map(|(_, rel, path)| {
            let meta = std::fs::metadata(&path).ok();
            let size = meta.as_ref().map_or(0, |m| m.len());
            (rel, size, meta.and_then(|m| m.modified().ok()))
        })
        .collect()
}

/// A stable uid for a file whose dashboard has none: from its path, so a reload finds it again.
fn uid_for(rel: &str) -> String {
    use sha2::{Digest, Sha256};
    let hash = Sha256::digest(rel.as_bytes());
    format!("file-{}", hex::encode(&hash[..8]))
}

async fn load_file(
    scope: &Scope,
    pool: &PgPool,
    tenant: Option<Uuid>,
    rel: &str,
    path: &Path,
) -> Result<bool, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("cannot be read: {e}"))?;
    let json = import::parse(&text).map_err(|e| match e {
        AppError::Invalid { message, .. } => message,
        other => other.to_string(),
    })?;
    let (mut model, report) = viz::import::import(&json)?;
    if model.uid.is_empty() {
        model.uid = uid_for(rel);
    }
    let mark = format!("{MARK}{rel}");
    if let Some(owner) = repo::uid_owner(pool, &model.uid)
        .await
        .map_err(|e| e.to_string())?
    {
        if owner.provisioned.as_deref() != Some(mark.as_str()) || owner.tenant_id != tenant {
            return Err(format!(
                "its uid {:?} belongs to another dashboard (not this file's)",
                model.uid
            ));
        }
    }
    let save = Save {
        tenant,
        audience: Audience::Everyone,
        model: &model,
        provisioned: Some(&mark),
        message: "provisioned from the dashboards folder",
        notes: Some(&report),
    };
    repo::provision(scope, pool, save)
        .await
        .map_err(|e| match e {
            AppError::Invalid { field, message } => format!("{field}: {message}"),
            other => other.to_string(),
        })
}

/// Loads every file under `dir` and deletes the dashboards of files that are gone.
pub async fn load(scope: &Scope, pool: &PgPool, dir: &Path) -> Result<Loaded, AppError> {
    let mut loaded = Loaded::default();
    let found = files(dir).map_err(|e| {
        tracing::error!(dir = %dir.display(), error = %e, "Cannot read the dashboards folder.");
        AppError::Internal
    })?;
    let tenants = tenants::repo::list_tenants(scope, pool).await?;
    let mut present = BTreeSet::new();
    for (folder, rel, path) in &found {
        present.insert(format!("{MARK}{rel}"));
        let tenant = match folder.as_str() {
            GLOBAL_FOLDER => Ok(None),
            name => tenants
                .iter()
                .find(|t| t.name == name)
                .map(|t| Some(t.id))
                .ok_or_else(|| format!("there is no tenant {name:?} (name the folder after a tenant, or {GLOBAL_FOLDER})")),
        };
        let result = match tenant {
            Ok(tenant) => load_file(scope, pool, tenant, rel, path).await,
            Err(reason) => Err(reason),
        };
        match result {
            Ok(true) => loaded.written += 1,
            Ok(false) => loaded.unchanged += 1,
            Err(reason) => {
                let path = path.display().to_string();
                tracing::warn!(path = %path, reason = %reason, "A dashboard file was not loaded.");
                loaded.problems.push((path, reason));
            }
        }
    }
    let provisioned: Vec<(Uuid, String)> =
        sqlx::query_as("select id, provisioned from dashboard where provisioned like 'file:%'")
            .fetch_all(pool)
            .await?;
    for (id, mark) in provisioned {
        if !present.contains(&mark) {
            repo::delete(scope, pool, id, true).await?;
            loaded.deleted += 1;
        }
    }
    Ok(loaded)
}

impl DashboardFiles {
    /// Loads the folder (if there is one) and records what it found.
    pub async fn reload(&self, scope: &Scope, pool: &PgPool) -> Result<Option<Loaded>, AppError> {
        let Some(dir) = &self.dir else {
            return Ok(None);
        };
        let loaded = load(scope, pool, dir).await?;
        tracing::info!(
            written = loaded.written,
            unchanged = loaded.unchanged,
            deleted = loaded.deleted,
            problems = loaded.problems.len(),
            "Loaded the dashboards folder."
        );
        if let Ok(mut problems) = self.problems.write() {
            *problems = loaded.problems.clone();
        }
        Ok(Some(loaded))
    }

    /// Reloads whenever a file under the folder changes, for as long as the process runs.
    pub async fn watch(self: std::sync::Arc<Self>, scope: Scope, pool: PgPool) {
        let Some(dir) = self.dir.clone() else { return };
        let mut last = fingerprint(&dir);
        loop {
            tokio::time::sleep(WATCH_EVERY).await;
            let now = fingerprint(&dir);
            if now != last {
                last = now;
                if let Err(error) = self.reload(&scope, &pool).await {
                    tracing::error!(error = %error, "Reloading the dashboards folder failed.");
                }
            }
        }
    }

    pub fn problems(&self) -> Vec<(String, String)> {
        self.problems.read().map(|p| p.clone()).unwrap_or_default()
    }
}
