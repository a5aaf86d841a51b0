//! Building the application: database, router, listener. Tests build it the same way on port 0.

use std::{path::PathBuf, time::Instant};

use anyhow::Context as _;
use axum::{middleware, Router};
use leptos::config::get_configuration;
use leptos_axum::{generate_route_list, LeptosRoutes};
use sqlx::PgPool;
use tokio::net::TcpListener;
use tower_http::compression::CompressionLayer;

use app::{shell, ssr::AppState, App};

use crate::{
    database::{self, PrivateCluster},
    health,
    observability::{correlation, http_metrics, self_metrics},
    settings::Settings,
};

pub struct Application {
    listener: TcpListener,
    router: Router,
    cluster: Option<PrivateCluster>,
}

impl Application {
    /// Resolves and migrates the database, then binds the listener.
    pub async fn build(settings: &Settings) -> anyhow::Result<Application> {
        let (pool, cluster) = prepare_database(settings).await?;
        let installation_id = app::ssr::load_installation_id(&pool).await.context("reading the installation")?;
        let state = app_state(settings, pool, installation_id)?;
        let listener = TcpListener::bind(settings.listen)
            .await
            .with_context(|| format!("cannot listen on {} (MERIDIAN_LISTEN)", settings.listen))?;
        Ok(Application { listener, router: router(state), cluster })
    }

    pub fn port(&self) -> u16 {
        self.listener.local_addr().map(|a| a.port()).unwrap_or_default()
    }

    /// Serves until SIGINT or SIGTERM, then stops the private cluster if we started one.
    pub async fn run_until_stopped(self) -> anyhow::Result<()> {
        let served = axum::serve(self.listener, self.router.into_make_service_with_connect_info::<std::net::SocketAddr>())
            .with_graceful_shutdown(shutdown_signal())
            .await;
        if let Some(cluster) = &self.cluster {
            if let Err(error) = cluster.stop() {
                tracing::warn!(error = %error, "Could not stop the private PostgreSQL cluster.");
            }
        }
        Ok(served?)
    }
}

/// Finds (or starts) the database, creates it when missing and applies the migrations.
pub async fn prepare_database(settings: &Settings) -> anyhow::Result<(PgPool, Option<PrivateCluster>)> {
    let database = database::resolve(settings).await?;
    let ready = async {
        database::ensure_exists(&database.options).await?;
        let pool = database::connect(&database.options, settings.database_pool_size)
            .await
            .with_context(|| format!("database {}", database::describe(&database.options)))?;
        app::ssr::MIGRATOR.run(&pool).await.context("applying migrations")?;
        anyhow::Ok(pool)
    };
    match ready.await {
        Ok(pool) => {
            tracing::info!(database = %database::describe(&database.options), "Database ready.");
            Ok((pool, database.cluster))
        }
        Err(error) => {
            if let Some(cluster) = &database.cluster {
                let _ = cluster.stop();
            }
            Err(error)
        }
    }
}

pub fn app_state(settings: &Settings, pool: PgPool, installation_id: String) -> anyhow::Result<AppState> {
    let mut leptos_options = get_configuration(None).context("Leptos configuration")?.leptos_options;
    leptos_options.site_root = settings.site_root.to_string_lossy().as_ref().into();
    Ok(AppState {
        leptos_options,
        pool,
        data_dir: PathBuf::from(&settings.data_dir),
        started_at: Instant::now(),
        installation_id,
    })
}

/// Every route: pages and server functions, health, metrics, static files.
pub fn router(state: AppState) -> Router {
    self_metrics::install();
    let routes = generate_route_list(App);
    let context = {
        let state = state.clone();
        move || leptos::prelude::provide_context(state.clone())
    };
    Router::new()
        .merge(health::router())
        .route("/metrics", axum::routing::get(self_metrics::serve_metrics))
        .leptos_routes_with_context(&state, routes, context.clone(), {
            let options = state.leptos_options.clone();
            move || shell(options.clone())
        })
        .fallback(leptos_axum::file_and_error_handler_with_context::<AppState, _>(context, shell))
        // Layers run bottom-up on the way in: correlation first, so metrics and handlers
        // run inside the request's span.
        .layer(middleware::from_fn(http_metrics::record))
        .layer(middleware::from_fn(correlation::correlate))
        .layer(CompressionLayer::new())
        .with_state(state)
}

async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .expect("a SIGTERM handler can be installed");
    tokio::select! {
        _ = interrupt => {},
        _ = terminate.recv() => {},
    }
    tracing::info!("Shutting down.");
}
