//! The store's tables: the series index, chunk rows in daily partitions, the ingest log.

use std::collections::{BTreeMap, HashSet};

use chrono::{DateTime, Utc};
use sqlx::{types::Json, PgPool, Postgres, QueryBuilder};
use uuid::Uuid;

use crate::{
    head::{day_of, Chunk, DAY_MS},
    labels::{Labels, MatchOp, Matcher, METRIC_NAME},
};

/// Rows a single statement carries: keeps bind arrays and statements a sensible size.
const BATCH: usize = 10_000;

pub struct SeriesRow {
    pub id: i64,
    pub tenant: Uuid,
    pub labels: Labels,
    pub last_ts: i64,
}

type LabelsJson = Json<BTreeMap<String, String>>;

fn labels_json(labels: &Labels) -> String {
    let map: BTreeMap<&str, &str> = labels.iter().filter(|(n, _)| *n != METRIC_NAME).collect();
    serde_json::to_string(&map).expect("a map of strings serializes")
}

fn labels_from_row(name: String, json: LabelsJson) -> Labels {
    let pairs = json
        .0
        .into_iter()
        .chain(std::iter::once((METRIC_NAME.to_string(), name)));
    // Stored only after validation, so they parse again.
    Labels::new(pairs).unwrap_or_default()
}

/// Series of a tenant by fingerprint.
pub async fn find_series(
    pool: &PgPool,
    tenant: Uuid,
    fingerprints: &[u64],
) -> Result<Vec<SeriesRow>, sqlx::Error> {
    let fps: Vec<i64> = fingerprints.iter().map(|f| *f as i64).collect();
    let rows: Vec<(i64, String, LabelsJson, i64)> = sqlx::query_as(
        "select id, name, labels, last_ts from metric_series where tenant_id = $1 and fingerprint = any($2)",
    )
    .bind(tenant)
    .bind(&fps)
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(id, name, json, last_ts)| SeriesRow {
            id,
            tenant,
            labels: labels_from_row(name, json),
            last_ts,
        })
        .collect())
}

/// Adds series to the index and answers their rows — also those a concurrent writer inserted
/// first, which the insert leaves as they are.
pub async fn create_series(
    pool: &PgPool,
    tenant: Uuid,
    new: &[(&Labels, i64)],
) -> Result<Vec<SeriesRow>, sqlx::Error> {
    for batch in new.chunks(BATCH) {
        let fps: Vec<i64> = batch.iter().map(|(l, _)| l.fingerprint() as i64).collect();
        let names: Vec<&str> = batch
            .iter()
            .map(|(l, _)| l.metric_name().unwrap_or_default())
            .collect();
        let labels: Vec<String> = batch.iter().map(|(l, _)| labels_json(l)).collect();
        let first: Vec<i64> = batch.iter().map(|(_, t)| *t).collect();
        sqlx::query(
            "insert into metric_series (tenant_id, fingerprint, name, labels, first_ts, last_ts)
             select $1, f, n, l::jsonb, t, t from unnest($2::bigint[], $3::text[], $4::text[], $5::bigint[]) as u(f, n, l, t)
             on conflict (tenant_id, fingerprint) do nothing",
        )
        .bind(tenant)
        .bind(&fps)
        .bind(&names)
        .bind(&labels)
        .bind(&first)
        .execute(pool)
        .await?;
    }
    let fingerprints: Vec<u64> = new.iter().map(|(l, _)| l.fingerprint()).collect();
    find_series(pool, tenant, &fingerprints).await
}

pub async fn series_by_ids(pool: &PgPool, ids: &[i64]) -> Result<Vec<SeriesRow>, sqlx::Error> {
    let rows: Vec<(i64, Uuid, String, LabelsJson, i64)> = sqlx::query_as(
        "select id, tenant_id, name, labels, last_ts from metric_series where id = any($1)",
    )
    .bind(ids)
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(id, tenant, name, json, last_ts)| SeriesRow {
            id,
            tenant,
            labels: labels_from_row(name, json),
            last_ts,
        })
        .collect())
}

/// The tenant's series matching every matcher. Equality matchers narrow the scan in SQL (the
/// name index, the GIN index on labels); the rest are applied here with anchored regexes.
/// Answers each series' id, labels and last stored sample time.
pub async fn select_series(
    pool: &PgPool,
    tenant: Uuid,
    matchers: &[Matcher],
    end: i64,
) -> Result<Vec<(i64, Labels, i64)>, sqlx::Error> {
    let mut query: QueryBuilder<Postgres> =
        QueryBuilder::new("select id, name, labels, last_ts from metric_series where tenant_id = ");
    query
        .push_bind(tenant)
        .push(" and first_ts <= ")
        .push_bind(end);
    let mut equal: BTreeMap<&str, &str> = BTreeMap::new();
    for matcher in matchers {
        let MatchOp::Equal(value) = &matcher.op else {
            continue;
        };
        if value.is_empty() {
            continue;
        }
        if matcher.name == METRIC_NAME {
            query.push(" and name = ").push_bind(value.clone());
        } else {
            equal.insert(&matcher.name, value);
        }
    }
    if !equal.is_empty() {
        query
            .push(" and labels @> ")
            .push_bind(serde_json::to_string(&equal).expect("strings serialize"))
            .push("::jsonb");
    }
    let rows: Vec<(i64, String, LabelsJson, i64)> = query.build_query_as().fetch_all(pool).await?;
    Ok(rows
        .into_iter()
        .map(|(id, name, json, last_ts)| (id, labels_from_row(name, json), last_ts))
        .filter(|(_, labels, _)| crate::labels::matches_all(matchers, labels))
        .collect())
}

/// Stored chunks of these series overlapping [start, end], by series and start.
pub async fn load_chunks(
    pool: &PgPool,
    ids: &[i64],
    start: i64,
    end: i64,
) -> Result<Vec<(i64, Chunk)>, sqlx::Error> {
    // Chunks never cross a day, so `start_ts >= the first day` prunes older partitions. Not
    // ordered: `read::Series` sorts each series' few chunks, cheaper than sorting them all here.
    let rows: Vec<(i64, i64, i64, i32, Vec<u8>)> = sqlx::query_as(
        "select series_id, start_ts, end_ts, samples, data from metric_chunk
          where series_id = any($1) and start_ts >= $2 and start_ts <= $3 and end_ts >= $4",
    )
    .bind(ids)
    .bind(day_of(start) * DAY_MS)
    .bind(end)
    .bind(start)
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(id, start, end, samples, data)| {
            (
                id,
                Chunk {
                    start,
                    end,
                    samples: samples as u32,
                    data,
                },
            )
        })
        .collect())
}

/// The daily partitions of `metric_chunk` known to exist (read from the catalog on first use).
#[derive(Default)]
pub struct Partitions(tokio::sync::Mutex<Option<HashSet<i64>>>);

pub fn partition_name(day: i64) -> String {
    let date = DateTime::<Utc>::from_timestamp(day * 86_400, 0)
        .map(|d| d.format("%Y%m%d").to_string())
        .unwrap_or_else(|| format!("d{day}"));
    format!("metric_chunk_{date}")
}

impl Partitions {
    async fn known<'a>(
        &'a self,
        pool: &PgPool,
    ) -> Result<tokio::sync::MappedMutexGuard<'a, HashSet<i64>>, sqlx::Error> {
        let mut guard = self.0.lock().await;
        if guard.is_none() {
            let bounds: Vec<(String,)> = sqlx::query_as(
                "select pg_get_expr(c.relpartbound, c.oid) from pg_inherits i join pg_class c on c.oid = i.inhrelid
                  where i.inhparent = 'metric_chunk'::regclass",
            )
            .fetch_all(pool)
            .await?;
            *guard = Some(
                bounds
                    .iter()
                    .filter_map(|(b,)| lower_bound(b))
                    .map(day_of)
                    .collect(),
            );
        }
        Ok(tokio::sync::MutexGuard::map(guard, |known| {
            known.get_or_insert_with(HashSet::new)
        }))
    }

    pub async fn days(&self, pool: &PgPool) -> Result<Vec<i64>, sqlx::Error> {
        let mut days: Vec<i64> = self.known(pool).await?.iter().copied().collect();
        days.sort();
        Ok(days)
    }

    /// Creates the day partitions these chunks need. Outside the writing transaction, so a
    /// concurrent replica creating the same one is harmless.
    pub async fn ensure(&self, pool: &PgPool, chunks: &[(i64, Chunk)]) -> Result<(), sqlx::Error> {
        let needed: HashSet<i64> = chunks.iter().map(|(_, c)| day_of(c.start)).collect();
        let mut known = self.known(pool).await?;
        for day in needed {
            if known.contains(&day) {
                continue;
            }
            let statement = format!(
                "create table if not exists {} partition of metric_chunk for values from ({}) to ({})",
                partition_name(day),
                day * DAY_MS,
                (day + 1) * DAY_MS
            );
            match sqlx::query(&statement).execute(pool).await {
                Ok(_) => {}
                // Lost a race with another replica: the partition exists.
                Err(sqlx::Error::Database(e))
                    if matches!(e.code().as_deref(), Some("42P07" | "23505" | "42P17")) => {}
                Err(e) => return Err(e),
            }
            known.insert(day);
        }
        Ok(())
    }

    pub async fn drop_day(&self, pool: &PgPool, day: i64) -> Result<(), sqlx::Error> {
        let mut known = self.known(pool).await?;
        let statement = format!("drop table if exists {}", partition_name(day));
        sqlx::query(&statement).execute(pool).await?;
        known.remove(&day);
        Ok(())
    }
}

fn lower_bound(bound: &str) -> Option<i64> {
    // "FOR VALUES FROM ('1700000000000') TO (…)"
    let from = bound.split("FROM (").nth(1)?;
    from.split(')').next()?.trim_matches('\'').parse().ok()
}

/// Writes chunks (replacing a stored chunk of the same series and start: an open chunk that
/// grew), advances series' last times and deletes the log rows now covered — one transaction.
pub async fn write_checkpoint(
    pool: &PgPool,
    chunks: &[(i64, Chunk)],
    last_timestamps: &[(i64, i64)],
    log_ids: &[i64],
) -> Result<(), sqlx::Error> {
    let mut tx = pool.begin().await?;
    for batch in chunks.chunks(BATCH) {
        let ids: Vec<i64> = batch.iter().map(|(id, _)| *id).collect();
        let starts: Vec<i64> = batch.iter().map(|(_, c)| c.start).collect();
        let ends: Vec<i64> = batch.iter().map(|(_, c)| c.end).collect();
        let counts: Vec<i32> = batch.iter().map(|(_, c)| c.samples as i32).collect();
        let data: Vec<&[u8]> = batch.iter().map(|(_, c)| c.data.as_slice()).collect();
        sqlx::query(
            "insert into metric_chunk (series_id, start_ts, end_ts, samples, data)
             select * from unnest($1::bigint[], $2::bigint[], $3::bigint[], $4::int[], $5::bytea[])
             on conflict (series_id, start_ts) do update
                set end_ts = excluded.end_ts, samples = excluded.samples, data = excluded.data",
        )
        .bind(&ids)
        .bind(&starts)
        .bind(&ends)
        .bind(&counts)
        .bind(&data)
        .execute(&mut *tx)
        .await?;
    }
    for batch in last_timestamps.chunks(BATCH) {
        let ids: Vec<i64> = batch.iter().map(|(id, _)| *id).collect();
        let times: Vec<i64> = batch.iter().map(|(_, t)| *t).collect();
        sqlx::query(
            "update metric_series s set last_ts = u.t from unnest($1::bigint[], $2::bigint[]) as u(id, t)
              where s.id = u.id and s.last_ts < u.t",
        )
        .bind(&ids)
        .bind(&times)
        .execute(&mut *tx)
        .await?;
    }
    if !log_ids.is_empty() {
        sqlx::query("delete from metric_ingest_log where id = any($1)")
            .bind(log_ids)
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await
}

/// Appends one log row; answers its id. Its commit is what makes the samples durable.
pub async fn append_log(
    pool: &PgPool,
    writer: Uuid,
    samples: usize,
    body: &[u8],
) -> Result<i64, sqlx::Error> {
    let (id,): (i64,) = sqlx::query_as(
        "insert into metric_ingest_log (writer, samples, body) values ($1, $2, $3) returning id",
    )
    .bind(writer)
    .bind(samples as i32)
    .bind(body)
    .fetch_one(pool)
    .await?;
    Ok(id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partition_bounds_and_names() {
        assert_eq!(
            lower_bound("FOR VALUES FROM ('1700006400000') TO ('1700092800000')"),
            Some(1_700_006_400_000)
        );
        assert_eq!(
            lower_bound("FOR VALUES FROM (1700006400000) TO (1700092800000)"),
            Some(1_700_006_400_000)
        );
        assert_eq!(
            partition_name(day_of(1_700_006_400_000)),
            "metric_chunk_20231115"
        );
    }
}
