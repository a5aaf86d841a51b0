//! Usage accounting: each minute, every tenant's active series, stored samples and bytes, and
//! the samples it had accepted, written into that tenant's own store as `meridian_usage_*`. The
//! Usage & cost dashboard reads them like any other metric, so each tenant's numbers are read in
//! that tenant's scope and a viewer sees only their own tenants'.

use std::{collections::HashMap, time::Duration};

use sqlx::PgPool;
use store::{Labels, SeriesSamples};
use uuid::Uuid;

use app::ssr::AppState;

const EVERY: Duration = Duration::from_secs(60);
/// The chunk table is scanned this many rounds apart; the values in between are the last ones.
const SCAN_EVERY_ROUNDS: u32 = 10;
/// One replica does a round: the one that holds this advisory lock.
const LOCK: i64 = 0x6d65_7269_6469_616e;
/// A series is active when it had a sample this recently.
const ACTIVE_MS: i64 = 3_600_000;

#[derive(Clone, Copy, Default)]
struct Stored {
    samples: f64,
    bytes: f64,
}

pub async fn run(state: AppState) {
    let mut tick = tokio::time::interval(EVERY);
    let mut stored: HashMap<Uuid, Stored> = HashMap::new();
    for round in 0u32.. {
        tick.tick().await;
        if let Err(error) = account(&state, &mut stored, round % SCAN_EVERY_ROUNDS == 0).await {
            tracing::warn!(error = %error, "Could not account tenants' usage.");
        }
    }
}

async fn account(
    state: &AppState,
    stored: &mut HashMap<Uuid, Stored>,
    scan: bool,
) -> Result<(), sqlx::Error> {
    let mut conn = state.pool.acquire().await?;
    let held: bool = sqlx::query_scalar("select pg_try_advisory_lock($1)")
        .bind(LOCK)
        .fetch_one(&mut *conn)
        .await?;
    if !held {
        return Ok(());
    }
    let result = write_round(state, stored, scan).await;
    sqlx::query("select pg_advisory_unlock($1)")
        .bind(LOCK)
        .execute(&mut *conn)
        .await?;
    result
}

async fn write_round(
    state: &AppState,
    stored: &mut HashMap<Uuid, Stored>,
    scan: bool,
) -> Result<(), sqlx::Error> {
    let now = chrono::Utc::now().timestamp_millis();
    if scan {
        *stored = scan_chunks(&state.pool).await?;
    }
    let series: Vec<(Uuid, i64, i64, i64)> = sqlx::query_as(
        "select t.id, count(s.id) filter (where s.last_ts >= $1), count(s.id),
                coalesce(sum(pg_column_size(s.labels)), 0)::bigint
           from tenant t left join metric_series s on s.tenant_id = t.id
          where t.active and t.name <> $2
          group by t.id",
    )
    .bind(now - ACTIVE_MS)
    .bind(app::scrape::repo::SYSTEM_TENANT)
    .fetch_all(&state.pool)
    .await?;
    for (tenant, active, total, index_bytes) in series {
        let chunks = stored.get(&tenant).copied().unwrap_or_default();
        let values = [
            ("meridian_usage_active_series", active as f64),
            ("meridian_usage_series", total as f64),
            ("meridian_usage_stored_samples", chunks.samples),
            (
                "meridian_usage_stored_bytes",
                chunks.bytes + index_bytes as f64,
            ),
            (
                "meridian_usage_ingested_samples_total",
                state.store.ingested(tenant) as f64,
            ),
        ];
        let series = values
            .into_iter()
            .filter_map(|(name, v)| {
                Some(SeriesSamples {
                    labels: Labels::new([("__name__", name)]).ok()?,
                    samples: vec![(now, v)],
                })
            })
            .collect();
        if let Err(error) = state.store.write(tenant, series).await {
            tracing::debug!(%tenant, error = %error, "Usage samples were not stored.");
        }
    }
    Ok(())
}

/// Samples and bytes in each tenant's chunk rows.
async fn scan_chunks(pool: &PgPool) -> Result<HashMap<Uuid, Stored>, sqlx::Error> {
    let rows: Vec<(Uuid, i64, i64)> = sqlx::query_as(
        "select s.tenant_id, coalesce(sum(c.samples), 0)::bigint, coalesce(sum(octet_length(c.data)), 0)::bigint
           from metric_chunk c join metric_series s on s.id = c.series_id
          group by s.tenant_id",
    )
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(tenant, samples, bytes)| {
            (
                tenant,
                Stored {
                    samples: samples as f64,
                    bytes: bytes as f64,
                },
            )
        })
        .collect())
}
