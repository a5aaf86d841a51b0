//! Meridian's metric store on PostgreSQL, usable without the web stack.
//!
//! - Series index (`metric_series`): one row per tenant and label set, found by fingerprint or
//!   by Prometheus label matchers.
//! - Chunks (`metric_chunk`): up to 120 samples of a series, delta-of-delta timestamps and
//!   XOR-encoded floats (`chunk`), in daily partitions that retention drops whole.
//! - Ingest log (`metric_ingest_log`): a write is acknowledged once its samples are committed
//!   there (group commit, `writer`); they go to the in-memory head (`head`) at once and become
//!   chunk rows at the next checkpoint, which deletes the log rows it covered. A restart replays
//!   the replica's own rows; other replicas read them until then (`read::ForeignLog`).
//! - Reads (`Store::select`) merge chunks, head and foreign log samples per series.

mod bits;
pub mod chunk;
mod db;
pub mod head;
pub mod labels;
pub mod limits;
pub mod read;
mod wal;
pub mod writer;

use std::{
    collections::{BTreeMap, HashMap},
    sync::{Arc, RwLock},
    time::Duration,
};

use sqlx::PgPool;
use tokio::sync::{mpsc, oneshot, Mutex};
use uuid::Uuid;

pub use chunk::{AppendError, ChunkEncoder, ChunkIter, STALE_NAN};
pub use labels::{is_label_name, matches_all, LabelError, Labels, MatchOp, Matcher, METRIC_NAME};
pub use limits::{Limits, Reason};
pub use read::{Samples, Series};
pub use writer::{CheckpointStats, SeriesSamples, WriteError, WriteOutcome};

use head::{Chunk, Head, HeadSeries, DAY_MS};
use limits::LimitsCache;
use read::ForeignLog;
use writer::{Job, WriteJob};

#[derive(Clone, Debug)]
pub struct StoreConfig {
    /// This replica's identity in the ingest log: stable across restarts, so a restart
    /// replays its own rows.
    pub writer_id: Uuid,
    pub limits: Limits,
    /// A checkpoint at least this often…
    pub checkpoint_interval: Duration,
    /// …or when the head holds this many samples not yet in chunk rows.
    pub checkpoint_samples: usize,
    /// Series without samples for this long leave the head once their samples are stored.
    pub idle_series: Duration,
    /// How often retention runs.
    pub retention_interval: Duration,
}

impl StoreConfig {
    pub fn new(writer_id: Uuid) -> Self {
        StoreConfig {
            writer_id,
            limits: Limits::default(),
            checkpoint_interval: Duration::from_secs(600),
            checkpoint_samples: 5_000_000,
            idle_series: Duration::from_secs(3600),
            retention_interval: Duration::from_secs(3600),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    #[error("unknown tenant")]
    UnknownTenant,
}

/// Metadata of a metric family, as remote_write and the text format carry it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Metadata {
    pub metric: String,
    pub kind: String,
    pub help: String,
    pub unit: String,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ImportStats {
    pub series: usize,
    pub samples: usize,
    pub chunks: usize,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RetentionStats {
    pub partitions_dropped: usize,
    pub chunks_deleted: u64,
    pub series_deleted: u64,
}

pub(crate) struct Inner {
    pool: PgPool,
    config: StoreConfig,
    head: RwLock<Head>,
    limits: LimitsCache,
    partitions: db::Partitions,
    foreign: Mutex<ForeignLog>,
    /// Samples each tenant had accepted since this process started (usage accounting).
    ingested: std::sync::Mutex<HashMap<Uuid, u64>>,
}

/// The metric store. Cheap to clone; background tasks run while any clone is alive.
#[derive(Clone)]
pub struct Store {
    inner: Arc<Inner>,
    jobs: mpsc::Sender<Job>,
}

impl Store {
    /// Opens the store: replays this writer's log rows into the head, then starts the writer,
    /// the checkpoint flusher and the periodic checkpoint and retention tasks.
    pub async fn open(pool: PgPool, config: StoreConfig) -> Result<Store, StoreError> {
        let inner = Self::inner(pool, config);
        let replayed = replay(&inner).await?;
        let store = Self::start(inner, replayed);
        store.spawn_timers();
        Ok(store)
    }

    /// A store that does not replay the log and runs no periodic checkpoint or retention: for
    /// tools that import or read (the log rows of running servers stay theirs).
    pub fn open_without_replay(pool: PgPool, config: StoreConfig) -> Store {
        Self::start(Self::inner(pool, config), Vec::new())
    }

    fn inner(pool: PgPool, config: StoreConfig) -> Arc<Inner> {
        Arc::new(Inner {
            pool,
            limits: LimitsCache::new(config.limits.clone()),
            config,
            head: RwLock::new(Head::default()),
            partitions: db::Partitions::default(),
            foreign: Mutex::new(ForeignLog::default()),
            ingested: Default::default(),
        })
    }

    fn start(inner: Arc<Inner>, replayed: Vec<i64>) -> Store {
        let (jobs, receiver) = mpsc::channel(1024);
        let (flushes, flush_receiver) = mpsc::channel(2);
        tokio::spawn(writer::run(inner.clone(), receiver, flushes, replayed));
        tokio::spawn(writer::flush(inner.clone(), flush_receiver));
        Store { inner, jobs }
    }

    fn spawn_timers(&self) {
        let jobs = self.jobs.downgrade();
        let every = self.inner.config.checkpoint_interval;
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(every);
            tick.tick().await;
            loop {
                tick.tick().await;
                let Some(jobs) = jobs.upgrade() else { return };
                if jobs.send(Job::Checkpoint(None)).await.is_err() {
                    return;
                }
            }
        });
        let weak = Arc::downgrade(&self.inner);
        let every = self.inner.config.retention_interval;
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(every);
            // The first run one interval after start, not during it.
            tick.tick().await;
            loop {
                tick.tick().await;
                let Some(inner) = weak.upgrade() else { return };
                if let Err(error) =
                    apply_retention(&inner, chrono::Utc::now().timestamp_millis()).await
                {
                    tracing::warn!(error = %error, "Retention failed; it runs again later.");
                }
            }
        });
    }

    /// Samples accepted for `tenant` by this process since it started.
    pub fn ingested(&self, tenant: Uuid) -> u64 {
        let counts = self
            .inner
            .ingested
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        counts.get(&tenant).copied().unwrap_or(0)
    }

    pub fn pool(&self) -> &PgPool {
        &self.inner.pool
    }

    /// Stores a tenant's samples; answers once the accepted ones are durable and visible.
    pub async fn write(
        &self,
        tenant: Uuid,
        series: Vec<SeriesSamples>,
    ) -> Result<WriteOutcome, WriteError> {
        let (reply, answer) = oneshot::channel();
        self.jobs
            .send(Job::Write(WriteJob {
                tenant,
                series,
                reply,
            }))
            .await
            .map_err(|_| WriteError::Closed)?;
        answer.await.map_err(|_| WriteError::Closed)?
    }

    /// Counts samples refused before they reached the store (undecodable labels, say).
    pub async fn count_discarded(&self, tenant: Uuid, reason: Reason, count: usize) {
        let name = match self.inner.limits.get(&self.inner.pool, tenant).await {
            Ok(Some(settings)) => settings.name,
            _ => tenant.to_string(),
        };
        writer::count_discarded(&name, reason, count);
    }

    /// The tenant's limits (defaults with its overrides).
    pub async fn limits(&self, tenant: Uuid) -> Result<Limits, StoreError> {
        match self.inner.limits.get(&self.inner.pool, tenant).await? {
            Some(settings) => Ok(settings.limits),
            None => Err(StoreError::UnknownTenant),
        }
    }

    /// The installation's limits, which a `tenant_limits` row overrides column by column.
    pub fn default_limits(&self) -> &Limits {
        self.inner.limits.defaults()
    }

    /// Forget cached limits after they changed.
    pub fn limits_changed(&self, tenant: Uuid) {
        self.inner.limits.invalidate(tenant);
    }

    pub async fn write_metadata(
        &self,
        tenant: Uuid,
        metadata: &[Metadata],
    ) -> Result<(), StoreError> {
        let mut latest: BTreeMap<&str, &Metadata> = BTreeMap::new();
        for m in metadata {
            latest.insert(&m.metric, m);
        }
        let metrics: Vec<&str> = latest.keys().copied().collect();
        let kinds: Vec<&str> = latest.values().map(|m| m.kind.as_str()).collect();
        let helps: Vec<&str> = latest.values().map(|m| m.help.as_str()).collect();
        let units: Vec<&str> = latest.values().map(|m| m.unit.as_str()).collect();
        sqlx::query(
            "insert into metric_metadata (tenant_id, metric, type, help, unit)
             select $1, * from unnest($2::text[], $3::text[], $4::text[], $5::text[])
             on conflict (tenant_id, metric) do update
                set type = excluded.type, help = excluded.help, unit = excluded.unit, updated_at = now()
              where (metric_metadata.type, metric_metadata.help, metric_metadata.unit)
                    is distinct from (excluded.type, excluded.help, excluded.unit)",
        )
        .bind(tenant)
        .bind(&metrics)
        .bind(&kinds)
        .bind(&helps)
        .bind(&units)
        .execute(&self.inner.pool)
        .await?;
        Ok(())
    }

    pub async fn metadata(&self, tenant: Uuid) -> Result<Vec<Metadata>, StoreError> {
        let rows: Vec<(String, String, String, String)> =
            sqlx::query_as("select metric, type, help, unit from metric_metadata where tenant_id = $1 order by metric")
                .bind(tenant)
                .fetch_all(&self.inner.pool)
                .await?;
        Ok(rows
            .into_iter()
            .map(|(metric, kind, help, unit)| Metadata {
                metric,
                kind,
                help,
                unit,
            })
            .collect())
    }

    /// The tenant's series matching every matcher that have samples in [start, end] (ms),
    /// with those samples. Data older than the tenant's retention is never returned.
    pub async fn select(
        &self,
        tenant: Uuid,
        matchers: &[Matcher],
        start: i64,
        end: i64,
    ) -> Result<Vec<Series>, StoreError> {
        let inner = &self.inner;
        let start = self.retained_from(tenant, start).await?;
        if start > end {
            return Ok(Vec::new());
        }
        let found = db::select_series(&inner.pool, tenant, matchers, end).await?;
        if found.is_empty() {
            return Ok(Vec::new());
        }
        let ids: Vec<i64> = found.iter().map(|(id, _, _)| *id).collect();
        let mut chunks: HashMap<i64, Vec<Chunk>> = HashMap::new();
        for (id, chunk) in db::load_chunks(&inner.pool, &ids, start, end).await? {
            chunks.entry(id).or_default().push(chunk);
        }
        let mut foreign = inner.foreign.lock().await;
        foreign
            .catch_up(&inner.pool, inner.config.writer_id)
            .await?;
        let head = inner.head.read().unwrap();
        let series: Vec<Series> = found
            .into_iter()
            .map(|(id, labels, _)| {
                let mut sources = chunks.remove(&id).unwrap_or_default();
                sources.extend(head.chunks(id, start, end));
                Series::new(
                    id,
                    labels,
                    start,
                    end,
                    sources,
                    foreign.samples(id, start, end),
                )
            })
            .filter(|s| s.samples().next().is_some())
            .collect();
        Ok(series)
    }

    /// The labels of the tenant's series matching every matcher that have samples in
    /// [start, end] as far as the series index knows (first and last stored sample, or samples
    /// in this replica's head or another replica's log), without reading samples: what the
    /// series and label APIs list. Like Prometheus' block index, a series with a gap spanning
    /// [start, end] may be listed.
    pub async fn series(
        &self,
        tenant: Uuid,
        matchers: &[Matcher],
        start: i64,
        end: i64,
    ) -> Result<Vec<Labels>, StoreError> {
        let inner = &self.inner;
        let start = self.retained_from(tenant, start).await?;
        if start > end {
            return Ok(Vec::new());
        }
        let found = db::select_series(&inner.pool, tenant, matchers, end).await?;
        let mut foreign = inner.foreign.lock().await;
        foreign
            .catch_up(&inner.pool, inner.config.writer_id)
            .await?;
        let head = inner.head.read().unwrap();
        Ok(found
            .into_iter()
            .filter(|(id, _, last)| {
                *last >= start
                    || head.has_samples(*id, start, end)
                    || foreign.has_samples(*id, start, end)
            })
            .map(|(_, labels, _)| labels)
            .collect())
    }

    /// `start`, or the oldest time the tenant's retention still returns.
    async fn retained_from(&self, tenant: Uuid, start: i64) -> Result<i64, StoreError> {
        let limits = self.limits(tenant).await?;
        Ok(
            start
                .max(chrono::Utc::now().timestamp_millis() - limits.retention_days as i64 * DAY_MS),
        )
    }

    /// Writes the head's unstored samples as chunk rows now and trims the log.
    pub async fn checkpoint(&self) -> Result<CheckpointStats, WriteError> {
        let (reply, answer) = oneshot::channel();
        self.jobs
            .send(Job::Checkpoint(Some(reply)))
            .await
            .map_err(|_| WriteError::Closed)?;
        answer.await.map_err(|_| WriteError::Closed)?
    }

    /// Loads historical samples straight into chunk rows (backfill, `server import`), in one
    /// transaction; series are checked against the label limits but not the rate limit.
    pub async fn import(
        &self,
        tenant: Uuid,
        series: Vec<SeriesSamples>,
    ) -> Result<(ImportStats, WriteOutcome), StoreError> {
        let inner = &self.inner;
        let settings = inner
            .limits
            .get(&inner.pool, tenant)
            .await?
            .ok_or(StoreError::UnknownTenant)?;
        let mut outcome = WriteOutcome::default();
        let mut valid = Vec::with_capacity(series.len());
        for mut s in series {
            if let Err((reason, message)) = limits::check_labels(&s.labels, &settings.limits) {
                outcome.discard(reason, s.samples.len(), || message);
                continue;
            }
            s.samples.sort_by_key(|(t, _)| *t);
            if !s.samples.is_empty() {
                valid.push(s);
            }
        }
        let fingerprints: Vec<u64> = valid.iter().map(|s| s.labels.fingerprint()).collect();
        let mut ids: HashMap<u64, i64> = db::find_series(&inner.pool, tenant, &fingerprints)
            .await?
            .into_iter()
            .map(|r| (r.labels.fingerprint(), r.id))
            .collect();
        let new: Vec<(&Labels, i64)> = valid
            .iter()
            .filter(|s| !ids.contains_key(&s.labels.fingerprint()))
            .map(|s| (&s.labels, s.samples[0].0))
            .collect();
        if !new.is_empty() {
            let rows = db::create_series(&inner.pool, tenant, &new).await?;
            ids.extend(rows.into_iter().map(|r| (r.labels.fingerprint(), r.id)));
        }
        let mut stats = ImportStats::default();
        let mut chunks: Vec<(i64, Chunk)> = Vec::new();
        let mut bounds: Vec<(i64, i64, i64)> = Vec::new();
        for s in &valid {
            let Some(&id) = ids.get(&s.labels.fingerprint()) else {
                continue;
            };
            let mut encoder = ChunkEncoder::new();
            let mut start = s.samples[0].0;
            let mut end = start;
            let close = |encoder: &mut ChunkEncoder,
                         start: i64,
                         end: i64,
                         chunks: &mut Vec<(i64, Chunk)>| {
                if !encoder.is_empty() {
                    chunks.push((
                        id,
                        Chunk {
                            start,
                            end,
                            samples: encoder.len() as u32,
                            data: encoder.encode(),
                        },
                    ));
                    *encoder = ChunkEncoder::new();
                }
            };
            for &(timestamp, value) in &s.samples {
                if head::must_close(encoder.len(), start, timestamp) {
                    close(&mut encoder, start, end, &mut chunks);
                }
                if encoder.is_empty() {
                    start = timestamp;
                }
                match encoder.append(timestamp, value) {
                    Ok(true) => {
                        end = timestamp;
                        stats.samples += 1;
                    }
                    Ok(false) => {}
                    Err(_) => outcome.discard(Reason::DuplicateTimestamp, 1, || {
                        format!("duplicate sample for timestamp {timestamp} with a different value for {}", s.labels)
                    }),
                }
            }
            close(&mut encoder, start, end, &mut chunks);
            bounds.push((id, s.samples[0].0, s.samples[s.samples.len() - 1].0));
            stats.series += 1;
        }
        stats.chunks = chunks.len();
        outcome.accepted = stats.samples;
        inner.partitions.ensure(&inner.pool, &chunks).await?;
        let last: Vec<(i64, i64)> = bounds.iter().map(|(id, _, last)| (*id, *last)).collect();
        db::write_checkpoint(&inner.pool, &chunks, &last, &[]).await?;
        let (bound_ids, firsts): (Vec<i64>, Vec<i64>) =
            bounds.iter().map(|(id, first, _)| (*id, *first)).unzip();
        sqlx::query(
            "update metric_series s set first_ts = u.t from unnest($1::bigint[], $2::bigint[]) as u(id, t)
              where s.id = u.id and s.first_ts > u.t",
        )
        .bind(&bound_ids)
        .bind(&firsts)
        .execute(&inner.pool)
        .await?;
        Ok((stats, outcome))
    }

    /// Runs retention now (it also runs every `retention_interval`).
    pub async fn apply_retention(&self, now_ms: i64) -> Result<RetentionStats, StoreError> {
        Ok(apply_retention(&self.inner, now_ms).await?)
    }

    /// Days (since the epoch) that have a chunk partition.
    pub async fn partition_days(&self) -> Result<Vec<i64>, StoreError> {
        Ok(self.inner.partitions.days(&self.inner.pool).await?)
    }
}

/// Loads this writer's log rows into the head; answers their ids (the next checkpoint
/// deletes them).
async fn replay(inner: &Inner) -> Result<Vec<i64>, sqlx::Error> {
    let rows: Vec<(i64, Vec<u8>)> =
        sqlx::query_as("select id, body from metric_ingest_log where writer = $1 order by id")
            .bind(inner.config.writer_id)
            .fetch_all(&inner.pool)
            .await?;
    let mut ids = Vec::with_capacity(rows.len());
    let mut samples = 0usize;
    for (id, body) in rows {
        let entries = match wal::decode(&body) {
            Ok(entries) => entries,
            Err(error) => {
                tracing::error!(log_id = id, error = %error, "Skipping a corrupt ingest log row.");
                continue;
            }
        };
        let unknown: Vec<i64> = {
            let head = inner.head.read().unwrap();
            let mut unknown: Vec<i64> = entries
                .iter()
                .map(|(s, _)| *s)
                .filter(|s| !head.contains(*s))
                .collect();
            unknown.sort();
            unknown.dedup();
            unknown
        };
        let rows = if unknown.is_empty() {
            Vec::new()
        } else {
            db::series_by_ids(&inner.pool, &unknown).await?
        };
        let mut head = inner.head.write().unwrap();
        for row in rows {
            // The index's last time is that of the last checkpoint: older than anything here.
            head.insert(HeadSeries::new(
                row.id,
                row.tenant,
                Arc::new(row.labels),
                None,
            ));
        }
        for (series, points) in entries {
            for (timestamp, value) in points {
                if head.append(series, timestamp, value).unwrap_or(false) {
                    samples += 1;
                }
            }
        }
        ids.push(id);
    }
    if !ids.is_empty() {
        tracing::info!(
            log_rows = ids.len(),
            samples,
            "Replayed the ingest log into the head."
        );
    }
    Ok(ids)
}

async fn apply_retention(inner: &Inner, now_ms: i64) -> Result<RetentionStats, sqlx::Error> {
    let defaults = inner.limits.defaults().retention_days as i64;
    let tenants: Vec<(Uuid, Option<i32>)> =
        sqlx::query_as("select t.id, l.retention_days from tenant t left join tenant_limits l on l.tenant_id = t.id")
            .fetch_all(&inner.pool)
            .await?;
    let days_of = |d: Option<i32>| d.map(|d| d as i64).unwrap_or(defaults);
    let longest = tenants
        .iter()
        .map(|(_, d)| days_of(*d))
        .max()
        .unwrap_or(defaults);
    let mut stats = RetentionStats::default();
    // Whole days older than every tenant's retention: drop their partitions.
    let cutoff = now_ms - longest * DAY_MS;
    for day in inner.partitions.days(&inner.pool).await? {
        if (day + 1) * DAY_MS <= cutoff {
            inner.partitions.drop_day(&inner.pool, day).await?;
            stats.partitions_dropped += 1;
        }
    }
    // Tenants with a shorter retention than the longest: their rows in the days that remain.
    for (tenant, days) in &tenants {
        let tenant_cutoff = now_ms - days_of(*days) * DAY_MS;
        if tenant_cutoff > cutoff {
            let deleted = sqlx::query(
                "delete from metric_chunk c using metric_series s
                  where s.id = c.series_id and s.tenant_id = $1 and c.start_ts < $2 and c.end_ts < $3",
            )
            .bind(tenant)
            .bind(tenant_cutoff)
            .bind(tenant_cutoff)
            .execute(&inner.pool)
            .await?;
            stats.chunks_deleted += deleted.rows_affected();
        }
        // Series in the head may have samples newer than their stored last time.
        let in_head = inner.head.read().unwrap().series_of(*tenant);
        let deleted = sqlx::query("delete from metric_series where tenant_id = $1 and last_ts < $2 and not (id = any($3))")
            .bind(tenant)
            .bind(tenant_cutoff)
            .bind(&in_head)
            .execute(&inner.pool)
            .await?;
        stats.series_deleted += deleted.rows_affected();
    }
    Ok(stats)
}
