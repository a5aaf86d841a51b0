//! The alert differential: Prometheus 2.42's rule engine (server/tests/alert-oracle, a copy of
//! the shared alert oracle) over a generated 45-minute dataset gives every alert's pending and
//! firing episodes; Meridian's backtest over the same samples, at the same evaluation times,
//! must give the same episodes and the same annotations.

use std::{collections::BTreeMap, path::PathBuf, process::Command};

use serde_json::Value;
use sqlx::PgPool;

use crate::helpers::TestApp;
use app::alerting::backtest;
use rules::file::Kind;

pub(crate) fn oracle_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/alert-oracle")
}

pub(crate) fn run(what: &str, command: &mut Command) {
    let output = command.output().unwrap_or_else(|e| panic!("{what}: {e}"));
    assert!(
        output.status.success(),
        "{what} failed:\n{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// An alert's labels as one text, as the oracle keys them.
fn key(labels: impl IntoIterator<Item = (String, String)>) -> String {
    let sorted: BTreeMap<String, String> = labels.into_iter().collect();
    format!("{sorted:?}")
}

/// Episodes as (pending, firing, inactive) seconds after the dataset's start.
type Episodes = Vec<(Option<f64>, Option<f64>, Option<f64>)>;

#[sqlx::test(migrator = "app::ssr::MIGRATOR")]
async fn the_backtest_gives_prometheus_alert_timelines(pool: PgPool) {
    let work = tempfile::tempdir().unwrap();
    let (data, out) = (work.path().join("ds"), work.path().join("out"));
    let rules_file = oracle_dir().join("example_history_rules.yml");
    run(
        "gen_alert_dataset.py",
        Command::new("python3")
            .arg(oracle_dir().join("gen_alert_dataset.py"))
            .arg(&data),
    );
    run(
        "rules_oracle.sh (Prometheus' timelines)",
        Command::new("bash")
            .arg(oracle_dir().join("rules_oracle.sh"))
            .arg(&data)
            .arg(&rules_file)
            .arg(&out)
            .env("SKIP_BACKFILL", "1")
            .env("PROMTOOL", "/usr/bin/promtool"),
    );
    let oracle: Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("alerts.json")).unwrap()).unwrap();
    assert_eq!(oracle["rule_errors"], serde_json::json!([]));
    let t0 = (oracle["dataset"]["t0_unix"].as_f64().unwrap() * 1000.0) as i64;
    let end = (oracle["dataset"]["t_end_unix"].as_f64().unwrap() * 1000.0) as i64;
    let step = (oracle["eval_interval_s"].as_f64().unwrap() * 1000.0) as i64;

    let app = TestApp::spawn(pool).await;
    let tenant = app.create_tenant("alert-oracle").await;
    // The dataset is from 2023: keep it inside the tenant's retention.
    sqlx::query("insert into tenant_limits (tenant_id, retention_days) values ($1, 3650)")
        .bind(tenant)
        .execute(&app.pool)
        .await
        .unwrap();
    server::import::run(&app.store, "alert-oracle", &data.join("samples.jsonl"))
        .await
        .unwrap();

    let groups = rules::file::parse(&std::fs::read_to_string(&rules_file).unwrap()).unwrap();
    let mut meridian: BTreeMap<String, (Episodes, Option<Value>)> = BTreeMap::new();
    for group in &groups {
        for rule in group.rules.iter().filter(|r| r.kind == Kind::Alert) {
            let result = backtest::run(&app.state, tenant, group, rule, (t0, end, step))
                .await
                .unwrap();
            assert_eq!(result.evaluations as i64, (end - t0) / step + 1);
            assert_eq!(result.failed_evaluations, 0, "{:?}", result.first_error);
            for alert in result.alerts {
                let seconds = |t: Option<i64>| t.map(|t| (t - t0) as f64 / 1000.0);
                let episodes = alert
                    .episodes
                    .iter()
                    .map(|e| {
                        (
                            seconds(e.pending_at),
                            seconds(e.firing_at),
                            seconds(e.inactive_at),
                        )
                    })
                    .collect();
                let annotations = alert
                    .episodes
                    .iter()
                    .rev()
                    .find(|e| e.firing_at.is_some())
                    .map(|e| {
                        serde_json::to_value(BTreeMap::from_iter(e.annotations.clone())).unwrap()
                    });
                meridian.insert(key(alert.labels), (episodes, annotations));
            }
        }
    }

    let mut prometheus: BTreeMap<String, (Episodes, Option<Value>)> = BTreeMap::new();
    for alert in oracle["alerts"].as_array().unwrap() {
        let labels = alert["labels"]
            .as_object()
            .unwrap()
            .iter()
            .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_string()));
        let episodes = alert["episodes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| {
                (
                    e["pending_at"].as_f64(),
                    e["firing_at"].as_f64(),
                    e["inactive_at"].as_f64(),
                )
            })
            .collect();
        let annotations = alert["annotations_while_firing"]
            .as_array()
            .unwrap()
            .last()
            .map(|a| a["annotations"].clone());
        prometheus.insert(key(labels), (episodes, annotations));
    }
    assert!(
        prometheus.len() >= 6,
        "the oracle found {} alerts",
        prometheus.len()
    );
    assert_eq!(meridian, prometheus);
}

/// Alert transitions as the live oracle records them: (alert, labels, from, to) and the time.
fn transitions(target: &Value) -> Vec<((String, String, String, String), f64)> {
    target["api_transitions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            let text = |k: &str| t[k].as_str().unwrap_or_default().to_string();
            let labels = t["labels"].as_object().unwrap().iter();
            let labels = key(labels.map(|(k, v)| (k.clone(), v.as_str().unwrap().to_string())));
            (
                (text("alertname"), labels, text("from"), text("to")),
                t["t"].as_f64().unwrap(),
            )
        })
        .collect()
}

/// The live differential: Prometheus scraping a scripted exporter and Meridian receiving the
/// same values by push, each evaluating the same rule file every second on one clock, both
/// polled through `GET /api/v1/alerts`: the same transitions in the same order, each within the
/// oracle's tolerance (scrape, evaluation and poll phases), with the same firing annotations.
#[sqlx::test(migrator = "app::ssr::MIGRATOR")]
async fn live_evaluation_gives_prometheus_alert_transitions(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let tenant = app.create_tenant("live").await;
    let token = app
        .create_token(tenant, &app::ssr::scope::TokenScope::ALL)
        .await;
    let evaluator = tokio::spawn(app::alerting::evaluator::run(
        app.state.clone(),
        "live-oracle".into(),
    ));
    let work = tempfile::tempdir().unwrap();
    let out = work.path().to_path_buf();
    let (push, rules) = (app.url("/api/v1/push"), app.url("/api/v1/rules"));
    // The oracle takes about 70 s; the server keeps answering meanwhile.
    tokio::task::spawn_blocking(move || {
        run(
            "live_rules_oracle.py",
            Command::new("python3")
                .arg(oracle_dir().join("live_rules_oracle.py"))
                .args(["--out", out.to_str().unwrap()])
                .args(["--push-url", &push, "--push-token", &token])
                .args(["--push-rules-url", &rules])
                .env("PROMETHEUS", "/usr/bin/prometheus"),
        )
    })
    .await
    .unwrap();
    evaluator.abort();
    let recorded: Value = serde_json::from_str(
        &std::fs::read_to_string(work.path().join("live_alerts.json")).unwrap(),
    )
    .unwrap();
    let targets = &recorded["targets"];
    let statuses = &targets["push"]["push_stats"]["status_codes"];
    assert!(
        statuses
            .as_object()
            .unwrap()
            .keys()
            .all(|code| code == "204"),
        "{statuses}"
    );
    let (prometheus, meridian) = (
        transitions(&targets["prometheus"]),
        transitions(&targets["push"]),
    );
    assert!(prometheus.len() >= 8, "{prometheus:?}");
    let edges = |t: &[(_, f64)]| t.iter().map(|(e, _)| e).cloned().collect::<Vec<_>>();
    assert_eq!(edges(&meridian), edges(&prometheus));
    for ((edge, p), (_, m)) in prometheus.iter().zip(&meridian) {
        assert!(
            (p - m).abs() <= 2.0,
            "{edge:?}: Prometheus at {p} s, Meridian at {m} s"
        );
    }
    // The values in the annotations are live rates: a push that lands a few milliseconds off
    // its second moves `humanize`'s fourth digit (40.01 against 40), so numbers are compared
    // rounded to whole units.
    let number = regex::Regex::new(r"\d+(\.\d+)?").unwrap();
    let firing = |target: &Value| -> Vec<String> {
        target["api_transitions"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|t| t["to"] == "firing")
            .map(|t| {
                let text = t["annotations"].to_string();
                number
                    .replace_all(&text, |c: &regex::Captures| format!("{:.0}", c[0].parse::<f64>().unwrap_or(0.0)))
                    .into_owned()
            })
            .collect()
    };
    assert_eq!(firing(&targets["push"]), firing(&targets["prometheus"]));
}
