//! The differential oracle: Debian's Prometheus over the generated dataset against Meridian
//! over the same samples (loaded with `server import`), every query of our catalogue
//! (tests/oracle/meridian_queries.py) compared with Prometheus' tolerance. The scripts in
//! tests/oracle are copies of shared/oracle; see tests/oracle/SOURCE.txt.

use std::{
    path::PathBuf,
    process::{Command, Output},
};

use sqlx::PgPool;

use crate::helpers::{unused_port, TestApp};
use app::ssr::scope::TokenScope;

fn oracle_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/oracle")
}

/// Runs a command of the oracle off the async workers (the server under test keeps answering
/// meanwhile) and answers its output, whatever its exit status.
async fn output(what: &'static str, mut command: Command) -> Output {
    command
        .current_dir(oracle_dir())
        .env("ORACLE_QUERIES", "meridian_queries")
        .env("PYTHONPATH", oracle_dir());
    tokio::task::spawn_blocking(move || command.output())
        .await
        .unwrap()
        .unwrap_or_else(|e| panic!("{what}: cannot start: {e}"))
}

/// Runs the command as `output` does, failing the test with both outputs if it failed.
async fn run(what: &'static str, command: Command) {
    let output = output(what, command).await;
    assert!(
        output.status.success(),
        "{what} failed:\n{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

#[sqlx::test(migrator = "app::ssr::MIGRATOR")]
async fn meridian_answers_the_catalogue_as_prometheus_does(pool: PgPool) {
    assert!(
        std::path::Path::new("/usr/bin/prometheus").exists(),
        "Debian's prometheus is needed: apt-get install prometheus (scripts/test installs it)"
    );
    let work = tempfile::tempdir().unwrap();
    let mut prometheus = Command::new("bash");
    prometheus
        .arg(oracle_dir().join("oracle.sh"))
        .env("WORK", work.path())
        .env("PORT", unused_port().to_string());
    run("oracle.sh (Prometheus' answers)", prometheus).await;

    let app = TestApp::spawn(pool).await;
    let tenant = app.create_tenant("oracle").await;
    // The dataset is from 2023: keep it inside the tenant's retention.
    sqlx::query("insert into tenant_limits (tenant_id, retention_days) values ($1, 3650)")
        .bind(tenant)
        .execute(&app.pool)
        .await
        .unwrap();
    server::import::run(&app.store, "oracle", &work.path().join("samples.jsonl"))
        .await
        .unwrap();
    let token = app.create_token(tenant, &[TokenScope::Read]).await;
    let mut meridian = Command::new("python3");
    meridian
        .arg("run_queries.py")
        .arg(&app.address)
        .arg(work.path())
        .arg(work.path().join("meridian"))
        .env("ORACLE_TOKEN", token);
    run("run_queries.py (Meridian's answers)", meridian).await;

    let mut compare = Command::new("python3");
    compare
        .arg("compare_answers.py")
        .arg(work.path().join("answers"))
        .arg(work.path().join("meridian"));
    // The comparer exits 1 on any difference; its report names each query that differs.
    let report = output("compare_answers.py", compare).await;
    let text = String::from_utf8_lossy(&report.stdout).into_owned();
    let failed: Vec<&str> = text
        .lines()
        .filter_map(|line| line.strip_prefix("FAIL "))
        .filter_map(|line| line.split(':').next())
        .collect();
    let known: Vec<&str> = KNOWN_DIFFERENCES.iter().map(|(id, _)| *id).collect();
    let mut summary = text.clone();
    for (id, why) in KNOWN_DIFFERENCES {
        summary.push_str(&format!("known difference {id}: {why}\n"));
    }
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/oracle.txt");
    let _ = std::fs::write(path, &summary);
    assert_eq!(
        failed, known,
        "Meridian differs from Prometheus beyond the known differences:\n{text}"
    );
}

/// Answers that differ because Debian's Prometheus (2.42) is older than the semantics Meridian
/// follows (2.55, whose own test files assert them).
const KNOWN_DIFFERENCES: &[(&str, &str)] = &[(
    "rate_5m_near_t0_extrapolation",
    "since 2.51 (prometheus#13725) rate() caps extrapolation to the counter's zero point only after capping it to \
     half a sample interval (functions.test, \"Zero cutoff for left-side extrapolation\"); \
     2.42 capped in the other order",
)];
