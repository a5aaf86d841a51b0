//! Notifications: Alertmanager as the oracle (the same configuration and scripted alerts into
//! Debian's Alertmanager 0.25 and into Meridian, on one clock), the configuration API, amtool
//! against Meridian's API v2, and delivery that loses nothing and sends nothing twice.

use std::{net::TcpListener, process::Command};

use serde_json::Value;
use sqlx::PgPool;

use crate::{
    alert_oracle::{oracle_dir, run},
    helpers::TestApp,
};
use app::ssr::scope::TokenScope;

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// Starts the notification machinery of `app` (the test server starts none of it).
fn start_notifier(app: &TestApp, replica: &str) -> Vec<tokio::task::JoinHandle<()>> {
    vec![
        tokio::spawn(app::notifications::dispatcher::run(app.state.clone())),
        tokio::spawn(app::notifications::delivery::run(app.state.clone(), replica.into())),
    ]
}

/// One notification as the comparison sees it: receiver, group labels, status and alerts.
#[derive(Debug, Clone, PartialEq)]
struct Seen {
    t: f64,
    what: String,
    group_key: String,
    fingerprints: Vec<String>,
    firing_ends: Vec<Option<f64>>,
}

fn seen(recorded: &Value) -> Vec<Seen> {
    recorded["notifications"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| {
            let alerts = n["alerts"].as_array().unwrap();
            let names: Vec<String> = alerts
                .iter()
                .map(|a| format!("{}/{}:{}", a["alertname"].as_str().unwrap(), a["instance"].as_str().unwrap(), a["status"].as_str().unwrap()))
                .collect();
            Seen {
                t: n["t"].as_f64().unwrap(),
                what: format!("{} {} {} [{}]", n["receiver"].as_str().unwrap(), n["groupLabels"], n["status"].as_str().unwrap(), names.join(", ")),
                group_key: n["groupKey"].as_str().unwrap_or_default().to_string(),
                fingerprints: alerts.iter().map(|a| a["fingerprint"].as_str().unwrap_or_default().to_string()).collect(),
                firing_ends: alerts
                    .iter()
                    .filter(|a| a["status"] == "firing")
                    .map(|a| a["endsAt_rel"].as_f64())
                    .collect(),
            }
        })
        .collect()
}

#[sqlx::test(migrator = "app::ssr::MIGRATOR")]
async fn alertmanager_and_meridian_send_the_same_notifications(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let tenant = app.create_tenant("oracle").await;
    let token = app.create_token(tenant, &[TokenScope::Read, TokenScope::Write]).await;
    let notifier = start_notifier(&app, "oracle");
    let work = tempfile::tempdir().unwrap();
    let (am_out, m_out) = (work.path().join("am"), work.path().join("meridian"));
    let (base, config_url) = (app.url(""), app.url("/api/v1/alertmanager/config"));
    let port = free_port().to_string();
    // Both on one clock: Alertmanager and Meridian run the ~51 s script side by side.
    let script = oracle_dir().join("am_oracle.py");
    let (s1, s2) = (script.clone(), script);
    let am_dir = am_out.clone();
    let alertmanager = tokio::task::spawn_blocking(move || {
        run(
            "am_oracle.py (Alertmanager)",
            Command::new("python3").arg(s1).args(["--out", am_dir.to_str().unwrap()]),
        )
    });
    let m_dir = m_out.clone();
    let meridian = tokio::task::spawn_blocking(move || {
        run(
            "am_oracle.py (Meridian)",
            Command::new("python3")
                .arg(s2)
                .args(["--out", m_dir.to_str().unwrap()])
                .args(["--target", base.trim_end_matches('/'), "--token", &token])
                .args(["--webhook-port", &port, "--config-post-url", &config_url]),
        )
    });
    alertmanager.await.unwrap();
    meridian.await.unwrap();
    for task in notifier {
        task.abort();
    }
    let read = |dir: &std::path::Path| -> Value {
        serde_json::from_str(&std::fs::read_to_string(dir.join("notifications.json")).unwrap()).unwrap()
    };
    let (am, m) = (read(&am_out), read(&m_out));
    assert_eq!(m["config_post"]["code"], 200, "{}", m["config_post"]);
    for action in m["actions"].as_array().unwrap() {
        assert_eq!(action["code"], 200, "{action}");
    }
    let (expected, got) = (seen(&am), seen(&m));
    assert!(expected.len() >= 10, "Alertmanager sent only {expected:#?}");
    // Each of Alertmanager's notifications has its twin within 1 s (a repeat may come one
    // group_interval, 5 s, later or earlier: Alertmanager checks repeats on its ticks).
    for (who, list) in [("Alertmanager", &expected), ("Meridian", &got)] {
        eprintln!("{who}:");
        for n in list {
            eprintln!("  {:6.2} {}", n.t, n.what);
        }
    }
    let mut unmatched = got.clone();
    for e in &expected {
        let twin = unmatched.iter().position(|g| {
            let dt = g.t - e.t;
            g.what == e.what && (dt.abs() <= 1.0 || (dt.abs() - 5.0).abs() <= 1.0)
        });
        let Some(i) = twin else {
            panic!("Meridian did not send {e:?}\nAlertmanager: {expected:#?}\nMeridian: {got:#?}");
        };
        let g = unmatched.remove(i);
        assert_eq!(g.group_key, e.group_key, "{}", e.what);
        assert_eq!(g.fingerprints, e.fingerprints, "{}", e.what);
        assert!(g.firing_ends.iter().all(Option::is_none), "firing alerts have no end: {g:?}");
    }
    assert!(unmatched.is_empty(), "Meridian also sent {unmatched:#?}");
}
