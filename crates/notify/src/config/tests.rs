use super::*;

fn labels(pairs: &[(&str, &str)]) -> crate::Labels {
    pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

/// The oracle's configuration (shared/alert-oracle/am_oracle.py).
pub(crate) const ORACLE: &str = r#"global:
  resolve_timeout: 5m
route:
  receiver: default
  group_by: [alertname, cluster]
  group_wait: 2s
  group_interval: 5s
  repeat_interval: 20s
  routes:
    - receiver: team-db
      matchers: ['team="db"']
      group_by: [alertname]
      continue: true
    - receiver: critical
      matchers: ['severity="critical"']
inhibit_rules:
  - source_matchers: ['severity="critical"']
    target_matchers: ['severity="warning"']
    equal: [cluster]
receivers:
  - name: default
    webhook_configs:
      - url: 'http://127.0.0.1:19999/default'
        send_resolved: true
  - name: team-db
    webhook_configs:
      - url: 'http://127.0.0.1:19999/team-db'
        send_resolved: true
  - name: critical
    webhook_configs:
      - url: 'http://127.0.0.1:19999/critical'
        send_resolved: false
"#;

#[test]
fn routes_the_oracle_configuration_as_alertmanager() {
    let config = parse(ORACLE).unwrap();
    let root = &config.route;
    assert_eq!(root.key, "{}");
    let node_down = labels(&[("alertname", "NodeDown"), ("cluster", "us"), ("severity", "critical"), ("team", "db")]);
    let routes = root.matches(&node_down);
    let names: Vec<&str> = routes.iter().map(|r| r.receiver.as_str()).collect();
    // continue: true on team-db, so the critical route is tried too.
    assert_eq!(names, ["team-db", "critical"]);
    assert_eq!(routes[0].group_key(&routes[0].group_labels(&node_down)), r#"{}/{team="db"}:{alertname="NodeDown"}"#);
    // The critical route inherits group_by and the timing.
    assert_eq!(
        routes[1].group_key(&routes[1].group_labels(&node_down)),
        r#"{}/{severity="critical"}:{alertname="NodeDown", cluster="us"}"#
    );
    assert_eq!((routes[1].group_wait_ms, routes[1].group_interval_ms, routes[1].repeat_interval_ms), (2000, 5000, 20000));
    let disk = labels(&[("alertname", "DiskFull"), ("cluster", "us"), ("severity", "warning")]);
    let routes = root.matches(&disk);
    assert_eq!(routes.len(), 1);
    assert_eq!(routes[0].id, "0");
    assert_eq!(routes[0].receiver, "default");
    match &config.receivers[2].integrations[0] {
        Integration::Webhook { send_resolved, url, .. } => {
            assert!(!send_resolved);
            assert!(url.ends_with("/critical"));
        }
        other => panic!("{other:?}"),
    }
    // Inhibition: the critical alert mutes a warning of its cluster only.
    let now = 1_000;
    let critical = crate::alert::Alert {
        labels: node_down.clone(),
        annotations: Default::default(),
        starts_at: 0,
        ends_at: 10_000,
        generator_url: String::new(),
        updated_at: 0,
        timeout: false,
    };
    let alerts = vec![critical];
    assert!(crate::inhibit::inhibited_by(&config.inhibit_rules, &disk, alerts.iter(), now).is_some());
    let eu = labels(&[("alertname", "DiskFull"), ("cluster", "eu"), ("severity", "warning")]);
    assert!(crate::inhibit::inhibited_by(&config.inhibit_rules, &eu, alerts.iter(), now).is_none());
    // Once resolved it mutes nothing.
    assert!(crate::inhibit::inhibited_by(&config.inhibit_rules, &disk, alerts.iter(), 10_000).is_none());
}

#[test]
fn round_trips_through_yaml() {
    let config = parse(ORACLE).unwrap();
    let again = parse(&config.to_yaml()).unwrap();
    assert_eq!(config.file, again.file);
    let real = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/testdata/alertmanager/am.yml"));
    if let Ok(real) = real {
        let config = parse(&real).unwrap();
        assert_eq!(config.route.receiver, "webhook");
        assert_eq!(parse(&config.to_yaml()).unwrap().file, config.file);
    }
}

#[test]
fn group_by_all_and_legacy_matchers() {
    let config = parse(
        r#"route:
  receiver: a
  group_by: ['...']
  routes:
    - receiver: b
      match: {team: db}
      match_re: {service: "api|web"}
receivers: [{name: a}, {name: b}]
"#,
    )
    .unwrap();
    let l = labels(&[("alertname", "X"), ("service", "api"), ("team", "db")]);
    let routes = config.route.matches(&l);
    assert_eq!(routes[0].receiver, "b");
    assert_eq!(routes[0].group_labels(&l), l);
    assert_eq!(routes[0].key, r#"{}/{service=~"api|web",team="db"}"#);
    assert_eq!((routes[0].group_wait_ms, routes[0].repeat_interval_ms), (30_000, 4 * 3_600_000));
}

#[test]
fn problems_name_their_line() {
    let text = r#"route:
  receiver: nobody
  group_wait: 3x
  routes:
    - matchers: ['team=~"(']
receivers:
  - name: a
    webhook_configs:
      - url: ftp://x
"#;
    let problems = parse(text).unwrap_err();
    let found: Vec<(usize, &str)> = problems.iter().map(|p| (p.line, p.field.as_str())).collect();
    assert_eq!(
        found,
        [
            (2, "route.receiver"),
            (3, "route.group_wait"),
            (5, "route.routes[0].matchers[0]"),
            (8, "receivers[0].webhook_configs"),
        ],
        "{problems:?}"
    );
    assert!(problems[0].message.contains("undefined receiver \"nobody\""));
    assert!(problems[2].message.contains("unescaped double quote"));
    let unknown = parse("route:\n  receiver: a\n  gruop_by: [x]\nreceivers: [{name: a}]\n").unwrap_err();
    assert_eq!(unknown[0].line, 3, "{unknown:?}");
    assert!(unknown[0].message.contains("gruop_by"));
    assert!(parse("receivers: [{name: a}]\n").unwrap_err()[0].message.contains("no routes"));
}

#[test]
fn time_intervals_in_their_zone() {
    let config = parse(
        r#"route:
  receiver: a
  routes:
    - receiver: a
      matchers: [x=y]
      mute_time_intervals: [offhours]
time_intervals:
  - name: offhours
    time_intervals:
      - weekdays: ['saturday', 'sunday']
        location: Europe/Berlin
      - times: [{start_time: "00:00", end_time: "08:00"}]
        days_of_month: ['-1']
        location: Europe/Berlin
receivers: [{name: a}]
"#,
    )
    .unwrap();
    let off = &config.time_intervals["offhours"];
    let ms = |s: &str| chrono::DateTime::parse_from_rfc3339(s).unwrap().timestamp_millis();
    // Saturday 00:30 in Berlin is Friday 23:30 UTC.
    assert!(crate::time_interval::any_contains(off, ms("2026-12-04T23:30:00Z")));
    assert!(!crate::time_interval::any_contains(off, ms("2026-12-04T22:30:00Z")));
    // The last day of March (a Wednesday, summer time: UTC+2), before 08:00 in Berlin.
    assert!(crate::time_interval::any_contains(off, ms("2027-03-31T05:59:00Z")));
    assert!(!crate::time_interval::any_contains(off, ms("2027-03-31T06:00:00Z")));
    let backwards = parse("route: {receiver: a}\nreceivers: [{name: a}]\ntime_intervals: [{name: w, time_intervals: [{weekdays: ['saturday:sunday']}]}]\n");
    assert!(backwards.unwrap_err()[0].field.ends_with("weekdays[0]"));
    let bad = parse("route: {receiver: a, routes: [{receiver: a, mute_time_intervals: [nope]}]}\nreceivers: [{name: a}]\n").unwrap_err();
    assert!(bad[0].message.contains("undefined time interval"), "{bad:?}");
}
