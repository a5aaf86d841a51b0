//! The `server` binary as scripts use it.

use std::process::Command;

use sqlx::{Connection, PgConnection};

fn server() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_server"));
    for (name, _) in std::env::vars().filter(|(name, _)| name.starts_with("MERIDIAN_")) {
        command.env_remove(name);
    }
    command
}

fn database_url(name: &str) -> String {
    let base = std::env::var("DATABASE_URL").expect("DATABASE_URL names the test server");
    let (server, _) = base.rsplit_once('/').unwrap();
    format!("{server}/{name}")
}

#[test]
fn help_lists_the_subcommands_and_settings() {
    let output = server().arg("--help").output().unwrap();
    assert!(output.status.success());
    let help = String::from_utf8(output.stdout).unwrap();
    for expected in ["serve", "migrate", "MERIDIAN_LISTEN", "MERIDIAN_DATABASE_URL", "MERIDIAN_LOG", "MERIDIAN_LOG_FORMAT",
        "MERIDIAN_SECRET_KEY", "MERIDIAN_DEMO"] {
        assert!(help.contains(expected), "--help lacks {expected}:\n{help}");
    }
    let output = server().args(["migrate", "--help"]).output().unwrap();
    assert!(output.status.success());
}

#[test]
fn a_bad_log_filter_is_refused_with_the_variable_named() {
    let output = server().env("MERIDIAN_LOG", "info,[[").arg("migrate").output().unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(stderr.contains("MERIDIAN_LOG"), "{stderr}");
}

#[tokio::test]
async fn migrate_creates_the_database_and_applies_the_schema() {
    let name = format!("meridian_cli_{}", uuid::Uuid::new_v4().simple());
    let output = server().env("MERIDIAN_DATABASE_URL", database_url(&name)).arg("migrate").output().unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    assert_eq!(String::from_utf8(output.stdout).unwrap().trim(), "Migrations applied.");

    let mut conn = PgConnection::connect(&database_url(&name)).await.unwrap();
    let installations: i64 = sqlx::query_scalar("select count(*) from installation").fetch_one(&mut conn).await.unwrap();
    assert_eq!(installations, 1);
    conn.close().await.unwrap();

    // Applying again is a no-op, not an error.
    let again = server().env("MERIDIAN_DATABASE_URL", database_url(&name)).arg("migrate").output().unwrap();
    assert!(again.status.success());

    let mut admin = PgConnection::connect(&database_url("postgres")).await.unwrap();
    sqlx::query(&format!("drop database {name} with (force)")).execute(&mut admin).await.unwrap();
}
