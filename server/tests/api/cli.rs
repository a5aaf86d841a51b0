//! The `server` binary as scripts use it.

use std::process::Command;

use sqlx::{Connection, PgConnection};

use crate::helpers::{database_url, server};

#[test]
fn help_lists_the_subcommands_and_settings() {
    let output = server().arg("--help").output().unwrap();
    assert!(output.status.success());
    let help = String::from_utf8(output.stdout).unwrap();
    for expected in [
        "serve",
        "migrate",
        "MERIDIAN_LISTEN",
        "MERIDIAN_DATABASE_URL",
        "MERIDIAN_LOG",
        "MERIDIAN_LOG_FORMAT",
        "MERIDIAN_SECRET_KEY",
        "MERIDIAN_DEMO",
    ] {
        assert!(help.contains(expected), "--help lacks {expected}:\n{help}");
    }
    let output = server().args(["migrate", "--help"]).output().unwrap();
    assert!(output.status.success());
}

#[test]
fn a_bad_log_filter_is_refused_with_the_variable_named() {
    let output = server()
        .env("MERIDIAN_LOG", "info,[[")
        .arg("migrate")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(stderr.contains("MERIDIAN_LOG"), "{stderr}");
}

#[tokio::test]
async fn migrate_creates_the_database_and_applies_the_schema() {
    let name = format!("meridian_cli_{}", uuid::Uuid::new_v4().simple());
    let output = server()
        .env("MERIDIAN_DATABASE_URL", database_url(&name))
        .arg("migrate")
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(
        String::from_utf8(output.stdout).unwrap().trim(),
        "Migrations applied."
    );

    let mut conn = PgConnection::connect(&database_url(&name)).await.unwrap();
    let installations: i64 = sqlx::query_scalar("select count(*) from installation")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(installations, 1);
    conn.close().await.unwrap();

    // Applying again is a no-op, not an error.
    let again = server()
        .env("MERIDIAN_DATABASE_URL", database_url(&name))
        .arg("migrate")
        .output()
        .unwrap();
    assert!(again.status.success());

    let mut admin = PgConnection::connect(&database_url("postgres"))
        .await
        .unwrap();
    sqlx::query(&format!("drop database {name} with (force)"))
        .execute(&mut admin)
        .await
        .unwrap();
}

/// A fresh, migrated database for one CLI test; dropped by the guard.
struct ScratchDatabase(String);

impl ScratchDatabase {
    fn new() -> ScratchDatabase {
        let name = format!("meridian_cli_{}", uuid::Uuid::new_v4().simple());
        let output = server()
            .env("MERIDIAN_DATABASE_URL", database_url(&name))
            .arg("migrate")
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        ScratchDatabase(name)
    }

    fn run(&self, args: &[&str], env: &[(&str, &str)]) -> std::process::Output {
        let mut command = server();
        command
            .env("MERIDIAN_DATABASE_URL", database_url(&self.0))
            .args(args);
        for (k, v) in env {
            command.env(k, v);
        }
        command.output().unwrap()
    }
}

impl Drop for ScratchDatabase {
    fn drop(&mut self) {
        let _ = Command::new("psql")
            .args([
                "-h",
                "127.0.0.1",
                "-U",
                "postgres",
                "-d",
                "postgres",
                "-qc",
                &format!("drop database if exists {} with (force)", self.0),
            ])
            .output();
    }
}

fn stdout(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stdout).trim().to_string()
}

fn stderr(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stderr).to_string()
}

#[test]
fn admin_commands_create_what_scripts_need() {
    let db = ScratchDatabase::new();

    let admin = db.run(
        &["create-admin", "--email", "root@example.com"],
        &[("MERIDIAN_ADMIN_PASSWORD", "a long enough password")],
    );
    assert!(admin.status.success(), "{}", stderr(&admin));
    assert!(
        uuid::Uuid::parse_str(&stdout(&admin)).is_ok(),
        "prints the user id: {}",
        stdout(&admin)
    );
    let short = db.run(
        &["create-admin", "--email", "second@example.com"],
        &[("MERIDIAN_ADMIN_PASSWORD", "short")],
    );
    assert!(!short.status.success());
    assert!(
        stderr(&short).contains("password: must be at least 12 characters"),
        "{}",
        stderr(&short)
    );
    let no_password = db.run(&["create-admin", "--email", "third@example.com"], &[]);
    assert!(
        stderr(&no_password).contains("MERIDIAN_ADMIN_PASSWORD"),
        "{}",
        stderr(&no_password)
    );

    let tenant = db.run(&["tenant", "create", "acme"], &[]);
    assert!(tenant.status.success(), "{}", stderr(&tenant));
    assert!(uuid::Uuid::parse_str(&stdout(&tenant)).is_ok());
    let again = db.run(&["tenant", "create", "ACME"], &[]);
    assert!(
        stderr(&again).contains("name: a tenant with this name exists"),
        "{}",
        stderr(&again)
    );

    let token = db.run(
        &[
            "token",
            "create",
            "--tenant",
            "acme",
            "--scopes",
            "ingest,read,write",
        ],
        &[],
    );
    assert!(token.status.success(), "{}", stderr(&token));
    let secret = stdout(&token);
    assert!(
        secret.starts_with("mrd_") && secret.len() == 44 && !secret.contains('\n'),
        "only the secret: {secret:?}"
    );
    let unknown = db.run(&["token", "create", "--tenant", "globex"], &[]);
    assert!(
        stderr(&unknown).contains("no tenant named \"globex\""),
        "{}",
        stderr(&unknown)
    );
    let bad_scope = db.run(
        &["token", "create", "--tenant", "acme", "--scopes", "admin"],
        &[],
    );
    assert!(
        stderr(&bad_scope).contains("scopes: \"admin\" is not one of ingest, read, write"),
        "{}",
        stderr(&bad_scope)
    );

    let verify = db.run(&["audit", "verify"], &[]);
    assert_eq!(verify.status.code(), Some(0), "{}", stderr(&verify));
    assert_eq!(stdout(&verify), "Audit trail intact: 3 entries verified.");

    let tamper = Command::new("psql")
        .args([
            "-h",
            "127.0.0.1",
            "-U",
            "postgres",
            "-d",
            &db.0,
            "-qc",
            "update audit_event set actor_label = 'x' where id = 2",
        ])
        .output()
        .unwrap();
    assert!(tamper.status.success());
    let verify = db.run(&["audit", "verify"], &[]);
    assert_eq!(verify.status.code(), Some(1));
    assert!(
        stdout(&verify).starts_with("Audit trail BROKEN at entry 2"),
        "{}",
        stdout(&verify)
    );
}

#[tokio::test]
async fn import_loads_a_json_lines_file_or_nothing_when_a_line_is_bad() {
    let name = format!("meridian_cli_{}", uuid::Uuid::new_v4().simple());
    let run = |args: &[&str]| {
        server()
            .env("MERIDIAN_DATABASE_URL", database_url(&name))
            .args(args)
            .output()
            .unwrap()
    };
    assert!(run(&["tenant", "create", "lab"]).status.success());
    // The file's samples are from 2023: keep them (the server's retention would remove them).
    let mut conn = PgConnection::connect(&database_url(&name)).await.unwrap();
    sqlx::query("insert into tenant_limits (tenant_id, retention_days) select id, 36500 from tenant where name = 'lab'").execute(&mut conn).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("samples.jsonl");
    // The oracle's format, including Python's bare NaN.
    std::fs::write(
        &good,
        "{\"labels\": {\"__name__\": \"temp_celsius\", \"room\": \"a\"}, \"type\": \"gauge\", \"samples\": [[1699992000000, 20.5], [1699992015000, NaN]]}\n\
         {\"labels\": {\"__name__\": \"temp_celsius\", \"room\": \"b\"}, \"type\": \"gauge\", \"samples\": [[1699992000000, 19]]}\n",
    )
    .unwrap();
    let output = run(&["import", good.to_str().unwrap(), "--tenant", "lab"]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert!(
        stderr.contains("Imported 2 series, 3 samples in 2 chunks."),
        "{stderr}"
    );

    let bad = dir.path().join("bad.jsonl");
    std::fs::write(
        &bad,
        "{\"labels\": {\"__name__\": \"other\"}, \"samples\": [[1699992000000, 1]]}\n{\"labels\": {\"__name__\": \"other\"}, \"samples\": [[1, \"x\"]]}\n",
    )
    .unwrap();
    let output = run(&["import", bad.to_str().unwrap(), "--tenant", "lab"]);
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("bad.jsonl line 2: samples[0]: not a number"),
        "{stderr}"
    );
    let output = run(&["import", bad.to_str().unwrap(), "--tenant", "nobody"]);
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("--tenant: no tenant named \"nobody\"")
    );

    let series: Vec<String> =
        sqlx::query_scalar("select name || labels::text from metric_series order by 1")
            .fetch_all(&mut conn)
            .await
            .unwrap();
    assert_eq!(
        series,
        [
            "temp_celsius{\"room\": \"a\"}",
            "temp_celsius{\"room\": \"b\"}"
        ],
        "nothing of the bad file"
    );
    let kind: String =
        sqlx::query_scalar("select type from metric_metadata where metric = 'temp_celsius'")
            .fetch_one(&mut conn)
            .await
            .unwrap();
    assert_eq!(kind, "gauge");
    conn.close().await.unwrap();
}

/// `slo generate` on Sloth's own example writes the rules Sloth wrote for it (rule for rule),
/// which promtool accepts; a bad spec is refused with its line.
#[test]
fn slo_generate_writes_the_rules_sloth_writes() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../crates/slo/testdata/sloth");
    let output = server()
        .args(["slo", "generate", &format!("{dir}/home-wifi.yml"), "-l", "cmd=examplesgen.sh"])
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
    let generated = stdout(&output);
    let ours = rules::file::parse(&generated).unwrap();
    // Sloth's file came from a development build; Meridian names itself.
    let sloth = std::fs::read_to_string(format!("{dir}/home-wifi.gen.yml"))
        .unwrap()
        .replace("sloth_version: dev", &format!("sloth_version: meridian-{}", env!("CARGO_PKG_VERSION")));
    assert_eq!(ours, rules::file::parse(&sloth).unwrap());
    let work = tempfile::tempdir().unwrap();
    let file = work.path().join("rules.yml");
    std::fs::write(&file, &generated).unwrap();
    let checked = Command::new("promtool").args(["check", "rules"]).arg(&file).output().unwrap();
    assert!(checked.status.success(), "{}{}", stdout(&checked), stderr(&checked));

    let bad = work.path().join("bad.yml");
    std::fs::write(&bad, "version: prometheus/v1\nservice: api\nslos:\n  - name: availability\n    objective: 101\n    sli: {raw: {errorRatioQuery: x}}\n    alerting: {name: A}\n").unwrap();
    let output = server().args(["slo", "generate"]).arg(&bad).output().unwrap();
    assert_eq!(output.status.code(), Some(1));
    assert!(stderr(&output).contains("line 5, column 5: slos[0].objective"), "{}", stderr(&output));
    let output = server().args(["slo", "generate", "--period", "month"]).arg(&bad).output().unwrap();
    assert!(stderr(&output).contains("--period"), "{}", stderr(&output));
}
