//! `server bench login`: how fast Meridian signs people in, against the ceiling set by the
//! password hash itself, measured in the same run on the same machine. `ingest`: remote_write
//! throughput, latency and bytes per sample, Meridian against Prometheus.

pub mod ingest;

use std::time::{Duration, Instant};

use sqlx::PgPool;
use tokio::task::JoinSet;

use app::{
    admin::users::{repo as users, UserChange},
    ssr::{passwords, request::RequestMeta, scope::Scope, AppState},
};

const PASSWORD: &str = "benchmark password, long enough";

pub(crate) fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
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
