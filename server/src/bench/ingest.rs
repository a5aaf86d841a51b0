//! `server bench ingest`: the same remote_write load against an in-process Meridian and against
//! Debian's Prometheus (`--web.enable-remote-write-receiver`), in one run on one machine:
//! acknowledged samples/s and request latency at full speed, p99 at half of Meridian's maximum
//! rate, and bytes per sample on disk after compaction (Meridian: PostgreSQL relation sizes of
//! the metric tables after a checkpoint; Prometheus: a TSDB snapshot, i.e. the head written as
//! a block).

use std::{
    path::Path,
    time::{Duration, Instant},
};

use anyhow::{bail, Context as _};
use tokio::task::JoinSet;

use super::{millis, percentile, start_prometheus, tempfile_dir, Meridian};
use crate::{
    ingest::remote_write::{encode, Label, Sample, TimeSeries, WriteRequest},
    settings::Settings,
};
use app::ssr::scope::TokenScope;

pub struct Options {
    pub series: usize,
    pub samples: usize,
    pub batch: usize,
    pub concurrency: usize,
    pub prometheus: String,
}

struct Target {
    name: &'static str,
    url: String,
    token: Option<String>,
}

struct Measured {
    samples: usize,
    seconds: f64,
    p50: f64,
    p99: f64,
    failed: usize,
}

/// Request bodies per sender, in the order it sends them: sender `w` owns the series blocks
/// `b` with `b % concurrency == w`, round after round, so each series' samples arrive in order.
fn workload(options: &Options, metric: &str, start_ms: i64) -> Vec<Vec<(usize, Vec<u8>)>> {
    let blocks = options.series.div_ceil(options.batch);
    let mut senders: Vec<Vec<(usize, Vec<u8>)>> = vec![Vec::new(); options.concurrency];
    for round in 0..options.samples {
        let timestamp = start_ms + round as i64 * 15_000;
        for block in 0..blocks {
            let series = (block * options.batch)..((block + 1) * options.batch).min(options.series);
            let count = series.len();
            let timeseries = series
                .map(|s| {
                    let label = |n: &str, v: String| Label {
                        name: n.into(),
                        value: v,
                    };
                    // A counter that grows by a little each scrape, like most real series.
                    let value = (round * (1 + s % 7)) as f64 + (s % 3) as f64 * 0.5;
                    TimeSeries {
                        labels: vec![
                            label("__name__", metric.to_string()),
                            label("instance", format!("host-{}:9100", s / 100)),
                            label("job", "node".into()),
                            label("series", s.to_string()),
                        ],
                        samples: vec![Sample { value, timestamp }],
                        histograms: vec![],
                    }
                })
                .collect();
            let body = encode(&WriteRequest {
                timeseries,
                metadata: vec![],
            });
            senders[block % options.concurrency].push((count, body));
        }
    }
    senders
}

/// Sends every body; `rate` (samples/s, all senders together) paces them when given.
async fn send(target: &Target, senders: Vec<Vec<(usize, Vec<u8>)>>, rate: Option<f64>) -> Measured {
    let client = reqwest::Client::new();
    let started = Instant::now();
    let share = rate.map(|r| r / senders.len() as f64);
    let mut workers = JoinSet::new();
    for bodies in senders {
        let (client, url, token) = (client.clone(), target.url.clone(), target.token.clone());
        workers.spawn(async move {
            let mut latencies = Vec::with_capacity(bodies.len());
            let (mut sent, mut failed) = (0usize, 0usize);
            for (count, body) in bodies {
                if let Some(share) = share {
                    let due = started + Duration::from_secs_f64(sent as f64 / share);
                    tokio::time::sleep_until(due.into()).await;
                }
                let mut request = client
                    .post(&url)
                    .header("Content-Encoding", "snappy")
                    .header("Content-Type", "application/x-protobuf")
                    .header("X-Prometheus-Remote-Write-Version", "0.1.0")
                    .body(body);
                if let Some(token) = &token {
                    request = request.bearer_auth(token);
                }
                let begun = Instant::now();
                let ok = request.send().await.is_ok_and(|r| r.status().is_success());
                latencies.push(begun.elapsed());
                sent += count;
                if !ok {
                    failed += count;
                }
            }
            (sent, failed, latencies)
        });
    }
    let (mut samples, mut failed, mut latencies) = (0, 0, Vec::new());
    while let Some(result) = workers.join_next().await {
        let (s, f, l) = result.expect("a sender panicked");
        samples += s;
        failed += f;
        latencies.extend(l);
    }
    let seconds = started.elapsed().as_secs_f64();
    latencies.sort();
    Measured {
        samples: samples - failed,
        seconds,
        p50: millis(percentile(&latencies, 0.5)),
        p99: millis(percentile(&latencies, 0.99)),
        failed,
    }
}

fn directory_size(path: &Path) -> u64 {
    std::fs::read_dir(path)
        .map(|entries| {
            entries
                .flatten()
                .map(|e| match e.metadata() {
                    Ok(m) if m.is_dir() => directory_size(&e.path()),
                    Ok(m) => m.len(),
                    Err(_) => 0,
                })
                .sum()
        })
        .unwrap_or(0)
}

pub async fn run(settings: &Settings, pool: &sqlx::PgPool, options: Options) -> anyhow::Result<()> {
    if options.concurrency == 0 || options.batch == 0 || options.series == 0 || options.samples == 0
    {
        bail!("--series, --samples, --batch and --concurrency must be at least 1");
    }
    let scratch = tempfile_dir()?;
    let meridian = Meridian::start(settings, pool, &scratch, TokenScope::Ingest).await?;
    let (port, store, token) = (meridian.port, meridian.store, meridian.token);
    let mut targets = vec![Target {
        name: "Meridian",
        url: format!("http://127.0.0.1:{port}/api/v1/write"),
        token: Some(token),
    }];
    let prometheus = if options.prometheus.is_empty() {
        None
    } else {
        let p = start_prometheus(&options.prometheus, &scratch.join("prometheus")).await?;
        targets.push(Target {
            name: "Prometheus",
            url: format!("http://127.0.0.1:{}/api/v1/write", p.port),
            token: None,
        });
        Some(p)
    };

    let total = options.series * options.samples;
    eprintln!(
        "{} series × {} samples = {total} samples a run, {} a request, {} senders",
        options.series, options.samples, options.batch, options.concurrency
    );
    let start_ms = chrono::Utc::now().timestamp_millis() - options.samples as i64 * 15_000;
    let mut full = Vec::new();
    for target in &targets {
        let load = workload(&options, "bench_full_total", start_ms);
        let measured = send(target, load, None).await;
        eprintln!(
            "{}: {:.0} samples/s",
            target.name,
            measured.samples as f64 / measured.seconds
        );
        full.push(measured);
    }
    let half_rate = full[0].samples as f64 / full[0].seconds / 2.0;
    let mut half = Vec::new();
    for target in &targets {
        let load = workload(&options, "bench_half_total", start_ms);
        half.push(send(target, load, Some(half_rate)).await);
    }

    // Bytes per sample after compaction, both runs' samples on each side.
    store
        .checkpoint()
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    // PostgreSQL's compaction: the checkpoint's updates and deletes leave dead tuples that
    // VACUUM reclaims (FULL rewrites the series table, like a compacted block).
    for statement in [
        "vacuum full metric_series",
        "vacuum metric_ingest_log",
        "vacuum metric_chunk",
    ] {
        sqlx::query(statement).execute(pool).await?;
    }
    let meridian_bytes: i64 = sqlx::query_scalar(
        "select (select coalesce(sum(pg_total_relation_size(relid)), 0) from pg_partition_tree('metric_chunk'))::bigint
              + pg_total_relation_size('metric_series') + pg_total_relation_size('metric_ingest_log')",
    )
    .fetch_one(pool)
    .await?;
    let stored: i64 =
        sqlx::query_scalar("select coalesce(sum(samples), 0)::bigint from metric_chunk")
            .fetch_one(pool)
            .await?;
    let mut sizes = vec![(meridian_bytes as f64, stored as f64)];
    if let Some(p) = &prometheus {
        let client = reqwest::Client::new();
        let answer: serde_json::Value = client
            .post(format!(
                "http://127.0.0.1:{}/api/v1/admin/tsdb/snapshot",
                p.port
            ))
            .send()
            .await?
            .json()
            .await?;
        let snapshot = answer["data"]["name"]
            .as_str()
            .context("Prometheus answered no snapshot name")?;
        let bytes = directory_size(&p.data.join("snapshots").join(snapshot));
        let samples = (full[1].samples + half[1].samples) as f64;
        sizes.push((bytes as f64, samples));
    }

    println!("| target | samples/s | p50 ms | p99 ms | failed | p99 ms at {:.0} samples/s | bytes/sample on disk |", half_rate);
    println!("|---|---|---|---|---|---|---|");
    for (i, target) in targets.iter().enumerate() {
        let (f, h, (bytes, samples)) = (&full[i], &half[i], sizes[i]);
        println!(
            "| {} | {:.0} | {:.1} | {:.1} | {} | {:.1} | {:.2} |",
            target.name,
            f.samples as f64 / f.seconds,
            f.p50,
            f.p99,
            f.failed + h.failed,
            h.p99,
            bytes / samples.max(1.0)
        );
    }
    if targets.len() == 2 {
        let rate = |m: &Measured| m.samples as f64 / m.seconds;
        println!(
            "\nMeridian / Prometheus: throughput {:.2}, p99 at half rate {:.2}, bytes per sample {:.2}",
            rate(&full[0]) / rate(&full[1]),
            half[0].p99 / half[1].p99,
            (sizes[0].0 / sizes[0].1) / (sizes[1].0 / sizes[1].1)
        );
    }
    let _ = std::fs::remove_dir_all(&scratch);
    Ok(())
}
