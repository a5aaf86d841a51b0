//! The route tree as Alertmanager walks it: a route matches when its matchers do; its children
//! are tried in order and the first match stops the search unless that child has `continue`;
//! a route none of whose children matched is itself the match. The matched route's `group_by`
//! picks the labels that make an alert's group, and the group's key is Alertmanager's
//! (`{}/{team="db"}:{alertname="HighLatency"}`).

use std::collections::BTreeSet;

use crate::{
    matcher::{all_match, Matcher},
    Labels,
};

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum GroupBy {
    /// The named labels (none, the default: every alert of the route in one group).
    Labels(BTreeSet<String>),
    /// `...`: every label, so each alert is its own group.
    All,
}

impl Default for GroupBy {
    fn default() -> GroupBy {
        GroupBy::Labels(BTreeSet::new())
    }
}

#[derive(Clone, Debug)]
pub struct Route {
    /// The route's place in the tree: `0` the root, `0.1` its second child.
    pub id: String,
    /// Alertmanager's route key: the matchers of the route and its ancestors.
    pub key: String,
    pub receiver: String,
    pub matchers: Vec<Matcher>,
    pub group_by: GroupBy,
    pub continue_matching: bool,
    pub group_wait_ms: i64,
    pub group_interval_ms: i64,
    pub repeat_interval_ms: i64,
    pub mute_time_intervals: Vec<String>,
    pub active_time_intervals: Vec<String>,
    pub routes: Vec<Route>,
}

impl Route {
    /// The routes an alert with `labels` goes to, in tree order.
    pub fn matches(&self, labels: &Labels) -> Vec<&Route> {
        if !all_match(&self.matchers, labels) {
            return Vec::new();
        }
        let mut all = Vec::new();
        for child in &self.routes {
            let found = child.matches(labels);
            let matched = !found.is_empty();
            all.extend(found);
            if matched && !child.continue_matching {
                break;
            }
        }
        if all.is_empty() {
            all.push(self);
        }
        all
    }

    /// The labels of `labels` that make its group on this route.
    pub fn group_labels(&self, labels: &Labels) -> Labels {
        match &self.group_by {
            GroupBy::All => labels.clone(),
            GroupBy::Labels(names) => labels
                .iter()
                .filter(|(k, _)| names.contains(*k))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        }
    }

    /// Alertmanager's group key: the route key and the group labels.
    pub fn group_key(&self, group_labels: &Labels) -> String {
        format!("{}:{}", self.key, label_set_string(group_labels))
    }

    /// The route with this id.
    pub fn find(&self, id: &str) -> Option<&Route> {
        if self.id == id {
            return Some(self);
        }
        self.routes.iter().find_map(|r| r.find(id))
    }

    /// Every route, the root first, depth first.
    pub fn all(&self) -> Vec<&Route> {
        let mut out = vec![self];
        for child in &self.routes {
            out.extend(child.all());
        }
        out
    }
}

/// Prometheus' `LabelSet.String`: `{a="b", c="d"}`, values quoted as Go quotes them.
pub fn label_set_string(labels: &Labels) -> String {
    let parts: Vec<String> = labels
        .iter()
        .map(|(k, v)| format!("{k}={}", go_quote(v)))
        .collect();
    format!("{{{}}}", parts.join(", "))
}

/// Go's `strconv.Quote` for the characters label values hold.
fn go_quote(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    out.push('"');
    for c in value.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                out.push_str(&format!("\\x{:02x}", c as u32))
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}
