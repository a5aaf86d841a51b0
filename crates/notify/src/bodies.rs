//! The request bodies of the integrations other than the webhook, built from a group's
//! [`Message`] as Alertmanager's default templates build them: the subject line
//! (`[FIRING:2] HighLatency (eu warning)`), Slack's message with a colour by severity and links
//! to the alert and to a silence, PagerDuty's Events API v2 event with a dedup key stable for
//! the group, and another Alertmanager's `POST /api/v2/alerts` body.

use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::{
    template::Texts,
    webhook::{go_time, Message},
};

/// Cuts `text` to at most `max` characters (a byte cut could split one).
fn truncate_chars(text: &mut String, max: usize) {
    if let Some((at, _)) = text.char_indices().nth(max) {
        text.truncate(at);
    }
}

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
#[derive(Default)]
pub struct Links {
    pub alert: String,
    pub silence: String,
    /// Each firing alert's acknowledgement link, by fingerprint.
    pub acknowledge: std::collections::BTreeMap<u64, String>,
}

/// A Slack incoming webhook's body: the receiver's own title and text where its templates
/// give them, Meridian's (the subject, a line an alert) where they are Alertmanager's defaults.
pub fn slack(message: &Message, channel: &str, username: &str, links: &Links, texts: &Texts) -> Value {
    let title = texts.title.clone().unwrap_or_else(|| subject(message));
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
    let text = texts.text.clone().unwrap_or_else(|| lines.join("\n"));
    let mut actions = vec![
        json!({"type": "button", "text": {"type": "plain_text", "text": "View alert"}, "url": links.alert}),
        json!({"type": "button", "text": {"type": "plain_text", "text": "Silence"}, "url": links.silence}),
    ];
    // One button an alert (Slack shows at most 25 elements in a block).
    for a in message.firing().take(23) {
        if let Some(url) = links.acknowledge.get(&a.alert.fingerprint()) {
            let name = a.alert.labels.get("instance").or(a.alert.labels.get("alertname")).cloned().unwrap_or_default();
            let text = if message.firing().count() == 1 { "Acknowledge".to_string() } else { format!("Acknowledge {name}") };
            actions.push(json!({"type": "button", "text": {"type": "plain_text", "text": text}, "url": url, "style": "primary"}));
        }
    }
    let mut body = json!({
        "text": title,
        "attachments": [{
            "color": colour(message),
            "fallback": title,
            "blocks": [
                {"type": "section", "text": {"type": "mrkdwn", "text": format!("*<{}|{}>*", links.alert, title)}},
                {"type": "section", "text": {"type": "mrkdwn", "text": text}},
                {"type": "actions", "elements": actions},
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
pub fn pagerduty(
    message: &Message,
    routing_key: &str,
    severity_default: &str,
    acknowledged: bool,
    links: &Links,
    texts: &Texts,
) -> Value {
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
    let mut summary = texts.title.clone().unwrap_or_else(|| subject(message));
    truncate_chars(&mut summary, 1024);
    let details = match &texts.details {
        Some(details) => json!(details),
        None => json!({
            "firing": message.firing().count(),
            "resolved": message.alerts.iter().filter(|a| a.resolved).count(),
            "alerts": message.alerts.iter().map(|a| &a.alert.labels).collect::<Vec<_>>(),
        }),
    };
    json!({
        "routing_key": routing_key,
        "event_action": action,
        "dedup_key": dedup_key(&message.group_key),
        "payload": {
            "summary": summary,
            "source": "Meridian",
            "severity": severity,
            "custom_details": details,
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

/// An e-mail's HTML part, in the manner of Alertmanager's `email.default.html`: a header bar in
/// the message's colour with the subject, links to the alerts and to a silence, then the firing
/// and the resolved alerts, each with its labels, annotations and start. Mail clients drop
/// `<style>` blocks and external sheets, so every style is inline; every value is escaped, as
/// labels and annotations come from whoever sends alerts.
pub fn email_html(message: &Message, links: &Links) -> String {
    let title = escape_html(&subject(message));
    let colour = colour(message);
    let mut out = format!(
        r#"<!DOCTYPE html>
<html><head><meta charset="utf-8"><meta name="viewport" content="width=device-width"><title>{title}</title></head>
<body style="margin:0;padding:0;background:#f6f6f6;font-family:'Helvetica Neue',Helvetica,Arial,sans-serif;font-size:14px;line-height:1.5;color:#333;">
<table role="presentation" width="100%" cellpadding="0" cellspacing="0" style="background:#f6f6f6;"><tr><td align="center" style="padding:20px;">
<table role="presentation" width="600" cellpadding="0" cellspacing="0" style="width:100%;max-width:600px;background:#fff;border:1px solid #e9e9e9;border-radius:3px;">
<tr><td style="background:{colour};color:#fff;padding:20px;font-size:16px;font-weight:bold;">{title}</td></tr>
<tr><td style="padding:20px 20px 0;">
<a href="{alert}" style="display:inline-block;background:#348eda;color:#fff;padding:8px 16px;border-radius:3px;text-decoration:none;font-weight:bold;">View in Meridian</a>
<a href="{silence}" style="display:inline-block;margin-left:8px;border:1px solid #348eda;color:#348eda;padding:7px 16px;border-radius:3px;text-decoration:none;font-weight:bold;">Silence</a>
</td></tr>
"#,
        alert = escape_html(&links.alert),
        silence = escape_html(&links.silence),
    );
    for (heading, alerts) in email_sections(message, links) {
        out.push_str(&format!(
            "<tr><td style=\"padding:20px 20px 0;\"><div style=\"font-size:15px;font-weight:bold;border-bottom:1px solid #e9e9e9;padding-bottom:4px;\">{}</div></td></tr>\n",
            escape_html(&heading)
        ));
        for a in alerts {
            let bar = if a.resolved { RESOLVED_COLOUR } else { colour };
            out.push_str(&format!(
                "<tr><td style=\"padding:12px 20px 0;\"><div style=\"border-left:4px solid {bar};background:#fafafa;padding:8px 12px;\">\n\
                 <div style=\"font-size:15px;font-weight:bold;\">{name} <span style=\"font-weight:normal;color:{bar};\">{status}</span></div>\n",
                name = escape_html(&a.name),
                status = a.status,
            ));
            for (heading, pairs) in [("Labels", &a.labels), ("Annotations", &a.annotations)] {
                if pairs.is_empty() {
                    continue;
                }
                out.push_str(&format!("<div style=\"margin-top:6px;font-weight:bold;\">{heading}</div>\n<ul style=\"margin:0;padding-left:20px;\">\n"));
                for (k, v) in pairs.iter() {
                    out.push_str(&format!("<li>{} = {}</li>\n", escape_html(k), escape_html(v)));
                }
                out.push_str("</ul>\n");
            }
            out.push_str(&format!("<div style=\"margin-top:6px;color:#666;\">Starts at {}", a.starts_at));
            if let Some(ends_at) = &a.ends_at {
                out.push_str(&format!(", ended at {ends_at}"));
            }
            out.push_str("</div>\n");
            if !a.source.is_empty() {
                out.push_str(&format!(
                    "<div><a href=\"{}\" style=\"color:#348eda;\">Source</a></div>\n",
                    escape_html(a.source)
                ));
            }
            if let Some(url) = a.acknowledge {
                out.push_str(&format!(
                    "<div style=\"margin-top:8px;\"><a href=\"{}\" style=\"display:inline-block;background:#348eda;color:#fff;padding:6px 14px;border-radius:3px;text-decoration:none;font-weight:bold;\">Acknowledge</a></div>\n",
                    escape_html(url)
                ));
            }
            out.push_str("</div></td></tr>\n");
        }
    }
    out.push_str(
        "<tr><td style=\"padding:20px;color:#999;font-size:12px;\">Sent by Meridian.</td></tr>\n</table>\n</td></tr></table>\n</body></html>\n",
    );
    out
}

/// An e-mail's text part: the facts of [`email_html`], for clients that show no HTML.
pub fn email_text(message: &Message, links: &Links) -> String {
    let mut out = format!(
        "{}\n\nView in Meridian: {}\nSilence: {}\n",
        subject(message),
        links.alert,
        links.silence
    );
    for (heading, alerts) in email_sections(message, links) {
        out.push_str(&format!("\n{heading}\n{}\n", "=".repeat(heading.chars().count())));
        for a in alerts {
            out.push_str(&format!("\n{} ({})\n", a.name, a.status));
            for (heading, pairs) in [("Labels", &a.labels), ("Annotations", &a.annotations)] {
                if pairs.is_empty() {
                    continue;
                }
                out.push_str(&format!("{heading}:\n"));
                for (k, v) in pairs.iter() {
                    out.push_str(&format!("  - {k} = {v}\n"));
                }
            }
            out.push_str(&format!("Starts at: {}\n", a.starts_at));
            if let Some(ends_at) = &a.ends_at {
                out.push_str(&format!("Ended at: {ends_at}\n"));
            }
            if !a.source.is_empty() {
                out.push_str(&format!("Source: {}\n", a.source));
            }
            if let Some(url) = a.acknowledge {
                out.push_str(&format!("Acknowledge: {url}\n"));
            }
        }
    }
    out
}

const RESOLVED_COLOUR: &str = "#2eb67d";

/// One alert as both e-mail parts show it.
struct EmailAlert<'a> {
    /// Its acknowledgement link, while it fires.
    acknowledge: Option<&'a str>,
    name: String,
    resolved: bool,
    status: &'static str,
    labels: Vec<(&'a str, &'a str)>,
    /// `summary` and `description` first: they are what a reader looks for.
    annotations: Vec<(&'a str, &'a str)>,
    starts_at: String,
    ends_at: Option<String>,
    source: &'a str,
}

/// The firing alerts, then the resolved ones, under Alertmanager's headings (`[2] Firing`).
fn email_sections<'a>(message: &'a Message, links: &'a Links) -> Vec<(String, Vec<EmailAlert<'a>>)> {
    let mut sections = Vec::new();
    for (resolved, heading) in [(false, "Firing"), (true, "Resolved")] {
        let alerts: Vec<EmailAlert> = message
            .alerts
            .iter()
            .filter(|a| a.resolved == resolved)
            .map(|a| {
                let first = ["summary", "description"];
                let mut annotations: Vec<(&str, &str)> = first
                    .iter()
                    .filter_map(|k| a.alert.annotations.get_key_value(*k))
                    .map(|(k, v)| (k.as_str(), v.as_str()))
                    .collect();
                annotations.extend(
                    a.alert
                        .annotations
                        .iter()
                        .filter(|(k, _)| !first.contains(&k.as_str()))
                        .map(|(k, v)| (k.as_str(), v.as_str())),
                );
                EmailAlert {
                    name: a.alert.labels.get("alertname").cloned().unwrap_or_default(),
                    resolved,
                    status: if resolved { "resolved" } else { "firing" },
                    labels: a.alert.labels.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect(),
                    annotations,
                    starts_at: utc(a.alert.starts_at),
                    ends_at: resolved.then(|| utc(a.alert.ends_at)),
                    source: &a.alert.generator_url,
                    acknowledge: links.acknowledge.get(&a.alert.fingerprint()).filter(|_| !resolved).map(String::as_str),
                }
            })
            .collect();
        if !alerts.is_empty() {
            sections.push((format!("[{}] {heading}", alerts.len()), alerts));
        }
    }
    sections
}

/// A time for people to read, in UTC (the reader's zone is not known).
fn utc(ms: i64) -> String {
    match chrono::TimeZone::timestamp_millis_opt(&chrono::Utc, ms).single() {
        Some(t) => t.format("%Y-%m-%d %H:%M:%S UTC").to_string(),
        None => "unknown".into(),
    }
}

/// Text made safe to place in HTML, in element content and in quoted attributes alike.
pub fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
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
        let links = Links { alert: "http://m/alerts".into(), silence: "http://m/silence".into(), ..Links::default() };
        let event = pagerduty(&message, "key", "error", false, &links, &Texts::default());
        assert_eq!(event["event_action"], "trigger");
        assert_eq!(event["payload"]["severity"], "warning");
        let slack = slack(&message, "#ops", "", &links, &Texts::default());
        assert_eq!(slack["channel"], "#ops");
        assert_eq!(slack["attachments"][0]["blocks"][2]["elements"][1]["url"], "http://m/silence");
    }

    fn email_message() -> Message {
        let mut hostile = notified(&[("alertname", "DiskFull"), ("instance", "db<1>")], false);
        hostile.alert.annotations = [
            ("runbook".to_string(), "https://runbooks/disk?a=1&b=2".to_string()),
            ("summary".to_string(), "<script>alert('x')</script>".to_string()),
            ("description".to_string(), "Disk is \"full\"".to_string()),
        ]
        .into();
        let mut resolved = notified(&[("alertname", "HighLatency"), ("instance", "web")], true);
        resolved.alert.annotations = [("summary".to_string(), "slow".to_string())].into();
        Message {
            receiver: "mail".into(),
            group_key: "{}:{}".into(),
            group_labels: Labels::new(),
            alerts: vec![hostile, resolved],
            external_url: String::new(),
        }
    }

    #[test]
    fn email_parts_escape_what_alerts_carry() {
        let links = Links { alert: "http://m/alerts".into(), silence: "http://m/silence?matchers={a=\"b\"}&x".into(), ..Links::default() };
        let html = email_html(&email_message(), &links);
        assert!(!html.contains("<script>"), "{html}");
        assert!(html.contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;"), "{html}");
        assert!(html.contains("db&lt;1&gt;") && html.contains("a=1&amp;b=2") && html.contains("&quot;full&quot;"));
        assert!(html.contains(r#"href="http://m/silence?matchers={a=&quot;b&quot;}&amp;x""#), "{html}");
        assert_eq!(escape_html(r#"&<>"'"#), "&amp;&lt;&gt;&quot;&#39;");
        // The text part is not HTML: the values as they are.
        let text = email_text(&email_message(), &links);
        assert!(text.contains("summary = <script>alert('x')</script>"), "{text}");
    }

    #[test]
    fn both_email_parts_name_every_alert_with_its_status_and_start() {
        let links = Links { alert: "http://m/alerts".into(), silence: "http://m/silence".into(), ..Links::default() };
        let message = email_message();
        let (html, text) = (email_html(&message, &links), email_text(&message, &links));
        for part in [&html, &text] {
            assert!(part.contains("[FIRING:1]"), "{part}");
            assert!(part.contains("DiskFull") && part.contains("HighLatency"), "{part}");
            assert!(part.contains("[1] Firing") && part.contains("[1] Resolved"), "{part}");
            assert!(part.contains("1970-01-01 00:00:01 UTC"), "the start, in UTC: {part}");
            assert!(part.contains("1970-01-01 00:00:02 UTC"), "a resolved alert's end: {part}");
            assert!(part.contains("http://m/alerts") && part.contains("http://m/silence"), "{part}");
        }
        assert!(html.contains(colour(&message)), "the header bar has the message's colour");
        assert!(html.contains(">View in Meridian</a>") && html.contains(">Silence</a>"));
        // The firing section comes first; summary and description lead the annotations.
        assert!(text.find("DiskFull").unwrap() < text.find("HighLatency").unwrap());
        let (summary, description, runbook) =
            (text.find("summary =").unwrap(), text.find("description =").unwrap(), text.find("runbook =").unwrap());
        assert!(summary < description && description < runbook, "{text}");
    }
}
