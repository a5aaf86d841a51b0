//! Server-only parts shared by every feature: state, the tenant scope, request context,
//! passwords, tokens and the audit trail.

pub mod audit;
pub mod change;
pub mod passwords;
pub mod request;
pub mod scope;
pub mod security;
pub mod server_fns;
pub mod tokens;

use std::{
    path::PathBuf,
    sync::Arc,
    time::{Duration, Instant},
};

use axum::extract::FromRef;
use leptos::config::LeptosOptions;
use sqlx::{migrate::Migrator, PgPool};

/// The schema, embedded at compile time; applied at start and by `server migrate`.
pub static MIGRATOR: Migrator = sqlx::migrate!("../migrations");

/// Handed to every request: as axum state to routes, as Leptos context to server functions.
#[derive(Clone)]
pub struct AppState {
    pub leptos_options: LeptosOptions,
    pub pool: PgPool,
    /// Where Meridian keeps local files; its free space is a health check.
    pub data_dir: PathBuf,
    pub started_at: Instant,
    /// The `installation` row: the same on every replica that shares the database.
    pub installation_id: String,
    pub auth: Arc<AuthConfig>,
    /// The metric store (crates/store): ingestion writes to it, queries read from it.
    pub store: store::Store,
    /// Shared with the scraper: target health, and the signal that jobs changed.
    pub scrape: Arc<crate::scrape::runtime::ScrapeRuntime>,
    pub query_limits: QueryLimits,
    /// `MERIDIAN_DASHBOARDS_DIR` and what its last load found.
    pub dashboard_files: Arc<crate::dashboards::files::DashboardFiles>,
    /// What rule templates see of the installation (`$externalLabels`, `$externalURL`).
    pub rule_templates: rules::group::Env,
}

/// What one PromQL query may cost; from the `MERIDIAN_QUERY_*` settings.
#[derive(Clone, Copy, Debug)]
pub struct QueryLimits {
    /// Samples a query may hold in memory (Prometheus' default: 50 M).
    pub max_samples: usize,
    /// How long a query may run (Prometheus' default: 2 m).
    pub timeout: Duration,
}

/// How logins, sessions and tokens behave; from the `MERIDIAN_*` settings.
#[derive(Clone)]
pub struct AuthConfig {
    /// Signs API JWTs (HS256). Never logged.
    pub secret_key: Vec<u8>,
    pub session_idle: Duration,
    pub session_absolute: Duration,
    pub jwt_ttl: Duration,
    pub lockout: LockoutPolicy,
}

#[derive(Clone, Copy, Debug)]
pub struct LockoutPolicy {
    /// Failures of one account within `window` that lock it for `lock_for`.
    pub max_failures: i64,
    pub window: Duration,
    pub lock_for: Duration,
    /// Failures from one address within `window` after which it is refused outright.
    pub max_failures_per_ip: i64,
}

/// Reads the installation's identity, written by the first migration.
pub async fn load_installation_id(pool: &PgPool) -> Result<String, sqlx::Error> {
    sqlx::query_scalar("select id::text from installation")
        .fetch_one(pool)
        .await
}

impl FromRef<AppState> for LeptosOptions {
    fn from_ref(state: &AppState) -> Self {
        state.leptos_options.clone()
    }
}
