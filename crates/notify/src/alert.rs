//! Alerts as Alertmanager keeps them: identified by the fingerprint of their labels, resolved
//! once their end is past, merged with an earlier copy as its alert store merges them, and
//! checked as its API checks them.

use serde::{Deserialize, Serialize};

use crate::{matcher::valid_label_name, Labels};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Alert {
    pub labels: Labels,
    #[serde(default)]
    pub annotations: Labels,
    /// Milliseconds since the epoch.
    pub starts_at: i64,
    pub ends_at: i64,
    #[serde(default)]
    pub generator_url: String,
    pub updated_at: i64,
    /// The end was not given but set from `resolve_timeout`: a later explicit end wins.
    #[serde(default)]
    pub timeout: bool,
}

impl Alert {
    pub fn fingerprint(&self) -> u64 {
        fingerprint(&self.labels)
    }

    /// Whether the alert is resolved at `now`: its end is not after it.
    pub fn resolved_at(&self, now: i64) -> bool {
        self.ends_at <= now
    }

    /// Alertmanager's `Alert.Merge`: the younger copy wins, with the earliest start; an
    /// explicit end is kept over a later timeout.
    pub fn merge(older: &Alert, younger: &Alert) -> Alert {
        if younger.updated_at < older.updated_at {
            return Alert::merge(younger, older);
        }
        let mut out = younger.clone();
        if older.starts_at < younger.starts_at {
            out.starts_at = older.starts_at;
        }
        let both_resolved = younger.resolved_at(younger.updated_at);
        if both_resolved {
            if older.resolved_at(younger.updated_at) && older.ends_at > younger.ends_at {
                out.ends_at = older.ends_at;
            }
        } else if older.ends_at > younger.ends_at && !older.timeout {
            out.ends_at = older.ends_at;
        }
        out
    }

    /// What the store keeps when `incoming` arrives and `existing` is there: merged when their
    /// activity overlaps, replaced otherwise (a new life of the same alert).
    pub fn stored(existing: Option<&Alert>, incoming: Alert) -> Alert {
        match existing {
            Some(old)
                if (incoming.ends_at > old.starts_at && incoming.ends_at < old.ends_at)
                    || (incoming.starts_at > old.starts_at
                        && incoming.starts_at < old.ends_at) =>
            {
                Alert::merge(old, &incoming)
            }
            _ => incoming,
        }
    }
}

/// An alert as a client posts it (`POST /api/v2/alerts`), times in milliseconds, `None` where
/// the client left them out.
#[derive(Clone, Debug, Default)]
pub struct Posted {
    pub labels: Labels,
    pub annotations: Labels,
    pub starts_at: Option<i64>,
    pub ends_at: Option<i64>,
    pub generator_url: String,
}

impl Posted {
    /// What Alertmanager's API makes of a posted alert at `now`: a missing start is now (or
    /// the end), a missing end is now plus `resolve_timeout` (and marked so). Errors are its
    /// validation messages.
    pub fn accept(self, now: i64, resolve_timeout_ms: i64) -> Result<Alert, String> {
        let starts_at = self.starts_at.or(self.ends_at).unwrap_or(now);
        let (ends_at, timeout) = match self.ends_at {
            Some(end) => (end, false),
            None => (now + resolve_timeout_ms, true),
        };
        let alert = Alert {
            labels: self.labels,
            annotations: self.annotations,
            starts_at,
            ends_at,
            generator_url: self.generator_url,
            updated_at: now,
            timeout,
        };
        validate(&alert)?;
        Ok(alert)
    }
}

/// Alertmanager's `Alert.Validate`.
pub fn validate(alert: &Alert) -> Result<(), String> {
    if alert.starts_at == 0 {
        return Err("start time missing".into());
    }
    if alert.ends_at != 0 && alert.ends_at < alert.starts_at {
        return Err("start time must be before end time".into());
    }
    if alert.labels.is_empty() {
        return Err("at least one label pair required".into());
    }
    for (name, _) in alert.labels.iter().chain(alert.annotations.iter()) {
        if !valid_label_name(name) {
            return Err(format!("invalid name {name:?}"));
        }
    }
    Ok(())
}

/// Prometheus' `LabelSet.Fingerprint`, which Alertmanager shows as the alert's fingerprint:
/// FNV-1a 64 over the names and values in name order, each followed by the byte 255.
pub fn fingerprint(labels: &Labels) -> u64 {
    const OFFSET: u64 = 14_695_981_039_346_656_037;
    const PRIME: u64 = 1_099_511_628_211;
    let mut hash = OFFSET;
    let mut add = |bytes: &[u8]| {
        for b in bytes {
            hash ^= u64::from(*b);
            hash = hash.wrapping_mul(PRIME);
        }
    };
    // `Labels` is a BTreeMap: already in name order.
    for (name, value) in labels {
        add(name.as_bytes());
        add(&[255]);
        add(value.as_bytes());
        add(&[255]);
    }
    hash
}

/// The fingerprint as Alertmanager prints it.
pub fn fingerprint_hex(fingerprint: u64) -> String {
    format!("{fingerprint:016x}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> Labels {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn fingerprints_are_alertmanagers() {
        // From a real Alertmanager's webhook (testdata/alertmanager/hook/0000.json).
        let a = labels(&[
            ("alertname", "HighErrorRate"),
            ("instance", "i-1"),
            ("severity", "page"),
            ("tenant", "acme"),
        ]);
        assert_eq!(fingerprint_hex(fingerprint(&a)), "e420beade59c8f08");
        let b = labels(&[
            ("alertname", "HighErrorRate"),
            ("instance", "i-2"),
            ("severity", "page"),
            ("tenant", "acme"),
        ]);
        assert_eq!(fingerprint_hex(fingerprint(&b)), "64ab1540addc9ecb");
    }

    fn alert(starts: i64, ends: i64, updated: i64, timeout: bool) -> Alert {
        Alert {
            labels: labels(&[("alertname", "A")]),
            annotations: Labels::new(),
            starts_at: starts,
            ends_at: ends,
            generator_url: String::new(),
            updated_at: updated,
            timeout,
        }
    }

    #[test]
    fn merges_as_the_alert_store_does() {
        // A re-sent firing alert keeps its first start and takes the new end.
        let merged = Alert::stored(
            Some(&alert(100, 1_000, 100, false)),
            alert(500, 2_000, 500, false),
        );
        assert_eq!((merged.starts_at, merged.ends_at), (100, 2_000));
        // A resolution inside the activity ends it.
        let merged = Alert::stored(Some(&alert(100, 10_000, 100, true)), alert(500, 600, 600, false));
        assert_eq!((merged.starts_at, merged.ends_at), (100, 600));
        // An explicit later end is not replaced by an earlier timeout.
        let merged = Alert::merge(&alert(100, 9_000, 100, false), &alert(100, 5_000, 200, true));
        assert_eq!(merged.ends_at, 9_000);
        // No overlap: a new life replaces the old one.
        let merged = Alert::stored(Some(&alert(100, 200, 200, false)), alert(500, 900, 500, false));
        assert_eq!(merged.starts_at, 500);
    }

    #[test]
    fn posted_alerts_are_completed_and_checked() {
        let posted = Posted {
            labels: labels(&[("alertname", "A")]),
            ..Posted::default()
        };
        let a = posted.clone().accept(1_000, 300_000).unwrap();
        assert_eq!((a.starts_at, a.ends_at, a.timeout), (1_000, 301_000, true));
        let bad = Posted {
            starts_at: Some(2_000),
            ends_at: Some(1_000),
            ..posted.clone()
        };
        assert_eq!(
            bad.accept(1_000, 0).unwrap_err(),
            "start time must be before end time"
        );
        let empty = Posted::default();
        assert_eq!(
            empty.accept(1_000, 0).unwrap_err(),
            "at least one label pair required"
        );
    }
}
