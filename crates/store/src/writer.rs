//! The write path. Request handlers decode and hand their series to one writer task, which
//! takes every request waiting at that moment as a group: it checks limits and sample order,
//! appends the accepted samples as one log row (one commit: group commit), then applies them
//! to the head and answers each request. Checkpoints copy the head and are written by a
//! flusher task, so ingestion does not wait for them.

use std::{
    collections::{BTreeMap, HashMap, HashSet},
    sync::Arc,
    time::{Duration, Instant},
};

use tokio::sync::{mpsc, oneshot};
use uuid::Uuid;

use crate::{
    chunk::AppendError,
    db,
    head::{check_sample, HeadSeries, Snapshot, DAY_MS},
    labels::Labels,
    limits::{check_labels, Limits, RateLimiter, Reason, TenantSettings},
    wal, Inner,
};

/// Samples older than this (behind the wall clock) are refused as too far in the future.
const FUTURE_GRACE_MS: i64 = 10 * 60 * 1000;
/// Requests folded into one commit at most.
const MAX_GROUP: usize = 128;

/// One series' labels and samples, as a writer sends them.
#[derive(Clone, Debug)]
pub struct SeriesSamples {
    pub labels: Labels,
    pub samples: Vec<(i64, f64)>,
}

/// What became of a write: how many samples were stored and, by reason, how many were not
/// (with the first message for each reason).
#[derive(Debug, Default)]
pub struct WriteOutcome {
    pub accepted: usize,
    pub discarded: BTreeMap<Reason, (usize, String)>,
}

impl WriteOutcome {
    pub fn discard(&mut self, reason: Reason, count: usize, message: impl FnOnce() -> String) {
        let entry = self
            .discarded
            .entry(reason)
            .or_insert_with(|| (0, message()));
        entry.0 += count;
    }

    pub fn discarded_count(&self) -> usize {
        self.discarded.values().map(|(n, _)| n).sum()
    }

    /// "3 of 10 samples were not stored: out_of_order (2): …; series_limit (1): …"
    pub fn summary(&self) -> Option<String> {
        if self.discarded.is_empty() {
            return None;
        }
        let total = self.accepted + self.discarded_count();
        let reasons: Vec<String> = self
            .discarded
            .iter()
            .map(|(reason, (n, message))| format!("{} ({n}): {message}", reason.as_str()))
            .collect();
        Some(format!(
            "{} of {total} samples were not stored: {}",
            self.discarded_count(),
            reasons.join("; ")
        ))
    }
}

#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    #[error("unknown tenant")]
    UnknownTenant,
    #[error("tenant is deactivated")]
    TenantInactive,
    #[error("ingestion rate limit exceeded: {samples} samples in this request, limit max_samples_per_second={limit}")]
    RateLimited { limit: u32, samples: usize },
    #[error("the store is unavailable: {0}")]
    Unavailable(#[from] sqlx::Error),
    #[error("the store is shutting down")]
    Closed,
}

pub(crate) struct WriteJob {
    pub tenant: Uuid,
    pub series: Vec<SeriesSamples>,
    pub reply: oneshot::Sender<Result<WriteOutcome, WriteError>>,
}

pub(crate) enum Job {
    Write(WriteJob),
    Checkpoint(Option<oneshot::Sender<Result<CheckpointStats, WriteError>>>),
}

#[derive(Clone, Copy, Debug, Default)]
pub struct CheckpointStats {
    pub chunks: usize,
    pub log_rows: usize,
}

pub(crate) struct Flush {
    pub snapshot: Snapshot,
    pub log_ids: Vec<i64>,
    pub reply: Option<oneshot::Sender<Result<CheckpointStats, WriteError>>>,
}

pub(crate) fn count_discarded(tenant: &str, reason: Reason, count: usize) {
    metrics::counter!("meridian_discarded_samples_total", "tenant" => tenant.to_string(), "reason" => reason.as_str())
        .increment(count as u64);
}

/// A write accepted into a group: its samples by series id, its outcome so far, and who waits
/// for the answer.
struct Admitted {
    reply: oneshot::Sender<Result<WriteOutcome, WriteError>>,
    tenant: Uuid,
    tenant_name: String,
    entries: Vec<wal::Entry>,
    outcome: WriteOutcome,
}

pub(crate) async fn run(
    inner: Arc<Inner>,
    mut jobs: mpsc::Receiver<Job>,
    flusher: mpsc::Sender<Flush>,
    mut log_ids: Vec<i64>,
) {
    let mut buckets: HashMap<Uuid, RateLimiter> = HashMap::new();
    let mut last_checkpoint = Instant::now();
    while let Some(first) = jobs.recv().await {
        let mut writes = Vec::new();
        let mut checkpoints = Vec::new();
        let mut next = Some(first);
        while let Some(job) = next.take() {
            match job {
                Job::Write(write) => writes.push(write),
                Job::Checkpoint(reply) => checkpoints.push(reply),
            }
            if writes.len() < MAX_GROUP {
                next = jobs.try_recv().ok();
            }
        }
        if !writes.is_empty() {
            if let Some(id) = write_group(&inner, &mut buckets, writes).await {
                log_ids.push(id);
            }
        }
        let due = inner.head.read().unwrap().unflushed_samples() >= inner.config.checkpoint_samples
            || last_checkpoint.elapsed() >= inner.config.checkpoint_interval;
        if due && checkpoints.is_empty() {
            checkpoints.push(None);
        }
        for reply in checkpoints {
            let snapshot = inner.head.write().unwrap().snapshot();
            last_checkpoint = Instant::now();
            let flush = Flush {
                snapshot,
                log_ids: std::mem::take(&mut log_ids),
                reply,
            };
            if flusher.send(flush).await.is_err() {
                return;
            }
        }
    }
}

async fn write_group(
    inner: &Inner,
    buckets: &mut HashMap<Uuid, RateLimiter>,
    writes: Vec<WriteJob>,
) -> Option<i64> {
    let now = chrono::Utc::now().timestamp_millis();
    let mut admitted = Vec::new();
    // The last accepted sample per series across the whole group, so that two requests in one
    // group are judged in order.
    let mut last: HashMap<i64, (i64, Option<u64>)> = HashMap::new();
    for WriteJob {
        tenant,
        series,
        reply,
    } in writes
    {
        let settings = match inner.limits.get(&inner.pool, tenant).await {
            Ok(Some(settings)) if settings.active => settings,
            Ok(Some(_)) => {
                let _ = reply.send(Err(WriteError::TenantInactive));
                continue;
            }
            Ok(None) => {
                let _ = reply.send(Err(WriteError::UnknownTenant));
                continue;
            }
            Err(error) => {
                let _ = reply.send(Err(WriteError::Unavailable(error)));
                continue;
            }
        };
        let total: usize = series.iter().map(|s| s.samples.len()).sum();
        let rate = settings.limits.max_samples_per_second;
        if !buckets
            .entry(tenant)
            .or_insert_with(|| RateLimiter::new(rate))
            .try_take(rate, total)
        {
            count_discarded(&settings.name, Reason::RateLimited, total);
            let _ = reply.send(Err(WriteError::RateLimited {
                limit: rate,
                samples: total,
            }));
            continue;
        }
        match admit(inner, tenant, &settings, series, now, &mut last).await {
            Ok((entries, outcome)) => admitted.push(Admitted {
                reply,
                tenant,
                tenant_name: settings.name,
                entries,
                outcome,
            }),
            Err(error) => {
                let _ = reply.send(Err(WriteError::Unavailable(error)));
            }
        }
    }

    let entries = admitted.iter().flat_map(|a| &a.entries);
    let samples: usize = entries.clone().map(|(_, s)| s.len()).sum();
    let mut log_id = None;
    if samples > 0 {
        match db::append_log(
            &inner.pool,
            inner.config.writer_id,
            samples,
            &wal::encode(entries.clone()),
        )
        .await
        {
            Ok(id) => log_id = Some(id),
            Err(error) => {
                tracing::warn!(error = %error, "Could not append to the ingest log; the writers are told to retry.");
                let message = error.to_string();
                for a in admitted {
                    let error = WriteError::Unavailable(sqlx::Error::Protocol(message.clone()));
                    let _ = a.reply.send(Err(error));
                }
                return None;
            }
        }
        let mut head = inner.head.write().unwrap();
        for (id, samples) in entries {
            for &(timestamp, value) in samples {
                // Checked in `admit`: cannot fail.
                let _ = head.append(*id, timestamp, value);
            }
        }
    }
    for a in admitted {
        metrics::counter!("meridian_ingested_samples_total", "tenant" => a.tenant_name.clone())
            .increment(a.outcome.accepted as u64);
        *inner
            .ingested
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(a.tenant)
            .or_default() += a.outcome.accepted as u64;
        for (reason, (count, _)) in &a.outcome.discarded {
            count_discarded(&a.tenant_name, *reason, *count);
        }
        let _ = a.reply.send(Ok(a.outcome));
    }
    log_id
}

/// Checks one request's series and samples; creates the series it introduces.
async fn admit(
    inner: &Inner,
    tenant: Uuid,
    settings: &TenantSettings,
    series: Vec<SeriesSamples>,
    now: i64,
    last: &mut HashMap<i64, (i64, Option<u64>)>,
) -> Result<(Vec<wal::Entry>, WriteOutcome), sqlx::Error> {
    let limits = &settings.limits;
    let mut outcome = WriteOutcome::default();
    let mut valid: Vec<SeriesSamples> = Vec::with_capacity(series.len());
    for s in series {
        match check_labels(&s.labels, limits) {
            Ok(()) => valid.push(s),
            Err((reason, message)) => outcome.discard(reason, s.samples.len(), || message),
        }
    }
    let ids = resolve_series(inner, tenant, limits, &valid, &mut outcome).await?;
    let oldest = now - limits.retention_days as i64 * DAY_MS;
    let mut entries = Vec::with_capacity(valid.len());
    for (s, id) in valid.into_iter().zip(ids) {
        let Some(id) = id else { continue };
        let mut previous = match last.get(&id) {
            Some(l) => Some(*l),
            None => inner
                .head
                .read()
                .unwrap()
                .get(id)
                .and_then(HeadSeries::last),
        };
        let mut accepted = Vec::with_capacity(s.samples.len());
        for (timestamp, value) in s.samples {
            if timestamp < oldest {
                outcome.discard(Reason::TooOld, 1, || {
                    format!("sample at {timestamp} for {} is older than the retention (retention_days={})", s.labels, limits.retention_days)
                });
                continue;
            }
            if timestamp > now + FUTURE_GRACE_MS {
                outcome.discard(Reason::TooFarInFuture, 1, || {
                    format!(
                        "sample at {timestamp} for {} is more than 10 minutes in the future",
                        s.labels
                    )
                });
                continue;
            }
            match check_sample(previous, timestamp, value) {
                Ok(true) => {
                    accepted.push((timestamp, value));
                    previous = Some((timestamp, Some(value.to_bits())));
                }
                Ok(false) => {}
                Err(AppendError::OutOfOrder { last, .. }) => outcome.discard(Reason::OutOfOrder, 1, || {
                    format!("out of order sample for {}: timestamp {timestamp} is older than the last one, {last}", s.labels)
                }),
                Err(_) => outcome.discard(Reason::DuplicateTimestamp, 1, || {
                    format!("duplicate sample for timestamp {timestamp} with a different value for {}", s.labels)
                }),
            }
        }
        if let Some(p) = previous {
            last.insert(id, p);
        }
        if !accepted.is_empty() {
            outcome.accepted += accepted.len();
            entries.push((id, accepted));
        }
    }
    Ok((entries, outcome))
}

/// Series ids for a request's label sets (`None` where the series limit refused a new one):
/// from the head, else the index, else a new index row.
async fn resolve_series(
    inner: &Inner,
    tenant: Uuid,
    limits: &Limits,
    series: &[SeriesSamples],
    outcome: &mut WriteOutcome,
) -> Result<Vec<Option<i64>>, sqlx::Error> {
    let mut ids: Vec<Option<i64>> = Vec::with_capacity(series.len());
    let mut unknown: Vec<usize> = Vec::new();
    {
        let head = inner.head.read().unwrap();
        for (i, s) in series.iter().enumerate() {
            let id = head
                .by_fingerprint(tenant, s.labels.fingerprint())
                .filter(|h| *h.labels == s.labels)
                .map(|h| h.id);
            if id.is_none() {
                unknown.push(i);
            }
            ids.push(id);
        }
    }
    if unknown.is_empty() {
        return Ok(ids);
    }
    let fingerprints: Vec<u64> = unknown
        .iter()
        .map(|&i| series[i].labels.fingerprint())
        .collect();
    let mut found: HashMap<u64, db::SeriesRow> =
        db::find_series(&inner.pool, tenant, &fingerprints)
            .await?
            .into_iter()
            .map(|r| (r.labels.fingerprint(), r))
            .collect();
    let mut to_create: Vec<(&Labels, i64)> = Vec::new();
    {
        let head = inner.head.read().unwrap();
        let mut creating: HashSet<u64> = HashSet::new();
        let mut room =
            (limits.max_series as usize).saturating_sub(head.active_series(tenant) + found.len());
        for &i in &unknown {
            let s = &series[i];
            let fingerprint = s.labels.fingerprint();
            if found.contains_key(&fingerprint) || !creating.insert(fingerprint) {
                continue;
            }
            if room == 0 {
                creating.remove(&fingerprint);
                outcome.discard(Reason::SeriesLimit, s.samples.len(), || {
                    format!(
                        "per-tenant series limit max_series={} reached; series {} refused",
                        limits.max_series, s.labels
                    )
                });
                continue;
            }
            room -= 1;
            to_create.push((
                &s.labels,
                s.samples.first().map(|(t, _)| *t).unwrap_or_default(),
            ));
        }
    }
    let created: HashSet<u64> = to_create.iter().map(|(l, _)| l.fingerprint()).collect();
    if !to_create.is_empty() {
        let rows = db::create_series(&inner.pool, tenant, &to_create).await?;
        found.extend(rows.into_iter().map(|r| (r.labels.fingerprint(), r)));
    }
    let mut head = inner.head.write().unwrap();
    for i in unknown {
        let s = &series[i];
        let Some(row) = found.get(&s.labels.fingerprint()) else {
            continue;
        };
        if row.labels != s.labels {
            outcome.discard(Reason::FingerprintCollision, s.samples.len(), || {
                format!("series {} collides with {}", s.labels, row.labels)
            });
            continue;
        }
        if !head.contains(row.id) {
            // A series fresh from create_series has last_ts = its first sample: not yet stored.
            let stored_last = (!created.contains(&row.labels.fingerprint())).then_some(row.last_ts);
            head.insert(HeadSeries::new(
                row.id,
                tenant,
                Arc::new(row.labels.clone()),
                stored_last,
            ));
        }
        ids[i] = Some(row.id);
    }
    Ok(ids)
}

/// Writes checkpoints in order; a failed one is retried (its samples stay in the log and the
/// head meanwhile) until it commits.
pub(crate) async fn flush(inner: Arc<Inner>, mut flushes: mpsc::Receiver<Flush>) {
    while let Some(Flush {
        snapshot,
        log_ids,
        reply,
    }) = flushes.recv().await
    {
        let mut delay = Duration::from_millis(200);
        loop {
            let written = async {
                inner
                    .partitions
                    .ensure(&inner.pool, &snapshot.chunks)
                    .await?;
                db::write_checkpoint(
                    &inner.pool,
                    &snapshot.chunks,
                    &snapshot.last_timestamps,
                    &log_ids,
                )
                .await
            }
            .await;
            match written {
                Ok(()) => break,
                Err(error) => {
                    tracing::warn!(error = %error, retry_in_ms = delay.as_millis() as u64, "Checkpoint failed; retrying.");
                    tokio::time::sleep(delay).await;
                    delay = (delay * 2).min(Duration::from_secs(30));
                }
            }
        }
        let stats = CheckpointStats {
            chunks: snapshot.chunks.len(),
            log_rows: log_ids.len(),
        };
        inner
            .head
            .write()
            .unwrap()
            .release(snapshot.sequence, inner.config.idle_series);
        metrics::counter!("meridian_store_checkpoints_total").increment(1);
        if let Some(reply) = reply {
            let _ = reply.send(Ok(stats));
        }
    }
}
