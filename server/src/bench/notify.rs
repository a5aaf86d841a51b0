//! `server bench notify`: notification latency and throughput, Meridian against Debian's
//! Prometheus + Alertmanager 0.25 on the same load, in the same window.
//!
//! Latency: the alert-rules benchmark's rule groups (`--groups` × 10 rules, 1 m interval) over
//! the same week of data in both; each routes every alert to a local webhook receiver, grouped
//! by alert name and rule group, with no group_wait (so only the machinery is measured). For
//! each first notification of a group: its arrival minus the alert's `startsAt` (the evaluation
//! that fired it). Throughput: `--alerts` alerts, each its own group, posted at once to
//! `/api/v2/alerts` of both; the time until the receiver has every notification.

use std::{
    collections::BTreeMap,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use anyhow::{bail, Context as _};
use serde_json::{json, Value};

use super::{dashboards::blocks, free_port, start_prometheus_with, tempfile_dir, Meridian};
use crate::settings::Settings;
use app::ssr::{
    request::RequestMeta,
    scope::{Scope, TokenScope},
};

pub struct Options {
    pub groups: usize,
    pub alerts: usize,
    /// Seconds to collect first notifications for, once both are evaluating.
    pub seconds: u64,
    pub prometheus: String,
    pub promtool: String,
    pub alertmanager: String,
}

const STEP_MS: i64 = 60_000;
const DAYS: i64 = 7;

/// What the receiver got: path → (arrival ms, body).
type Received = Arc<Mutex<Vec<(String, i64, Value)>>>;

async fn receiver() -> anyhow::Result<(u16, Received)> {
    let got: Received = Arc::default();
    let keep = got.clone();
    let handler = move |uri: axum::http::Uri, body: axum::body::Bytes| {
        let keep = keep.clone();
        async move {
            let now = chrono::Utc::now().timestamp_millis();
            let body = serde_json::from_slice(&body).unwrap_or(Value::Null);
            keep.lock().unwrap().push((uri.path().to_string(), now, body));
            "ok"
        }
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let port = listener.local_addr()?.port();
    tokio::spawn(async move { axum::serve(listener, axum::Router::new().fallback(handler)).await });
    Ok((port, got))
}

fn config(port: u16, path: &str, group_by: &str, group_interval: &str) -> String {
    format!(
        "route:
  receiver: hook
  group_by: {group_by}
  group_wait: 0s
  group_interval: {group_interval}
  repeat_interval: 4h
receivers:
  - name: hook
    webhook_configs:
      - url: http://127.0.0.1:{port}/{path}
"
    )
}

struct Alertmanager {
    child: std::process::Child,
    port: u16,
}

impl Drop for Alertmanager {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn start_alertmanager(binary: &str, dir: &std::path::Path, config: &str) -> anyhow::Result<Alertmanager> {
    std::fs::create_dir_all(dir)?;
    std::fs::write(dir.join("alertmanager.yml"), config)?;
    let port = free_port()?;
    let child = std::process::Command::new(binary)
        .arg(format!("--config.file={}", dir.join("alertmanager.yml").display()))
        .arg(format!("--storage.path={}", dir.join("data").display()))
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .arg("--cluster.listen-address=")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .with_context(|| format!("starting {binary} (apt-get install prometheus-alertmanager)"))?;
    let am = Alertmanager { child, port };
    for _ in 0..200 {
        if reqwest::get(format!("http://127.0.0.1:{port}/-/ready")).await.is_ok_and(|r| r.status().is_success()) {
            return Ok(am);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    bail!("Alertmanager did not become ready")
}

/// The rules of the benchmark that fire without `for`: Prometheus sends an alert's `startsAt`
/// as the time it went pending, so only these start at the evaluation that fired them in both.
const WITHOUT_FOR: [&str; 3] = ["FailedLogins", "ToolErrors", "FewUsers"];

/// The first notification of each group at `path`: arrival minus the alerts' latest start (ms).
fn first_latencies(got: &Received, path: &str) -> Vec<f64> {
    let mut first: BTreeMap<String, f64> = BTreeMap::new();
    for (p, arrived, body) in got.lock().unwrap().iter() {
        let name = body["groupLabels"]["alertname"].as_str().unwrap_or_default();
        if p.trim_start_matches('/') != path || body["status"] != "firing" || !WITHOUT_FOR.contains(&name) {
            continue;
        }
        let key = body["groupKey"].as_str().unwrap_or_default().to_string();
        let started = body["alerts"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|a| chrono::DateTime::parse_from_rfc3339(a["startsAt"].as_str()?).ok())
            .map(|t| t.timestamp_millis())
            .max();
        if let Some(started) = started {
            first.entry(key).or_insert((*arrived - started) as f64);
        }
    }
    let mut values: Vec<f64> = first.into_values().collect();
    values.sort_by(f64::total_cmp);
    values
}

fn quantile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    sorted[((sorted.len() - 1) as f64 * q).round() as usize]
}

pub async fn run(settings: &Settings, pool: &sqlx::PgPool, options: Options) -> anyhow::Result<()> {
    if options.groups == 0 || options.alerts == 0 {
        bail!("--groups and --alerts must be at least 1");
    }
    let scratch = tempfile_dir()?;
    let (port, got) = receiver().await?;
    let meridian = Meridian::start(settings, pool, &scratch, TokenScope::Ingest).await?;
    let system = Scope::system(RequestMeta::default());

    // The rules benchmark's data and rules, in both.
    let end = chrono::Utc::now().timestamp_millis() / STEP_MS * STEP_MS;
    let points = (DAYS * 86_400_000 / STEP_MS) as usize;
    let series = crate::demo::metrics::generate("bench", end - (points as i64 - 1) * STEP_MS, STEP_MS, points);
    meridian.store.import(meridian.tenant, series.clone()).await.map_err(|e| anyhow::anyhow!("{e}"))?;
    let dir = scratch.join("prometheus");
    std::fs::create_dir_all(&dir)?;
    blocks(&options.promtool, &dir, &series)?;
    let rules = super::rules::rule_file(options.groups);
    std::fs::write(dir.join("rules.yml"), &rules)?;

    let group_by = "[alertname, bench_group]";
    let am = start_alertmanager(&options.alertmanager, &scratch.join("am"), &config(port, "am", group_by, "5m")).await?;
    app::notifications::repo::import(&system, pool, meridian.tenant, &config(port, "meridian", group_by, "5m"))
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let prometheus_config = format!(
        "global: {{scrape_interval: 15s, evaluation_interval: 1m}}
rule_files: [{}]
alerting: {{alertmanagers: [{{static_configs: [{{targets: ['127.0.0.1:{}']}}]}}]}}
scrape_configs: []
",
        dir.join("rules.yml").display(),
        am.port
    );
    let prometheus = start_prometheus_with(&options.prometheus, &dir, &prometheus_config).await?;
    app::alerting::repo::import(&system, pool, meridian.tenant, &rules, "benchmark")
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    println!(
        "latency: {} groups × 10 rules at 1m over {DAYS} days of data; collecting first notifications for {} s",
        options.groups, options.seconds
    );
    tokio::time::sleep(Duration::from_secs(options.seconds)).await;
    let (m, a) = (first_latencies(&got, "meridian"), first_latencies(&got, "am"));
    drop(prometheus);
    println!("| | first notifications | p50 | p99 | max |");
    println!("|---|---|---|---|---|");
    for (who, values) in [("Meridian", &m), ("Prometheus 2.42 + Alertmanager 0.25", &a)] {
        println!(
            "| {who} | {} | {:.2} s | {:.2} s | {:.2} s |",
            values.len(),
            quantile(values, 0.5) / 1000.0,
            quantile(values, 0.99) / 1000.0,
            values.last().copied().unwrap_or(f64::NAN) / 1000.0
        );
    }
    println!(
        "ratio Meridian / Alertmanager: p50 {:.2}, p99 {:.2}",
        quantile(&m, 0.5) / quantile(&a, 0.5),
        quantile(&m, 0.99) / quantile(&a, 0.99)
    );

    // Throughput: every alert its own group, posted at once to both.
    got.lock().unwrap().clear();
    let each = "['...']";
    std::fs::write(scratch.join("am").join("alertmanager.yml"), config(port, "am", each, "5m"))?;
    let client = reqwest::Client::new();
    let reload = client.post(format!("http://127.0.0.1:{}/-/reload", am.port)).send().await?;
    if !reload.status().is_success() {
        bail!("Alertmanager did not reload its configuration");
    }
    app::notifications::repo::import(&system, pool, meridian.tenant, &config(port, "meridian", each, "5m"))
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let alerts: Vec<Value> = (0..options.alerts)
        .map(|i| json!({"labels": {"alertname": "Throughput", "instance": format!("i-{i}")}, "annotations": {"summary": "bench"}}))
        .collect();
    println!("\nthroughput: {} alerts, each its own group, posted at once:", options.alerts);
    println!("| | all delivered in | notifications/s |");
    println!("|---|---|---|");
    let mut rates = Vec::new();
    for (who, url, token, path) in [
        ("Meridian", format!("http://127.0.0.1:{}/api/v2/alerts", meridian.port), Some(meridian.token.clone()), "meridian"),
        ("Alertmanager 0.25", format!("http://127.0.0.1:{}/api/v2/alerts", am.port), None, "am"),
    ] {
        let began = Instant::now();
        for chunk in alerts.chunks(500) {
            let mut request = client.post(&url).json(chunk);
            if let Some(token) = &token {
                request = request.bearer_auth(token);
            }
            let response = request.send().await?;
            if !response.status().is_success() {
                bail!("{who}: posting alerts answered {}", response.status());
            }
        }
        let count = || got.lock().unwrap().iter().filter(|(p, _, _)| p.trim_start_matches('/') == path).count();
        while count() < options.alerts {
            if began.elapsed() > Duration::from_secs(300) {
                bail!("{who}: only {} of {} notifications after 5 minutes", count(), options.alerts);
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let seconds = began.elapsed().as_secs_f64();
        rates.push(options.alerts as f64 / seconds);
        println!("| {who} | {seconds:.2} s | {:.0} |", options.alerts as f64 / seconds);
    }
    println!("ratio Meridian / Alertmanager: {:.2}", rates[0] / rates[1]);
    drop(am);
    let _ = std::fs::remove_dir_all(&scratch);
    Ok(())
}
