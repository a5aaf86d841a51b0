//! `server bench query`: the same day of data in an in-process Meridian (loaded into chunk rows,
//! as `server import` does) and in Debian's Prometheus (TSDB blocks from `promtool tsdb
//! create-blocks-from openmetrics`), then dashboard-like queries against both over HTTP, taking
//! turns, in one run: p50/p95 latency of each and the ratio. Every answer pair is compared
//! first, so the timings are of equal results.

use std::{
    io::{BufWriter, Write as _},
    path::Path,
    process::Command,
    time::{Duration, Instant},
};

use anyhow::{bail, Context as _};
use serde_json::Value;

use super::{millis, percentile, start_prometheus, tempfile_dir, Meridian};
use crate::settings::Settings;
use app::ssr::scope::TokenScope;
use store::{Labels, SeriesSamples};

pub struct Options {
    pub series: usize,
    pub hours: u32,
    /// Steps of each range query.
    pub steps: usize,
    /// Times each query is run against each side.
    pub runs: usize,
    pub prometheus: String,
    pub promtool: String,
}

const STEP_MS: i64 = 15_000;
/// Histogram bucket bounds of the latency family; 10 instances of it = 100 series.
const BOUNDS: [&str; 10] = [
    "0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1", "2.5", "+Inf",
];
const HISTOGRAM_INSTANCES: usize = 10;

/// The data set: `series - 100` request counters over 100 instances (one in ten a `code="500"`
/// series) and a 100-series classic histogram, one sample every 15 s for `hours`. Calls `emit`
/// with each series and its samples.
fn dataset(
    series: usize,
    start: i64,
    end: i64,
    mut emit: impl FnMut(Vec<(&str, String)>, Vec<(i64, f64)>),
) {
    let times: Vec<i64> = (0..)
        .map(|i| start + i * STEP_MS)
        .take_while(|t| *t <= end)
        .collect();
    let counters = series.saturating_sub(BOUNDS.len() * HISTOGRAM_INSTANCES);
    for s in 0..counters {
        let mut value = 0.0;
        let samples = times
            .iter()
            .enumerate()
            .map(|(i, t)| {
                // Each instance at its own pace, so topk's choice is not left to ties.
                value += (1 + (s * 7 + i * 13) % 5) as f64 + (s % 100) as f64 * 0.01;
                (*t, value)
            })
            .collect();
        let code = if s % 10 == 0 { "500" } else { "200" };
        emit(
            vec![
                ("__name__", "bench_requests_total".into()),
                ("code", code.into()),
                ("instance", format!("host-{}", s % 100)),
                ("job", "api".into()),
                ("series", s.to_string()),
            ],
            samples,
        );
    }
    for instance in 0..HISTOGRAM_INSTANCES {
        for le in BOUNDS {
            let bound: f64 = if le == "+Inf" {
                f64::INFINITY
            } else {
                le.parse().unwrap()
            };
            let mut value = 0.0;
            let samples = times
                .iter()
                .enumerate()
                .map(|(i, t)| {
                    // 20 observations a scrape, exponentially distributed with a mean that
                    // drifts through the day: cumulative counts rise with the bound.
                    let mean = 0.1 * (1.5 + ((i as f64) / 240.0 + instance as f64).sin());
                    let share = if bound.is_infinite() {
                        1.0
                    } else {
                        1.0 - (-bound / mean).exp()
                    };
                    value += (20.0 * share).floor();
                    (*t, value)
                })
                .collect();
            emit(
                vec![
                    ("__name__", "bench_request_duration_seconds_bucket".into()),
                    ("instance", format!("host-{instance}")),
                    ("job", "api".into()),
                    ("le", le.to_string()),
                ],
                samples,
            );
        }
    }
}

/// Loads the data set into Meridian, a few hundred series a transaction.
async fn load_meridian(
    meridian: &Meridian,
    series: usize,
    start: i64,
    end: i64,
) -> anyhow::Result<usize> {
    let mut all = Vec::new();
    dataset(series, start, end, |labels, samples| {
        all.push(SeriesSamples {
            labels: Labels::new(labels).expect("the benchmark's labels are valid"),
            samples,
        })
    });
    let mut samples = 0;
    while !all.is_empty() {
        let batch: Vec<SeriesSamples> = all.drain(..all.len().min(500)).collect();
        let (stats, outcome) = meridian
            .store
            .import(meridian.tenant, batch)
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        if let Some(summary) = outcome.summary() {
            bail!("Meridian refused samples: {summary}");
        }
        samples += stats.samples;
    }
    Ok(samples)
}

/// Writes the data set as OpenMetrics and turns it into TSDB blocks under `data`.
fn load_prometheus(
    promtool: &str,
    dir: &Path,
    series: usize,
    start: i64,
    end: i64,
) -> anyhow::Result<()> {
    let text = dir.join("data.om");
    let mut out = BufWriter::new(std::fs::File::create(&text)?);
    let mut failed = None;
    dataset(series, start, end, |labels, samples| {
        let name = &labels[0].1;
        let rest: Vec<String> = labels[1..]
            .iter()
            .map(|(n, v)| format!("{n}=\"{v}\""))
            .collect();
        for (t, v) in samples {
            if let Err(e) = writeln!(out, "{name}{{{}}} {v} {}", rest.join(","), t / 1000) {
                failed.get_or_insert(e);
            }
        }
    });
    if let Some(e) = failed {
        return Err(e.into());
    }
    writeln!(out, "# EOF")?;
    out.flush()?;
    drop(out);
    let output = Command::new(promtool)
        .args([
            "tsdb",
            "create-blocks-from",
            "openmetrics",
            "--max-block-duration=24h",
        ])
        .arg(&text)
        .arg(dir.join("data"))
        .output()
        .with_context(|| format!("running {promtool} (apt-get install prometheus)"))?;
    if !output.status.success() {
        bail!(
            "promtool failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    std::fs::remove_file(&text)?;
    Ok(())
}

struct Side {
    name: &'static str,
    base: String,
    token: Option<String>,
}

impl Side {
    async fn query(
        &self,
        client: &reqwest::Client,
        form: &[(&str, String)],
    ) -> anyhow::Result<(Duration, Value)> {
        let path = if form.iter().any(|(n, _)| *n == "step") {
            "query_range"
        } else {
            "query"
        };
        let mut request = client
            .post(format!("{}/api/v1/{path}", self.base))
            .form(form);
        if let Some(token) = &self.token {
            request = request.bearer_auth(token);
        }
        let started = Instant::now();
        let response = request.send().await?;
        let status = response.status();
        let body: Value = response.json().await?;
        let took = started.elapsed();
        if !status.is_success() {
            bail!("{} answered {status}: {body}", self.name);
        }
        Ok((took, body))
    }
}

/// Differences between two answers' results (series compared by labels, values with
/// Prometheus' tolerance); empty when equal.
pub(crate) fn differences(expected: &Value, actual: &Value) -> Vec<String> {
    let index = |v: &Value| -> std::collections::BTreeMap<String, Vec<Value>> {
        v["data"]["result"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|s| {
                let points = match s.get("values") {
                    Some(values) => values.as_array().cloned().unwrap_or_default(),
                    None => vec![s["value"].clone()],
                };
                (s["metric"].to_string(), points)
            })
            .collect()
    };
    let (e, a) = (index(expected), index(actual));
    let mut found = Vec::new();
    if e.len() != a.len() {
        found.push(format!("{} series, expected {}", a.len(), e.len()));
    }
    for (labels, points) in &e {
        let Some(other) = a.get(labels) else {
            found.push(format!("missing {labels}"));
            continue;
        };
        let number = |p: &Value| {
            p[1].as_str()
                .and_then(|v| v.parse::<f64>().ok())
                .unwrap_or(f64::NAN)
        };
        if points.len() != other.len() {
            found.push(format!(
                "{labels}: {} points, expected {}",
                other.len(),
                points.len()
            ));
            continue;
        }
        let differs = points.iter().zip(other).find(|(p, q)| {
            let (x, y) = (number(p), number(q));
            let close = x == y
                || (x.is_nan() && y.is_nan())
                || ((x - y).abs() / (x.abs() + y.abs())) < 1e-6;
            p[0] != q[0] || !close
        });
        if let Some((p, q)) = differs {
            found.push(format!("{labels}: expected {p}, got {q}"));
        }
    }
    found
}

pub async fn run(settings: &Settings, pool: &sqlx::PgPool, options: Options) -> anyhow::Result<()> {
    if options.series <= BOUNDS.len() * HISTOGRAM_INSTANCES
        || options.steps == 0
        || options.runs == 0
        || options.hours == 0
    {
        bail!("--series must be over 100; --steps, --runs and --hours at least 1");
    }
    let scratch = tempfile_dir()?;
    let meridian = Meridian::start(settings, pool, &scratch, TokenScope::Read).await?;
    let end = chrono::Utc::now().timestamp_millis() / STEP_MS * STEP_MS;
    let start = end - options.hours as i64 * 3_600_000;
    // The data begin 10 minutes before the span queried, as on a dashboard of a running
    // system (Prometheus 2.42 and 2.51+ extrapolate rate() differently right at a series' start).
    let first = start - 600_000;

    let began = Instant::now();
    let samples = load_meridian(&meridian, options.series, first, end).await?;
    eprintln!(
        "Meridian: {samples} samples in {:.0} s",
        began.elapsed().as_secs_f64()
    );
    let began = Instant::now();
    let dir = scratch.join("prometheus");
    std::fs::create_dir_all(&dir)?;
    load_prometheus(&options.promtool, &dir, options.series, first, end)?;
    eprintln!(
        "Prometheus: blocks written in {:.0} s",
        began.elapsed().as_secs_f64()
    );
    let prometheus = start_prometheus(&options.prometheus, &dir).await?;

    let sides = [
        Side {
            name: "Meridian",
            base: format!("http://127.0.0.1:{}", meridian.port),
            token: Some(meridian.token.clone()),
        },
        Side {
            name: "Prometheus",
            base: format!("http://127.0.0.1:{}", prometheus.port),
            token: None,
        },
    ];
    let step = format!("{}ms", (end - start) / options.steps as i64);
    let seconds = |ms: i64| format!("{}", ms as f64 / 1000.0);
    let range = |query: &str| {
        vec![
            ("query", query.to_string()),
            ("start", seconds(start)),
            ("end", seconds(end)),
            ("step", step.clone()),
        ]
    };
    let counters = options.series - BOUNDS.len() * HISTOGRAM_INSTANCES;
    let queries: Vec<(String, Vec<(&str, String)>)> = vec![
        (format!("sum by (instance) (rate(bench_requests_total[5m])), {counters} series"), range("sum by (instance) (rate(bench_requests_total[5m]))")),
        ("sum by (code) (rate(bench_requests_total{instance=\"host-7\"}[5m])), 1 host".into(), range("sum by (code) (rate(bench_requests_total{instance=\"host-7\"}[5m]))")),
        ("histogram_quantile(0.99, sum by (le) (rate(…_bucket[5m]))), 100 series".into(), range("histogram_quantile(0.99, sum by (le) (rate(bench_request_duration_seconds_bucket[5m])))")),
        ("topk(5, sum by (instance) (rate(…{code=\"500\"}[5m]))), 10 %".into(), range("topk(5, sum by (instance) (rate(bench_requests_total{code=\"500\"}[5m])))")),
        ("instant: sum by (instance) (increase(…[1h])), all".into(), vec![("query", "sum by (instance) (increase(bench_requests_total[1h]))".into()), ("time", seconds(end))]),
    ];

    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(600))
        .build()?;
    println!(
        "{} series × {} h at 15 s ({samples} samples a side), range queries of {} steps, {} runs each, taking turns",
        options.series, options.hours, options.steps, options.runs
    );
    println!(
        "| query | Meridian p50 ms | p95 ms | Prometheus p50 ms | p95 ms | p50 ratio | p95 ratio |"
    );
    println!("|---|---|---|---|---|---|---|");
    for (title, form) in &queries {
        let (_, expected) = sides[1].query(&client, form).await?;
        let (_, actual) = sides[0].query(&client, form).await?;
        let diff = differences(&expected, &actual);
        if !diff.is_empty() {
            bail!(
                "{title}: Meridian's answer differs from Prometheus': {}",
                diff[..diff.len().min(5)].join("; ")
            );
        }
        let mut took: [Vec<Duration>; 2] = [Vec::new(), Vec::new()];
        for _ in 0..options.runs {
            for (i, side) in sides.iter().enumerate() {
                took[i].push(side.query(&client, form).await?.0);
            }
        }
        for t in &mut took {
            t.sort();
        }
        let (m50, m95) = (
            millis(percentile(&took[0], 0.5)),
            millis(percentile(&took[0], 0.95)),
        );
        let (p50, p95) = (
            millis(percentile(&took[1], 0.5)),
            millis(percentile(&took[1], 0.95)),
        );
        println!(
            "| {title} | {m50:.0} | {m95:.0} | {p50:.0} | {p95:.0} | {:.2} | {:.2} |",
            m50 / p50,
            m95 / p95
        );
    }
    drop(prometheus);
    let _ = std::fs::remove_dir_all(&scratch);
    Ok(())
}
