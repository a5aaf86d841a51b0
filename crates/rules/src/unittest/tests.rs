use super::*;

fn upstream(name: &str) -> PathBuf {
    PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/testdata/promtool-tests/v2.42.0"
    ))
    .join(name)
}

/// Prometheus' own rule unit-test files pass and fail as promtool 2.42 says they do
/// (its cmd/promtool/unittest_test.go).
#[test]
fn upstream_files_pass_and_fail_as_promtool() {
    for name in [
        "unittest.yml",
        "long-period.yml",
        "at-modifier-test.yml",
        "negative-offset-test.yml",
    ] {
        let outcome = run_file(&upstream(name));
        assert!(outcome.passed(), "{name}: {:#?}", outcome.errors);
    }
    for name in [
        "failing.yml",
        "bad-input-series.yml",
        "bad-promql.yml",
        "bad-rules-error-test.yml",
        "bad-rules-syntax-test.yml",
    ] {
        let outcome = run_file(&upstream(name));
        assert!(!outcome.passed(), "{name} passed");
    }
}

#[test]
fn failures_say_what_differs() {
    let outcome = run_file(&upstream("failing.yml"));
    let text = outcome.errors.join("\n");
    assert_eq!(outcome.errors.len(), 4, "{text}");
    assert!(text.contains("expr: \"test\", time: 0s,\n        exp: {__name__=\"test\"} 1E+00\n        got: {__name__=\"test\"} 0E+00"), "{text}");
    assert!(
        text.contains("    name: Failing alert test,\n    alertname: InstanceDown, time: 5m,"),
        "{text}"
    );
    let errors = run_file(&upstream("bad-rules-error-test.yml")).errors;
    assert!(
        errors[0].starts_with("    rule: joined, time: 0s, err: "),
        "{errors:?}"
    );
    let syntax = run_file(&upstream("bad-rules-syntax-test.yml")).errors;
    assert!(
        syntax[0].contains("groups[0].rules[0].expr: could not parse expression"),
        "{syntax:?}"
    );
}

#[test]
fn a_report_as_promtool_prints_it() {
    let (text, passed) = run_files(&[upstream("unittest.yml"), upstream("failing.yml")]);
    assert!(!passed);
    assert!(text.contains("unittest.yml\n  SUCCESS\n"), "{text}");
    assert!(text.contains("failing.yml\n  FAILED:\n"), "{text}");
}

#[test]
fn keep_firing_for_and_group_order() {
    let dir = std::env::temp_dir().join(format!("rules-unittest-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("rules.yml"),
        r#"
groups:
  - name: second
    rules:
      - alert: Flapping
        expr: errors > 0
        for: 2m
        keep_firing_for: 3m
        annotations:
          summary: "{{ $labels.job }} has {{ $value }} errors"
  - name: first
    rules:
      - record: errors
        expr: sum by (job) (errors_total)
"#,
    )
    .unwrap();
    let test = r#"
rule_files: [rules.yml]
group_eval_order: [first, second]
tests:
  - interval: 1m
    input_series:
      - series: 'errors_total{job="api", instance="a"}'
        values: "0 1 1 1 0 0 0 0 0 0"
    alert_rule_test:
      - {eval_time: 2m, alertname: Flapping, exp_alerts: []}
      - eval_time: 3m
        alertname: Flapping
        exp_alerts:
          - exp_labels: {job: api}
            exp_annotations: {summary: "api has 1 errors"}
      - eval_time: 6m
        alertname: Flapping
        exp_alerts:
          - exp_labels: {job: api}
            exp_annotations: {summary: "api has 1 errors"}
      - {eval_time: 7m, alertname: Flapping, exp_alerts: []}
"#;
    let errors = run_text(test, &dir);
    assert!(errors.is_empty(), "{errors:#?}");
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn go_durations() {
    assert_eq!(go_duration(0), "0s");
    assert_eq!(go_duration(60_000), "1m0s");
    assert_eq!(go_duration(3_723_500), "1h2m3.5s");
    assert_eq!(go_duration(250), "250ms");
}

/// The differential: every upstream file gives the same verdict from Debian's promtool 2.42
/// (installed by scripts/test) and from Meridian.
#[test]
fn verdicts_match_promtool() {
    let promtool = "/usr/bin/promtool";
    assert!(
        Path::new(promtool).exists(),
        "{promtool} is missing: scripts/test installs Debian's prometheus package"
    );
    for name in [
        "unittest.yml",
        "long-period.yml",
        "at-modifier-test.yml",
        "negative-offset-test.yml",
        "failing.yml",
        "bad-input-series.yml",
        "bad-promql.yml",
        "bad-rules-error-test.yml",
        "bad-rules-syntax-test.yml",
    ] {
        let path = upstream(name);
        let status = std::process::Command::new(promtool)
            .args(["test", "rules"])
            .arg(path.file_name().unwrap())
            .current_dir(path.parent().unwrap())
            .output()
            .unwrap()
            .status;
        assert_eq!(run_file(&path).passed(), status.success(), "{name}");
    }
}
