//! The read side: a series' samples in a time range, merged from stored chunks, the head and
//! the log rows of other replicas, in time order without duplicates.

use std::{
    collections::{HashMap, HashSet},
    iter::Peekable,
    sync::Arc,
};

use sqlx::PgPool;
use uuid::Uuid;

use crate::{chunk::ChunkIter, head::Chunk, labels::Labels, wal};

/// One selected series: its labels and the sources of its samples in [start, end].
#[derive(Clone, Debug)]
pub struct Series {
    pub id: i64,
    pub labels: Labels,
    start: i64,
    end: i64,
    chunks: Vec<Chunk>,
    loose: Vec<(i64, f64)>,
}

impl Series {
    pub(crate) fn new(
        id: i64,
        labels: Labels,
        start: i64,
        end: i64,
        mut chunks: Vec<Chunk>,
        mut loose: Vec<(i64, f64)>,
    ) -> Self {
        chunks.sort_by_key(|c| c.start);
        loose.sort_by_key(|(t, _)| *t);
        Series {
            id,
            labels,
            start,
            end,
            chunks,
            loose,
        }
    }

    /// About as many samples as [`Series::samples`] gives (room to reserve before decoding):
    /// each chunk's count in proportion to the part of its time span inside [start, end], so
    /// a ten-minute read of day-long chunks does not reserve the whole day.
    pub fn samples_estimate(&self) -> usize {
        let (start, end) = (self.start, self.end);
        self.chunks
            .iter()
            .map(|c| {
                let span = (c.end - c.start + 1).max(1);
                let inside = (c.end.min(end) - c.start.max(start) + 1).clamp(0, span);
                (c.samples as i64 * inside / span) as usize + 1
            })
            .sum::<usize>()
            + self.loose.len()
    }

    /// The samples in [start, end], oldest first; where sources overlap (a chunk rewritten
    /// while the head still holds it, another replica's log), each timestamp appears once.
    pub fn samples(&self) -> Samples<'_> {
        // The common case: stored chunks one after another and nothing else. They are read in
        // turn; merging is for overlapping sources only (it compares every source per sample).
        let disjoint =
            self.loose.is_empty() && self.chunks.windows(2).all(|w| w[0].end < w[1].start);
        if disjoint {
            return Samples {
                kind: Kind::Sequential {
                    chunks: self.chunks.iter(),
                    current: None,
                },
                start: self.start,
                end: self.end,
            };
        }
        let mut sources: Vec<Peekable<Source<'_>>> = self
            .chunks
            .iter()
            .map(|c| Source::Chunk(ChunkIter::new(&c.data)).peekable())
            .collect();
        if !self.loose.is_empty() {
            sources.push(Source::Loose(self.loose.iter()).peekable());
        }
        Samples {
            kind: Kind::Merge(sources),
            start: self.start,
            end: self.end,
        }
    }
}

enum Source<'a> {
    Chunk(ChunkIter<'a>),
    Loose(std::slice::Iter<'a, (i64, f64)>),
}

impl Iterator for Source<'_> {
    type Item = (i64, f64);

    fn next(&mut self) -> Option<(i64, f64)> {
        match self {
            Source::Chunk(iter) => iter.next(),
            Source::Loose(iter) => iter.next().copied(),
        }
    }
}

pub struct Samples<'a> {
    kind: Kind<'a>,
    start: i64,
    end: i64,
}

enum Kind<'a> {
    Sequential {
        chunks: std::slice::Iter<'a, Chunk>,
        current: Option<ChunkIter<'a>>,
    },
    Merge(Vec<Peekable<Source<'a>>>),
}

impl Iterator for Samples<'_> {
    type Item = (i64, f64);

    fn next(&mut self) -> Option<(i64, f64)> {
        loop {
            let sample = match &mut self.kind {
                Kind::Sequential { chunks, current } => {
                    match current.as_mut().and_then(Iterator::next) {
                        Some(sample) => sample,
                        None => {
                            *current = Some(ChunkIter::new(&chunks.next()?.data));
                            continue;
                        }
                    }
                }
                Kind::Merge(sources) => merge_next(sources)?,
            };
            if sample.0 > self.end {
                return None;
            }
            if sample.0 >= self.start {
                return Some(sample);
            }
        }
    }
}

/// The oldest sample of all sources; every source's sample at that time is consumed with it.
fn merge_next(sources: &mut [Peekable<Source<'_>>]) -> Option<(i64, f64)> {
    let mut best: Option<(usize, i64)> = None;
    for (i, source) in sources.iter_mut().enumerate() {
        if let Some(&(t, _)) = source.peek() {
            if best.is_none_or(|(_, b)| t < b) {
                best = Some((i, t));
            }
        }
    }
    let (index, timestamp) = best?;
    let sample = sources[index].next()?;
    for source in sources.iter_mut() {
        while source.peek().is_some_and(|&(t, _)| t == timestamp) {
            source.next();
        }
    }
    Some(sample)
}

/// Log rows of other replicas, decoded, so a sample another replica acknowledged is visible
/// here before that replica's next checkpoint turns it into chunks.
#[derive(Default)]
pub(crate) struct ForeignLog {
    rows: HashMap<i64, Arc<HashMap<i64, Vec<(i64, f64)>>>>,
}

impl ForeignLog {
    /// Drops rows that were checkpointed (their samples are chunks now) and loads new ones.
    pub async fn catch_up(&mut self, pool: &PgPool, writer: Uuid) -> Result<(), sqlx::Error> {
        let ids: Vec<(i64,)> =
            sqlx::query_as("select id from metric_ingest_log where writer <> $1")
                .bind(writer)
                .fetch_all(pool)
                .await?;
        let present: HashSet<i64> = ids.into_iter().map(|(id,)| id).collect();
        self.rows.retain(|id, _| present.contains(id));
        let new: Vec<i64> = present
            .into_iter()
            .filter(|id| !self.rows.contains_key(id))
            .collect();
        if new.is_empty() {
            return Ok(());
        }
        let bodies: Vec<(i64, Vec<u8>)> =
            sqlx::query_as("select id, body from metric_ingest_log where id = any($1)")
                .bind(&new)
                .fetch_all(pool)
                .await?;
        for (id, body) in bodies {
            match wal::decode(&body) {
                Ok(entries) => {
                    self.rows
                        .insert(id, Arc::new(entries.into_iter().collect()));
                }
                Err(error) => {
                    tracing::error!(log_id = id, error = %error, "Skipping a corrupt ingest log row.")
                }
            }
        }
        Ok(())
    }

    pub fn samples(&self, series: i64, start: i64, end: i64) -> Vec<(i64, f64)> {
        self.in_range(series, start, end).collect()
    }

    /// Whether other replicas' logs hold a sample of `series` in [start, end].
    pub fn has_samples(&self, series: i64, start: i64, end: i64) -> bool {
        self.in_range(series, start, end).next().is_some()
    }

    fn in_range(&self, series: i64, start: i64, end: i64) -> impl Iterator<Item = (i64, f64)> + '_ {
        self.rows
            .values()
            .filter_map(move |row| row.get(&series))
            .flat_map(move |samples| {
                samples
                    .iter()
                    .copied()
                    .filter(move |(t, _)| *t >= start && *t <= end)
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chunk::ChunkEncoder;

    fn chunk(samples: &[(i64, f64)]) -> Chunk {
        let mut encoder = ChunkEncoder::new();
        for &(t, v) in samples {
            encoder.append(t, v).unwrap();
        }
        Chunk {
            start: samples[0].0,
            end: samples.last().unwrap().0,
            samples: samples.len() as u32,
            data: encoder.encode(),
        }
    }

    #[test]
    fn merges_overlapping_sources_in_order_once_each_within_the_range() {
        let stored = chunk(&[(10, 1.0), (20, 2.0), (30, 3.0)]);
        let rewritten = chunk(&[(10, 1.0), (20, 2.0), (30, 3.0), (40, 4.0)]);
        let later = chunk(&[(50, 5.0), (60, 6.0)]);
        let series = Series::new(
            1,
            Labels::default(),
            20,
            55,
            vec![later, stored, rewritten],
            vec![(45, 4.5), (50, 5.0)],
        );
        let samples: Vec<(i64, f64)> = series.samples().collect();
        assert_eq!(
            samples,
            vec![(20, 2.0), (30, 3.0), (40, 4.0), (45, 4.5), (50, 5.0)]
        );
    }
}
