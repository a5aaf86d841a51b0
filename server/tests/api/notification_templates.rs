//! Notification templates: Debian's Alertmanager 0.25 and Meridian render the same template
//! file for the same alerts into Slack messages at a local receiver, and must write the same
//! title and text; a broken file is refused with its name and line.

use serde_json::{json, Value};
use sqlx::PgPool;

use crate::{
    helpers::TestApp,
    notifications::{configure, free_port, start_notifier, until, Alertmanager, Receiver},
};
use app::ssr::scope::TokenScope;

/// Uses every kind of method Alertmanager's data has (`.Alerts.Firing`, `.SortedPairs`,
/// `.Values`, `.Names`, `.Remove`, `.StartsAt.Format`) and its functions.
const TEAM_TMPL: &str = r##"{{ define "team.title" }}[{{ .Status | toUpper }}{{ if eq .Status "firing" }}:{{ .Alerts.Firing | len }}{{ end }}] {{ .GroupLabels.SortedPairs.Values | join " " }} for {{ .Receiver }}{{ end }}
{{ define "team.text" }}{{ range .Alerts.Firing }}* {{ .Labels.instance }}: {{ .Annotations.summary | title }} since {{ .StartsAt.Format "2006-01-02 15:04:05 MST" }} ({{ .Status }})
{{ range .Labels.SortedPairs }}  {{ .Name }}={{ .Value }}
{{ end }}{{ end }}{{ with .CommonLabels.Remove .GroupLabels.Names }}common: {{ .Names | join "," }} = {{ .Values | join "," }}{{ end }}
{{ if match "^api" .CommonLabels.job }}api job{{ end }} {{ reReplaceAll "-([0-9]+)" "#$1" "api-12" }} {{ toLower "ABC" }} {{ len .Alerts }} {{ .CommonAnnotations.runbook }}{{ end }}
"##;

fn alerts(starts: &str) -> Value {
    let alert = |instance: &str| {
        json!({
            "labels": {"alertname": "HighLatency", "instance": instance, "job": "api", "severity": "warning"},
            "annotations": {"summary": format!("p95 over 2 s on {instance}"), "runbook": "http://runbooks/latency"},
            "startsAt": starts,
        })
    };
    json!([alert("api-1"), alert("api-2")])
}

fn slack_yaml(port: u16, path: &str, templates: &str) -> String {
    format!(
        r#"route:
  receiver: team
  group_by: [alertname]
  group_wait: 1s
{templates}receivers:
  - name: team
    slack_configs:
      - api_url: http://127.0.0.1:{port}{path}
        title: '{{{{ template "team.title" . }}}}'
        text: '{{{{ template "team.text" . }}}}'
"#
    )
}

#[sqlx::test(migrator = "app::ssr::MIGRATOR")]
async fn alertmanager_and_meridian_render_the_same_templates(pool: PgPool) {
    let receiver = Receiver::default();
    let port = free_port();
    receiver.listen(port).await;
    let starts = "2026-12-07T09:58:20Z";

    // Alertmanager 0.25, with the template as a file.
    let work = tempfile::tempdir().unwrap();
    let tmpl = work.path().join("team.tmpl");
    std::fs::write(&tmpl, TEAM_TMPL).unwrap();
    let (_am, am) = Alertmanager::start(&slack_yaml(port, "/am", &format!("templates: ['{}']\n", tmpl.display())), work.path()).await;
    let client = reqwest::Client::new();
    let posted = client.post(format!("{am}/api/v2/alerts")).json(&alerts(starts)).send().await.unwrap();
    assert_eq!(posted.status(), 200);

    // Meridian, with the same file in its configuration.
    let app = TestApp::spawn(pool).await;
    let tenant = app.create_tenant("templates").await;
    let token = app.create_token(tenant, &TokenScope::ALL).await;
    let files = format!("template_files:\n  team.tmpl: {}\n", serde_json::to_string(TEAM_TMPL).unwrap());
    let response = configure(&app, &token, &slack_yaml(port, "/meridian", &files)).await;
    assert_eq!(response.status(), 200, "{}", response.text().await.unwrap());
    let notifier = start_notifier(&app, "templates");
    let posted = app.client.post(app.url("/api/v2/alerts")).bearer_auth(&token).json(&alerts(starts)).send().await.unwrap();
    assert_eq!(posted.status(), 200);

    until(30, || {
        let got = receiver.requests();
        got.iter().any(|(p, _, _)| p == "/am") && got.iter().any(|(p, _, _)| p == "/meridian")
    })
    .await;
    for task in notifier {
        task.abort();
    }
    let requests = receiver.requests();
    let body = |path: &str| requests.iter().find(|(p, _, _)| p == path).map(|(_, _, b)| b.clone()).unwrap();
    let (am, meridian) = (body("/am"), body("/meridian"));
    let am_title = am["attachments"][0]["title"].as_str().unwrap();
    let am_text = am["attachments"][0]["text"].as_str().unwrap();
    eprintln!("Alertmanager's title: {am_title}\nAlertmanager's text:\n{am_text}");
    assert!(am_text.contains("common: job,severity = api,warning"), "the oracle ran the template: {am_text}");
    assert_eq!(meridian["text"], am_title, "{meridian}");
    assert_eq!(meridian["attachments"][0]["blocks"][1]["text"]["text"], am_text, "{meridian}");
}

#[sqlx::test(migrator = "app::ssr::MIGRATOR")]
async fn a_broken_template_is_refused_with_its_file_and_line(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let tenant = app.create_tenant("templates").await;
    let token = app.create_token(tenant, &TokenScope::ALL).await;
    let broken = "template_files:\n  team.tmpl: \"{{ define \\\"team.title\\\" }}\\n{{ if }}{{ end }}\"\n";
    let response = configure(&app, &token, &slack_yaml(1, "/x", broken)).await;
    assert_eq!(response.status(), 422);
    let text = response.text().await.unwrap();
    assert!(text.contains("template_files.team.tmpl") && text.contains(":2:"), "{text}");

    // A contact point calling a function that does not exist is refused at its field.
    let yaml = slack_yaml(1, "/x", "").replace("team.title\" . }}", "team.title\" . | nosuch }}");
    let response = configure(&app, &token, &yaml).await;
    assert_eq!(response.status(), 422);
    let text = response.text().await.unwrap();
    assert!(text.contains("nosuch") && text.contains("slack_configs[0].title"), "{text}");
    let stored: i64 = sqlx::query_scalar("select count(*) from notify_config").fetch_one(&app.pool).await.unwrap();
    assert_eq!(stored, 0, "nothing written");
}
