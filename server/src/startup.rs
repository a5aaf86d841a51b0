//! Building the application: database, router, listener. Tests build it the same way on port 0.

use std::{
    path::{Path, PathBuf},
    sync::Arc,
    time::{Duration, Instant},
};

use anyhow::Context as _;
use axum::{middleware, routing::get, Router};
use leptos::config::get_configuration;
use leptos_axum::{generate_route_list, LeptosRoutes};
use sqlx::PgPool;
use store::{Store, StoreConfig};
use tokio::net::TcpListener;
use tower_http::compression::CompressionLayer;
use tower_sessions::{ExpiredDeletion, SessionManagerLayer};
use tower_sessions_sqlx_store::PostgresStore;

use app::dashboards::files::DashboardFiles;
use app::{
    shell,
    ssr::{
        passwords, request::RequestMeta, scope::Scope, AppState, AuthConfig, LockoutPolicy,
        QueryLimits,
    },
    App,
};

use crate::{
    api,
    database::{self, PrivateCluster},
    health,
    observability::{correlation, http_metrics, self_metrics},
    settings::Settings,
    web::{ack_link, audit_export, csrf, dashboard_import, panel_export, rpc_status, rule_import, sessions},
};

pub struct Application {
    listener: TcpListener,
    router: Router,
    cluster: Option<PrivateCluster>,
    store: Store,
    state: AppState,
}

impl Application {
    /// Resolves and migrates the database, then binds the listener.
    pub async fn build(settings: &Settings) -> anyhow::Result<Application> {
        let (pool, cluster) = prepare_database(settings).await?;
        let installation_id = app::ssr::load_installation_id(&pool)
            .await
            .context("reading the installation")?;
        let store = open_store(settings, pool.clone()).await?;
        let state = app_state(settings, pool.clone(), installation_id, store)?;
        app::dashboards::provision::provision_builtin(
            &Scope::system(RequestMeta::default()),
            &state.pool,
        )
        .await
        .context("provisioning the built-in dashboards")?;
        watch_dashboard_files(&state).await?;
        if settings.demo {
            let tenants = crate::demo::seed(&state)
                .await
                .context("seeding demo data")?;
            tokio::spawn(crate::demo::run(state.clone(), tenants));
        }
        let store = sessions::store(&pool)
            .await
            .context("preparing the session store")?;
        tokio::spawn(
            store
                .clone()
                .continuously_delete_expired(Duration::from_secs(300)),
        );
        passwords::warm_up();
        let metric_store = state.store.clone();
        let kept = state.clone();
        let scrape_state = state.clone();
        let router = router(state, sessions::layer(store, settings));
        let listener = TcpListener::bind(settings.listen)
            .await
            .with_context(|| format!("cannot listen on {} (MERIDIAN_LISTEN)", settings.listen))?;
        let self_target = settings
            .self_scrape
            .then(|| listener.local_addr().map(self_scrape_target))
            .transpose()?;
        if settings.usage_accounting {
            tokio::spawn(crate::jobs::usage::run(scrape_state.clone()));
        }
        if settings.rule_evaluation {
            let replica = format!("{}:{}", hostname(), std::process::id());
            tokio::spawn(app::alerting::evaluator::run(scrape_state.clone(), replica));
        }
        if settings.notifications {
            let replica = format!("{}:{}", hostname(), std::process::id());
            tokio::spawn(app::notifications::dispatcher::run(scrape_state.clone()));
            tokio::spawn(app::notifications::delivery::run(scrape_state.clone(), replica));
            tokio::spawn(app::notifications::digest::run(scrape_state.clone()));
        }
        crate::scrape::start(scrape_state, self_target);
        Ok(Application {
            listener,
            router,
            cluster,
            store: metric_store,
            state: kept,
        })
    }

    pub fn port(&self) -> u16 {
        self.listener
            .local_addr()
            .map(|a| a.port())
            .unwrap_or_default()
    }

    /// The metric store this application writes to (for the benchmark's checkpoint).
    pub fn store(&self) -> Store {
        self.store.clone()
    }

    /// The server's state (for the benchmarks, which drive its parts directly).
    pub fn state(&self) -> AppState {
        self.state.clone()
    }

    /// Serves until SIGINT or SIGTERM, then stops the private cluster if we started one.
    pub async fn run_until_stopped(self) -> anyhow::Result<()> {
        let served = axum::serve(
            self.listener,
            self.router
                .into_make_service_with_connect_info::<std::net::SocketAddr>(),
        )
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

/// Where this server's /metrics is reached from itself: the listen address, or loopback when it
/// listens on every interface.
fn self_scrape_target(address: std::net::SocketAddr) -> String {
    let ip = match address.ip() {
        ip if ip.is_unspecified() && ip.is_ipv4() => std::net::Ipv4Addr::LOCALHOST.into(),
        ip if ip.is_unspecified() => std::net::Ipv6Addr::LOCALHOST.into(),
        ip => ip,
    };
    std::net::SocketAddr::new(ip, address.port()).to_string()
}

/// Finds (or starts) the database, creates it when missing and applies the migrations.
pub async fn prepare_database(
    settings: &Settings,
) -> anyhow::Result<(PgPool, Option<PrivateCluster>)> {
    let database = database::resolve(settings).await?;
    let ready = async {
        database::ensure_exists(&database.options).await?;
        let pool = database::connect(&database.options, settings.database_pool_size)
            .await
            .with_context(|| format!("database {}", database::describe(&database.options)))?;
        app::ssr::MIGRATOR
            .run(&pool)
            .await
            .context("applying migrations")?;
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

/// The metric store, replaying this replica's ingest log. The replica's identity in the log is
/// kept in the data directory, so a restart finds its own rows.
pub async fn open_store(settings: &Settings, pool: PgPool) -> anyhow::Result<Store> {
    let path = settings.data_dir.join("replica_id");
    let writer_id = match std::fs::read_to_string(&path)
        .ok()
        .and_then(|s| s.trim().parse::<uuid::Uuid>().ok())
    {
        Some(id) => id,
        None => {
            let id = uuid::Uuid::new_v4();
            write_private(&path, &id.to_string())
                .with_context(|| format!("keeping the replica id in {}", path.display()))?;
            id
        }
    };
    Store::open(pool, store_config(settings, writer_id))
        .await
        .context("opening the metric store")
}

/// A store for one-shot commands and tests: a writer id of its own, no log replay, no
/// periodic checkpoint or retention.
pub fn tool_store(settings: &Settings, pool: PgPool) -> Store {
    Store::open_without_replay(pool, store_config(settings, uuid::Uuid::new_v4()))
}

pub fn store_config(settings: &Settings, writer_id: uuid::Uuid) -> StoreConfig {
    let mut config = StoreConfig::new(writer_id);
    config.limits.retention_days = settings.retention_days;
    config
}

/// Loads `MERIDIAN_DASHBOARDS_DIR` (if set), then watches it for as long as the process runs.
pub async fn watch_dashboard_files(state: &AppState) -> anyhow::Result<()> {
    let files = state.dashboard_files.clone();
    if files.dir.is_some() {
        let scope = Scope::system(RequestMeta::default());
        files
            .reload(&scope, &state.pool)
            .await
            .context("loading MERIDIAN_DASHBOARDS_DIR")?;
        tokio::spawn(files.watch(scope, state.pool.clone()));
    }
    Ok(())
}

pub fn app_state(
    settings: &Settings,
    pool: PgPool,
    installation_id: String,
    store: Store,
) -> anyhow::Result<AppState> {
    let mut leptos_options = get_configuration(None)
        .context("Leptos configuration")?
        .leptos_options;
    leptos_options.site_root = settings.site_root.to_string_lossy().as_ref().into();
    // The bundle's files carry a hash of their contents in their names (scripts/common.sh
    // writes the name here), so browsers may keep them for good.
    if let Ok(name) = std::fs::read_to_string(settings.site_root.join("pkg").join(OUTPUT_NAME_FILE))
    {
        leptos_options.output_name = name.trim().into();
    }
    let minutes = |m: u64| Duration::from_secs(m * 60);
    let auth = AuthConfig {
        secret_key: secret_key(settings)?,
        session_idle: minutes(settings.session_idle_minutes),
        session_absolute: minutes(settings.session_max_hours * 60),
        jwt_ttl: minutes(15),
        lockout: LockoutPolicy {
            max_failures: settings.login_max_failures,
            window: minutes(settings.login_window_minutes),
            lock_for: minutes(settings.lockout_minutes),
            max_failures_per_ip: settings.login_max_failures_per_ip,
        },
    };
    // Notification secrets are sealed with a key derived from the same secret.
    app::notifications::secrets::install(&auth.secret_key);
    Ok(AppState {
        leptos_options,
        pool,
        data_dir: PathBuf::from(&settings.data_dir),
        started_at: Instant::now(),
        installation_id,
        auth: Arc::new(auth),
        store,
        scrape: Arc::default(),
        dashboard_files: Arc::new(DashboardFiles {
            dir: settings.dashboards_dir.clone(),
            allow_ui_updates: settings.dashboards_allow_ui_updates,
            ..DashboardFiles::default()
        }),
        query_limits: QueryLimits {
            max_samples: settings.query_max_samples,
            timeout: Duration::from_secs(settings.query_timeout_seconds),
        },
        rule_templates: rules::group::Env {
            external_labels: settings.external_labels.0.clone(),
            external_url: settings
                .external_url
                .clone()
                .unwrap_or_else(|| format!("http://{}", settings.listen)),
            query: None,
        },
    })
}

/// `MERIDIAN_SECRET_KEY`, or a key generated once and kept in the data directory (mode 0600)
/// so sessions and tokens survive restarts. Replicas must share one: set the variable there.
fn secret_key(settings: &Settings) -> anyhow::Result<Vec<u8>> {
    if let Some(key) = &settings.secret_key {
        return Ok(key.expose().as_bytes().to_vec());
    }
    let path = settings.data_dir.join("secret_key");
    if let Ok(key) = std::fs::read_to_string(&path) {
        if key.trim().len() >= 32 {
            return Ok(key.trim().as_bytes().to_vec());
        }
    }
    let key = app::ssr::tokens::generate_api_token().secret;
    write_private(&path, &key)
        .with_context(|| format!("keeping a generated secret key in {}", path.display()))?;
    tracing::warn!(path = %path.display(), "Generated a secret key; set MERIDIAN_SECRET_KEY when running several replicas.");
    Ok(key.into_bytes())
}

fn write_private(path: &Path, contents: &str) -> std::io::Result<()> {
    use std::{io::Write, os::unix::fs::OpenOptionsExt};
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(contents.as_bytes())
}

/// The file in the bundle's folder that names its content-hashed files.
const OUTPUT_NAME_FILE: &str = "output-name";

/// The browser bundle: files named by their content's hash, so cached for a year, and served
/// as the `.br`/`.gz` files compressed at build time when the browser takes them.
fn bundle(site_root: &str) -> Router<AppState> {
    let files = tower_http::services::ServeDir::new(Path::new(site_root).join("pkg"))
        .precompressed_br()
        .precompressed_gzip();
    let cache = tower_http::set_header::SetResponseHeaderLayer::overriding(
        axum::http::header::CACHE_CONTROL,
        axum::http::HeaderValue::from_static("public, max-age=31536000, immutable"),
    );
    Router::new().nest_service(
        "/pkg",
        tower::ServiceBuilder::new().layer(cache).service(files),
    )
}

/// Every route: pages and server functions, REST, health, metrics, static files.
pub fn router(state: AppState, session_layer: SessionManagerLayer<PostgresStore>) -> Router {
    self_metrics::install();
    let routes = generate_route_list(App);
    let context = {
        let state = state.clone();
        move || leptos::prelude::provide_context(state.clone())
    };
    Router::new()
        .merge(health::router())
        .merge(api::v1::router())
        .merge(api::grafana::router())
        .merge(api::alertmanager::router())
        .merge(bundle(&state.leptos_options.site_root))
        .route("/metrics", get(self_metrics::serve_metrics))
        .route("/audit/export.csv", get(audit_export::export_csv))
        .route("/ack/{token}", get(ack_link::show).post(ack_link::acknowledge))
        .route("/d/{uid}/panel/{id}/data.csv", get(panel_export::csv))
        .route("/d/{uid}/panel/{id}/chart.svg", get(panel_export::svg))
        .route(
            "/dashboards/upload",
            axum::routing::post(dashboard_import::upload).layer(
                axum::extract::DefaultBodyLimit::max(api::v1::IMPORT_MAX_BYTES),
            ),
        )
        .route(
            "/alerting/upload",
            axum::routing::post(rule_import::upload).layer(axum::extract::DefaultBodyLimit::max(
                api::v1::IMPORT_MAX_BYTES,
            )),
        )
        .leptos_routes_with_context(&state, routes, context.clone(), {
            let options = state.leptos_options.clone();
            move || shell(options.clone())
        })
        .route_layer(middleware::from_fn(
            rpc_status::decode_errors_are_bad_requests,
        ))
        .fallback(leptos_axum::file_and_error_handler_with_context::<
            AppState,
            _,
        >(context, shell))
        // Layers run bottom-up on the way in: correlation first, so everything after runs
        // inside the request's span; cross-site requests are refused before any session work.
        .layer(session_layer)
        .layer(middleware::from_fn(csrf::refuse_cross_site))
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

/// This machine's name, to say which replica evaluated a rule group.
fn hostname() -> String {
    std::fs::read_to_string("/etc/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_else(|_| "meridian".into())
}
