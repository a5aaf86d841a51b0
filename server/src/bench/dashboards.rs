//! `server bench dashboards`: the Executive dashboard over the demo application's ~100 series of
//! `--points` samples each, in an in-process Meridian and in Debian's Prometheus (blocks written
//! by promtool). It times the whole server-rendered page as a signed-in manager's browser gets
//! it, and, in the same run, Prometheus answering the same panel queries (the very expressions
//! and steps Meridian runs, all at once, as Grafana sends them) and Meridian's own query API
//! answering them. Each query's answers are compared first. Then the time series panels' SVG
//! sizes at 1,000 px.

use std::{
    io::{BufWriter, Write as _},
    path::Path,
    process::Command,
    time::{Duration, Instant},
};

use anyhow::{bail, Context as _};
use futures::future::join_all;
use serde_json::Value;

use super::{
    millis, p50_p95, percentile, query::differences, start_prometheus, tempfile_dir, Meridian,
};
use crate::settings::Settings;
use app::{
    dashboards::view,
    ssr::{
        request::RequestMeta,
        scope::{Scope, TokenScope},
    },
};

pub struct Options {
    pub points: usize,
    pub runs: usize,
    pub prometheus: String,
    pub promtool: String,
}

const STEP_MS: i64 = 15_000;
/// The grid width at which a half-width panel is 1,000 px wide.
const GRID_FOR_1000_PX: u32 = 2_048;

/// The series as TSDB blocks in `dir`/data, written by promtool from OpenMetrics text.
pub(crate) fn blocks(
    promtool: &str,
    dir: &Path,
    series: &[store::SeriesSamples],
) -> anyhow::Result<()> {
    let text = dir.join("data.om");
    let mut out = BufWriter::new(std::fs::File::create(&text)?);
    for s in series {
        let name = s.labels.metric_name().unwrap_or_default();
        let rest: Vec<String> = s
            .labels
            .iter()
            .filter(|(n, _)| *n != "__name__")
            .map(|(n, v)| format!("{n}=\"{v}\""))
            .collect();
        for (t, v) in &s.samples {
            writeln!(out, "{name}{{{}}} {v} {}", rest.join(","), t / 1000)?;
        }
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
    Ok(())
}

/// p50 and p95 in ms of `runs` timings of `f`.
async fn time<F, Fut>(runs: usize, mut f: F) -> anyhow::Result<(f64, f64)>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<()>>,
{
    let mut took = Vec::with_capacity(runs);
    for _ in 0..runs {
        let started = Instant::now();
        f().await?;
        took.push(started.elapsed());
    }
    took.sort();
    Ok((
        millis(percentile(&took, 0.5)),
        millis(percentile(&took, 0.95)),
    ))
}

/// Prometheus' query API: one query (step 0: instant).
async fn ask(
    client: &reqwest::Client,
    base: &str,
    token: Option<&str>,
    expr: &str,
    (start, end, step): (i64, i64, i64),
) -> anyhow::Result<Value> {
    let seconds = |ms: i64| format!("{}", ms as f64 / 1000.0);
    let mut form = vec![("query", expr.to_string())];
    let path = if step == 0 {
        form.push(("time", seconds(end)));
        "query"
    } else {
        form.extend([
            ("start", seconds(start)),
            ("end", seconds(end)),
            ("step", seconds(step)),
        ]);
        "query_range"
    };
    let mut request = client.post(format!("{base}/api/v1/{path}")).form(&form);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await?;
    let status = response.status();
    let body: Value = response.json().await?;
    if !status.is_success() {
        bail!("{base} answered {status} to {expr}: {body}");
    }
    Ok(body)
}

pub async fn run(settings: &Settings, pool: &sqlx::PgPool, options: Options) -> anyhow::Result<()> {
    if options.points < 2 || options.runs == 0 {
        bail!("--points must be at least 2 and --runs at least 1");
    }
    let scratch = tempfile_dir()?;
    let meridian = Meridian::start(settings, pool, &scratch, TokenScope::Read).await?;
    let end = chrono::Utc::now().timestamp_millis() / STEP_MS * STEP_MS;
    let start = end - (options.points as i64 - 1) * STEP_MS;
    // The data begin 10 minutes before the span shown, as on a running system (Prometheus 2.42
    // and 2.51+ extrapolate rate() differently right at a series' start).
    let lead = 600_000 / STEP_MS;
    let series = crate::demo::metrics::generate(
        "bench",
        start - lead * STEP_MS,
        STEP_MS,
        options.points + lead as usize,
    );
    let samples: usize = series.iter().map(|s| s.samples.len()).sum();
    let count = series.len();
    meridian
        .store
        .import(meridian.tenant, series.clone())
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let dir = scratch.join("prometheus");
    std::fs::create_dir_all(&dir)?;
    blocks(&options.promtool, &dir, &series)?;
    let prometheus = start_prometheus(&options.prometheus, &dir).await?;
    let prometheus_url = format!("http://127.0.0.1:{}", prometheus.port);
    let meridian_url = format!("http://127.0.0.1:{}", meridian.port);

    // A manager, signed in as a browser is.
    let browser = super::signed_in(pool, &meridian_url, "manager", "").await?;

    // The panel queries exactly as the page runs them.
    let system = Scope::system(RequestMeta::default());
    let query = format!("from={start}&to={end}&timezone=utc");
    let mut state_settings = settings.clone();
    state_settings.secret_key = Some(crate::settings::Secret::new(
        "benchmark-secret-key-0123456789abcdef",
    ));
    let installation = app::ssr::load_installation_id(pool).await?;
    let state = crate::startup::app_state(
        &state_settings,
        pool.clone(),
        installation,
        meridian.store.clone(),
    )?;
    let prepared = view::prepare(
        &state,
        &system,
        "executive",
        &query,
        view::DEFAULT_WIDTH_PX,
        None,
    )
    .await
    .map_err(|e| anyhow::anyhow!("{e}"))?;
    let queries = view::queries(&prepared);
    let api = reqwest::Client::builder()
        .timeout(Duration::from_secs(120))
        .build()?;
    for (expr, span) in &queries {
        let expected = ask(&api, &prometheus_url, None, expr, *span).await?;
        let actual = ask(&api, &meridian_url, Some(&meridian.token), expr, *span).await?;
        let diff = differences(&expected, &actual);
        if !diff.is_empty() {
            bail!(
                "{expr}: Meridian's answer differs from Prometheus': {}",
                diff[..diff.len().min(3)].join("; ")
            );
        }
    }

    let page_url = format!("{meridian_url}/d/executive?{query}");
    let page = || async {
        let response = browser
            .get(&page_url)
            .header("accept", "text/html")
            .send()
            .await?;
        if !response.status().is_success() {
            bail!("the page answered {}", response.status());
        }
        let html = response.text().await?;
        if html.matches("class=\"panel panel-").count() != 10 || html.contains("panel-state-error")
        {
            bail!("the page is not the whole Executive dashboard");
        }
        Ok(())
    };
    let all_at_once = |base: String, token: Option<String>| {
        let (api, queries) = (api.clone(), queries.clone());
        move || {
            let (api, queries, base, token) =
                (api.clone(), queries.clone(), base.clone(), token.clone());
            async move {
                let answers = join_all(
                    queries
                        .iter()
                        .map(|(expr, span)| ask(&api, &base, token.as_deref(), expr, *span)),
                )
                .await;
                answers
                    .into_iter()
                    .collect::<anyhow::Result<Vec<_>>>()
                    .map(|_| ())
            }
        }
    };
    // Warm both sides (caches, connections), then take turns run by run.
    page().await?;
    all_at_once(prometheus_url.clone(), None)().await?;
    let (mut page_ms, mut prom_ms, mut api_ms) = (Vec::new(), Vec::new(), Vec::new());
    let mut prom = all_at_once(prometheus_url.clone(), None);
    let mut ours = all_at_once(meridian_url.clone(), Some(meridian.token.clone()));
    for _ in 0..options.runs {
        page_ms.push(time(1, page).await?.0);
        prom_ms.push(time(1, &mut prom).await?.0);
        api_ms.push(time(1, &mut ours).await?.0);
    }
    let (page50, page95) = p50_p95(page_ms);
    let (prom50, prom95) = p50_p95(prom_ms);
    let (api50, api95) = p50_p95(api_ms);
    println!(
        "Executive dashboard: 10 panels, {} queries, over {count} series × {} points ({samples} samples a side), {} runs taking turns",
        queries.len(),
        options.points,
        options.runs
    );
    println!("| what | p50 ms | p95 ms |");
    println!("|---|---|---|");
    println!("| Meridian: the whole page, server-rendered, as a signed-in manager | {page50:.1} | {page95:.1} |");
    println!(
        "| Prometheus: the same {} queries, all at once | {prom50:.1} | {prom95:.1} |",
        queries.len()
    );
    println!("| Meridian's query API: the same queries, all at once | {api50:.1} | {api95:.1} |");
    println!(
        "| page / Prometheus | {:.2} | {:.2} |",
        page50 / prom50,
        page95 / prom95
    );

    println!("\nTime series panels' SVG at 1,000 px (grid {GRID_FOR_1000_PX} px):");
    for panel in [6, 7, 8, 9] {
        let url = format!(
            "{meridian_url}/d/executive/panel/{panel}/chart.svg?{query}&width={GRID_FOR_1000_PX}"
        );
        let svg = browser.get(&url).send().await?.text().await?;
        let width = svg
            .split("width=\"")
            .nth(1)
            .and_then(|w| w.split('"').next())
            .unwrap_or("?")
            .to_string();
        println!(
            "  panel {panel}: {width} px wide, {} bytes, {} series paths",
            svg.len(),
            svg.matches("class=\"series\"").count()
        );
    }
    drop(prometheus);
    let _ = std::fs::remove_dir_all(&scratch);
    Ok(())
}
