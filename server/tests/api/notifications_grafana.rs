//! Grafana's Alertmanager data source against Meridian. Grafana (implementation "Prometheus")
//! proxies its requests to an Alertmanager's API v2 and decodes the answers into Alertmanager's
//! own Go types, so what it needs is Alertmanager's shapes at Alertmanager's paths. Debian's
//! Alertmanager 0.25 and Meridian get the same configuration, alerts and silence (posted as
//! Grafana posts one), and every request Grafana makes must come back from Meridian with every
//! field Alertmanager's answer has, of the same JSON type, and the same values where the data
//! decides them (states, labels, receivers, what mutes what).

use std::collections::BTreeMap;

use serde_json::{json, Value};
use sqlx::PgPool;

use crate::{
    helpers::TestApp,
    notifications::{configure, Alertmanager},
};
use app::ssr::scope::TokenScope;

const CONFIG: &str = r#"route:
  receiver: team
  group_by: [alertname]
  routes:
    - matchers: ['severity="critical"']
      receiver: on-call
inhibit_rules:
  - source_matchers: ['severity="critical"']
    target_matchers: ['severity="warning"']
    equal: [alertname]
receivers:
  - name: team
    webhook_configs:
      - url: http://127.0.0.1:9/team
  - name: on-call
    webhook_configs:
      - url: http://127.0.0.1:9/on-call
"#;

fn alerts() -> Value {
    let alert = |name: &str, severity: &str, instance: &str| {
        json!({
            "labels": {"alertname": name, "severity": severity, "instance": instance},
            "annotations": {"summary": format!("{name} on {instance}")},
            "startsAt": "2026-12-07T10:00:00Z",
            "generatorURL": "http://prometheus/graph",
        })
    };
    // The critical disk alert inhibits the warning one; the CPU alert gets silenced.
    json!([alert("DiskFull", "critical", "db-1"), alert("DiskFull", "warning", "db-2"), alert("HighCpu", "warning", "api-1")])
}

/// Grafana's silence form's payload (`SilenceCreatePayload`).
fn grafana_silence() -> Value {
    json!({
        "matchers": [{"name": "alertname", "value": "HighCpu", "isEqual": true, "isRegex": false}],
        "startsAt": "2026-12-07T09:00:00.000Z",
        "endsAt": "2036-12-07T11:00:00.000Z",
        "createdBy": "grafana-user",
        "comment": "from Grafana",
    })
}

/// Every path of a JSON value with its type; arrays' items share the path `[]`.
fn shape(value: &Value, path: String, out: &mut BTreeMap<String, &'static str>) {
    let kind = match value {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(items) => {
            for item in items {
                shape(item, format!("{path}[]"), out);
            }
            "array"
        }
        Value::Object(fields) => {
            for (name, item) in fields {
                shape(item, format!("{path}.{name}"), out);
            }
            "object"
        }
    };
    out.insert(path, kind);
}

/// What Meridian's answer lacks or types differently from Alertmanager's, and how many of
/// Alertmanager's paths were compared.
fn missing(am: &Value, meridian: &Value) -> (Vec<String>, usize) {
    let (mut a, mut m) = (BTreeMap::new(), BTreeMap::new());
    shape(am, String::new(), &mut a);
    shape(meridian, String::new(), &mut m);
    let lacking = a
        .iter()
        .filter(|(path, kind)| m.get(*path) != Some(*kind))
        .map(|(path, kind)| format!("{path}: Alertmanager {kind}, Meridian {:?}", m.get(path)))
        .collect();
    (lacking, a.len())
}

/// The alerts by name and instance: their state, receivers and whether something mutes them.
fn states(alerts: &Value) -> BTreeMap<String, (String, Vec<String>, bool, bool)> {
    alerts
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            let key = format!("{}/{}", a["labels"]["alertname"].as_str().unwrap(), a["labels"]["instance"].as_str().unwrap());
            let receivers = a["receivers"].as_array().unwrap().iter().map(|r| r["name"].as_str().unwrap().to_string()).collect();
            let status = &a["status"];
            let muted_by = |field: &str| status[field].as_array().is_some_and(|l| !l.is_empty());
            (key, (status["state"].as_str().unwrap().to_string(), receivers, muted_by("silencedBy"), muted_by("inhibitedBy")))
        })
        .collect()
}

#[sqlx::test(migrator = "app::ssr::MIGRATOR")]
async fn grafana_reads_and_silences_through_meridian_as_through_alertmanager(pool: PgPool) {
    let work = tempfile::tempdir().unwrap();
    let (_am, am) = Alertmanager::start(CONFIG, work.path()).await;
    let app = TestApp::spawn(pool).await;
    let tenant = app.create_tenant("grafana").await;
    let token = app.create_token(tenant, &[TokenScope::Read, TokenScope::Write]).await;
    assert_eq!(configure(&app, &token, CONFIG).await.status(), 200);
    let meridian = app.url("").trim_end_matches('/').to_string();
    // The data source's "Authorization" header (Grafana sends what its settings hold).
    let client = reqwest::Client::new();
    let request = |method: reqwest::Method, base: &str, path: &str| {
        let request = client.request(method, format!("{base}{path}"));
        if base == meridian {
            request.bearer_auth(&token)
        } else {
            request
        }
    };

    // Grafana's health check for the Prometheus implementation: the Mimir path must not answer.
    let mimir = request(reqwest::Method::GET, &meridian, "/alertmanager/api/v2/status").send().await.unwrap();
    assert_ne!(mimir.status(), 200, "Grafana would take Meridian for Mimir");
    let health = request(reqwest::Method::GET, &meridian, "/api/v2/status").send().await.unwrap();
    assert_eq!(health.status(), 200);

    // The same alerts and a silence made in Grafana's form, to both.
    let mut silence_ids = BTreeMap::new();
    for base in [&am, &meridian] {
        let posted = request(reqwest::Method::POST, base, "/api/v2/alerts").json(&alerts()).send().await.unwrap();
        assert_eq!(posted.status(), 200, "{base}");
        let created = request(reqwest::Method::POST, base, "/api/v2/silences").json(&grafana_silence()).send().await.unwrap();
        assert_eq!(created.status(), 200, "{base}");
        let created: Value = created.json().await.unwrap();
        silence_ids.insert(base.clone(), created["silenceID"].as_str().expect("silenceID").to_string());
    }
    // Alertmanager's inhibitor catches up shortly after the alerts arrive.
    for _ in 0..50 {
        let now: Value = request(reqwest::Method::GET, &am, "/api/v2/alerts").send().await.unwrap().json().await.unwrap();
        if states(&now).values().filter(|s| s.0 == "suppressed").count() == 2 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }

    // Every read Grafana's Alertmanager pages make (`lotex_am.go`, `alertmanager.ts`).
    let filter = format!("?silenced=true&active=true&inhibited=true&filter={}", urlencode("alertname=\"DiskFull\""));
    let reads = [
        "/api/v2/status".to_string(),
        "/api/v2/receivers".to_string(),
        "/api/v2/alerts/groups".to_string(),
        "/api/v2/alerts".to_string(),
        format!("/api/v2/alerts{filter}"),
        "/api/v2/silences".to_string(),
    ];
    let (mut problems, mut compared) = (Vec::new(), 0);
    let mut answers = BTreeMap::new();
    for path in &reads {
        let mut pair = Vec::new();
        for base in [&am, &meridian] {
            let response = request(reqwest::Method::GET, base, path).send().await.unwrap();
            assert_eq!(response.status(), 200, "{base}{path}");
            pair.push(response.json::<Value>().await.unwrap());
        }
        let (lacking, paths) = missing(&pair[0], &pair[1]);
        problems.extend(lacking.into_iter().map(|p| format!("{path} {p}")));
        compared += paths;
        answers.insert(path.clone(), pair);
    }
    for base in [&am, &meridian] {
        let one = request(reqwest::Method::GET, base, &format!("/api/v2/silence/{}", silence_ids[base])).send().await.unwrap();
        assert_eq!(one.status(), 200);
        answers.entry("/api/v2/silence/{id}".into()).or_insert_with(Vec::new).push(one.json::<Value>().await.unwrap());
    }
    let one = &answers["/api/v2/silence/{id}"];
    let (lacking, paths) = missing(&one[0], &one[1]);
    problems.extend(lacking.into_iter().map(|p| format!("/api/v2/silence/{{id}} {p}")));
    compared += paths;
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    eprintln!("{compared} paths of Alertmanager's answers, each in Meridian's with its type");
    assert!(compared > 100, "the answers were compared whole ({compared} paths)");

    // The same values where the data decides them.
    let [am_alerts, meridian_alerts] = &answers["/api/v2/alerts"][..] else { unreachable!() };
    assert_eq!(states(am_alerts), states(meridian_alerts));
    let meridian_states = states(meridian_alerts);
    assert_eq!(meridian_states["DiskFull/db-2"], ("suppressed".into(), vec!["team".into()], false, true), "inhibited");
    assert_eq!(meridian_states["HighCpu/api-1"], ("suppressed".into(), vec!["team".into()], true, false), "silenced");
    assert_eq!(meridian_states["DiskFull/db-1"], ("active".into(), vec!["on-call".into()], false, false));
    let filtered = &answers[&format!("/api/v2/alerts{filter}")];
    assert_eq!(states(&filtered[0]), states(&filtered[1]));
    assert_eq!(states(&filtered[1]).len(), 2, "the filter keeps the disk alerts");
    let groups = |answer: &Value| -> Vec<(Value, String, usize)> {
        let mut groups: Vec<_> = answer
            .as_array()
            .unwrap()
            .iter()
            .map(|g| (g["labels"].clone(), g["receiver"]["name"].as_str().unwrap().to_string(), g["alerts"].as_array().unwrap().len()))
            .collect();
        groups.sort_by_key(|g| (g.0.to_string(), g.1.clone()));
        groups
    };
    let [am_groups, meridian_groups] = &answers["/api/v2/alerts/groups"][..] else { unreachable!() };
    assert_eq!(groups(am_groups), groups(meridian_groups));
    let names = |answer: &Value| -> Vec<String> {
        let mut names: Vec<String> = answer.as_array().unwrap().iter().map(|r| r["name"].as_str().unwrap().to_string()).collect();
        names.sort();
        names
    };
    let [am_receivers, meridian_receivers] = &answers["/api/v2/receivers"][..] else { unreachable!() };
    assert_eq!(names(am_receivers), names(meridian_receivers));
    for silence in &answers["/api/v2/silence/{id}"] {
        assert_eq!(silence["status"]["state"], "active");
        assert_eq!(silence["matchers"], json!([{"name": "alertname", "value": "HighCpu", "isEqual": true, "isRegex": false}]));
        assert_eq!((silence["createdBy"].as_str(), silence["comment"].as_str()), (Some("grafana-user"), Some("from Grafana")));
    }
    // Grafana shows the configuration from the status: Alertmanager's YAML, routes and all.
    let status = &answers["/api/v2/status"][1];
    let original = notify::config::parse(status["config"]["original"].as_str().unwrap()).unwrap();
    assert_eq!(original.route.routes[0].receiver, "on-call");
    assert_eq!(original.inhibit_rules[0].equal, ["alertname"]);

    // Expired from Grafana: gone from the active ones on both.
    for base in [&am, &meridian] {
        let expired = request(reqwest::Method::DELETE, base, &format!("/api/v2/silence/{}", silence_ids[base])).send().await.unwrap();
        assert_eq!(expired.status(), 200, "{base}");
        let one: Value = request(reqwest::Method::GET, base, &format!("/api/v2/silence/{}", silence_ids[base])).send().await.unwrap().json().await.unwrap();
        assert_eq!(one["status"]["state"], "expired", "{base}");
    }
}

fn urlencode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}
