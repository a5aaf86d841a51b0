//! Alerting and recording rules: groups per tenant (`repo`), the evaluator every replica runs
//! (`evaluator`), Prometheus' rules and alerts APIs' answers (`prometheus`), the backtest and the
//! backfill; and the pages: alerts with their history and acknowledgement (`page`), the rule
//! groups (`rules_page`). The rule semantics themselves live in `crates/rules`.

pub mod editor;
mod fns;
pub mod form;
mod import_page;
mod page;
mod rules_page;

#[cfg(feature = "ssr")]
pub mod backfill;
#[cfg(feature = "ssr")]
pub mod backtest;
#[cfg(feature = "ssr")]
mod editing;
#[cfg(feature = "ssr")]
pub mod evaluator;
#[cfg(feature = "ssr")]
pub mod history;
#[cfg(feature = "ssr")]
pub mod prometheus;
#[cfg(feature = "ssr")]
pub mod repo;

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

pub use editor::RuleEditorRoute;
pub use fns::*;
pub use import_page::RuleImportRoute;
pub use page::{AlertRoute, AlertsRoute};
pub use rules_page::RulesRoute;

/// What a rule file import did, group by group.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Imported {
    pub created: Vec<String>,
    pub updated: Vec<String>,
    pub unchanged: Vec<String>,
}

/// The session key under which the upload form leaves its report for the import page: the
/// tenant's name and what the import did.
pub const RULE_IMPORT_RESULT: &str = "rule_import";

/// One alert's life, from pending to resolved, as the history keeps it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AlertRow {
    pub id: Uuid,
    pub tenant_name: String,
    pub group_name: String,
    pub rule_name: String,
    pub labels: BTreeMap<String, String>,
    pub annotations: BTreeMap<String, String>,
    pub severity: String,
    /// `pending`, `firing` or `resolved`.
    pub state: String,
    pub value: Option<f64>,
    pub active_at: DateTime<Utc>,
    pub fired_at: Option<DateTime<Utc>>,
    pub resolved_at: Option<DateTime<Utc>>,
    pub ack: Option<Acknowledgement>,
}

impl AlertRow {
    /// The labels worth showing beside the name: all but `alertname` and `severity`.
    pub fn shown_labels(&self) -> impl Iterator<Item = (&String, &String)> {
        self.labels
            .iter()
            .filter(|(k, _)| k.as_str() != "alertname" && k.as_str() != "severity")
    }

    /// Resolved without ever firing: its condition cleared within its `for`.
    pub fn never_fired(&self) -> bool {
        self.state == "resolved" && self.fired_at.is_none()
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Acknowledgement {
    pub by: String,
    pub at: DateTime<Utc>,
    pub comment: String,
}

/// The alerts page's filters, as query parameters.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct AlertFilter {
    /// `active` (pending and firing; the default), `firing`, `pending`, `resolved` or `all`.
    pub state: Option<String>,
    pub severity: Option<String>,
    /// Label matchers as Prometheus writes them: `job="api", instance=~"api-.*"`.
    pub labels: Option<String>,
    pub from: Option<String>,
    pub to: Option<String>,
    pub tenant: Option<String>,
}

impl AlertFilter {
    pub fn to_query(&self) -> String {
        crate::url::query([
            ("state", self.state.as_deref()),
            ("severity", self.severity.as_deref()),
            ("labels", self.labels.as_deref()),
            ("from", self.from.as_deref()),
            ("to", self.to.as_deref()),
            ("tenant", self.tenant.as_deref()),
        ])
    }
}

pub const SEVERITIES: [&str; 4] = ["critical", "warning", "info", "security"];

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AlertsPage {
    pub alerts: Vec<AlertRow>,
    /// More matched than shown.
    pub truncated: bool,
    /// The tenants' alerts firing and pending now, whatever the filter.
    pub firing: i64,
    pub pending: i64,
    pub now: DateTime<Utc>,
}

/// An alert with its rule and the alert's other episodes.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AlertDetail {
    pub alert: AlertRow,
    /// The same alert (same labels) over the timeline's window, oldest first.
    pub episodes: Vec<AlertRow>,
    pub window: (DateTime<Utc>, DateTime<Utc>),
    pub rule: Option<RuleView>,
    /// The viewer may acknowledge it.
    pub can_acknowledge: bool,
    pub now: DateTime<Utc>,
    /// The active silences that mute its notifications: (matchers, until, by, comment).
    pub silenced_by: Vec<(String, DateTime<Utc>, String, String)>,
}

/// A rule as the pages show it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RuleView {
    pub kind: String,
    pub name: String,
    pub expr: String,
    pub for_text: String,
    pub keep_firing_for_text: String,
    pub labels: BTreeMap<String, String>,
    pub annotations: BTreeMap<String, String>,
    /// `inactive`, `pending` or `firing` for alerting rules; empty for recording rules.
    pub state: String,
    pub health: String,
    pub last_error: String,
    pub last_evaluation: Option<DateTime<Utc>>,
    pub active_alerts: usize,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GroupView {
    pub tenant_name: String,
    pub name: String,
    pub interval_text: String,
    pub version: i32,
    pub provisioned: Option<String>,
    pub last_evaluation: Option<DateTime<Utc>>,
    pub last_duration_ms: Option<f64>,
    pub rules: Vec<RuleView>,
}

/// A place on the rules page: the rule's anchor.
pub fn rule_anchor(group: &str, rule: &str) -> String {
    let slug = |s: &str| {
        s.chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() {
                    c.to_ascii_lowercase()
                } else {
                    '-'
                }
            })
            .collect::<String>()
    };
    format!("rule-{}-{}", slug(group), slug(rule))
}

/// A span as the pages write it: `3d 4h`, `12m`, `40s`.
pub fn span_text(from: DateTime<Utc>, to: DateTime<Utc>) -> String {
    let s = (to - from).num_seconds().max(0);
    let (d, h, m) = (s / 86_400, s % 86_400 / 3_600, s % 3_600 / 60);
    match (d, h, m) {
        (0, 0, 0) => format!("{s}s"),
        (0, 0, m) => format!("{m}m"),
        (0, h, m) => format!("{h}h {m}m"),
        (d, h, _) => format!("{d}d {h}h"),
    }
}

/// A time as the pages write it (UTC).
pub fn time_text(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M UTC").to_string()
}

/// One pending-then-firing period on a timeline (ms).
pub struct Bar {
    pub active_at: i64,
    pub fired_at: Option<i64>,
    pub end: i64,
    /// Drawn stronger than the others.
    pub current: bool,
    pub title: String,
}

/// Periods over a window as bars (pending amber, firing red) over day or hour ticks: plain SVG
/// drawn on the server, so it prints and needs no JavaScript. The bars stretch to the width;
/// the tick labels are text beside them, so they stay readable at any width.
pub fn timeline_svg((from, to): (i64, i64), bars: &[Bar]) -> String {
    let esc = |s: &str| {
        s.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
    };
    let span = (to - from).max(1) as f64;
    let x = |t: i64| ((t - from) as f64 / span * 1000.0).clamp(0.0, 1000.0);
    let (mut lines, mut labels, mut rects) = (String::new(), String::new(), String::new());
    // About seven ticks, on whole days or hours.
    let tick = [
        3_600_000i64,
        6 * 3_600_000,
        12 * 3_600_000,
        86_400_000,
        7 * 86_400_000,
    ]
    .into_iter()
    .find(|t| (to - from) / t <= 8)
    .unwrap_or(30 * 86_400_000);
    let format = if tick >= 86_400_000 { "%a %d" } else { "%H:%M" };
    let mut t = (from + tick - 1).div_euclid(tick) * tick;
    while t <= to {
        let tx = x(t);
        let label = DateTime::from_timestamp_millis(t)
            .map(|d| d.format(format).to_string())
            .unwrap_or_default();
        lines.push_str(&format!(
            r#"<line class="tl-tick" x1="{tx:.1}" x2="{tx:.1}" y1="0" y2="24"/>"#
        ));
        labels.push_str(&format!(
            r#"<span style="left:{:.2}%">{label}</span>"#,
            tx / 10.0
        ));
        t += tick;
    }
    for bar in bars {
        let current = if bar.current { " current" } else { "" };
        let fired = bar.fired_at.unwrap_or(bar.end);
        for (class, a, b, drawn) in [
            ("pending", bar.active_at, fired, fired > bar.active_at),
            ("firing", fired, bar.end, bar.fired_at.is_some()),
        ] {
            if drawn {
                // At least a few pixels wide, and inside the track (an alert that just began is
                // at its right edge).
                let width = (x(b) - x(a)).max(3.0);
                let xa = x(a).min(1000.0 - width);
                rects.push_str(&format!(
                    r#"<rect class="tl-{class}{current}" x="{xa:.1}" y="0" width="{width:.1}" height="24"><title>{}</title></rect>"#,
                    esc(&bar.title)
                ));
            }
        }
    }
    format!(
        r#"<div class="timeline"><svg class="alert-timeline" viewBox="0 0 1000 24" preserveAspectRatio="none" role="img" aria-label="Pending and firing periods"><rect class="tl-track" x="0" y="0" width="1000" height="24"/>{lines}{rects}</svg><div class="tl-axis">{labels}</div></div>"#
    )
}
