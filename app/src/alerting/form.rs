//! What the rule editor exchanges between its page and the server: the form as typed, and the
//! preview, backtest and versions it shows.

use serde::{Deserialize, Serialize};

/// The form's fields, as typed (a field left out is empty).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct RuleForm {
    pub tenant: String,
    pub group: String,
    /// The group's interval (for a new group, or to change it).
    pub interval: String,
    /// The rule's place in the group; empty for a new rule.
    pub rule: String,
    /// The group's version the form was read from; empty for a new group.
    pub version: String,
    /// `alert` or `record`.
    pub kind: String,
    pub name: String,
    pub expr: String,
    pub for_text: String,
    pub keep_firing_for: String,
    pub severity: String,
    /// Other labels, `name=value` a line.
    pub labels: String,
    pub summary: String,
    pub description: String,
    pub runbook_url: String,
    /// Other annotations, `name=value` a line.
    pub annotations: String,
    pub message: String,
    /// The backtest's window (UTC, `2026-12-01T00:00`); empty: the last 7 days.
    pub from: String,
    pub to: String,
}

pub const FIELDS: [&str; 19] = [
    "tenant",
    "group",
    "interval",
    "rule",
    "version",
    "kind",
    "name",
    "expr",
    "for_text",
    "keep_firing_for",
    "severity",
    "labels",
    "summary",
    "description",
    "runbook_url",
    "annotations",
    "message",
    "from",
    "to",
];

impl RuleForm {
    fn field_mut(&mut self, name: &str) -> Option<&mut String> {
        Some(match name {
            "tenant" => &mut self.tenant,
            "group" => &mut self.group,
            "interval" => &mut self.interval,
            "rule" => &mut self.rule,
            "version" => &mut self.version,
            "kind" => &mut self.kind,
            "name" => &mut self.name,
            "expr" => &mut self.expr,
            "for_text" => &mut self.for_text,
            "keep_firing_for" => &mut self.keep_firing_for,
            "severity" => &mut self.severity,
            "labels" => &mut self.labels,
            "summary" => &mut self.summary,
            "description" => &mut self.description,
            "runbook_url" => &mut self.runbook_url,
            "annotations" => &mut self.annotations,
            "message" => &mut self.message,
            "from" => &mut self.from,
            "to" => &mut self.to,
            _ => return None,
        })
    }

    /// The form from the page's query parameters.
    pub fn from_pairs<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> RuleForm {
        let mut form = RuleForm::default();
        for (k, v) in pairs {
            if let Some(field) = form.field_mut(k) {
                *field = v.to_string();
            }
        }
        form
    }

    /// The form as query parameters (the editor's address with these values).
    pub fn to_query(&self) -> String {
        let mut copy = self.clone();
        let values: Vec<(&str, String)> = FIELDS
            .iter()
            .filter_map(|f| Some((*f, copy.field_mut(f)?.clone())))
            .collect();
        crate::url::query(values.iter().map(|(k, v)| (*k, v.as_str())))
    }

    pub fn is_new(&self) -> bool {
        self.rule.trim().is_empty()
    }
}

/// One series of the preview: its labels and value now, and the alert it would be.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PreviewSeries {
    pub labels: String,
    pub value: String,
    /// `pending`, `firing`, or empty (recording rules).
    pub state: String,
    pub annotations: Vec<(String, String)>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PreviewView {
    pub at: String,
    pub series: Vec<PreviewSeries>,
    pub error: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BacktestSeries {
    pub labels: String,
    /// (active, fired, end) in ms, an episode each.
    pub episodes: Vec<(i64, Option<i64>, i64)>,
    pub firing_ms: i64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BacktestView {
    pub from: i64,
    pub to: i64,
    pub step_text: String,
    pub evaluations: usize,
    pub series: Vec<BacktestSeries>,
    pub firing_notifications: usize,
    pub resolved_notifications: usize,
    pub failed_evaluations: usize,
    pub first_error: Option<String>,
    pub took_ms: u64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct VersionView {
    pub version: i32,
    pub author: String,
    pub message: String,
    pub at: String,
    /// The group's rule file diff against the version before (unified, a line each).
    pub diff: Vec<(char, String)>,
}

/// Everything the editor page shows.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EditorView {
    pub form: RuleForm,
    /// Field errors, `(field, message)`.
    pub errors: Vec<(String, String)>,
    pub preview: Option<PreviewView>,
    pub backtest: Option<BacktestView>,
    pub versions: Vec<VersionView>,
    /// The tenant's groups, for the group field.
    pub groups: Vec<String>,
    pub can_edit: bool,
}
