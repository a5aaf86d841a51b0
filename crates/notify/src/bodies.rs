//! The request bodies of the integrations other than the webhook, built from a group's
//! [`Message`] as Alertmanager's default templates build them: the subject line
//! (`[FIRING:2] HighLatency (eu warning)`), Slack's message with a colour by severity and links
//! to the alert and to a silence, PagerDuty's Events API v2 event with a dedup key stable for
//! the group, and another Alertmanager's `POST /api/v2/alerts` body.

use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::webhook::{go_time, Message};

/// Alertmanager's `__subject`.
pub fn subject(message: &Message) -> String {
    let status = message.status();
    let mut out = format!("[{}", status.to_uppercase());
    if status == "firing" {
        out.push_str(&format!(":{}", message.firing().count()));
    }
    out.push_str("] ");
    out.push_str(&message.group_labels.values().cloned().collect::<Vec<_>>().join(" "));
    let common = message.common_labels();
    if common.len() > message.group_labels.len() {
        let rest: Vec<String> = common
            .iter()
            .filter(|(k, _)| !message.group_labels.contains_key(*k))
            .map(|(_, v)| v.clone())
            .collect();
        out.push_str(&format!(" ({})", rest.join(" ")));
    }
    out
}

/// The highest severity among the firing alerts (`critical`, `warning`, `info`), or the
/// `severity` label's own value.
pub fn severity(message: &Message) -> String {
    let rank = |s: &str| match s {
        "critical" | "page" => 3,
        "error" | "high" => 2,
        "warning" => 1,
        _ => 0,
    };
    message
        .firing()
        .filter_map(|a| a.alert.labels.get("severity").cloned())
        .max_by_key(|s| rank(s))
        .unwrap_or_default()
}

/// Slack's colour for the message: resolved green, then by severity.
pub fn colour(message: &Message) -> &'static str {
    if message.status() == "resolved" {
        return "#2eb67d";
    }
    match severity(message).as_str() {
        "critical" | "page" => "#d63232",
        "warning" | "error" | "high" => "#e0a800",
        _ => "#2f80ed",
    }
}

/// Links a notification carries: to the alert's page and to a silence of its group.
pub struct Links {
    pub alert: String,
    pub silence: String,
}

/// A Slack incoming webhook's body.
pub fn slack(message: &Message, channel: &str, username: &str, links: &Links) -> Value {
    let title = subject(message);
    let mut lines = Vec::new();
    for a in message.alerts.iter() {
        let summary = a
            .alert
            .annotations
            .get("summary")
            .or_else(|| a.alert.annotations.get("description"))
            .cloned()
            .unwrap_or_default();
        let state = if a.resolved { "resolved" } else { "firing" };
        let name = a.alert.labels.get("alertname").cloned().unwrap_or_default();
        let instance = a.alert.labels.get("instance").map(|i| format!(" on {i}")).unwrap_or_default();
        lines.push(format!("*{name}*{instance} ({state}){}", if summary.is_empty() { String::new() } else { format!(": {summary}") }));
    }
    let text = lines.join("\n");
    let mut body = json!({
        "text": title,
        "attachments": [{
            "color": colour(message),
            "fallback": title,
            "blocks": [
                {"type": "section", "text": {"type": "mrkdwn", "text": format!("*<{}|{}>*", links.alert, title)}},
                {"type": "section", "text": {"type": "mrkdwn", "text": text}},
                {"type": "actions", "elements": [
                    {"type": "button", "text": {"type": "plain_text", "text": "View alert"}, "url": links.alert},
                    {"type": "button", "text": {"type": "plain_text", "text": "Silence"}, "url": links.silence},
                ]},
            ],
        }],
    });
    if !channel.is_empty() {
        body["channel"] = json!(channel);
    }
    if !username.is_empty() && !username.contains("{{") {
        body["username"] = json!(username);
    }
    body
}

/// Alertmanager's PagerDuty dedup key: the SHA-256 of the group key, in hex.
pub fn dedup_key(group_key: &str) -> String {
    hex::encode(Sha256::digest(group_key.as_bytes()))
}

/// A PagerDuty Events API v2 event: trigger while something fires, resolve when all is
/// resolved, acknowledge when `acknowledged`.
pub fn pagerduty(message: &Message, routing_key: &str, severity_default: &str, acknowledged: bool, links: &Links) -> Value {
    let action = if acknowledged {
        "acknowledge"
    } else if message.status() == "resolved" {
        "resolve"
    } else {
        "trigger"
    };
    let severity = match severity(message).as_str() {
        "critical" | "page" => "critical",
        "warning" => "warning",
        "info" => "info",
        "error" => "error",
        _ => severity_default,
    }
    .to_string();
    let mut summary = subject(message);
    summary.truncate(1024);
    json!({
        "routing_key": routing_key,
        "event_action": action,
        "dedup_key": dedup_key(&message.group_key),
        "payload": {
            "summary": summary,
            "source": "Meridian",
            "severity": severity,
            "custom_details": {
                "firing": message.firing().count(),
                "resolved": message.alerts.iter().filter(|a| a.resolved).count(),
                "alerts": message.alerts.iter().map(|a| &a.alert.labels).collect::<Vec<_>>(),
            },
        },
        "client": "Meridian",
        "client_url": links.alert,
        "links": [{"href": links.alert, "text": "Alert in Meridian"}, {"href": links.silence, "text": "Silence"}],
    })
}

/// Another Alertmanager's `POST /api/v2/alerts` body: the alerts with their times.
pub fn alertmanager(message: &Message) -> Value {
    Value::Array(
        message
            .alerts
            .iter()
            .map(|a| {
                json!({
                    "labels": a.alert.labels,
                    "annotations": a.alert.annotations,
                    "startsAt": go_time(a.alert.starts_at),
                    "endsAt": go_time(a.alert.ends_at),
                    "generatorURL": a.alert.generator_url,
                })
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{alert::Alert, webhook::Notified, Labels};

    fn notified(pairs: &[(&str, &str)], resolved: bool) -> Notified {
        Notified {
            alert: Alert {
                labels: pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
                annotations: Labels::new(),
                starts_at: 1_000,
                ends_at: 2_000,
                generator_url: String::new(),
                updated_at: 1_000,
                timeout: false,
            },
            resolved,
        }
    }

    #[test]
    fn subjects_and_keys_are_alertmanagers() {
        let message = Message {
            receiver: "team-db".into(),
            group_key: r#"{}/{team="db"}:{alertname="HighLatency"}"#.into(),
            group_labels: [("alertname".to_string(), "HighLatency".to_string())].into(),
            alerts: vec![
                notified(&[("alertname", "HighLatency"), ("cluster", "eu"), ("instance", "a"), ("severity", "warning")], false),
                notified(&[("alertname", "HighLatency"), ("cluster", "eu"), ("instance", "b"), ("severity", "critical")], true),
            ],
            external_url: String::new(),
        };
        assert_eq!(subject(&message), "[FIRING:1] HighLatency (eu)");
        assert_eq!(colour(&message), "#e0a800");
        // sha256 of the group key, as Alertmanager's `Key.Hash`.
        assert_eq!(dedup_key("{}:{}").len(), 64);
        let links = Links { alert: "http://m/alerts".into(), silence: "http://m/silence".into() };
        let event = pagerduty(&message, "key", "error", false, &links);
        assert_eq!(event["event_action"], "trigger");
        assert_eq!(event["payload"]["severity"], "warning");
        let slack = slack(&message, "#ops", "", &links);
        assert_eq!(slack["channel"], "#ops");
        assert_eq!(slack["attachments"][0]["blocks"][2]["elements"][1]["url"], "http://m/silence");
    }
}
