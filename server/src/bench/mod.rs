//! `server bench login`: how fast Meridian signs people in, against the ceiling set by the
//! password hash itself, measured in the same run on the same machine. `ingest`: remote_write
//! throughput, latency and bytes per sample, Meridian against Prometheus. `query`: dashboard
//! range queries over a day of data, Meridian against Prometheus. `dashboards`: the Executive
//! page, server-rendered, against Prometheus answering its queries. `import`: Grafana's Node
//! Exporter Full imported, then its page server-rendered with every row expanded.

pub mod dashboards;
pub mod import;
pub mod ingest;
pub mod notify;
pub mod query;
pub mod rules;

use std::{
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use anyhow::{bail, Context as _};
use sqlx::PgPool;
use tokio::task::JoinSet;
use uuid::Uuid;

use crate::{settings::Settings, startup::Application};
use app::{
    admin::users::{repo as users, UserChange},
    ssr::{
        passwords,
        request::RequestMeta,
        scope::{Scope, TokenScope},
        AppState,
    },
};

/// An in-process Meridian serving only the benchmark's own tenant.
pub(crate) struct Meridian {
    pub port: u16,
    pub store: store::Store,
    pub tenant: Uuid,
    /// A token of the tenant with `scope`.
    pub token: String,
    pub state: AppState,
}

impl Meridian {
    pub async fn start(
        settings: &Settings,
        pool: &PgPool,
        scratch: &Path,
        scope: TokenScope,
    ) -> anyhow::Result<Meridian> {
        let mut settings = settings.clone();
        settings.listen = "127.0.0.1:0".parse()?;
        settings.demo = false;
        // Only the load under test goes into the store it measures.
        settings.self_scrape = false;
        settings.usage_accounting = false;
        settings.data_dir = scratch.join("meridian");
        let application = Application::build(&settings).await?;
        let (port, store, state) = (application.port(), application.store(), application.state());
        tokio::spawn(application.run_until_stopped());

        let system = Scope::system(RequestMeta::default());
        let admin = system.require_admin().map_err(|e| anyhow::anyhow!("{e}"))?;
        let name = format!("bench-{}", &Uuid::new_v4().simple().to_string()[..8]);
        let tenant = app::admin::tenants::repo::create_tenant(&admin, pool, &name)
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        sqlx::query("insert into tenant_limits (tenant_id, max_series, max_samples_per_second) values ($1, 10000000, 100000000)")
            .bind(tenant.id)
            .execute(pool)
            .await?;
        let token = app::admin::tokens::repo::create_token(
            &admin,
            pool,
            tenant.id,
            "bench",
            &[scope],
            None,
        )
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?
        .secret;
        Ok(Meridian {
            port,
            store,
            tenant: tenant.id,
            token,
            state,
        })
    }
}

/// A new user of `role` (in `tenant`, for tenant roles) signed in to `base` as a browser is:
/// the client keeps the session cookie.
pub(crate) async fn signed_in(
    pool: &PgPool,
    base: &str,
    role: &str,
    tenant: &str,
) -> anyhow::Result<reqwest::Client> {
    const PASSWORD: &str = "benchmark password, long enough";
    let system = Scope::system(RequestMeta::default());
    let admin = system.require_admin().map_err(|e| anyhow::anyhow!("{e}"))?;
    let email = format!("bench-{}@meridian.bench", Uuid::new_v4().simple());
    let change =
        UserChange::parse(&email, "", role, tenant, "").map_err(|e| anyhow::anyhow!("{e}"))?;
    users::create_user(&admin, pool, change, PASSWORD.into())
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let browser = reqwest::Client::builder()
        .cookie_store(true)
        .timeout(Duration::from_secs(300))
        .build()?;
    let login = browser
        .post(format!("{base}/rpc/login"))
        .form(&[("email", email.as_str()), ("password", PASSWORD)])
        .send()
        .await?;
    if !login.status().is_success() {
        anyhow::bail!(
            "the benchmark's {role} could not sign in: {}",
            login.status()
        );
    }
    Ok(browser)
}

pub(crate) fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

pub(crate) struct Prometheus {
    pub child: Child,
    pub port: u16,
    pub data: PathBuf,
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Debian's Prometheus on a free port, its TSDB in `dir`/data (which may hold blocks already),
/// receiving remote_write.
pub(crate) async fn start_prometheus(binary: &str, dir: &Path) -> anyhow::Result<Prometheus> {
    start_prometheus_with(
        binary,
        dir,
        "global: {scrape_interval: 15s}\nscrape_configs: []\n",
    )
    .await
}

/// As `start_prometheus`, with `config` as its configuration file.
pub(crate) async fn start_prometheus_with(
    binary: &str,
    dir: &Path,
    config_text: &str,
) -> anyhow::Result<Prometheus> {
    let port = free_port()?;
    std::fs::create_dir_all(dir)?;
    let config = dir.join("prometheus.yml");
    std::fs::write(&config, config_text)?;
    let data = dir.join("data");
    let child = Command::new(binary)
        .arg(format!("--config.file={}", config.display()))
        .arg(format!("--storage.tsdb.path={}", data.display()))
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .arg("--web.enable-remote-write-receiver")
        .arg("--web.enable-admin-api")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .with_context(|| format!("starting {binary} (apt-get install prometheus)"))?;
    let prometheus = Prometheus { child, port, data };
    for _ in 0..200 {
        if reqwest::get(format!("http://127.0.0.1:{port}/-/ready"))
            .await
            .is_ok_and(|r| r.status().is_success())
        {
            return Ok(prometheus);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    bail!("Prometheus did not become ready")
}

pub(crate) fn tempfile_dir() -> anyhow::Result<PathBuf> {
    let dir =
        std::env::temp_dir().join(format!("meridian-bench-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}

const PASSWORD: &str = "benchmark password, long enough";

pub(crate) fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

/// The median and the 95th percentile of `values` (in whatever unit they are).
pub(crate) fn p50_p95(mut values: Vec<f64>) -> (f64, f64) {
    values.sort_by(f64::total_cmp);
    let at = |p: f64| values[((values.len() as f64 - 1.0) * p).round() as usize];
    (at(0.5), at(0.95))
}

pub(crate) fn millis(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

async fn run_for<F, Fut>(seconds: u64, concurrency: usize, work: F) -> (usize, Vec<Duration>)
where
    F: Fn() -> Fut + Clone + Send + 'static,
    Fut: std::future::Future<Output = bool> + Send,
{
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let mut workers = JoinSet::new();
    for _ in 0..concurrency {
        let work = work.clone();
        workers.spawn(async move {
            let mut latencies = Vec::new();
            while Instant::now() < deadline {
                let started = Instant::now();
                assert!(work().await, "benchmark operation failed");
                latencies.push(started.elapsed());
            }
            latencies
        });
    }
    let mut all = Vec::new();
    while let Some(latencies) = workers.join_next().await {
        all.extend(latencies.expect("benchmark worker panicked"));
    }
    all.sort();
    (all.len(), all)
}

pub async fn login(
    state: AppState,
    pool: PgPool,
    seconds: u64,
    concurrency: usize,
) -> anyhow::Result<()> {
    let system = Scope::system(RequestMeta {
        user_agent: "meridian-bench".into(),
        ..RequestMeta::default()
    });
    let admin = system.require_admin().map_err(|e| anyhow::anyhow!("{e}"))?;
    let email = format!("bench-{}@meridian.bench", uuid::Uuid::new_v4().simple());
    let change = UserChange::parse(&email, "benchmark", "manager", "", "")
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let user = users::create_user(&admin, &pool, change, PASSWORD.into())
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    passwords::warm_up();

    let hash = passwords::hash(PASSWORD.into())
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let (_, single) = run_for(seconds.min(3), 1, || async {
        passwords::hash(PASSWORD.into()).await.is_ok()
    })
    .await;
    let (verifies, verify_latencies) = run_for(seconds, concurrency, move || {
        let hash = hash.clone();
        async move {
            passwords::verify(PASSWORD.into(), Some(hash))
                .await
                .unwrap_or(false)
        }
    })
    .await;
    let (logins, login_latencies) = run_for(seconds, concurrency, {
        let (state, email) = (state.clone(), email.clone());
        move || {
            let (state, email) = (state.clone(), email.clone());
            async move {
                app::auth::ssr::login(
                    &state,
                    None,
                    RequestMeta::default(),
                    &email,
                    PASSWORD.into(),
                )
                .await
                .is_ok()
            }
        }
    })
    .await;
    users::set_user_active(&admin, &pool, user.id, false)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;

    let rate = |n: usize| n as f64 / seconds as f64;
    println!("concurrency {concurrency}, {seconds} s each, argon2id m=19456 KiB t=2 p=1, at most 2 hashes at once");
    println!(
        "{:<28} {:>10} {:>10} {:>10}",
        "operation", "per second", "p50 ms", "p99 ms"
    );
    println!(
        "{:<28} {:>10.1} {:>10.1} {:>10.1}",
        "argon2id hash, one at a time",
        single.len() as f64 / seconds.min(3) as f64,
        millis(percentile(&single, 0.5)),
        millis(percentile(&single, 0.99))
    );
    println!(
        "{:<28} {:>10.1} {:>10.1} {:>10.1}",
        "argon2id verify (ceiling)",
        rate(verifies),
        millis(percentile(&verify_latencies, 0.5)),
        millis(percentile(&verify_latencies, 0.99))
    );
    println!(
        "{:<28} {:>10.1} {:>10.1} {:>10.1}",
        "full login (audited)",
        rate(logins),
        millis(percentile(&login_latencies, 0.5)),
        millis(percentile(&login_latencies, 0.99))
    );
    println!("login / ceiling: {:.2}", rate(logins) / rate(verifies));
    Ok(())
}
