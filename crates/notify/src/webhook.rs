//! The message a group's notification carries: Alertmanager's webhook payload, version 4
//! (`receiver`, `status`, `alerts`, `groupLabels`, `commonLabels`, `commonAnnotations`,
//! `externalURL`, `version`, `groupKey`, `truncatedAlerts`), fields in its order. The other
//! integrations build their bodies from the same data.

use chrono::{TimeZone, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::{
    alert::{fingerprint_hex, Alert},
    Labels,
};

/// One alert in a notification, as of the flush that sent it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Notified {
    pub alert: Alert,
    pub resolved: bool,
}

/// What a group's flush sends to one receiver.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Message {
    pub receiver: String,
    pub group_key: String,
    pub group_labels: Labels,
    /// In Alertmanager's order (`AlertSlice`: job, instance, then the labels).
    pub alerts: Vec<Notified>,
    pub external_url: String,
}

impl Message {
    /// `resolved` when every alert is.
    pub fn status(&self) -> &'static str {
        if self.alerts.iter().all(|a| a.resolved) {
            "resolved"
        } else {
            "firing"
        }
    }

    pub fn firing(&self) -> impl Iterator<Item = &Notified> {
        self.alerts.iter().filter(|a| !a.resolved)
    }

    /// The labels every alert has with the same value.
    pub fn common_labels(&self) -> Labels {
        common(self.alerts.iter().map(|a| &a.alert.labels))
    }

    pub fn common_annotations(&self) -> Labels {
        common(self.alerts.iter().map(|a| &a.alert.annotations))
    }

    /// The webhook body; at most `max_alerts` alerts when it is not 0.
    pub fn webhook_body(&self, max_alerts: u64) -> Value {
        let keep = if max_alerts == 0 {
            self.alerts.len()
        } else {
            self.alerts.len().min(max_alerts as usize)
        };
        json!({
            "receiver": self.receiver,
            "status": self.status(),
            "alerts": self.alerts[..keep].iter().map(alert_json).collect::<Vec<_>>(),
            "groupLabels": self.group_labels,
            "commonLabels": self.common_labels(),
            "commonAnnotations": self.common_annotations(),
            "externalURL": self.external_url,
            "version": "4",
            "groupKey": self.group_key,
            "truncatedAlerts": self.alerts.len() - keep,
        })
    }
}

/// One alert as the webhook shows it: a firing alert has no end yet (Go's zero time).
pub fn alert_json(a: &Notified) -> Value {
    json!({
        "status": if a.resolved { "resolved" } else { "firing" },
        "labels": a.alert.labels,
        "annotations": a.alert.annotations,
        "startsAt": go_time(a.alert.starts_at),
        "endsAt": if a.resolved { go_time(a.alert.ends_at) } else { GO_ZERO_TIME.to_string() },
        "generatorURL": a.alert.generator_url,
        "fingerprint": fingerprint_hex(a.alert.fingerprint()),
    })
}

pub const GO_ZERO_TIME: &str = "0001-01-01T00:00:00Z";

/// A time as Go writes `time.Time` in JSON (RFC 3339, fractional seconds without trailing
/// zeros), in UTC.
pub fn go_time(ms: i64) -> String {
    let Some(t) = Utc.timestamp_millis_opt(ms).single() else {
        return GO_ZERO_TIME.to_string();
    };
    let base = t.format("%Y-%m-%dT%H:%M:%S").to_string();
    let frac = ms.rem_euclid(1000);
    if frac == 0 {
        format!("{base}Z")
    } else {
        let digits = format!("{frac:03}");
        format!("{base}.{}Z", digits.trim_end_matches('0'))
    }
}

fn common<'a>(mut sets: impl Iterator<Item = &'a Labels>) -> Labels {
    let Some(first) = sets.next() else {
        return Labels::new();
    };
    let mut out = first.clone();
    for set in sets {
        out.retain(|k, v| set.get(k) == Some(v));
    }
    out
}

/// Alertmanager's `AlertSlice` order: by `job`, then `instance` (an alert that has the label
/// first), then by the label sets (`LabelSet.Before`).
pub fn sort_alerts(alerts: &mut [Notified]) {
    alerts.sort_by(|a, b| {
        let (a, b) = (&a.alert.labels, &b.alert.labels);
        for key in ["job", "instance"] {
            match (a.get(key), b.get(key)) {
                (None, None) => continue,
                (None, Some(_)) => return std::cmp::Ordering::Greater,
                (Some(_), None) => return std::cmp::Ordering::Less,
                (Some(x), Some(y)) if x != y => return x.cmp(y),
                _ => continue,
            }
        }
        label_set_before(a, b)
    });
}

fn label_set_before(a: &Labels, b: &Labels) -> std::cmp::Ordering {
    use std::cmp::Ordering::*;
    if a.len() != b.len() {
        return a.len().cmp(&b.len());
    }
    let names: std::collections::BTreeSet<&String> = a.keys().chain(b.keys()).collect();
    for name in names {
        match (a.get(name), b.get(name)) {
            (None, _) => return Less,
            (_, None) => return Greater,
            (Some(x), Some(y)) if x != y => return x.cmp(y),
            _ => {}
        }
    }
    Equal
}
