//! The dependency checks. Each runs under its own timeout and all run concurrently, so a
//! report costs as long as the slowest check, never the sum.

use std::{
    collections::BTreeSet,
    future::Future,
    path::Path,
    time::{Duration, Instant},
};

use sqlx::PgPool;

use super::{CheckResult, HealthReport, HealthStatus};
use crate::ssr::{AppState, MIGRATOR};

const DATABASE_TIMEOUT: Duration = Duration::from_millis(750);
const LOCAL_TIMEOUT: Duration = Duration::from_millis(250);
/// Slower than this and the database is reported degraded rather than healthy.
const DATABASE_SLOW: Duration = Duration::from_millis(250);

type Outcome = (HealthStatus, String);

/// Every check, for `/health`, `/health/detailed` and the status page.
pub async fn run_all(state: &AppState) -> HealthReport {
    let (database, migrations, pool, disk) = tokio::join!(
        timed(
            "database",
            true,
            DATABASE_TIMEOUT,
            check_database(&state.pool)
        ),
        timed(
            "migrations",
            true,
            DATABASE_TIMEOUT,
            check_migrations(&state.pool)
        ),
        timed("database_pool", false, LOCAL_TIMEOUT, async {
            check_pool(&state.pool)
        }),
        timed("disk", false, LOCAL_TIMEOUT, async {
            check_disk(&state.data_dir)
        }),
    );
    report(state, vec![database, migrations, pool, disk])
}

/// Only the checks that decide readiness: those whose failure means requests would fail.
pub async fn run_critical(state: &AppState) -> HealthReport {
    let (database, migrations) = tokio::join!(
        timed(
            "database",
            true,
            DATABASE_TIMEOUT,
            check_database(&state.pool)
        ),
        timed(
            "migrations",
            true,
            DATABASE_TIMEOUT,
            check_migrations(&state.pool)
        ),
    );
    report(state, vec![database, migrations])
}

fn report(state: &AppState, checks: Vec<CheckResult>) -> HealthReport {
    HealthReport::from_checks(
        checks,
        env!("CARGO_PKG_VERSION").to_string(),
        state.installation_id.clone(),
        state.started_at.elapsed().as_secs(),
        chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
    )
}

async fn timed(
    name: &str,
    critical: bool,
    timeout: Duration,
    check: impl Future<Output = Outcome>,
) -> CheckResult {
    let started = Instant::now();
    let (status, message) = match tokio::time::timeout(timeout, check).await {
        Ok(outcome) => outcome,
        Err(_) => (
            HealthStatus::Unhealthy,
            format!("no answer within {} ms", timeout.as_millis()),
        ),
    };
    CheckResult {
        name: name.to_string(),
        status,
        duration_ms: started.elapsed().as_secs_f64() * 1000.0,
        timeout_ms: timeout.as_millis() as u64,
        critical,
        message,
    }
}

async fn check_database(pool: &PgPool) -> Outcome {
    let started = Instant::now();
    match sqlx::query_scalar::<_, i32>("select 1")
        .fetch_one(pool)
        .await
    {
        Ok(_) if started.elapsed() > DATABASE_SLOW => (
            HealthStatus::Degraded,
            format!("answered slowly ({} ms)", started.elapsed().as_millis()),
        ),
        Ok(_) => (HealthStatus::Healthy, "PostgreSQL answers".to_string()),
        Err(error) => (
            HealthStatus::Unhealthy,
            format!("PostgreSQL unreachable: {error}"),
        ),
    }
}

/// The schema must hold every migration this build knows; a newer schema (a newer replica
/// migrated first during a rolling upgrade) still works, so it only degrades.
async fn check_migrations(pool: &PgPool) -> Outcome {
    let applied: BTreeSet<i64> =
        match sqlx::query_scalar::<_, i64>("select version from _sqlx_migrations where success")
            .fetch_all(pool)
            .await
        {
            Ok(versions) => versions.into_iter().collect(),
            Err(error) => {
                return (
                    HealthStatus::Unhealthy,
                    format!("cannot read the schema version: {error}"),
                )
            }
        };
    let known: BTreeSet<i64> = MIGRATOR.iter().map(|m| m.version).collect();
    let missing: Vec<_> = known.difference(&applied).collect();
    let unknown: Vec<_> = applied.difference(&known).collect();
    let latest = known.last().copied().unwrap_or_default();
    if !missing.is_empty() {
        (
            HealthStatus::Unhealthy,
            format!("migrations not applied: {missing:?}"),
        )
    } else if !unknown.is_empty() {
        (
            HealthStatus::Degraded,
            format!("schema is newer than this build: {unknown:?}"),
        )
    } else {
        (HealthStatus::Healthy, format!("schema at version {latest}"))
    }
}

fn check_pool(pool: &PgPool) -> Outcome {
    let (size, idle, max) = (
        pool.size(),
        pool.num_idle() as u32,
        pool.options().get_max_connections(),
    );
    let in_use = size.saturating_sub(idle);
    let message = format!("{in_use} in use, {idle} idle, {max} at most");
    if in_use >= max {
        (HealthStatus::Degraded, format!("saturated: {message}"))
    } else {
        (HealthStatus::Healthy, message)
    }
}

fn check_disk(data_dir: &Path) -> Outcome {
    let existing = data_dir
        .ancestors()
        .find(|dir| dir.exists())
        .unwrap_or(Path::new("."));
    match nix::sys::statvfs::statvfs(existing) {
        Ok(stats) => disk_outcome(
            stats.blocks_available() as u64,
            stats.blocks() as u64,
            stats.fragment_size() as u64,
        ),
        Err(error) => (
            HealthStatus::Degraded,
            format!("cannot read free space of {}: {error}", existing.display()),
        ),
    }
}

fn disk_outcome(available_blocks: u64, total_blocks: u64, block_size: u64) -> Outcome {
    let free = available_blocks as f64 / total_blocks.max(1) as f64;
    let message = format!(
        "{:.1} % free ({:.1} GiB)",
        free * 100.0,
        (available_blocks * block_size) as f64 / (1u64 << 30) as f64
    );
    match free {
        f if f < 0.02 => (HealthStatus::Unhealthy, message),
        f if f < 0.10 => (HealthStatus::Degraded, message),
        _ => (HealthStatus::Healthy, message),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn disk_below_ten_percent_free_degrades() {
        assert_eq!(disk_outcome(50, 100, 4096).0, HealthStatus::Healthy);
        assert_eq!(disk_outcome(9, 100, 4096).0, HealthStatus::Degraded);
        assert_eq!(disk_outcome(1, 100, 4096).0, HealthStatus::Unhealthy);
        assert_eq!(disk_outcome(0, 0, 4096).0, HealthStatus::Unhealthy);
    }

    #[tokio::test]
    async fn a_check_that_hangs_is_cut_off_at_its_timeout() {
        let result = timed("slow", true, Duration::from_millis(20), async {
            tokio::time::sleep(Duration::from_secs(5)).await;
            (HealthStatus::Healthy, String::new())
        })
        .await;
        assert_eq!(result.status, HealthStatus::Unhealthy);
        assert_eq!(result.message, "no answer within 20 ms");
        assert!(result.duration_ms < 1000.0);
    }
}
