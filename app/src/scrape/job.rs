//! A scrape job and the checks a new or changed one must pass, shared by the form and the REST
//! API so both refuse the same input with the same field names.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::AppError;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ScrapeJob {
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub tenant_name: String,
    pub name: String,
    pub targets: Vec<String>,
    pub scheme: String,
    pub metrics_path: String,
    pub interval_seconds: i32,
    pub timeout_seconds: i32,
    pub labels: BTreeMap<String, String>,
    pub enabled: bool,
    pub builtin: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl ScrapeJob {
    pub fn url(&self, target: &str) -> String {
        format!("{}://{}{}", self.scheme, target, self.metrics_path)
    }
}

/// What a client sends to create or replace a job. Missing fields take Prometheus' defaults
/// (http, /metrics, 1 m interval, 10 s timeout).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScrapeJobInput {
    /// Admins only: a tenant user's or token's job always goes to its own tenant.
    #[serde(default)]
    pub tenant: Option<Uuid>,
    pub name: String,
    pub targets: Vec<String>,
    #[serde(default = "default_scheme")]
    pub scheme: String,
    #[serde(default = "default_metrics_path")]
    pub metrics_path: String,
    #[serde(default = "default_interval")]
    pub interval_seconds: i32,
    #[serde(default = "default_timeout")]
    pub timeout_seconds: i32,
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    #[serde(default = "default_enabled")]
    pub enabled: bool,
}

fn default_scheme() -> String {
    "http".into()
}
fn default_metrics_path() -> String {
    "/metrics".into()
}
fn default_interval() -> i32 {
    60
}
fn default_timeout() -> i32 {
    10
}
fn default_enabled() -> bool {
    true
}

pub const MAX_TARGETS: usize = 100;
/// Labels every scraped series gets from its target; a job cannot set them itself.
const RESERVED_LABELS: [&str; 2] = ["job", "instance"];

impl ScrapeJobInput {
    /// Checks every field; the first wrong one is named in the error.
    pub fn validate(&mut self) -> Result<(), AppError> {
        self.name = self.name.trim().to_string();
        let name_ok = (1..=64).contains(&self.name.chars().count())
            && self
                .name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "_-.:".contains(c));
        if !name_ok {
            return Err(AppError::invalid(
                "name",
                "must be 1 to 64 letters, digits or _ - . :",
            ));
        }
        if self.targets.is_empty() {
            return Err(AppError::invalid("targets", "give at least one host:port"));
        }
        if self.targets.len() > MAX_TARGETS {
            return Err(AppError::invalid(
                "targets",
                format!("at most {MAX_TARGETS} targets a job"),
            ));
        }
        for (i, target) in self.targets.iter_mut().enumerate() {
            *target = target.trim().to_string();
            check_target(target).map_err(|message| {
                AppError::invalid("targets", format!("target {} “{target}”: {message}", i + 1))
            })?;
        }
        let mut seen = std::collections::BTreeSet::new();
        if let Some(dup) = self.targets.iter().find(|t| !seen.insert(t.as_str())) {
            return Err(AppError::invalid(
                "targets",
                format!("“{dup}” is listed twice"),
            ));
        }
        if self.scheme != "http" && self.scheme != "https" {
            return Err(AppError::invalid("scheme", "must be http or https"));
        }
        self.metrics_path = self.metrics_path.trim().to_string();
        if !self.metrics_path.starts_with('/')
            || self.metrics_path.len() > 256
            || self
                .metrics_path
                .chars()
                .any(|c| c.is_whitespace() || c == '#')
        {
            return Err(AppError::invalid(
                "metrics_path",
                "must start with / and hold no spaces (at most 256 characters)",
            ));
        }
        if !(1..=3600).contains(&self.interval_seconds) {
            return Err(AppError::invalid(
                "interval_seconds",
                "must be 1 to 3600 seconds",
            ));
        }
        if !(1..=self.interval_seconds).contains(&self.timeout_seconds) {
            return Err(AppError::invalid(
                "timeout_seconds",
                "must be at least 1 second and at most the interval",
            ));
        }
        for (name, value) in &self.labels {
            let valid = name
                .chars()
                .enumerate()
                .all(|(i, c)| c == '_' || c.is_ascii_alphabetic() || (i > 0 && c.is_ascii_digit()));
            if name.is_empty() || !valid || name.starts_with("__") {
                return Err(AppError::invalid(
                    "labels",
                    format!("“{name}” is not a label name ([a-zA-Z_][a-zA-Z0-9_]*, not starting with __)"),
                ));
            }
            if RESERVED_LABELS.contains(&name.as_str()) {
                return Err(AppError::invalid(
                    "labels",
                    format!("“{name}” is set from the job and target"),
                ));
            }
            if value.is_empty() || value.chars().count() > 1024 {
                return Err(AppError::invalid(
                    "labels",
                    format!("the value of “{name}” must be 1 to 1024 characters"),
                ));
            }
        }
        Ok(())
    }
}

/// `host:port`, a bracketed IPv6 address with a port, nothing else (no scheme, no path).
fn check_target(target: &str) -> Result<(), &'static str> {
    if target.contains("://") || target.contains('/') {
        return Err("give host:port only; the scheme and path are separate fields");
    }
    let (host, port) = target.rsplit_once(':').ok_or("needs a port (host:port)")?;
    port.parse::<u16>()
        .ok()
        .filter(|p| *p > 0)
        .ok_or("the port must be a number from 1 to 65535")?;
    let host_ok = if let Some(v6) = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
        v6.parse::<std::net::Ipv6Addr>().is_ok()
    } else {
        !host.is_empty()
            && host.len() <= 253
            && host
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.' || c == '_')
    };
    if host_ok {
        Ok(())
    } else {
        Err("is not a host name or IP address")
    }
}

/// The form's text fields: targets one per line (or separated by commas or spaces), labels as
/// `name=value` one per line (or separated by commas).
pub fn parse_targets(text: &str) -> Vec<String> {
    text.split(|c: char| c == ',' || c.is_whitespace())
        .filter(|t| !t.is_empty())
        .map(str::to_string)
        .collect()
}

pub fn parse_labels(text: &str) -> Result<BTreeMap<String, String>, AppError> {
    let mut labels = BTreeMap::new();
    for pair in text
        .split([',', '\n'])
        .map(str::trim)
        .filter(|p| !p.is_empty())
    {
        let (name, value) = pair
            .split_once('=')
            .ok_or_else(|| AppError::invalid("labels", format!("“{pair}” is not name=value")))?;
        let value = value.trim().trim_matches('"');
        if labels
            .insert(name.trim().to_string(), value.to_string())
            .is_some()
        {
            return Err(AppError::invalid(
                "labels",
                format!("“{}” is given twice", name.trim()),
            ));
        }
    }
    Ok(labels)
}

pub fn format_labels(labels: &BTreeMap<String, String>) -> String {
    labels
        .iter()
        .map(|(n, v)| format!("{n}={v}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The last scrape of one target, as the scraper saw it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TargetHealth {
    pub job_id: Uuid,
    pub target: String,
    pub url: String,
    /// `up`, `down`, or `unknown` before the first scrape.
    pub health: String,
    pub last_scrape: Option<DateTime<Utc>>,
    pub last_duration_seconds: f64,
    pub last_error: String,
    pub samples: usize,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input() -> ScrapeJobInput {
        serde_json::from_value(serde_json::json!({"name": "node", "targets": ["127.0.0.1:9100"]}))
            .unwrap()
    }

    fn field_error(input: &mut ScrapeJobInput) -> (String, String) {
        match input.validate().unwrap_err() {
            AppError::Invalid { field, message } => (field, message),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn defaults_are_prometheus_defaults() {
        let mut job = input();
        job.validate().unwrap();
        assert_eq!(
            (
                job.scheme.as_str(),
                job.metrics_path.as_str(),
                job.interval_seconds,
                job.timeout_seconds,
                job.enabled
            ),
            ("http", "/metrics", 60, 10, true)
        );
    }

    #[test]
    fn each_wrong_field_is_named() {
        let cases: Vec<(fn(&mut ScrapeJobInput), &str, &str)> = vec![
            (|j| j.name = " ".into(), "name", "must be 1 to 64"),
            (|j| j.targets.clear(), "targets", "at least one"),
            (
                |j| j.targets = vec!["http://x:1/metrics".into()],
                "targets",
                "target 1 “http://x:1/metrics”: give host:port only",
            ),
            (
                |j| j.targets = vec!["a:1".into(), "b".into()],
                "targets",
                "target 2 “b”: needs a port",
            ),
            (
                |j| j.targets = vec!["a:99999".into()],
                "targets",
                "the port must be",
            ),
            (
                |j| j.targets = vec!["a:1".into(), "a:1".into()],
                "targets",
                "listed twice",
            ),
            (|j| j.scheme = "ftp".into(), "scheme", "http or https"),
            (
                |j| j.metrics_path = "metrics".into(),
                "metrics_path",
                "must start with /",
            ),
            (|j| j.interval_seconds = 0, "interval_seconds", "1 to 3600"),
            (
                |j| j.timeout_seconds = 61,
                "timeout_seconds",
                "at most the interval",
            ),
            (
                |j| {
                    j.labels.insert("job".into(), "x".into());
                },
                "labels",
                "set from the job",
            ),
            (
                |j| {
                    j.labels.insert("1x".into(), "x".into());
                },
                "labels",
                "not a label name",
            ),
        ];
        for (change, field, message) in cases {
            let mut job = input();
            change(&mut job);
            let (f, m) = field_error(&mut job);
            assert_eq!(f, field, "{m}");
            assert!(m.contains(message), "{field}: {m}");
        }
        let mut v6 = input();
        v6.targets = vec!["[::1]:9090".into(), " host-1.example:80 ".into()];
        v6.validate().unwrap();
        assert_eq!(v6.targets[1], "host-1.example:80");
    }

    #[test]
    fn form_text_fields() {
        assert_eq!(parse_targets("a:1, b:2\nc:3"), vec!["a:1", "b:2", "c:3"]);
        let labels = parse_labels("env=prod\nteam = \"core\"").unwrap();
        assert_eq!(format_labels(&labels), "env=prod\nteam=core");
        assert_eq!(
            parse_labels("env")
                .unwrap_err()
                .for_field("labels")
                .unwrap(),
            "“env” is not name=value"
        );
    }
}
