use std::collections::BTreeMap;

use super::*;
use crate::{alert::Alert, bodies};

fn labels(pairs: &[(&str, &str)]) -> Labels {
    pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

/// Two alerts of one group, one firing and one resolved, as a flush would send them.
fn message() -> Message {
    let alert = |instance: &str, resolved: bool| Notified {
        alert: Alert {
            labels: labels(&[("alertname", "HighLatency"), ("instance", instance), ("service", "api"), ("severity", "warning")]),
            annotations: labels(&[("summary", &format!("p95 over 2 s on {instance}"))]),
            starts_at: 1_765_101_600_000,    // 2025-12-07 10:00:00 UTC
            ends_at: 1_765_102_530_500,      // 10:15:30.5
            generator_url: "http://meridian/alerts".into(),
            updated_at: 0,
            timeout: false,
        },
        resolved,
    };
    Message {
        receiver: "team".into(),
        group_key: "{}:{alertname=\"HighLatency\"}".into(),
        group_labels: labels(&[("alertname", "HighLatency")]),
        alerts: vec![alert("api-1", false), alert("api-2", true)],
        external_url: "http://meridian".into(),
    }
}

fn render(files: &[(&str, &str)], text: &str) -> String {
    let files: BTreeMap<String, String> = files.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    Templates::new(&files).unwrap().render(text, &data(&message(), false)).unwrap()
}

#[test]
fn the_default_subject_is_alertmanagers() {
    // `__subject` reads `.Alerts.Firing | len`, `.GroupLabels.SortedPairs.Values | join " "` and
    // `.CommonLabels.Remove .GroupLabels.Names`: every kind of method Alertmanager's data has.
    let subject = render(&[], r#"{{ template "slack.default.title" . }}"#);
    assert_eq!(subject, "[FIRING:1] HighLatency (api warning)");
    assert_eq!(subject, bodies::subject(&message()));
}

#[test]
fn ranges_over_alerts_with_their_pairs_and_times() {
    let text = r#"{{ range .Alerts.Firing }}{{ .Labels.instance }} since {{ .StartsAt.Format "15:04 Jan 2" }}: {{ range .Labels.SortedPairs }}{{ .Name }}={{ .Value }} {{ end }}{{ end }}|{{ range .Alerts.Resolved }}{{ .EndsAt }}{{ end }}|{{ (index .Alerts 0).EndsAt }}"#;
    assert_eq!(
        render(&[], text),
        "api-1 since 10:00 Dec 7: alertname=HighLatency instance=api-1 service=api severity=warning |2025-12-07 10:15:30.5 +0000 UTC|0001-01-01 00:00:00 +0000 UTC"
    );
    assert_eq!(render(&[], r#"{{ .CommonLabels.Names | join "," }} {{ len .Alerts }} {{ .Status | toUpper }}"#), "alertname,service,severity 2 FIRING");
    assert_eq!(render(&[], r#"{{ $a := .CommonLabels }}{{ $a.SortedPairs.Names | join "+" }}"#), "alertname+service+severity");
    assert_eq!(render(&[], r#"{{ with .CommonLabels.Remove (stringSlice "severity" "alertname") }}{{ .Values | join " " }}{{ end }}"#), "api");
    assert_eq!(render(&[], r#"{{ .CommonAnnotations.summary }}[{{ .CommonLabels.missing }}]"#), "[]");
}

#[test]
fn a_tenants_file_replaces_a_default_and_is_no_longer_default() {
    let files = [("ours.tmpl", r#"{{ define "__subject" }}{{ .Status | title }}: {{ .GroupLabels.alertname }}{{ end }}{{ define "team.text" }}{{ range .Alerts }}* {{ .Annotations.summary }}
{{ end }}{{ end }}"#)];
    assert_eq!(render(&files, r#"{{ template "slack.default.title" . }}"#), "Firing: HighLatency");
    assert_eq!(render(&files, r#"{{ template "team.text" . }}"#), "* p95 over 2 s on api-1\n* p95 over 2 s on api-2\n");
    let owned: BTreeMap<String, String> = files.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    let templates = Templates::new(&owned).unwrap();
    assert!(!templates.is_default_call(r#"{{ template "slack.default.title" . }}"#), "it calls a replaced __subject");
    assert!(templates.is_default_call(r#"{{ template "slack.default.text" . }}"#));
    assert!(Templates::default().is_default_call(r#"{{ template "email.default.html" . }}"#));
    assert!(!Templates::default().is_default_call(r#"{{ .Status }}"#));
}

#[test]
fn errors_name_the_file_and_the_place() {
    let files: BTreeMap<String, String> = [("bad.tmpl".to_string(), "{{ define \"x\" }}\n{{ if }}{{ end }}".to_string())].into();
    let (file, error) = Templates::new(&files).unwrap_err();
    assert_eq!(file, "bad.tmpl");
    assert!(error.contains(":2:"), "{error}");
    let files: BTreeMap<String, String> = [("f.tmpl".to_string(), r#"{{ define "x" }}{{ nosuch . }}{{ end }}"#.to_string())].into();
    let (_, error) = Templates::new(&files).unwrap_err();
    assert!(error.contains("nosuch"), "{error}");
    let templates = Templates::default();
    assert!(templates.check("{{ .Status").is_err());
    assert!(templates.check("{{ humanize 3 }}").unwrap_err().contains("humanize"));
    assert!(templates.check(r#"{{ template "__subject" . }}"#).is_ok());
    assert!(templates.render(r#"{{ template "nosuch" . }}"#, &data(&message(), false)).is_err());
}

#[test]
fn html_fields_see_escaped_values() {
    let mut m = message();
    m.alerts[0].alert.annotations.insert("summary".into(), "<script>x</script>".into());
    let t = Templates::default();
    assert_eq!(t.render("{{ (index .Alerts 0).Annotations.summary }}", &data(&m, true)).unwrap(), "&lt;script&gt;x&lt;/script&gt;");
    assert_eq!(t.render("{{ (index .Alerts 0).Annotations.summary }}", &data(&m, false)).unwrap(), "<script>x</script>");
}
