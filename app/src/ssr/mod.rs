//! Server-only state shared by server functions and the axum routes.

use std::{path::PathBuf, time::Instant};

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
}

/// Reads the installation's identity, written by the first migration.
pub async fn load_installation_id(pool: &PgPool) -> Result<String, sqlx::Error> {
    sqlx::query_scalar("select id::text from installation").fetch_one(pool).await
}

impl FromRef<AppState> for LeptosOptions {
    fn from_ref(state: &AppState) -> Self {
        state.leptos_options.clone()
    }
}
