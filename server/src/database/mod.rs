//! Finding, creating and connecting to the database.
//!
//! With `MERIDIAN_DATABASE_URL` set, that database is used (and created if its server lets
//! us). Without it, Meridian tries PostgreSQL on 127.0.0.1:5432 and, when nothing answers
//! there, runs a private cluster from the system's PostgreSQL binaries under the data directory.

mod private_cluster;

use std::{path::Path, str::FromStr, time::Duration};

use anyhow::Context as _;
use sqlx::{
    postgres::{PgConnectOptions, PgPoolOptions},
    ConnectOptions, Connection, PgConnection, PgPool,
};

pub use private_cluster::PrivateCluster;

use crate::settings::Settings;

pub const DEFAULT_SERVER: &str = "127.0.0.1:5432";
pub const DEFAULT_DATABASE: &str = "meridian";
const PROBE_TIMEOUT: Duration = Duration::from_secs(3);

/// Where the database is, and the private cluster to stop on shutdown when we started one.
pub struct Database {
    pub options: PgConnectOptions,
    pub cluster: Option<PrivateCluster>,
}

/// Resolves the database from the settings; see the module documentation for the order.
pub async fn resolve(settings: &Settings) -> anyhow::Result<Database> {
    match &settings.database_url {
        Some(url) => {
            let options = PgConnectOptions::from_str(url.expose())
                .context("MERIDIAN_DATABASE_URL is not a valid PostgreSQL URL")?;
            Ok(Database {
                options,
                cluster: None,
            })
        }
        None => resolve_default(DEFAULT_SERVER, &settings.data_dir.join("pg")).await,
    }
}

/// The embedded default: the server at `probe` if it answers, else a private cluster in `pg_dir`.
pub async fn resolve_default(probe: &str, pg_dir: &Path) -> anyhow::Result<Database> {
    let (host, port) = probe
        .rsplit_once(':')
        .context("probe address must be host:port")?;
    let local = PgConnectOptions::new()
        .host(host)
        .port(port.parse().context("probe port")?)
        .username("postgres")
        .database(DEFAULT_DATABASE);
    if server_answers(&local).await {
        tracing::info!(server = probe, "Using the local PostgreSQL server.");
        return Ok(Database {
            options: local,
            cluster: None,
        });
    }
    tracing::info!(server = probe, dir = %pg_dir.display(), "No PostgreSQL server answers; using a private cluster.");
    let cluster = PrivateCluster::start(pg_dir).await?;
    let options = PgConnectOptions::new()
        .host("127.0.0.1")
        .port(cluster.port())
        .username("postgres")
        .database(DEFAULT_DATABASE);
    Ok(Database {
        options,
        cluster: Some(cluster),
    })
}

async fn server_answers(options: &PgConnectOptions) -> bool {
    let maintenance = options.clone().database("postgres");
    matches!(
        tokio::time::timeout(PROBE_TIMEOUT, maintenance.connect()).await,
        Ok(Ok(_))
    )
}

/// Creates the database when it does not exist yet and the server lets us connect to its
/// `postgres` maintenance database; any other failure shows up at the first real connection.
pub async fn ensure_exists(options: &PgConnectOptions) -> anyhow::Result<()> {
    let name = options
        .get_database()
        .unwrap_or(DEFAULT_DATABASE)
        .to_string();
    let Ok(mut conn) = PgConnection::connect_with(&options.clone().database("postgres")).await
    else {
        return Ok(());
    };
    let exists: bool =
        sqlx::query_scalar("select exists (select 1 from pg_database where datname = $1)")
            .bind(&name)
            .fetch_one(&mut conn)
            .await?;
    if !exists {
        let quoted = format!("\"{}\"", name.replace('"', "\"\""));
        match sqlx::query(&format!("create database {quoted}"))
            .execute(&mut conn)
            .await
        {
            Ok(_) => tracing::info!(database = %name, "Created the database."),
            // Another replica created it between our check and our create.
            Err(sqlx::Error::Database(e)) if e.code().as_deref() == Some("42P04") => {}
            Err(error) => return Err(error).context(format!("creating database {name}")),
        }
    }
    conn.close().await?;
    Ok(())
}

pub async fn connect(options: &PgConnectOptions, pool_size: u32) -> anyhow::Result<PgPool> {
    PgPoolOptions::new()
        .max_connections(pool_size)
        .acquire_timeout(Duration::from_secs(5))
        .connect_with(options.clone())
        .await
        .with_context(|| "cannot connect to PostgreSQL".to_string())
}

/// A human description of where the database is, without credentials.
pub fn describe(options: &PgConnectOptions) -> String {
    format!(
        "{}:{}/{}",
        options.get_host(),
        options.get_port(),
        options.get_database().unwrap_or(DEFAULT_DATABASE)
    )
}
