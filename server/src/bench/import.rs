//! `server bench import`: Grafana's Node Exporter Full (schema 41, about 120 panels in collapsed
//! rows) imported into a tenant holding node-exporter-like data generated for every metric the
//! dashboard reads, in an in-process Meridian. It times the import over the REST API, then the
//! dashboard's whole server-rendered page as a signed-in editor's browser gets it, with every
//! row expanded (Meridian draws the panels of collapsed rows too), and checks that every panel
//! drew without a query error.

use std::{collections::BTreeSet, path::PathBuf, time::Duration};

use anyhow::{bail, Context as _};
use serde_json::Value;

use super::{p50_p95, tempfile_dir, Meridian};
use crate::settings::Settings;
use app::ssr::scope::TokenScope;

pub struct Options {
    pub file: PathBuf,
    pub hours: u32,
    pub runs: usize,
}

const STEP_MS: i64 = 15_000;
const INSTANCE: &str = "node1:9100";

/// Every `node_…` metric name the dashboard's queries read.
fn metric_names(model: &Value, out: &mut BTreeSet<String>) {
    match model {
        Value::String(text) => {
            let bytes = text.as_bytes();
            let mut i = 0;
            while let Some(at) = text[i..].find("node_") {
                let start = i + at;
                let boundary = start == 0
                    || !(bytes[start - 1].is_ascii_alphanumeric() || bytes[start - 1] == b'_');
                let end = text[start..]
                    .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                    .map_or(text.len(), |n| start + n);
                if boundary {
                    out.insert(text[start..end].to_string());
                }
                i = end.max(start + 1);
            }
        }
        Value::Array(items) => items.iter().for_each(|v| metric_names(v, out)),
        Value::Object(map) => map.values().for_each(|v| metric_names(v, out)),
        _ => {}
    }
}

/// The label sets node_exporter gives a metric of this name (beyond job and instance).
fn label_sets(name: &str) -> Vec<Vec<(&'static str, String)>> {
    let one = |pairs: &[(&'static str, &str)]| {
        pairs
            .iter()
            .map(|(k, v)| (*k, v.to_string()))
            .collect::<Vec<_>>()
    };
    if name == "node_cpu_seconds_total" {
        let modes = [
            "idle", "user", "system", "iowait", "irq", "softirq", "steal", "nice",
        ];
        return (0..4)
            .flat_map(|cpu| {
                modes
                    .iter()
                    .map(move |mode| vec![("cpu", cpu.to_string()), ("mode", mode.to_string())])
            })
            .collect();
    }
    if name.starts_with("node_disk_") {
        return ["sda", "nvme0n1"]
            .iter()
            .map(|d| one(&[("device", d)]))
            .collect();
    }
    if name.starts_with("node_network_") {
        return ["eth0", "lo"]
            .iter()
            .map(|d| one(&[("device", d)]))
            .collect();
    }
    if name.starts_with("node_filesystem_") {
        return vec![
            one(&[
                ("device", "/dev/sda1"),
                ("mountpoint", "/"),
                ("fstype", "ext4"),
            ]),
            one(&[
                ("device", "tmpfs"),
                ("mountpoint", "/run"),
                ("fstype", "tmpfs"),
            ]),
        ];
    }
    if name == "node_uname_info" {
        return vec![one(&[
            ("nodename", "node1"),
            ("sysname", "Linux"),
            ("release", "6.1.0"),
            ("machine", "x86_64"),
        ])];
    }
    if name.starts_with("node_hwmon_") {
        return vec![one(&[("chip", "platform_coretemp_0"), ("sensor", "temp1")])];
    }
    vec![Vec::new()]
}

/// A plausible value of the metric at `t` (ms): counters grow, byte gauges are in gigabytes,
/// times are times, the rest wave.
fn value(name: &str, series: usize, t: i64, start: i64) -> f64 {
    let phase = (t as f64 / 600_000.0 + series as f64).sin();
    let elapsed = (t - start) as f64 / 1000.0;
    if name.ends_with("_total") || name.ends_with("_seconds_total") {
        elapsed * (5.0 + series as f64 % 7.0) + 300.0 * phase.abs()
    } else if name == "node_time_seconds" {
        t as f64 / 1000.0
    } else if name == "node_boot_time_seconds" {
        start as f64 / 1000.0 - 86_400.0
    } else if name.contains("bytes") {
        8e9 + 2e9 * phase
    } else if name == "node_uname_info" {
        1.0
    } else {
        50.0 + 25.0 * phase
    }
}

fn generate(
    names: &BTreeSet<String>,
    start: i64,
    points: usize,
) -> anyhow::Result<Vec<store::SeriesSamples>> {
    let mut out = Vec::new();
    for name in names {
        for extra in label_sets(name) {
            let mut pairs: Vec<(String, String)> = vec![
                ("__name__".into(), name.clone()),
                ("job".into(), "node".into()),
                ("instance".into(), INSTANCE.into()),
            ];
            pairs.extend(extra.into_iter().map(|(k, v)| (k.to_string(), v)));
            let labels = store::Labels::new(pairs).map_err(|e| anyhow::anyhow!("{e:?}"))?;
            let n = out.len();
            let samples = (0..points)
                .map(|i| {
                    let t = start + i as i64 * STEP_MS;
                    (t, value(name, n, t, start))
                })
                .collect();
            out.push(store::SeriesSamples { labels, samples });
        }
    }
    Ok(out)
}

pub async fn run(settings: &Settings, pool: &sqlx::PgPool, options: Options) -> anyhow::Result<()> {
    if options.runs == 0 || options.hours == 0 {
        bail!("--runs and --hours must be at least 1");
    }
    let text = std::fs::read_to_string(&options.file)
        .with_context(|| format!("reading {}", options.file.display()))?;
    let json: Value = serde_json::from_str(&text)?;
    let scratch = tempfile_dir()?;
    let meridian = Meridian::start(settings, pool, &scratch, TokenScope::Write).await?;
    let base = format!("http://127.0.0.1:{}", meridian.port);

    let mut names = BTreeSet::new();
    metric_names(&json, &mut names);
    let end = chrono::Utc::now().timestamp_millis() / STEP_MS * STEP_MS;
    let points = (options.hours as i64 * 3_600_000 / STEP_MS) as usize;
    let start = end - (points as i64 - 1) * STEP_MS;
    let series = generate(&names, start, points)?;
    let samples: usize = series.iter().map(|s| s.samples.len()).sum();
    let count = series.len();
    meridian
        .store
        .import(meridian.tenant, series)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;

    // The import, over the REST API as a script would run it; then again over itself.
    let api = reqwest::Client::builder()
        .timeout(Duration::from_secs(300))
        .build()?;
    let mut import_ms = Vec::new();
    let mut imported = Value::Null;
    for run in 0..options.runs {
        let started = std::time::Instant::now();
        let response = api
            .post(format!(
                "{base}/api/v1/dashboards/import{}",
                if run == 0 { "" } else { "?overwrite=true" }
            ))
            .bearer_auth(&meridian.token)
            .header("content-type", "application/json")
            .body(text.clone())
            .send()
            .await?;
        let status = response.status();
        imported = response.json().await?;
        import_ms.push(started.elapsed().as_secs_f64() * 1000.0);
        if !status.is_success() {
            bail!("the import answered {status}: {imported}");
        }
    }
    let uid = imported["uid"].as_str().unwrap_or_default().to_string();
    let panels = imported["panels"].as_u64().unwrap_or(0) as usize;
    let noted = imported["report"]["panels"].as_array().map_or(0, Vec::len);

    // An editor of the tenant, signed in as a browser is.
    let tenant = meridian.tenant.to_string();
    let browser = super::signed_in(pool, &base, "tenant-editor", &tenant).await?;
    let url = format!(
        "{base}/d/{uid}?from={}&to={end}&timezone=utc&var-job=node&var-nodename=node1&var-node={INSTANCE}",
        end - 3 * 3_600_000
    );
    let mut page_ms = Vec::new();
    let mut failed = 0;
    let mut drawn = 0;
    let mut last = String::new();
    let mut empty = 0;
    for run in 0..=options.runs {
        let started = std::time::Instant::now();
        let response = browser
            .get(&url)
            .header("accept", "text/html")
            .send()
            .await?;
        if !response.status().is_success() {
            bail!("the page answered {}", response.status());
        }
        let html = response.text().await?;
        let took = started.elapsed().as_secs_f64() * 1000.0;
        drawn = html.matches("class=\"panel panel-").count();
        empty = html.matches("panel-state-empty").count();
        failed = html.matches("panel-state-error").count()
            + html.matches("class=\"panel-error\"").count();
        last = html;
        // The first load warms the caches and connections.
        if run > 0 {
            page_ms.push(took);
        }
    }
    if drawn != panels {
        let _ = std::fs::write(scratch.join("page.html"), &last);
        bail!(
            "the page drew {drawn} panels of the {panels} imported (the page: {})",
            scratch.join("page.html").display()
        );
    }
    let (import50, import95) = p50_p95(import_ms);
    let (page50, page95) = p50_p95(page_ms);
    println!(
        "Node Exporter Full ({}): {panels} panels ({noted} with an import note), {} metric names, {count} series × {points} points ({samples} samples), {} runs",
        options.file.display(),
        names.len(),
        options.runs
    );
    println!("| what | p50 ms | p95 ms |");
    println!("|---|---|---|");
    println!("| import over POST /api/v1/dashboards/import | {import50:.1} | {import95:.1} |");
    println!("| the whole page, server-rendered, every row expanded, last 3 h | {page50:.1} | {page95:.1} |");
    println!("panels drawn: {drawn}; showing a query error: {failed}; with no data: {empty}");
    let _ = std::fs::remove_dir_all(&scratch);
    Ok(())
}
