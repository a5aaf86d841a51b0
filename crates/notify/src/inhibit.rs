//! Inhibition as Alertmanager applies it: an alert that matches a rule's target matchers is
//! muted while a firing alert matches its source matchers and has the same values of the
//! `equal` labels (a missing label equals a missing one). An alert that matches both sides
//! is not muted by another that also matches both.

use crate::{
    alert::{fingerprint, Alert},
    matcher::{all_match, Matcher},
    Labels,
};

#[derive(Clone, Debug)]
pub struct InhibitRule {
    pub source: Vec<Matcher>,
    pub target: Vec<Matcher>,
    pub equal: Vec<String>,
}

impl InhibitRule {
    /// The fingerprint of a firing source alert that mutes `labels`, if any.
    fn muted_by<'a>(&self, labels: &Labels, alerts: impl Iterator<Item = &'a Alert>, now: i64) -> Option<u64> {
        if !all_match(&self.target, labels) {
            return None;
        }
        let two_sided = all_match(&self.source, labels);
        let value = |set: &'a Labels, name: &str| set.get(name).map_or("", String::as_str);
        alerts
            .filter(|a| !a.resolved_at(now) && all_match(&self.source, &a.labels))
            .filter(|a| self.equal.iter().all(|n| value(&a.labels, n) == labels.get(n).map_or("", String::as_str)))
            .find(|a| !(two_sided && all_match(&self.target, &a.labels)))
            .map(|a| fingerprint(&a.labels))
    }
}

/// The fingerprint of an alert that inhibits `labels` at `now`, among `alerts` (every alert
/// the tenant has, silenced ones included, as in Alertmanager).
pub fn inhibited_by<'a>(
    rules: &[InhibitRule],
    labels: &Labels,
    alerts: impl Iterator<Item = &'a Alert> + Clone,
    now: i64,
) -> Option<u64> {
    rules.iter().find_map(|r| r.muted_by(labels, alerts.clone(), now))
}
