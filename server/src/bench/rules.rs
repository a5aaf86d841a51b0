//! `server bench rules`: `--groups` rule groups of 10 rules each (recording and alerting rules
//! over the demo application's metrics, thresholds varied by group) at a 60 s interval, in an
//! in-process Meridian (its own evaluator, as it runs in production) and in Debian's Prometheus
//! over the same week of data (blocks written by promtool), both running in the same window.
//! Once every group of both has been evaluated, it measures `--rounds` intervals: the time of
//! a round (the sum of each group's last evaluation time, as both report it), missed
//! iterations, and CPU seconds (Meridian's process with its PostgreSQL, and Prometheus'). Then
//! it times a 7-day backtest of one rule.

use std::time::{Duration, Instant};

use anyhow::{bail, Context as _};
use serde_json::Value;

use super::{dashboards::blocks, start_prometheus_with, tempfile_dir, Meridian};
use crate::settings::Settings;
use app::ssr::{
    request::RequestMeta,
    scope::{Scope, TokenScope},
};

pub struct Options {
    pub groups: usize,
    pub rounds: u32,
    pub prometheus: String,
    pub promtool: String,
}

const INTERVAL_MS: i64 = 60_000;
const STEP_MS: i64 = 60_000;
const DAYS: i64 = 7;

/// The rule file: `groups` groups of 10 rules, each group's thresholds its own.
pub fn rule_file(groups: usize) -> String {
    let mut out = String::from("groups:\n");
    for g in 0..groups {
        let ratio = 0.001 * (g % 50 + 1) as f64;
        let latency = 0.05 + 0.01 * (g % 20) as f64;
        out.push_str(&format!(
            r#"  - name: bench-{g}
    interval: 1m
    rules:
      - record: endpoint:http_requests:rate10m
        expr: sum by (endpoint) (rate(http_requests_total[10m]))
        labels: {{bench_group: "{g}"}}
      - record: endpoint:http_errors:rate10m
        expr: sum by (endpoint) (rate(http_requests_total{{status=~"5.."}}[10m]))
        labels: {{bench_group: "{g}"}}
      - alert: HighErrorRatio
        expr: sum by (endpoint) (rate(http_requests_total{{status=~"5.."}}[10m])) / sum by (endpoint) (rate(http_requests_total[10m])) > {ratio}
        for: 2m
        labels: {{severity: critical, bench_group: "{g}"}}
        annotations: {{summary: '{{{{ $labels.endpoint }}}}: {{{{ $value | humanizePercentage }}}} fail'}}
      - alert: SlowResponses
        expr: histogram_quantile(0.95, sum by (le, endpoint) (rate(http_request_duration_seconds_bucket[10m]))) > {latency}
        for: 5m
        labels: {{severity: warning, bench_group: "{g}"}}
      - alert: TargetDown
        expr: up == 0
        for: 1m
        labels: {{severity: critical, bench_group: "{g}"}}
      - alert: FailedLogins
        expr: sum(rate(login_failures_total[10m])) > {logins}
        labels: {{severity: security, bench_group: "{g}"}}
      - alert: ToolErrors
        expr: sum by (tool) (rate(tool_calls_total{{status="error"}}[10m])) > 0
        labels: {{severity: info, bench_group: "{g}"}}
      - alert: FewUsers
        expr: sum(active_users) < {users}
        labels: {{severity: info, bench_group: "{g}"}}
      - record: agent:tasks_running:sum
        expr: sum by (agent) (agent_tasks_running)
        labels: {{bench_group: "{g}"}}
      - alert: AgentBacklog
        expr: sum by (agent) (agent_tasks_running) > {backlog}
        keep_firing_for: 5m
        labels: {{severity: warning, bench_group: "{g}"}}
"#,
            logins = 0.005 * (g % 10) as f64,
            users = 100 + g % 500,
            backlog = g % 8,
        ));
    }
    out
}

/// CPU seconds (user + system) of the processes whose `/proc/PID/stat` passes `keep`.
fn cpu_seconds(keep: impl Fn(u32, &str) -> bool) -> f64 {
    let ticks = 100.0; // USER_HZ on Linux
    let mut total = 0u64;
    for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
            continue;
        };
        // "pid (comm) state ppid …": fields after the comm's closing parenthesis.
        let (Some(open), Some(close)) = (stat.find('('), stat.rfind(')')) else {
            continue;
        };
        if !keep(pid, &stat[open + 1..close]) {
            continue;
        }
        let fields: Vec<&str> = stat[close + 2..].split_whitespace().collect();
        let (utime, stime) = (fields.get(11), fields.get(12));
        total += utime.and_then(|v| v.parse::<u64>().ok()).unwrap_or(0)
            + stime.and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
    }
    total as f64 / ticks
}

/// Meridian's groups: (groups evaluated at least once, sum of last durations in s, missed).
async fn meridian_state(
    pool: &sqlx::PgPool,
    tenant: uuid::Uuid,
) -> anyhow::Result<(i64, f64, i64)> {
    let (evaluated, seconds, missed): (i64, Option<f64>, Option<i64>) = sqlx::query_as(
        "select count(*) filter (where evaluations > 0), sum(last_duration_ms) / 1000.0,
                sum(missed)::bigint
           from rule_group_state where tenant_id = $1",
    )
    .bind(tenant)
    .fetch_one(pool)
    .await?;
    Ok((evaluated, seconds.unwrap_or(0.0), missed.unwrap_or(0)))
}

/// Prometheus' groups: (groups evaluated at least once, sum of last evaluation times in s,
/// missed iterations).
async fn prometheus_state(client: &reqwest::Client, base: &str) -> anyhow::Result<(i64, f64, i64)> {
    let rules: Value = client
        .get(format!("{base}/api/v1/rules"))
        .send()
        .await?
        .json()
        .await?;
    let groups = rules["data"]["groups"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let evaluated = groups
        .iter()
        .filter(|g| {
            !g["lastEvaluation"]
                .as_str()
                .unwrap_or("")
                .starts_with("0001")
        })
        .count() as i64;
    let seconds: f64 = groups
        .iter()
        .filter_map(|g| g["evaluationTime"].as_f64())
        .sum();
    let metrics = client
        .get(format!("{base}/metrics"))
        .send()
        .await?
        .text()
        .await?;
    let missed: f64 = metrics
        .lines()
        .filter(|l| l.starts_with("prometheus_rule_group_iterations_missed_total"))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum();
    Ok((evaluated, seconds, missed as i64))
}

pub async fn run(settings: &Settings, pool: &sqlx::PgPool, options: Options) -> anyhow::Result<()> {
    if options.groups == 0 || options.rounds == 0 {
        bail!("--groups and --rounds must be at least 1");
    }
    let scratch = tempfile_dir()?;
    let meridian = Meridian::start(settings, pool, &scratch, TokenScope::Read).await?;
    let end = chrono::Utc::now().timestamp_millis() / STEP_MS * STEP_MS;
    let points = (DAYS * 86_400_000 / STEP_MS) as usize;
    let series = crate::demo::metrics::generate(
        "bench",
        end - (points as i64 - 1) * STEP_MS,
        STEP_MS,
        points,
    );
    let samples: usize = series.iter().map(|s| s.samples.len()).sum();
    meridian
        .store
        .import(meridian.tenant, series.clone())
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let dir = scratch.join("prometheus");
    std::fs::create_dir_all(&dir)?;
    blocks(&options.promtool, &dir, &series)?;
    let text = rule_file(options.groups);
    std::fs::write(dir.join("rules.yml"), &text)?;
    println!(
        "{} series, {samples} samples over {DAYS} days; {} groups × 10 rules at 1m",
        series.len(),
        options.groups
    );

    // Both start evaluating now: Prometheus with the file, Meridian with the same file imported.
    let config = format!(
        "global: {{scrape_interval: 15s, evaluation_interval: 1m}}\nrule_files: [{}]\nscrape_configs: []\n",
        dir.join("rules.yml").display()
    );
    let prometheus = start_prometheus_with(&options.prometheus, &dir, &config).await?;
    let prometheus_pid = prometheus.child.id();
    let system = Scope::system(RequestMeta::default());
    app::alerting::repo::import(&system, pool, meridian.tenant, &text, "benchmark")
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let client = reqwest::Client::new();
    let base = format!("http://127.0.0.1:{}", prometheus.port);

    // Wait until every group of both has been evaluated once (first slots are up to a minute
    // away), then measure whole rounds.
    let began = Instant::now();
    loop {
        let (m, _, _) = meridian_state(pool, meridian.tenant).await?;
        let (p, _, _) = prometheus_state(&client, &base).await?;
        if m as usize == options.groups && p as usize == options.groups {
            break;
        }
        if began.elapsed() > Duration::from_secs(300) {
            bail!(
                "after 5 minutes, Meridian evaluated {m} and Prometheus {p} of {} groups",
                options.groups
            );
        }
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
    let me = std::process::id();
    let meridian_cpu = || cpu_seconds(|pid, comm| pid == me || comm.starts_with("postgres"));
    let prometheus_cpu = || cpu_seconds(|pid, _| pid == prometheus_pid);
    let (m0, p0) = (meridian_cpu(), prometheus_cpu());
    let (_, _, m_missed0) = meridian_state(pool, meridian.tenant).await?;
    let (_, _, p_missed0) = prometheus_state(&client, &base).await?;
    let window = Duration::from_millis(INTERVAL_MS as u64 * options.rounds as u64);
    let mut m_rounds = Vec::new();
    let mut p_rounds = Vec::new();
    for _ in 0..options.rounds {
        tokio::time::sleep(Duration::from_millis(INTERVAL_MS as u64)).await;
        m_rounds.push(meridian_state(pool, meridian.tenant).await?.1);
        p_rounds.push(prometheus_state(&client, &base).await?.1);
    }
    let (m_cpu, p_cpu) = (meridian_cpu() - m0, prometheus_cpu() - p0);
    let (_, _, m_missed) = meridian_state(pool, meridian.tenant).await?;
    let (_, _, p_missed) = prometheus_state(&client, &base).await?;
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
    let (m_round, p_round) = (mean(&m_rounds), mean(&p_rounds));
    let rules = options.groups * 10;
    println!(
        "\nover {} rounds of 60 s ({} rules):",
        options.rounds, rules
    );
    println!("| | round time (sum of group evaluations) | missed iterations | CPU s per round |");
    println!("|---|---|---|---|");
    println!(
        "| Meridian (with its PostgreSQL) | {:.2} s | {} | {:.2} |",
        m_round,
        m_missed - m_missed0,
        m_cpu / options.rounds as f64
    );
    println!(
        "| Prometheus 2.42 | {:.2} s | {} | {:.2} |",
        p_round,
        p_missed - p_missed0,
        p_cpu / options.rounds as f64
    );
    println!(
        "ratio Meridian / Prometheus: round time {:.2}, CPU {:.2} (window {:.0} s)",
        m_round / p_round.max(1e-9),
        m_cpu / p_cpu.max(1e-9),
        window.as_secs_f64()
    );

    // A 7-day backtest of one rule, at its group's interval.
    let groups = rules::file::parse(&text).map_err(|p| anyhow::anyhow!("{:?}", p[0]))?;
    let rule = groups[0]
        .rules
        .iter()
        .find(|r| r.name == "HighErrorRatio")
        .context("the benchmark's rule")?;
    let now = chrono::Utc::now().timestamp_millis();
    let started = Instant::now();
    let run = app::alerting::backtest::run(
        &meridian.state,
        meridian.tenant,
        &groups[0],
        rule,
        (now - DAYS * 86_400_000, now, INTERVAL_MS),
    )
    .await
    .map_err(|e| anyhow::anyhow!("{e}"))?;
    println!(
        "backtest of HighErrorRatio over {DAYS} days at 1m: {} evaluations in {:.0} ms ({} alerts, {} firing notifications)",
        run.evaluations,
        started.elapsed().as_secs_f64() * 1000.0,
        run.alerts.len(),
        run.firing_notifications
    );
    drop(prometheus);
    let _ = std::fs::remove_dir_all(&scratch);
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_benchmark_rule_file_is_valid() {
        let groups = rules::file::parse(&super::rule_file(3)).unwrap();
        assert_eq!(groups.len(), 3);
        assert!(groups.iter().all(|g| g.rules.len() == 10));
    }
}
