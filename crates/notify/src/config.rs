//! Alertmanager's configuration file: `global`, `route`, `receivers`, `inhibit_rules`,
//! `time_intervals` (and the older `mute_time_intervals`). Read with the line of every value,
//! validated as Alertmanager validates it (every problem named by its path and line, nothing
//! half-read), compiled into the route tree, and written back as YAML Alertmanager loads.
//!
//! Meridian adds two receiver kinds of its own: `inbox_configs` (notifications kept for the
//! tenant's users to read in Meridian) and `alertmanager_configs` (alerts forwarded to another
//! Alertmanager's `POST /api/v2/alerts`).

use std::collections::{BTreeMap, BTreeSet};

use rules::file::{parse_duration, Problem};
use serde::{Deserialize, Serialize};

use crate::{
    inhibit::InhibitRule,
    matcher::{self, Matcher},
    route::{GroupBy, Route},
    template::Templates,
    time_interval::TimeInterval,
};

/// The file as written: what is read, stored and exported.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigFile {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub global: Option<GlobalDef>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub route: Option<RouteDef>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub inhibit_rules: Vec<InhibitDef>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub receivers: Vec<ReceiverDef>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub time_intervals: Vec<TimeIntervalDef>,
    /// The older name of `time_intervals`, still read by Alertmanager.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub mute_time_intervals: Vec<TimeIntervalDef>,
    /// Template files on disk: Meridian keeps templates in `template_files`, so only an empty
    /// list is accepted (a name here would be a file Meridian cannot read).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub templates: Vec<String>,
    /// Meridian's own: who is told next when a firing alert is not acknowledged in time.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub escalation_policies: Vec<EscalationDef>,
    /// Meridian's own, as Grafana Mimir's Alertmanager keeps them beside its configuration:
    /// template files by name, each holding `{{ define "…" }}` blocks the receivers' title and
    /// text fields can use.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub template_files: BTreeMap<String, String>,
    /// Meridian's own: scheduled digests of the tenant's alerting, sent to a receiver.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub digests: Vec<DigestDef>,
}

/// What Alertmanager writes instead of a secret when it shows its configuration.
pub const SECRET_PLACEHOLDER: &str = "<secret>";

impl ConfigFile {
    /// Every secret the file holds (passwords, keys, URLs that carry a token), each named by
    /// where it is (`receivers.team.email_configs[0].auth_password`), so that a value can be
    /// sealed, masked, or carried over from the stored file.
    pub fn secrets_mut(&mut self) -> Vec<(String, &mut String)> {
        let mut out = Vec::new();
        if let Some(global) = &mut self.global {
            for (name, value) in [
                ("smtp_auth_password", &mut global.smtp_auth_password),
                ("slack_api_url", &mut global.slack_api_url),
            ] {
                if let Some(v) = value {
                    out.push((format!("global.{name}"), v));
                }
            }
        }
        for r in &mut self.receivers {
            let name = r.name.clone();
            let at = |kind: &str, i: usize, field: &str| format!("receivers.{name}.{kind}[{i}].{field}");
            for (i, c) in r.slack_configs.iter_mut().enumerate() {
                if let Some(v) = c.api_url.as_mut() {
                    out.push((at("slack_configs", i, "api_url"), v));
                }
            }
            for (i, c) in r.email_configs.iter_mut().enumerate() {
                if let Some(v) = c.auth_password.as_mut() {
                    out.push((at("email_configs", i, "auth_password"), v));
                }
            }
            for (i, c) in r.pagerduty_configs.iter_mut().enumerate() {
                if let Some(v) = c.routing_key.as_mut() {
                    out.push((at("pagerduty_configs", i, "routing_key"), v));
                }
                if let Some(v) = c.service_key.as_mut() {
                    out.push((at("pagerduty_configs", i, "service_key"), v));
                }
            }
        }
        out
    }
}

impl Integration {
    /// The integration's secrets (as [`ConfigFile::secrets_mut`] finds them).
    pub fn secrets_mut(&mut self) -> Vec<&mut String> {
        match self {
            Integration::Slack { api_url, .. } => vec![api_url],
            Integration::Email { auth_password, .. } => vec![auth_password],
            Integration::PagerDuty { routing_key, .. } => vec![routing_key],
            _ => Vec::new(),
        }
    }
}

/// An escalation policy: the alerts its matchers match, and its steps in order.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EscalationDef {
    pub name: String,
    #[serde(default)]
    pub matchers: Vec<String>,
    pub steps: Vec<EscalationStepDef>,
}

/// A digest: every day (or every week on `weekday`) at `at` in `time_zone`, a summary of the
/// period's alerts goes to `receiver`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DigestDef {
    pub receiver: String,
    /// `daily` or `weekly`.
    pub every: String,
    /// For a weekly digest: `monday` … `sunday` (default `monday`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weekday: Option<String>,
    /// The time of day, `HH:MM` (default `08:00`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at: Option<String>,
    /// An IANA time zone (default UTC).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_zone: Option<String>,
}

/// Notify `receiver` when the alert has fired for `after` without an acknowledgement.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EscalationStepDef {
    pub after: String,
    pub receiver: String,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GlobalDef {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolve_timeout: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub smtp_from: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub smtp_hello: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub smtp_smarthost: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub smtp_auth_username: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub smtp_auth_password: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub smtp_require_tls: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slack_api_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pagerduty_url: Option<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RouteDef {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub receiver: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group_by: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub matchers: Vec<String>,
    /// Older forms of `matchers`: equality and regular expression per label.
    #[serde(default, rename = "match", skip_serializing_if = "BTreeMap::is_empty")]
    pub match_eq: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub match_re: BTreeMap<String, String>,
    #[serde(default, rename = "continue", skip_serializing_if = "is_false")]
    pub continue_matching: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group_wait: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group_interval: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repeat_interval: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub mute_time_intervals: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub active_time_intervals: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub routes: Vec<RouteDef>,
}

fn is_false(b: &bool) -> bool {
    !b
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InhibitDef {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub source_matchers: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub target_matchers: Vec<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub source_match: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub source_match_re: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub target_match: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub target_match_re: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub equal: Vec<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReceiverDef {
    pub name: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub webhook_configs: Vec<WebhookDef>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub slack_configs: Vec<SlackDef>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub email_configs: Vec<EmailDef>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pagerduty_configs: Vec<PagerDutyDef>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub alertmanager_configs: Vec<AlertmanagerDef>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub inbox_configs: Vec<InboxDef>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookDef {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub send_resolved: Option<bool>,
    #[serde(default)]
    pub url: String,
    /// At most this many alerts in one message; 0 is all.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_alerts: Option<u64>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SlackDef {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub send_resolved: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title_link: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub color: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub icon_emoji: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub icon_url: Option<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmailDef {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub send_resolved: Option<bool>,
    #[serde(default)]
    pub to: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hello: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub smarthost: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_username: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_password: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_identity: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub require_tls: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub html: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub headers: BTreeMap<String, String>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PagerDutyDef {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub send_resolved: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub routing_key: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_key: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub severity: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub class: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub component: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub details: BTreeMap<String, String>,
}

/// Meridian's own: forward the alerts to another Alertmanager.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlertmanagerDef {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub send_resolved: Option<bool>,
    /// The other Alertmanager's base URL.
    #[serde(default)]
    pub url: String,
}

/// Meridian's own: keep the notification for the tenant's users to read in Meridian.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InboxDef {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub send_resolved: Option<bool>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TimeIntervalDef {
    pub name: String,
    #[serde(default)]
    pub time_intervals: Vec<TimeSpecDef>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TimeSpecDef {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub times: Vec<TimeRangeDef>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub weekdays: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub days_of_month: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub months: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub years: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TimeRangeDef {
    pub start_time: String,
    pub end_time: String,
}

/// Alertmanager's defaults.
pub const DEFAULT_RESOLVE_TIMEOUT_MS: i64 = 5 * 60_000;
pub const DEFAULT_GROUP_WAIT_MS: i64 = 30_000;
pub const DEFAULT_GROUP_INTERVAL_MS: i64 = 5 * 60_000;
pub const DEFAULT_REPEAT_INTERVAL_MS: i64 = 4 * 3_600_000;

/// A checked configuration, ready to route with.
#[derive(Clone, Debug)]
pub struct Config {
    pub file: ConfigFile,
    pub resolve_timeout_ms: i64,
    pub route: Route,
    pub receivers: Vec<Receiver>,
    pub inhibit_rules: Vec<InhibitRule>,
    pub time_intervals: BTreeMap<String, Vec<TimeInterval>>,
    pub escalations: Vec<crate::escalation::Policy>,
    pub digests: Vec<Digest>,
    pub templates: Templates,
}

/// A digest's schedule, compiled.
#[derive(Clone, Debug, PartialEq)]
pub struct Digest {
    pub receiver: String,
    /// `None` for every day.
    pub weekday: Option<chrono::Weekday>,
    /// Minutes after local midnight.
    pub at_minute: u32,
    pub time_zone: chrono_tz::Tz,
}

/// A receiver: its name and its integrations, each with the global defaults filled in.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Receiver {
    pub name: String,
    pub integrations: Vec<Integration>,
}

/// One way a receiver is reached.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Integration {
    Webhook {
        url: String,
        send_resolved: bool,
        max_alerts: u64,
    },
    Slack {
        api_url: String,
        channel: String,
        username: String,
        title: String,
        title_link: String,
        text: String,
        color: String,
        send_resolved: bool,
    },
    Email {
        to: String,
        from: String,
        hello: String,
        smarthost: String,
        auth_username: String,
        auth_password: String,
        require_tls: bool,
        html: String,
        text: String,
        headers: BTreeMap<String, String>,
        send_resolved: bool,
    },
    PagerDuty {
        url: String,
        routing_key: String,
        client: String,
        client_url: String,
        description: String,
        severity: String,
        class: String,
        component: String,
        group: String,
        details: BTreeMap<String, String>,
        send_resolved: bool,
    },
    Alertmanager {
        url: String,
        send_resolved: bool,
    },
    Inbox {
        send_resolved: bool,
    },
}

impl Integration {
    pub fn kind(&self) -> &'static str {
        match self {
            Integration::Webhook { .. } => "webhook",
            Integration::Slack { .. } => "slack",
            Integration::Email { .. } => "email",
            Integration::PagerDuty { .. } => "pagerduty",
            Integration::Alertmanager { .. } => "alertmanager",
            Integration::Inbox { .. } => "inbox",
        }
    }

    /// The fields Alertmanager renders as templates, by their names in the file.
    pub fn template_fields(&self) -> Vec<(&'static str, &str)> {
        match self {
            Integration::Slack { title, text, .. } => vec![("title", title.as_str()), ("text", text.as_str())],
            Integration::Email { html, text, headers, .. } => {
                let mut out = vec![("html", html.as_str()), ("text", text.as_str())];
                out.extend(headers.iter().filter(|(k, _)| k.eq_ignore_ascii_case("subject")).map(|(_, v)| ("headers.Subject", v.as_str())));
                out
            }
            Integration::PagerDuty { description, details, .. } => {
                let mut out = vec![("description", description.as_str())];
                out.extend(details.values().map(|v| ("details", v.as_str())));
                out
            }
            _ => Vec::new(),
        }
    }

    pub fn send_resolved(&self) -> bool {
        match self {
            Integration::Webhook { send_resolved, .. }
            | Integration::Slack { send_resolved, .. }
            | Integration::Email { send_resolved, .. }
            | Integration::PagerDuty { send_resolved, .. }
            | Integration::Alertmanager { send_resolved, .. }
            | Integration::Inbox { send_resolved } => *send_resolved,
        }
    }
}

// Alertmanager's default templates for the integrations that have text.
const SLACK_TITLE: &str = r#"{{ template "slack.default.title" . }}"#;
const SLACK_TEXT: &str = r#"{{ template "slack.default.text" . }}"#;
const EMAIL_HTML: &str = r#"{{ template "email.default.html" . }}"#;
const EMAIL_TEXT: &str = "";
const PAGERDUTY_DESCRIPTION: &str = r#"{{ template "pagerduty.default.description" .}}"#;
const PAGERDUTY_URL: &str = "https://events.pagerduty.com/v2/enqueue";

/// Reads and checks a configuration: the checked configuration, or every problem with its line.
pub fn parse(text: &str) -> Result<Config, Vec<Problem>> {
    let (file, node): (ConfigFile, _) = rules::yaml::load(text)?;
    Config::from_file(file).map_err(|problems| rules::yaml::locate(&node, problems))
}

fn problem(field: impl Into<String>, message: impl Into<String>) -> Problem {
    Problem {
        field: field.into(),
        message: message.into(),
        line: 0,
        column: 0,
    }
}

/// Collects the problems found while compiling, each named by its path.
#[derive(Default)]
struct Check(Vec<Problem>);

impl Check {
    fn add(&mut self, field: impl Into<String>, message: impl Into<String>) {
        self.0.push(problem(field, message));
    }

    fn need(&mut self, value: &str, field: String, what: &str) {
        if value.trim().is_empty() {
            self.add(field, format!("{what} is required"));
        }
    }

    fn duration(&mut self, value: &Option<String>, field: &str) -> Option<i64> {
        let text = value.as_deref()?;
        match parse_duration(text) {
            Ok(ms) => Some(ms),
            Err(e) => {
                self.add(field, e);
                None
            }
        }
    }

    fn matchers(
        &mut self,
        list: &[String],
        eq: &BTreeMap<String, String>,
        re: &BTreeMap<String, String>,
        path: &str,
        names: (&str, &str, &str),
    ) -> Vec<Matcher> {
        let mut out = Vec::new();
        for (i, text) in list.iter().enumerate() {
            match matcher::parse_list(text) {
                Ok(ms) => out.extend(ms),
                Err(e) => self.add(format!("{path}.{}[{i}]", names.0), e),
            }
        }
        for (map, op, name) in [
            (eq, matcher::Op::Equal, names.1),
            (re, matcher::Op::Regex, names.2),
        ] {
            for (label, value) in map {
                match Matcher::new(label, op, value) {
                    Ok(m) => out.push(m),
                    Err(e) => self.add(format!("{path}.{name}.{label}"), e),
                }
            }
        }
        out.sort();
        out
    }
}

impl Config {
    /// Checks a configuration as Alertmanager does and compiles its route tree.
    pub fn from_file(file: ConfigFile) -> Result<Config, Vec<Problem>> {
        let mut check = Check::default();
        let global = file.global.clone().unwrap_or_default();
        let resolve_timeout_ms = check
            .duration(&global.resolve_timeout, "global.resolve_timeout")
            .unwrap_or(DEFAULT_RESOLVE_TIMEOUT_MS);
        if !file.templates.is_empty() {
            check.add(
                "templates",
                "template files are not read: put templates in Meridian's notification templates",
            );
        }

        let mut time_intervals = BTreeMap::new();
        let named = file
            .time_intervals
            .iter()
            .enumerate()
            .map(|(i, t)| (format!("time_intervals[{i}]"), t))
            .chain(
                file.mute_time_intervals
                    .iter()
                    .enumerate()
                    .map(|(i, t)| (format!("mute_time_intervals[{i}]"), t)),
            );
        for (path, def) in named {
            if def.name.is_empty() {
                check.add(format!("{path}.name"), "missing name in time interval");
                continue;
            }
            let mut specs = Vec::new();
            for (j, spec) in def.time_intervals.iter().enumerate() {
                match TimeInterval::from_def(spec) {
                    Ok(t) => specs.push(t),
                    Err((field, e)) => {
                        check.add(format!("{path}.time_intervals[{j}].{field}"), e)
                    }
                }
            }
            if time_intervals.insert(def.name.clone(), specs).is_some() {
                check.add(
                    format!("{path}.name"),
                    format!("time interval {:?} is not unique", def.name),
                );
            }
        }

        let templates = match Templates::new(&file.template_files) {
            Ok(t) => t,
            Err((name, e)) => {
                check.add(format!("template_files.{name}"), e);
                Templates::default()
            }
        };

        let mut receivers = Vec::new();
        let mut receiver_names = BTreeSet::new();
        for (i, def) in file.receivers.iter().enumerate() {
            let path = format!("receivers[{i}]");
            if def.name.is_empty() {
                check.add(format!("{path}.name"), "missing name in receiver");
            } else if !receiver_names.insert(def.name.clone()) {
                check.add(
                    format!("{path}.name"),
                    format!("notification config name {:?} is not unique", def.name),
                );
            }
            let integrations = integrations(def, &global, &path, &mut check);
            let mut of_kind: BTreeMap<&str, usize> = BTreeMap::new();
            for integration in &integrations {
                let kind = integration.kind();
                let n = of_kind.entry(kind).or_default();
                for (field, text) in integration.template_fields() {
                    if let Err(e) = templates.check(text) {
                        check.add(format!("{path}.{kind}_configs[{n}].{field}"), e);
                    }
                }
                *n += 1;
            }
            receivers.push(Receiver { name: def.name.clone(), integrations });
        }

        let route = match &file.route {
            None => {
                check.add("route", "no routes provided");
                None
            }
            Some(root) => {
                if root.receiver.as_deref().unwrap_or_default().is_empty() {
                    check.add("route.receiver", "root route must specify a default receiver");
                }
                if !root.matchers.is_empty() || !root.match_eq.is_empty() || !root.match_re.is_empty()
                {
                    check.add("route", "root route must not have any matchers");
                }
                if root.continue_matching {
                    check.add("route.continue", "cannot have continue in root route");
                }
                if !root.mute_time_intervals.is_empty() || !root.active_time_intervals.is_empty() {
                    check.add(
                        "route",
                        "root route must not have any mute time intervals or active time intervals",
                    );
                }
                let defaults = Inherited {
                    receiver: String::new(),
                    group_by: GroupBy::default(),
                    group_wait_ms: DEFAULT_GROUP_WAIT_MS,
                    group_interval_ms: DEFAULT_GROUP_INTERVAL_MS,
                    repeat_interval_ms: DEFAULT_REPEAT_INTERVAL_MS,
                };
                let context = RouteContext {
                    receivers: &receiver_names,
                    time_intervals: &time_intervals,
                };
                Some(compile_route(root, "route", "0", None, &defaults, &context, &mut check))
            }
        };

        let mut inhibit_rules = Vec::new();
        for (i, def) in file.inhibit_rules.iter().enumerate() {
            let path = format!("inhibit_rules[{i}]");
            let source = check.matchers(
                &def.source_matchers,
                &def.source_match,
                &def.source_match_re,
                &path,
                ("source_matchers", "source_match", "source_match_re"),
            );
            let target = check.matchers(
                &def.target_matchers,
                &def.target_match,
                &def.target_match_re,
                &path,
                ("target_matchers", "target_match", "target_match_re"),
            );
            for (j, label) in def.equal.iter().enumerate() {
                if !matcher::valid_label_name(label) {
                    check.add(format!("{path}.equal[{j}]"), format!("invalid label name {label:?}"));
                }
            }
            inhibit_rules.push(InhibitRule {
                source,
                target,
                equal: def.equal.clone(),
            });
        }

        let mut escalations = Vec::new();
        let mut policy_names = BTreeSet::new();
        for (i, def) in file.escalation_policies.iter().enumerate() {
            let path = format!("escalation_policies[{i}]");
            if def.name.is_empty() || !policy_names.insert(def.name.clone()) {
                check.add(format!("{path}.name"), "each escalation policy needs a name of its own");
            }
            let matchers = check.matchers(&def.matchers, &BTreeMap::new(), &BTreeMap::new(), &path, ("matchers", "", ""));
            if def.steps.is_empty() {
                check.add(format!("{path}.steps"), "an escalation policy needs at least one step");
            }
            let mut steps = Vec::new();
            let mut last = -1;
            for (j, step) in def.steps.iter().enumerate() {
                let field = format!("{path}.steps[{j}]");
                let after = check.duration(&Some(step.after.clone()), &format!("{field}.after")).unwrap_or(0);
                if after <= last {
                    check.add(format!("{field}.after"), "each step must come later than the one before");
                }
                last = after;
                if !receiver_names.contains(&step.receiver) {
                    check.add(format!("{field}.receiver"), format!("undefined receiver {:?} used in escalation", step.receiver));
                }
                steps.push((after, step.receiver.clone()));
            }
            escalations.push(crate::escalation::Policy { name: def.name.clone(), matchers, steps });
        }

        let mut digests = Vec::new();
        for (i, def) in file.digests.iter().enumerate() {
            let path = format!("digests[{i}]");
            if !receiver_names.contains(&def.receiver) {
                check.add(format!("{path}.receiver"), format!("undefined receiver {:?} used in digest", def.receiver));
            }
            let weekday = match (def.every.as_str(), def.weekday.as_deref()) {
                ("daily", None) => None,
                ("daily", Some(_)) => {
                    check.add(format!("{path}.weekday"), "a daily digest has no weekday");
                    None
                }
                ("weekly", day) => match day.unwrap_or("monday").parse::<chrono::Weekday>() {
                    Ok(day) => Some(day),
                    Err(_) => {
                        check.add(format!("{path}.weekday"), "weekday must be monday … sunday");
                        None
                    }
                },
                (other, _) => {
                    check.add(format!("{path}.every"), format!("every must be daily or weekly, not {other:?}"));
                    None
                }
            };
            let at = def.at.as_deref().unwrap_or("08:00");
            let at_minute = match at.split_once(':').map(|(h, m)| (h.parse::<u32>(), m.parse::<u32>())) {
                Some((Ok(h), Ok(m))) if h < 24 && m < 60 && at.len() == 5 => h * 60 + m,
                _ => {
                    check.add(format!("{path}.at"), format!("at must be a time of day HH:MM, not {at:?}"));
                    0
                }
            };
            let time_zone = match def.time_zone.as_deref().unwrap_or("UTC").parse::<chrono_tz::Tz>() {
                Ok(zone) => zone,
                Err(_) => {
                    check.add(format!("{path}.time_zone"), format!("unknown time zone {:?}", def.time_zone.as_deref().unwrap_or("")));
                    chrono_tz::Tz::UTC
                }
            };
            digests.push(Digest { receiver: def.receiver.clone(), weekday, at_minute, time_zone });
        }

        match (check.0.is_empty(), route) {
            (true, Some(route)) => Ok(Config {
                file,
                resolve_timeout_ms,
                route,
                receivers,
                inhibit_rules,
                time_intervals,
                escalations,
                digests,
                templates,
            }),
            _ => Err(check.0),
        }
    }

    pub fn receiver(&self, name: &str) -> Option<&Receiver> {
        self.receivers.iter().find(|r| r.name == name)
    }

    /// The configuration as Alertmanager's YAML.
    pub fn to_yaml(&self) -> String {
        to_yaml(&self.file)
    }
}

/// A configuration file as YAML (keys in Alertmanager's order).
pub fn to_yaml(file: &ConfigFile) -> String {
    use yaml_rust2::{yaml::Hash, Yaml, YamlEmitter};
    fn convert(value: &serde_json::Value) -> Yaml {
        match value {
            serde_json::Value::Null => Yaml::Null,
            serde_json::Value::Bool(b) => Yaml::Boolean(*b),
            serde_json::Value::Number(n) => Yaml::Integer(n.as_i64().unwrap_or_default()),
            serde_json::Value::String(s) => Yaml::String(s.clone()),
            serde_json::Value::Array(items) => Yaml::Array(items.iter().map(convert).collect()),
            serde_json::Value::Object(map) => {
                let mut hash = Hash::new();
                for (k, v) in map {
                    hash.insert(Yaml::String(k.clone()), convert(v));
                }
                Yaml::Hash(hash)
            }
        }
    }
    let value = serde_json::to_value(file).unwrap_or_default();
    let mut out = String::new();
    let mut emitter = YamlEmitter::new(&mut out);
    // Writing into a String cannot fail.
    let _ = emitter.dump(&convert(&value));
    let body = out.strip_prefix("---\n").unwrap_or(&out).to_string();
    body + "\n"
}

/// What a route passes on to its children.
struct Inherited {
    receiver: String,
    group_by: GroupBy,
    group_wait_ms: i64,
    group_interval_ms: i64,
    repeat_interval_ms: i64,
}

struct RouteContext<'a> {
    receivers: &'a BTreeSet<String>,
    time_intervals: &'a BTreeMap<String, Vec<TimeInterval>>,
}

fn compile_route(
    def: &RouteDef,
    path: &str,
    id: &str,
    parent_key: Option<&str>,
    parent: &Inherited,
    context: &RouteContext,
    check: &mut Check,
) -> Route {
    let receiver = def.receiver.clone().unwrap_or_else(|| parent.receiver.clone());
    // Checked where it is written, not again in every child that inherits it.
    if def.receiver.is_some() && !receiver.is_empty() && !context.receivers.contains(&receiver) {
        check.add(
            format!("{path}.receiver"),
            format!("undefined receiver {receiver:?} used in route"),
        );
    }
    let group_by = match &def.group_by {
        None => parent.group_by.clone(),
        Some(names) if names.iter().any(|n| n == "...") => {
            if names.len() > 1 {
                check.add(
                    format!("{path}.group_by"),
                    "cannot have wildcard group_by (`...`) and other other labels at the same time",
                );
            }
            GroupBy::All
        }
        Some(names) => {
            let mut set = BTreeSet::new();
            for (i, name) in names.iter().enumerate() {
                if !matcher::valid_label_name(name) {
                    check.add(format!("{path}.group_by[{i}]"), format!("invalid label name {name:?} in group_by list"));
                } else if !set.insert(name.clone()) {
                    check.add(format!("{path}.group_by[{i}]"), format!("duplicated label {name:?} in group_by"));
                }
            }
            GroupBy::Labels(set)
        }
    };
    let group_wait_ms = check
        .duration(&def.group_wait, &format!("{path}.group_wait"))
        .unwrap_or(parent.group_wait_ms);
    let group_interval_ms = check
        .duration(&def.group_interval, &format!("{path}.group_interval"))
        .unwrap_or(parent.group_interval_ms);
    if group_interval_ms == 0 {
        check.add(format!("{path}.group_interval"), "group_interval cannot be zero");
    }
    let repeat_interval_ms = check
        .duration(&def.repeat_interval, &format!("{path}.repeat_interval"))
        .unwrap_or(parent.repeat_interval_ms);
    if repeat_interval_ms == 0 {
        check.add(format!("{path}.repeat_interval"), "repeat_interval cannot be zero");
    }
    for (field, names) in [
        ("mute_time_intervals", &def.mute_time_intervals),
        ("active_time_intervals", &def.active_time_intervals),
    ] {
        for (i, name) in names.iter().enumerate() {
            if !context.time_intervals.contains_key(name) {
                check.add(
                    format!("{path}.{field}[{i}]"),
                    format!("undefined time interval {name:?} used in route"),
                );
            }
        }
    }
    let matchers = check.matchers(
        &def.matchers,
        &def.match_eq,
        &def.match_re,
        path,
        ("matchers", "match", "match_re"),
    );
    let own = matcher::list_to_string(&matchers);
    let key = match parent_key {
        Some(parent) => format!("{parent}/{own}"),
        None => own,
    };
    let inherited = Inherited {
        receiver: receiver.clone(),
        group_by: group_by.clone(),
        group_wait_ms,
        group_interval_ms,
        repeat_interval_ms,
    };
    let routes = def
        .routes
        .iter()
        .enumerate()
        .map(|(i, child)| {
            compile_route(
                child,
                &format!("{path}.routes[{i}]"),
                &format!("{id}.{i}"),
                Some(&key),
                &inherited,
                context,
                check,
            )
        })
        .collect();
    Route {
        id: id.to_string(),
        key,
        receiver,
        matchers,
        group_by,
        continue_matching: def.continue_matching,
        group_wait_ms,
        group_interval_ms,
        repeat_interval_ms,
        mute_time_intervals: def.mute_time_intervals.clone(),
        active_time_intervals: def.active_time_intervals.clone(),
        routes,
    }
}

fn integrations(
    def: &ReceiverDef,
    global: &GlobalDef,
    path: &str,
    check: &mut Check,
) -> Vec<Integration> {
    let mut out = Vec::new();
    for (i, w) in def.webhook_configs.iter().enumerate() {
        check.need(&w.url, format!("{path}.webhook_configs[{i}].url"), "url");
        out.push(Integration::Webhook {
            url: w.url.clone(),
            send_resolved: w.send_resolved.unwrap_or(true),
            max_alerts: w.max_alerts.unwrap_or(0),
        });
    }
    for (i, s) in def.slack_configs.iter().enumerate() {
        let api_url = s.api_url.clone().or_else(|| global.slack_api_url.clone()).unwrap_or_default();
        check.need(&api_url, format!("{path}.slack_configs[{i}].api_url"), "api_url (or global slack_api_url)");
        let or = |v: &Option<String>, d: &str| v.clone().unwrap_or_else(|| d.to_string());
        out.push(Integration::Slack {
            api_url,
            channel: or(&s.channel, ""),
            username: or(&s.username, r#"{{ template "slack.default.username" . }}"#),
            title: or(&s.title, SLACK_TITLE),
            title_link: or(&s.title_link, r#"{{ template "slack.default.titlelink" . }}"#),
            text: or(&s.text, SLACK_TEXT),
            color: or(
                &s.color,
                r#"{{ if eq .Status "firing" }}danger{{ else }}good{{ end }}"#,
            ),
            send_resolved: s.send_resolved.unwrap_or(false),
        });
    }
    for (i, e) in def.email_configs.iter().enumerate() {
        let field = |name: &str| format!("{path}.email_configs[{i}].{name}");
        check.need(&e.to, field("to"), "to");
        let from = e.from.clone().or_else(|| global.smtp_from.clone()).unwrap_or_default();
        check.need(&from, field("from"), "from (or global smtp_from)");
        let smarthost = e
            .smarthost
            .clone()
            .or_else(|| global.smtp_smarthost.clone())
            .unwrap_or_default();
        check.need(&smarthost, field("smarthost"), "smarthost (or global smtp_smarthost)");
        if !smarthost.is_empty() && !smarthost.contains(':') {
            check.add(field("smarthost"), format!("address {smarthost}: missing port in address"));
        }
        out.push(Integration::Email {
            to: e.to.clone(),
            from,
            hello: e.hello.clone().or_else(|| global.smtp_hello.clone()).unwrap_or_else(|| "localhost".into()),
            smarthost,
            auth_username: e
                .auth_username
                .clone()
                .or_else(|| global.smtp_auth_username.clone())
                .unwrap_or_default(),
            auth_password: e
                .auth_password
                .clone()
                .or_else(|| global.smtp_auth_password.clone())
                .unwrap_or_default(),
            require_tls: e.require_tls.or(global.smtp_require_tls).unwrap_or(true),
            html: e.html.clone().unwrap_or_else(|| EMAIL_HTML.to_string()),
            text: e.text.clone().unwrap_or_else(|| EMAIL_TEXT.to_string()),
            headers: e.headers.clone(),
            send_resolved: e.send_resolved.unwrap_or(false),
        });
    }
    for (i, p) in def.pagerduty_configs.iter().enumerate() {
        let field = |name: &str| format!("{path}.pagerduty_configs[{i}].{name}");
        let routing_key = p.routing_key.clone().or_else(|| p.service_key.clone()).unwrap_or_default();
        check.need(&routing_key, field("routing_key"), "routing_key (or service_key)");
        let or = |v: &Option<String>, d: &str| v.clone().unwrap_or_else(|| d.to_string());
        out.push(Integration::PagerDuty {
            url: p
                .url
                .clone()
                .or_else(|| global.pagerduty_url.clone())
                .unwrap_or_else(|| PAGERDUTY_URL.to_string()),
            routing_key,
            client: or(&p.client, r#"{{ template "pagerduty.default.client" . }}"#),
            client_url: or(&p.client_url, r#"{{ template "pagerduty.default.clientURL" . }}"#),
            description: or(&p.description, PAGERDUTY_DESCRIPTION),
            severity: or(&p.severity, "error"),
            class: or(&p.class, ""),
            component: or(&p.component, ""),
            group: or(&p.group, ""),
            details: p.details.clone(),
            send_resolved: p.send_resolved.unwrap_or(true),
        });
    }
    for (i, a) in def.alertmanager_configs.iter().enumerate() {
        check.need(&a.url, format!("{path}.alertmanager_configs[{i}].url"), "url");
        out.push(Integration::Alertmanager {
            url: a.url.clone(),
            send_resolved: a.send_resolved.unwrap_or(true),
        });
    }
    for inbox in &def.inbox_configs {
        out.push(Integration::Inbox {
            send_resolved: inbox.send_resolved.unwrap_or(true),
        });
    }
    for (kind, url) in out.iter().filter_map(|i| match i {
        Integration::Webhook { url, .. } => Some(("webhook_configs", url)),
        Integration::Slack { api_url, .. } => Some(("slack_configs", api_url)),
        Integration::Alertmanager { url, .. } => Some(("alertmanager_configs", url)),
        _ => None,
    }) {
        // `<secret>` stands for a stored URL, checked when it was stored.
        let stored = url == SECRET_PLACEHOLDER;
        if !url.is_empty() && !stored && !(url.starts_with("http://") || url.starts_with("https://")) {
            check.add(format!("{path}.{kind}"), format!("unsupported scheme in URL {url:?}"));
        }
    }
    out
}

#[cfg(test)]
pub(crate) mod tests;
