//! Scheduled digests against real PostgreSQL: a week of seeded alert history becomes the
//! hand-computed numbers, the digest arrives once in the inbox, once at a real SMTP server
//! (aiosmtpd) with its text and HTML parts and once at a webhook, and however many runners look,
//! each tenant's period is sent once.

use std::time::Duration;

use serde_json::{json, Value};
use sqlx::PgPool;
use uuid::Uuid;

use crate::{
    helpers::TestApp,
    notifications::{configure, free_port, start_notifier, until},
    notifications_email::{part, SmtpServer},
};
use app::{notifications::digest::send_due, ssr::scope::TokenScope};
use notify::digest::{Report, Spread};

fn ms(rfc3339: &str) -> i64 {
    chrono::DateTime::parse_from_rfc3339(rfc3339).unwrap().timestamp_millis()
}

const MIN: i64 = 60_000;
const HOUR: i64 = 60 * MIN;
/// Monday 30 March 2026, 11:00 in Berlin: the weekly digest (Monday 08:00 Europe/Berlin) last
/// came due at 08:00 CEST = 06:00 UTC, for the week from Monday 23 March 08:00 CET = 07:00 UTC,
/// 167 hours across the change to summer time.
const NOW: &str = "2026-03-30T09:00:00Z";
const START: &str = "2026-03-23T07:00:00Z";
const END: &str = "2026-03-30T06:00:00Z";

/// An alert of the tenant's rules in its history; `fired` none for one that never fired.
#[allow(clippy::too_many_arguments)]
async fn rule_alert(
    app: &TestApp,
    tenant: Uuid,
    n: u32,
    rule: &str,
    severity: &str,
    fired: Option<i64>,
    acknowledged: Option<i64>,
    resolved: Option<i64>,
) {
    let active = fired.unwrap_or(ms(START) + HOUR) - MIN;
    let state = match (fired, resolved) {
        (None, _) => "pending",
        (_, Some(_)) => "resolved",
        _ => "firing",
    };
    sqlx::query(
        "insert into alert (tenant_id, group_name, rule_name, fingerprint, labels, annotations, severity,
                            state, active_at, fired_at, resolved_at, last_eval_at, acknowledged_by, acknowledged_at)
         values ($1, 'digest', $2, $3, $4, '{}', $5, $6, to_timestamp($7::bigint / 1000.0),
                 to_timestamp($8::bigint / 1000.0), to_timestamp($9::bigint / 1000.0), now(),
                 case when $10::bigint is null then null else 'someone' end, to_timestamp($10::bigint / 1000.0))",
    )
    .bind(tenant)
    .bind(rule)
    .bind(format!("{rule}-{n}"))
    .bind(json!({"alertname": rule, "severity": severity, "instance": format!("host-{n}")}))
    .bind(severity)
    .bind(state)
    .bind(active)
    .bind(fired)
    .bind(resolved)
    .bind(acknowledged)
    .execute(&app.pool)
    .await
    .unwrap();
}

/// An alert the notifier holds: posted to the API (no rule), or a rule's as the evaluator
/// hands it over (its labels with an external one, its firing time as its start).
async fn notifier_alert(app: &TestApp, tenant: Uuid, labels: Value, starts: i64, ends: i64, acknowledged: Option<i64>) {
    let fingerprint: i64 = rand_fingerprint(&labels);
    sqlx::query(
        "insert into notify_alert (tenant_id, fingerprint, labels, annotations, starts_ms, ends_ms, updated_ms,
                                   received_ms, acknowledged_by, acknowledged_at)
         values ($1, $2, $3, '{}', $4, $5, $4, $4, case when $6::bigint is null then null else 'someone' end,
                 to_timestamp($6::bigint / 1000.0))",
    )
    .bind(tenant)
    .bind(fingerprint)
    .bind(&labels)
    .bind(starts)
    .bind(ends)
    .bind(acknowledged)
    .execute(&app.pool)
    .await
    .unwrap();
}

fn rand_fingerprint(labels: &Value) -> i64 {
    let labels: notify::Labels = serde_json::from_value(labels.clone()).unwrap();
    notify::alert::Alert {
        labels,
        annotations: Default::default(),
        starts_at: 0,
        ends_at: 0,
        generator_url: String::new(),
        updated_at: 0,
        timeout: false,
    }
    .fingerprint() as i64
}

/// A notification already sent (or failed) about alerts named `names`.
async fn sent(app: &TestApp, tenant: Uuid, created: i64, group_key: &str, names: &[&str], state: &str) {
    let alerts: Vec<Value> = names
        .iter()
        .enumerate()
        .map(|(i, n)| {
            json!({"alert": {"labels": {"alertname": n, "instance": format!("i{i}")}, "annotations": {},
                             "starts_at": created, "ends_at": 0, "updated_at": created}, "resolved": false})
        })
        .collect();
    let message = json!({"receiver": "team", "group_key": group_key, "group_labels": {}, "alerts": alerts, "external_url": ""});
    sqlx::query(
        "insert into notify_outbox (tenant_id, receiver, integration, kind, group_key, status, target, message,
                                    created_ms, cause_ms, state, attempts, next_attempt_ms, give_up_ms)
         values ($1, 'team', 0, 'inbox', $2, 'firing', '{\"type\": \"inbox\"}', $3, $4, $4, $5, 1, $4, $4)",
    )
    .bind(tenant)
    .bind(group_key)
    .bind(message)
    .bind(created)
    .bind(state)
    .execute(&app.pool)
    .await
    .unwrap();
}

/// The week of history whose digest the test works out by hand (t = the period's start):
///
/// | alert | severity | fired | acknowledged after | resolved after |
/// |---|---|---|---|---|
/// | DiskFull 1 | critical | t+1h | 4 min | 30 min |
/// | DiskFull 2 | critical | t+25h | 10 min | 60 min |
/// | HighLatency 3 | warning | t+2h | – | 20 min |
/// | HighLatency 4 | warning | t+50h | 2 min | – (firing) |
/// | HighLatency 5 | warning | t+100h | – | 40 min |
/// | CertExpiry (API) | info | t+3h | 6 min | 90 min |
///
/// and, not counted: an alert that never fired, one fired before the period, one after, and
/// HighLatency 4's copy in the notifier.
async fn seed_week(app: &TestApp, tenant: Uuid) {
    let t = ms(START);
    let rows: [(u32, &str, &str, i64, Option<i64>, Option<i64>); 5] = [
        (1, "DiskFull", "critical", t + HOUR, Some(4 * MIN), Some(30 * MIN)),
        (2, "DiskFull", "critical", t + 25 * HOUR, Some(10 * MIN), Some(60 * MIN)),
        (3, "HighLatency", "warning", t + 2 * HOUR, None, Some(20 * MIN)),
        (4, "HighLatency", "warning", t + 50 * HOUR, Some(2 * MIN), None),
        (5, "HighLatency", "warning", t + 100 * HOUR, None, Some(40 * MIN)),
    ];
    for (n, rule, severity, fired, ack, resolved) in rows {
        rule_alert(app, tenant, n, rule, severity, Some(fired), ack.map(|a| fired + a), resolved.map(|r| fired + r)).await;
    }
    rule_alert(app, tenant, 6, "NeverFired", "critical", None, None, None).await;
    rule_alert(app, tenant, 7, "Before", "critical", Some(t - HOUR), None, Some(t + HOUR)).await;
    rule_alert(app, tenant, 8, "After", "critical", Some(ms(END) + 30 * MIN), None, None).await;
    notifier_alert(
        app,
        tenant,
        json!({"alertname": "CertExpiry", "severity": "info"}),
        t + 3 * HOUR,
        t + 3 * HOUR + 90 * MIN,
        Some(t + 3 * HOUR + 6 * MIN),
    )
    .await;
    notifier_alert(
        app,
        tenant,
        json!({"alertname": "HighLatency", "severity": "warning", "instance": "host-4", "cluster": "eu"}),
        t + 50 * HOUR,
        ms(NOW) + HOUR,
        Some(t + 50 * HOUR + 2 * MIN),
    )
    .await;
    // Notifications: DiskFull twice (a third failed), HighLatency twice (one about two of its
    // alerts); a test notification and one before the period are not counted.
    sent(app, tenant, t + HOUR, "{}:{alertname=\"DiskFull\"}", &["DiskFull"], "delivered").await;
    sent(app, tenant, t + 2 * HOUR, "{}:{alertname=\"DiskFull\"}", &["DiskFull"], "delivered").await;
    sent(app, tenant, t + 3 * HOUR, "{}:{alertname=\"DiskFull\"}", &["DiskFull"], "failed").await;
    sent(app, tenant, t + 4 * HOUR, "{}:{alertname=\"HighLatency\"}", &["HighLatency", "HighLatency"], "delivered").await;
    sent(app, tenant, t + 51 * HOUR, "{}:{alertname=\"HighLatency\"}", &["HighLatency"], "delivered").await;
    sent(app, tenant, t + 5 * HOUR, "{}:{test=\"1\"}", &["TestNotification"], "delivered").await;
    sent(app, tenant, t - MIN, "{}:{alertname=\"DiskFull\"}", &["DiskFull"], "delivered").await;
}

/// A local HTTP receiver keeping every JSON body it is sent.
async fn webhook_receiver(port: u16) -> std::sync::Arc<std::sync::Mutex<Vec<Value>>> {
    let got = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let kept = got.clone();
    let handler = move |body: axum::body::Bytes| {
        let kept = kept.clone();
        async move {
            kept.lock().unwrap().push(serde_json::from_slice(&body).unwrap_or(Value::Null));
            "ok"
        }
    };
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await.unwrap();
    tokio::spawn(async move { axum::serve(listener, axum::Router::new().fallback(handler)).await.unwrap() });
    got
}

#[sqlx::test(migrator = "app::ssr::MIGRATOR")]
async fn a_week_of_history_becomes_one_digest_in_the_inbox_by_email_and_by_webhook(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let tenant = app.create_tenant("digest-co").await;
    let token = app.create_token(tenant, &TokenScope::ALL).await;
    let smtp = SmtpServer::start(None).await;
    let hook_port = free_port();
    let hooks = webhook_receiver(hook_port).await;
    let yaml = format!(
        "route:
  receiver: team
receivers:
  - name: team
    inbox_configs: [{{}}]
    email_configs:
      - to: team@example.com
        from: Meridian <meridian@example.com>
        smarthost: 127.0.0.1:{}
        require_tls: false
    webhook_configs:
      - url: http://127.0.0.1:{hook_port}/digest
    pagerduty_configs:
      - routing_key: not-for-digests
digests:
  - receiver: team
    every: weekly
    weekday: monday
    at: \"08:00\"
    time_zone: Europe/Berlin
",
        smtp.port
    );
    let response = configure(&app, &token, &yaml).await;
    assert_eq!(response.status(), 200, "{}", response.text().await.unwrap());
    seed_week(&app, tenant).await;

    // Two replicas look at once: one claims the week and queues it, the other finds it taken.
    let (one, two) = tokio::join!(send_due(&app.state, ms(NOW)), send_due(&app.state, ms(NOW)));
    let mut queued = [one.unwrap(), two.unwrap()];
    queued.sort();
    assert_eq!(queued, [0, 3], "inbox, e-mail and webhook (no page for a digest), queued once");
    assert_eq!(send_due(&app.state, ms(NOW) + HOUR).await.unwrap(), 0, "later in the week: sent already");
    let claims: Vec<(String, i64, i64)> =
        sqlx::query_as("select receiver, period_start_ms, period_end_ms from notify_digest where tenant_id = $1")
            .bind(tenant)
            .fetch_all(&app.pool)
            .await
            .unwrap();
    assert_eq!(claims, [("team".to_string(), ms(START), ms(END))]);
    assert_eq!(ms(END) - ms(START), 167 * HOUR);

    let notifier = start_notifier(&app, "digest");
    let inbox_rows = || async {
        sqlx::query_as::<_, (String, String, Value)>(
            "select status, title, message from notify_inbox where tenant_id = $1",
        )
        .bind(tenant)
        .fetch_all(&app.pool)
        .await
        .unwrap()
    };
    until(20, || smtp.messages().len() == 1 && hooks.lock().unwrap().len() == 1).await;
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while inbox_rows().await.is_empty() {
        assert!(std::time::Instant::now() < deadline, "no digest in the inbox");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Long enough for a second delivery to show up if there were one.
    tokio::time::sleep(Duration::from_secs(3)).await;
    for task in notifier {
        task.abort();
    }

    let subject = "Weekly digest for digest-co: 6 alerts fired, 23–30 Mar 2026";
    let inbox = inbox_rows().await;
    assert_eq!(inbox.len(), 1, "{inbox:?}");
    let (status, title, message) = &inbox[0];
    assert_eq!((status.as_str(), title.as_str()), ("digest", subject));
    let report: Report = serde_json::from_value(message.clone()).unwrap();
    assert_eq!((report.period.start_ms, report.period.end_ms), (ms(START), ms(END)));
    assert_eq!(report.fired_total, 6);
    let fired: Vec<(&str, u64)> = report.fired.iter().map(|(s, n)| (s.as_str(), *n)).collect();
    assert_eq!(fired, [("critical", 2), ("warning", 3), ("info", 1)]);
    assert_eq!((report.acknowledged, report.resolved), (4, 5));
    // Acknowledged after 2, 4, 6, 10 min: median 5 min; p90 at rank 2.7: 6 + 0.7 × 4 = 8.8 min.
    assert_eq!(report.time_to_acknowledge, Some(Spread { median_ms: 5 * MIN, p90_ms: 528_000 }));
    // Resolved after 20, 30, 40, 60, 90 min: median 40; p90 at rank 3.6: 60 + 0.6 × 30 = 78.
    assert_eq!(report.time_to_resolve, Some(Spread { median_ms: 40 * MIN, p90_ms: 78 * MIN }));
    let noisiest: Vec<(&str, u64, u64)> =
        report.noisiest.iter().map(|r| (r.rule.as_str(), r.episodes, r.notifications)).collect();
    assert_eq!(noisiest, [("HighLatency", 3, 2), ("DiskFull", 2, 2), ("CertExpiry", 1, 0)]);

    let messages = smtp.messages();
    assert_eq!(messages.len(), 1, "{messages:#?}");
    let mail = &messages[0];
    assert_eq!(mail["headers"]["subject"], subject, "{mail:#}");
    assert_eq!(mail["type"], "multipart/alternative");
    assert_eq!(mail["rcpt_tos"], json!(["team@example.com"]));
    let (text, html) = (part(mail, "text/plain"), part(mail, "text/html"));
    for line in [
        "6 alerts fired: critical 2, warning 3, info 1",
        "Acknowledged: 4 of 6 · median 5m · p90 8m 48s",
        "Resolved: 5 of 6 · median 40m · p90 1h 18m",
        "  - HighLatency: 3 fired, 2 notified",
        "Mon 23 Mar 2026 08:00 CET – Mon 30 Mar 2026 08:00 CEST",
    ] {
        assert!(text.contains(line), "{line:?} in the text part: {text}");
    }
    for cell in ["HighLatency", "DiskFull", "CertExpiry", "8m 48s", "1h 18m", "4 of 6", "5 of 6"] {
        assert!(html.contains(cell), "{cell:?} in the HTML part: {html}");
    }
    assert!(html.contains("/alerts\"") && html.contains("View alerts in Meridian"), "{html}");

    let hooks = hooks.lock().unwrap().clone();
    assert_eq!(hooks.len(), 1, "{hooks:?}");
    assert_eq!(hooks[0]["kind"], "digest");
    assert_eq!(hooks[0]["subject"], subject);
    assert_eq!(hooks[0]["periodStart"], "2026-03-23T07:00:00Z");
    assert_eq!(hooks[0]["digest"]["fired_total"], 6);

    let outbox: Vec<(String, String, i32)> = sqlx::query_as(
        "select kind, state, attempts from notify_outbox where tenant_id = $1 and status = 'digest' order by kind",
    )
    .bind(tenant)
    .fetch_all(&app.pool)
    .await
    .unwrap();
    assert_eq!(
        outbox,
        [
            ("email".to_string(), "delivered".to_string(), 1),
            ("inbox".to_string(), "delivered".to_string(), 1),
            ("webhook".to_string(), "delivered".to_string(), 1),
        ]
    );

    // A tenant user reads it in the inbox, and sees the digest on the contact points page with
    // a preview that needs no script.
    let email = "viewer@digest.io";
    app.create_user(email, "tenant-viewer", Some(tenant)).await;
    let browser = app.browser();
    browser.login_ok(email).await;
    let page = browser.get("/inbox").await.text().await.unwrap();
    for needle in [subject, "Acknowledged: 4 of 6 · median 5m · p90 8m 48s", "Noisiest rules", "HighLatency"] {
        assert!(page.contains(needle), "{needle:?} on the inbox page");
    }
    let page = browser.get("/alerting/notifications").await.text().await.unwrap();
    assert!(page.contains("id=\"digests\"") && page.contains("weekly on Monday at 08:00"), "{page}");
    assert!(page.contains("Europe/Berlin") && page.contains("digest=0"), "{page}");
    let page = browser.get("/alerting/notifications?digest=0").await.text().await.unwrap();
    assert!(page.contains("id=\"digest-preview\"") && page.contains("srcdoc="), "{page}");
    assert!(page.contains("Weekly digest for digest-co"), "{page}");
    let missing = browser.call("load_digest_preview", &[("digest", "7")]).await;
    assert_eq!(missing.status(), 404);
    let bad = browser.call("load_digest_preview", &[("digest", "first")]).await;
    assert_eq!(bad.status(), 422, "{}", bad.text().await.unwrap());
}

#[sqlx::test(migrator = "app::ssr::MIGRATOR")]
async fn each_tenant_gets_its_own_digest_once_however_many_runners_look(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let yaml = "route:
  receiver: team
receivers:
  - name: team
    inbox_configs: [{}]
digests:
  - {receiver: team, every: daily, at: \"06:30\", time_zone: UTC}
";
    let (busy, quiet) = (app.create_tenant("busy").await, app.create_tenant("quiet").await);
    for tenant in [busy, quiet] {
        let token = app.create_token(tenant, &TokenScope::ALL).await;
        assert_eq!(configure(&app, &token, yaml).await.status(), 200);
    }
    seed_week(&app, busy).await;
    // Thursday 26 March 2026 07:00 UTC: the day from Wednesday 06:30 holds HighLatency 4.
    let now = ms("2026-03-26T07:00:00Z");
    let runners: Vec<_> = (0..4)
        .map(|_| {
            let state = app.state.clone();
            tokio::spawn(async move { send_due(&state, now).await.unwrap() })
        })
        .collect();
    let mut total = 0;
    for runner in runners {
        total += runner.await.unwrap();
    }
    assert_eq!(total, 2, "one digest a tenant");
    let reports: Vec<(Uuid, Value)> = sqlx::query_as(
        "select tenant_id, message from notify_outbox where status = 'digest' order by created_ms",
    )
    .fetch_all(&app.pool)
    .await
    .unwrap();
    assert_eq!(reports.len(), 2);
    for (tenant, message) in reports {
        let report: Report = serde_json::from_value(message).unwrap();
        assert_eq!((report.period.start_ms, report.period.end_ms), (ms("2026-03-25T06:30:00Z"), ms("2026-03-26T06:30:00Z")));
        // The other tenant's alerts are not the quiet one's.
        let expected = if tenant == busy { (1, 1, 0) } else { (0, 0, 0) };
        assert_eq!((report.fired_total, report.acknowledged, report.resolved), expected, "{report:?}");
        assert_eq!(report.tenant, if tenant == busy { "busy" } else { "quiet" });
    }
    // The next day's look sends the next day, once.
    assert_eq!(send_due(&app.state, now + 24 * HOUR).await.unwrap(), 2);
    assert_eq!(send_due(&app.state, now + 24 * HOUR + MIN).await.unwrap(), 0);
}
