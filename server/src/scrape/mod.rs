//! The scraper: runs every enabled scrape job's targets (app/src/scrape holds the jobs, the page
//! and the API). One replica scrapes at a time — the one holding a PostgreSQL advisory lock —
//! so replicas sharing a database do not write every sample twice.

pub mod exposition;
pub mod target;

use std::{collections::HashMap, sync::Arc, time::Duration};

use app::{
    scrape::{repo, runtime::ScrapeRuntime},
    ssr::{request::RequestMeta, scope::Scope, AppState},
};
use sqlx::{pool::PoolConnection, PgConnection, Postgres};
use tokio::{sync::oneshot, task::JoinHandle};
use uuid::Uuid;

use target::TargetConfig;

/// The advisory lock the scraping replica holds (an arbitrary constant: "MRDNSCRP").
const LEADER_LOCK: i64 = 0x4d52_444e_5343_5250;
/// Jobs are read again this often even without a change on this replica (another replica's
/// form may have changed them), and leadership is checked as often.
const RELOAD_EVERY: Duration = Duration::from_secs(30);

/// Starts the scraper in the background. With `self_target` (this server's host:port), makes
/// sure the `system` tenant scrapes this server's /metrics first.
pub fn start(state: AppState, self_target: Option<String>) -> JoinHandle<()> {
    tokio::spawn(async move {
        if let Some(target) = self_target {
            let scope = Scope::system(RequestMeta {
                user_agent: "meridian-scraper".into(),
                ..RequestMeta::default()
            });
            if let Err(error) = repo::ensure_self_scrape(&scope, &state.pool, &target).await {
                tracing::warn!(error = %error, "Could not set up the self-scrape job.");
            }
        }
        let client = match reqwest::Client::builder()
            .user_agent(concat!("Meridian/", env!("CARGO_PKG_VERSION")))
            .build()
        {
            Ok(client) => client,
            Err(error) => {
                tracing::error!(error = %error, "Could not build the scrape client; scraping is off.");
                return;
            }
        };
        loop {
            let lock = lead(&state).await;
            tracing::info!("This replica runs the scrape jobs.");
            scrape_while_leading(&state, &client, lock).await;
            tracing::warn!("Lost the scrape lock (database connection gone); stopped scraping.");
        }
    })
}

/// Waits until this replica holds the lock; answers the connection that holds it.
async fn lead(state: &AppState) -> PoolConnection<Postgres> {
    loop {
        if let Ok(mut conn) = state.pool.acquire().await {
            let locked: Result<bool, _> = sqlx::query_scalar("select pg_try_advisory_lock($1)")
                .bind(LEADER_LOCK)
                .fetch_one(&mut *conn)
                .await;
            if matches!(locked, Ok(true)) {
                return conn;
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(RELOAD_EVERY) => {}
            _ = state.scrape.wait_for_change() => {}
        }
    }
}

struct Running {
    config: TargetConfig,
    stop: oneshot::Sender<()>,
    task: JoinHandle<()>,
}

async fn scrape_while_leading(
    state: &AppState,
    client: &reqwest::Client,
    mut lock: PoolConnection<Postgres>,
) {
    let mut running: HashMap<(Uuid, String), Running> = HashMap::new();
    loop {
        match repo::enabled_jobs(&state.pool).await {
            Ok(jobs) => reconcile(state, client, &mut running, desired(jobs)).await,
            Err(error) => tracing::warn!(error = %error, "Could not read the scrape jobs."),
        }
        tokio::select! {
            _ = tokio::time::sleep(RELOAD_EVERY) => {}
            _ = state.scrape.wait_for_change() => {}
        }
        if !still_leading(&mut lock).await {
            break;
        }
    }
    reconcile(state, client, &mut running, HashMap::new()).await;
    // The connection may be broken; closing it releases the lock if it is not.
    let _ = sqlx::Connection::close_hard(lock.detach()).await;
}

async fn still_leading(lock: &mut PgConnection) -> bool {
    sqlx::query("select 1").execute(lock).await.is_ok()
}

fn desired(jobs: Vec<app::scrape::ScrapeJob>) -> HashMap<(Uuid, String), TargetConfig> {
    let mut targets = HashMap::new();
    for job in jobs {
        for target in &job.targets {
            let config = TargetConfig {
                job_id: job.id,
                tenant: job.tenant_id,
                job: job.name.clone(),
                target: target.clone(),
                url: job.url(target),
                interval: Duration::from_secs(job.interval_seconds as u64),
                timeout: Duration::from_secs(job.timeout_seconds as u64),
                labels: job.labels.clone(),
            };
            targets.insert((job.id, target.clone()), config);
        }
    }
    targets
}

/// Stops targets that are gone or changed (each writes its staleness markers), starts new ones.
async fn reconcile(
    state: &AppState,
    client: &reqwest::Client,
    running: &mut HashMap<(Uuid, String), Running>,
    mut wanted: HashMap<(Uuid, String), TargetConfig>,
) {
    let stale: Vec<(Uuid, String)> = running
        .iter()
        .filter(|(key, run)| wanted.get(*key) != Some(&run.config))
        .map(|(key, _)| key.clone())
        .collect();
    for key in stale {
        if let Some(run) = running.remove(&key) {
            let _ = run.stop.send(());
            let _ = run.task.await;
        }
    }
    wanted.retain(|key, _| !running.contains_key(key));
    for (key, config) in wanted {
        let (stop, stopped) = oneshot::channel();
        let task = tokio::spawn(target::run(
            config.clone(),
            state.store.clone(),
            Arc::clone(&state.scrape) as Arc<ScrapeRuntime>,
            client.clone(),
            stopped,
        ));
        running.insert(key, Running { config, stop, task });
    }
}
