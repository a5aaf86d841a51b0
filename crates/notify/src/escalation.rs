//! Escalation, Meridian's addition to Alertmanager: a firing alert that a policy's matchers
//! match and that nobody acknowledged is sent to each step's receiver once the step's time since
//! the alert started has passed; an acknowledgement or the alert's end stops it. A muted alert
//! (silenced or inhibited) does not escalate.

use std::collections::BTreeSet;

use crate::{
    alert::Alert,
    matcher::{all_match, Matcher},
};

#[derive(Clone, Debug)]
pub struct Policy {
    pub name: String,
    pub matchers: Vec<Matcher>,
    /// (after ms, receiver), in order.
    pub steps: Vec<(i64, String)>,
}

/// A step that is due: the policy, the step's place and its receiver.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Due {
    pub policy: String,
    pub step: usize,
    pub receiver: String,
}

/// The steps due for `alert` at `now` that were not sent yet (`sent` holds (policy, step)).
pub fn due(policies: &[Policy], alert: &Alert, acknowledged: bool, muted: bool, sent: &BTreeSet<(String, usize)>, now: i64) -> Vec<Due> {
    if acknowledged || muted || alert.resolved_at(now) {
        return Vec::new();
    }
    policies
        .iter()
        .filter(|p| all_match(&p.matchers, &alert.labels))
        .flat_map(|p| {
            p.steps.iter().enumerate().filter_map(move |(i, (after, receiver))| {
                (alert.starts_at + after <= now && !sent.contains(&(p.name.clone(), i))).then(|| Due {
                    policy: p.name.clone(),
                    step: i,
                    receiver: receiver.clone(),
                })
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::parse;

    #[test]
    fn steps_come_in_time_until_acknowledged_or_resolved() {
        let config = parse(
            "route: {receiver: on-call}
receivers: [{name: on-call}, {name: lead}, {name: manager}]
escalation_policies:
  - name: critical
    matchers: ['severity=\"critical\"']
    steps:
      - {after: 10m, receiver: lead}
      - {after: 30m, receiver: manager}
",
        )
        .unwrap();
        let alert = Alert {
            labels: [("alertname", "Down"), ("severity", "critical")].iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
            annotations: Default::default(),
            starts_at: 0,
            ends_at: 3_600_000,
            generator_url: String::new(),
            updated_at: 0,
            timeout: false,
        };
        let minutes = |m: i64| m * 60_000;
        let none = BTreeSet::new();
        let p = &config.escalations;
        assert!(due(p, &alert, false, false, &none, minutes(9)).is_empty());
        let first = due(p, &alert, false, false, &none, minutes(10));
        assert_eq!(first, vec![Due { policy: "critical".into(), step: 0, receiver: "lead".into() }]);
        let sent: BTreeSet<_> = [("critical".to_string(), 0)].into();
        assert!(due(p, &alert, false, false, &sent, minutes(29)).is_empty());
        assert_eq!(due(p, &alert, false, false, &sent, minutes(30))[0].receiver, "manager");
        // Acknowledged, muted or resolved: nothing more.
        assert!(due(p, &alert, true, false, &sent, minutes(30)).is_empty());
        assert!(due(p, &alert, false, true, &sent, minutes(30)).is_empty());
        assert!(due(p, &alert, false, false, &sent, minutes(60)).is_empty());
        // A warning is not escalated.
        let mut warning = alert.clone();
        warning.labels.insert("severity".into(), "warning".into());
        assert!(due(p, &warning, false, false, &none, minutes(40)).is_empty());
        let bad = parse("route: {receiver: a}\nreceivers: [{name: a}]\nescalation_policies: [{name: x, steps: [{after: 5m, receiver: b}, {after: 1m, receiver: a}]}]\n").unwrap_err();
        assert_eq!(bad.len(), 2, "{bad:?}");
    }
}
