use super::*;

/// Copies of `shared/testdata` (with their licences), so the tests run from a fresh clone.
const TESTDATA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/testdata");

fn rule_files() -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    for dir in ["rules/kube-prometheus", "rules/awesome-prometheus-alerts"] {
        for entry in std::fs::read_dir(format!("{TESTDATA}/{dir}")).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "yml" || e == "yaml") {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}

#[test]
fn every_shared_rule_file_reads_and_round_trips() {
    let files = rule_files();
    assert!(files.len() >= 10, "{files:?}");
    for path in files {
        let text = std::fs::read_to_string(&path).unwrap();
        let groups = parse(&text).unwrap_or_else(|e| panic!("{}: {:?}", path.display(), e));
        assert!(!groups.is_empty(), "{}", path.display());
        let again = parse(&to_yaml(&groups)).unwrap();
        assert_eq!(groups, again, "{}", path.display());
    }
}

#[test]
fn reads_every_field() {
    let text = r#"
groups:
  - name: api
    interval: 30s
    limit: 10
    rules:
      - record: job:http_requests:rate5m
        expr: sum by (job) (rate(http_requests_total[5m]))
        labels:
          team: web
      - alert: HighErrors
        expr: |
          job:http_errors:ratio5m > 0.05
        for: 2m
        keep_firing_for: 1m30s
        labels:
          severity: critical
        annotations:
          summary: "{{ $labels.job }} fails {{ $value | humanizePercentage }}"
          runbook_url: https://runbooks.example.com/high-errors
"#;
    let groups = parse(text).unwrap();
    assert_eq!(groups.len(), 1);
    let g = &groups[0];
    assert_eq!(
        (g.name.as_str(), g.interval_ms, g.limit),
        ("api", Some(30_000), 10)
    );
    assert_eq!(g.rules[0].kind, Kind::Record);
    assert_eq!(
        g.rules[0].labels,
        vec![("team".to_string(), "web".to_string())]
    );
    let alert = &g.rules[1];
    assert_eq!(
        (alert.kind, alert.name.as_str()),
        (Kind::Alert, "HighErrors")
    );
    assert_eq!(alert.expr, "job:http_errors:ratio5m > 0.05\n");
    assert_eq!((alert.for_ms, alert.keep_firing_for_ms), (120_000, 90_000));
    assert_eq!(alert.label("severity"), Some("critical"));
    assert_eq!(alert.annotations.len(), 2);
    let yaml = to_yaml(&groups);
    assert!(yaml.contains("keep_firing_for: 1m30s"), "{yaml}");
    assert_eq!(parse(&yaml).unwrap(), groups);
}

fn problems(text: &str) -> Vec<String> {
    parse(text)
        .unwrap_err()
        .iter()
        .map(|p| p.to_string())
        .collect()
}

#[test]
fn errors_name_their_line_and_field() {
    let text = "groups:\n  - name: a\n    rules:\n      - alert: X\n        expr: sum(rate(x[5m])\n      - record: bad name\n        expr: up\n        for: 5m\n";
    let found = problems(text);
    assert_eq!(found.len(), 3, "{found:?}");
    assert!(
        found[0].starts_with(
            "line 5, column 15: groups[0].rules[0].expr: could not parse expression: 1:"
        ),
        "{found:?}"
    );
    assert!(
        found[1].starts_with(
            "line 6, column 17: groups[0].rules[1].record: invalid recording rule name: bad name"
        ),
        "{found:?}"
    );
    assert!(
        found[2].starts_with(
            "line 8, column 14: groups[0].rules[1].for: invalid field 'for' in recording rule"
        ),
        "{found:?}"
    );

    let unknown =
        problems("groups:\n  - name: a\n    rules:\n      - alert: X\n        exprr: up\n");
    assert!(unknown[0].starts_with("line 5"), "{unknown:?}");
    assert!(unknown[0].contains("exprr"), "{unknown:?}");

    let both = problems(
        "groups:\n  - name: a\n    rules:\n      - alert: X\n        record: y\n        expr: up\n",
    );
    assert!(
        both[0].contains("only one of 'record' and 'alert' must be set"),
        "{both:?}"
    );
    assert!(both[0].starts_with("line 4"), "{both:?}");

    let repeated = problems("groups:\n  - name: a\n    rules: []\n  - name: a\n    rules: []\n");
    assert_eq!(
        repeated,
        vec!["line 4, column 11: groups[1].name: group name \"a\" is repeated in the same file"]
    );

    let duration = problems("groups:\n  - name: a\n    rules:\n      - alert: X\n        expr: up\n        for: 5 minutes\n");
    assert!(
        duration[0]
            .starts_with("line 6, column 14: groups[0].rules[0].for: not a valid duration string"),
        "{duration:?}"
    );

    let label = problems("groups:\n  - name: a\n    rules:\n      - alert: X\n        expr: up\n        labels:\n          bad-name: x\n");
    assert!(
        label[0].starts_with(
            "line 7, column 11: groups[0].rules[0].labels.bad-name: invalid label name"
        ),
        "{label:?}"
    );

    let template = problems("groups:\n  - name: a\n    rules:\n      - alert: X\n        expr: up\n        annotations:\n          summary: '{{ $labels.x'\n");
    assert!(
        template[0]
            .starts_with("line 7, column 11: groups[0].rules[0].annotations.summary: template:"),
        "{template:?}"
    );

    let yaml = problems("groups:\n  - name: a\n   rules: []\n");
    assert!(yaml[0].starts_with("line 3"), "{yaml:?}");
}

#[test]
fn empty_files_have_no_groups() {
    assert_eq!(parse("").unwrap(), vec![]);
    assert_eq!(parse("# nothing yet\n").unwrap(), vec![]);
    assert_eq!(parse("groups: []\n").unwrap(), vec![]);
}

#[test]
fn durations_as_prometheus_reads_and_writes_them() {
    assert_eq!(parse_duration("1h30m"), Ok(5_400_000));
    assert_eq!(parse_duration("0"), Ok(0));
    assert_eq!(parse_duration("90s"), Ok(90_000));
    assert!(parse_duration("30m1h").is_err());
    assert!(parse_duration("-5m").is_err());
    assert!(parse_duration("5").is_err());
    assert!(parse_duration("").is_err());
    assert_eq!(format_duration(90_000), "1m30s");
    assert_eq!(format_duration(86_400_000), "1d");
    assert_eq!(format_duration(0), "0s");
    assert_eq!(format_duration(1_500), "1s500ms");
}

/// Debian's promtool (installed by scripts/test) checks what Meridian exports.
fn promtool() -> std::process::Command {
    let path = "/usr/bin/promtool";
    assert!(
        std::path::Path::new(path).exists(),
        "{path} is missing: scripts/test installs Debian's prometheus package"
    );
    std::process::Command::new(path)
}

#[test]
fn exports_pass_promtool_check_rules() {
    let dir = std::env::temp_dir().join(format!("rules-export-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut exported = Vec::new();
    for (i, path) in rule_files().into_iter().enumerate() {
        let groups = parse(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let out = dir.join(format!("{i}.yml"));
        std::fs::write(&out, to_yaml(&groups)).unwrap();
        exported.push(out);
    }
    let output = promtool()
        .arg("check")
        .arg("rules")
        .args(&exported)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    std::fs::remove_dir_all(&dir).ok();
}
