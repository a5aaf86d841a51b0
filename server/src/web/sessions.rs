//! Browser sessions in PostgreSQL (tower-sessions): an HttpOnly, SameSite=Lax cookie that ends
//! after a period without requests; the absolute lifetime is checked at each use (see auth).

use sqlx::PgPool;
use tower_sessions::{cookie::SameSite, Expiry, SessionManagerLayer};
use tower_sessions_sqlx_store::PostgresStore;

use crate::settings::Settings;

pub const COOKIE_NAME: &str = "meridian_session";

/// Creates the session table (its own schema) when missing.
pub async fn store(pool: &PgPool) -> anyhow::Result<PostgresStore> {
    let store = PostgresStore::new(pool.clone());
    store.migrate().await?;
    Ok(store)
}

pub fn layer(store: PostgresStore, settings: &Settings) -> SessionManagerLayer<PostgresStore> {
    SessionManagerLayer::new(store)
        .with_name(COOKIE_NAME)
        .with_http_only(true)
        .with_same_site(SameSite::Lax)
        .with_secure(settings.cookie_secure)
        .with_expiry(Expiry::OnInactivity(time::Duration::minutes(
            settings.session_idle_minutes as i64,
        )))
}
