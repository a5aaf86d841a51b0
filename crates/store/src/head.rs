//! The in-memory head: for every series written recently, the samples not yet in a chunk row
//! (closed chunks waiting for the next checkpoint and the open chunk being filled) and the last
//! accepted sample, which decides out-of-order and duplicate samples as Prometheus does.

use std::{
    collections::HashMap,
    sync::Arc,
    time::{Duration, Instant},
};

use uuid::Uuid;

use crate::{
    chunk::{AppendError, ChunkEncoder},
    labels::Labels,
};

/// Samples per chunk, as in Prometheus: about 2 bytes a sample for regular scrapes, and a
/// query for a short range decodes little it does not need.
pub const CHUNK_SAMPLES: usize = 120;
pub const DAY_MS: i64 = 86_400_000;

pub fn day_of(timestamp: i64) -> i64 {
    timestamp.div_euclid(DAY_MS)
}

/// Whether a chunk that began at `start` and holds `len` samples is closed before a sample at
/// `timestamp`: chunks hold at most CHUNK_SAMPLES and never cross a UTC day (a partition).
pub fn must_close(len: usize, start: i64, timestamp: i64) -> bool {
    len >= CHUNK_SAMPLES || day_of(timestamp) != day_of(start)
}

/// An encoded chunk: the unit stored in `metric_chunk` and handed to readers.
#[derive(Clone, Debug)]
pub struct Chunk {
    pub start: i64,
    pub end: i64,
    pub samples: u32,
    pub data: Vec<u8>,
}

struct OpenChunk {
    start: i64,
    end: i64,
    encoder: ChunkEncoder,
    /// Appended to since the last checkpoint wrote it.
    dirty: bool,
}

impl OpenChunk {
    fn to_chunk(&self) -> Chunk {
        Chunk {
            start: self.start,
            end: self.end,
            samples: self.encoder.len() as u32,
            data: self.encoder.encode(),
        }
    }
}

pub struct HeadSeries {
    pub id: i64,
    pub tenant: Uuid,
    pub labels: Arc<Labels>,
    /// The last accepted timestamp and value bits (the value is unknown for a series that
    /// re-enters the head after a restart: only its last time is in the index).
    last: Option<(i64, Option<u64>)>,
    /// Closed chunks and the checkpoint sequence they were closed in.
    closed: Vec<(u64, Chunk)>,
    open: Option<OpenChunk>,
    last_ts_dirty: bool,
    touched: Instant,
}

impl HeadSeries {
    pub fn new(id: i64, tenant: Uuid, labels: Arc<Labels>, last_timestamp: Option<i64>) -> Self {
        HeadSeries {
            id,
            tenant,
            labels,
            last: last_timestamp.map(|t| (t, None)),
            closed: Vec::new(),
            open: None,
            last_ts_dirty: false,
            touched: Instant::now(),
        }
    }

    pub fn last(&self) -> Option<(i64, Option<u64>)> {
        self.last
    }
}

/// What a sample does to a series whose last sample is `last`: Prometheus' rules.
pub fn check_sample(
    last: Option<(i64, Option<u64>)>,
    timestamp: i64,
    value: f64,
) -> Result<bool, AppendError> {
    match last {
        Some((t, _)) if timestamp < t => Err(AppendError::OutOfOrder { timestamp, last: t }),
        Some((t, Some(bits))) if timestamp == t => {
            if bits == value.to_bits() {
                Ok(false)
            } else {
                Err(AppendError::Duplicate { timestamp })
            }
        }
        // Same time as a sample from before a restart whose value we no longer know: kept out.
        Some((t, None)) if timestamp == t => Ok(false),
        _ => Ok(true),
    }
}

/// The chunks and series times a checkpoint writes.
pub struct Snapshot {
    pub chunks: Vec<(i64, Chunk)>,
    pub last_timestamps: Vec<(i64, i64)>,
    pub sequence: u64,
}

#[derive(Default)]
pub struct Head {
    series: HashMap<i64, HeadSeries>,
    by_fingerprint: HashMap<(Uuid, u64), i64>,
    per_tenant: HashMap<Uuid, usize>,
    sequence: u64,
    unflushed: usize,
}

impl Head {
    pub fn by_fingerprint(&self, tenant: Uuid, fingerprint: u64) -> Option<&HeadSeries> {
        self.by_fingerprint
            .get(&(tenant, fingerprint))
            .and_then(|id| self.series.get(id))
    }

    pub fn get(&self, id: i64) -> Option<&HeadSeries> {
        self.series.get(&id)
    }

    pub fn contains(&self, id: i64) -> bool {
        self.series.contains_key(&id)
    }

    pub fn insert(&mut self, series: HeadSeries) {
        let key = (series.tenant, series.labels.fingerprint());
        if self.series.contains_key(&series.id) {
            return;
        }
        *self.per_tenant.entry(series.tenant).or_default() += 1;
        self.by_fingerprint.insert(key, series.id);
        self.series.insert(series.id, series);
    }

    /// Series of the tenant in the head: the "active series" the limit counts.
    pub fn active_series(&self, tenant: Uuid) -> usize {
        self.per_tenant.get(&tenant).copied().unwrap_or(0)
    }

    pub fn series_of(&self, tenant: Uuid) -> Vec<i64> {
        self.series
            .values()
            .filter(|s| s.tenant == tenant)
            .map(|s| s.id)
            .collect()
    }

    /// Samples accepted since the last checkpoint.
    pub fn unflushed_samples(&self) -> usize {
        self.unflushed
    }

    /// Appends an accepted sample; a full chunk, or a sample on a new UTC day, closes the open
    /// chunk first, so no chunk crosses a day partition.
    pub fn append(&mut self, id: i64, timestamp: i64, value: f64) -> Result<bool, AppendError> {
        let sequence = self.sequence;
        let Some(series) = self.series.get_mut(&id) else {
            return Ok(false);
        };
        if !check_sample(series.last, timestamp, value)? {
            return Ok(false);
        }
        if let Some(open) = &series.open {
            if must_close(open.encoder.len(), open.start, timestamp) {
                let open = series.open.take().expect("checked above");
                series.closed.push((sequence, open.to_chunk()));
            }
        }
        let open = series.open.get_or_insert_with(|| OpenChunk {
            start: timestamp,
            end: timestamp,
            encoder: ChunkEncoder::new(),
            dirty: false,
        });
        open.encoder.append(timestamp, value)?;
        open.end = timestamp;
        open.dirty = true;
        series.last = Some((timestamp, Some(value.to_bits())));
        series.last_ts_dirty = true;
        series.touched = Instant::now();
        self.unflushed += 1;
        Ok(true)
    }

    /// Copies what the next checkpoint writes: closed chunks, and open chunks appended to since
    /// the last one (they are written again, replacing the row, each time they grow).
    pub fn snapshot(&mut self) -> Snapshot {
        let sequence = self.sequence;
        self.sequence += 1;
        self.unflushed = 0;
        let mut chunks = Vec::new();
        let mut last_timestamps = Vec::new();
        for series in self.series.values_mut() {
            chunks.extend(
                series
                    .closed
                    .iter()
                    .map(|(_, chunk)| (series.id, chunk.clone())),
            );
            if let Some(open) = series.open.as_mut().filter(|o| o.dirty) {
                chunks.push((series.id, open.to_chunk()));
                open.dirty = false;
            }
            if series.last_ts_dirty {
                if let Some((t, _)) = series.last {
                    last_timestamps.push((series.id, t));
                }
                series.last_ts_dirty = false;
            }
        }
        Snapshot {
            chunks,
            last_timestamps,
            sequence,
        }
    }

    /// After a checkpoint committed: drops the closed chunks it wrote and forgets series idle
    /// for longer than `idle` whose samples are all stored.
    pub fn release(&mut self, sequence: u64, idle: Duration) {
        let mut gone = Vec::new();
        for series in self.series.values_mut() {
            series.closed.retain(|(s, _)| *s > sequence);
            let stored = series.closed.is_empty()
                && series.open.as_ref().is_none_or(|o| !o.dirty)
                && !series.last_ts_dirty;
            if stored && series.touched.elapsed() > idle {
                gone.push(series.id);
            }
        }
        for id in gone {
            if let Some(series) = self.series.remove(&id) {
                self.by_fingerprint
                    .remove(&(series.tenant, series.labels.fingerprint()));
                if let Some(count) = self.per_tenant.get_mut(&series.tenant) {
                    *count -= 1;
                }
            }
        }
    }

    /// The head's chunks of a series that overlap [start, end], oldest first.
    pub fn chunks(&self, id: i64, start: i64, end: i64) -> Vec<Chunk> {
        let Some(series) = self.series.get(&id) else {
            return Vec::new();
        };
        let mut chunks: Vec<Chunk> = series
            .closed
            .iter()
            .map(|(_, c)| c)
            .filter(|c| overlaps(c.start, c.end, start, end))
            .cloned()
            .collect();
        if let Some(open) = &series.open {
            if overlaps(open.start, open.end, start, end) {
                chunks.push(open.to_chunk());
            }
        }
        chunks
    }

    /// Whether the head holds samples of a series in [start, end] (without copying them).
    pub fn has_samples(&self, id: i64, start: i64, end: i64) -> bool {
        self.series.get(&id).is_some_and(|series| {
            series
                .closed
                .iter()
                .any(|(_, c)| overlaps(c.start, c.end, start, end))
                || series
                    .open
                    .as_ref()
                    .is_some_and(|open| overlaps(open.start, open.end, start, end))
        })
    }
}

/// Whether a chunk spanning [chunk_start, chunk_end] overlaps [start, end].
fn overlaps(chunk_start: i64, chunk_end: i64, start: i64, end: i64) -> bool {
    chunk_start <= end && chunk_end >= start
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chunk::ChunkIter;

    fn head_with_series() -> Head {
        let mut head = Head::default();
        let labels = Arc::new(Labels::new([("__name__", "up")]).unwrap());
        head.insert(HeadSeries::new(1, Uuid::nil(), labels, None));
        head
    }

    #[test]
    fn chunks_close_when_full_and_at_day_boundaries() {
        let mut head = head_with_series();
        for i in 0..(CHUNK_SAMPLES as i64 + 5) {
            head.append(1, i * 1000, i as f64).unwrap();
        }
        head.append(1, DAY_MS + 1, 1.0).unwrap();
        let chunks = head.chunks(1, i64::MIN, i64::MAX);
        let sizes: Vec<u32> = chunks.iter().map(|c| c.samples).collect();
        assert_eq!(sizes, vec![120, 5, 1]);
        assert!(chunks.iter().all(|c| day_of(c.start) == day_of(c.end)));
        let all: Vec<(i64, f64)> = chunks
            .iter()
            .flat_map(|c| ChunkIter::new(&c.data).collect::<Vec<_>>())
            .collect();
        assert_eq!(all.len(), 126);
    }

    #[test]
    fn prometheus_rules_for_old_and_repeated_samples() {
        let mut head = head_with_series();
        assert_eq!(head.append(1, 10, 1.0), Ok(true));
        assert_eq!(head.append(1, 10, 1.0), Ok(false));
        assert_eq!(
            head.append(1, 10, 2.0),
            Err(AppendError::Duplicate { timestamp: 10 })
        );
        assert_eq!(
            head.append(1, 5, 2.0),
            Err(AppendError::OutOfOrder {
                timestamp: 5,
                last: 10
            })
        );
        assert_eq!(head.chunks(1, 0, 100)[0].samples, 1);
    }

    #[test]
    fn a_checkpoint_releases_closed_chunks_and_rewrites_grown_open_ones() {
        let mut head = head_with_series();
        for i in 0..130 {
            head.append(1, i, 0.0).unwrap();
        }
        let snapshot = head.snapshot();
        assert_eq!(snapshot.chunks.len(), 2);
        assert_eq!(snapshot.last_timestamps, vec![(1, 129)]);
        head.release(snapshot.sequence, Duration::from_secs(3600));
        assert_eq!(
            head.chunks(1, 0, 1000).len(),
            1,
            "only the open chunk stays"
        );
        assert!(head.snapshot().chunks.is_empty(), "nothing new to write");
        head.append(1, 200, 0.0).unwrap();
        assert_eq!(head.snapshot().chunks[0].1.samples, 11);
    }
}
