//! Alertmanager's notification log and its dedup stage: for each receiver and group, the alerts
//! the last notification called firing and resolved, and when it went. A group's flush notifies
//! only when that changed or the repeat interval has passed.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

/// The last notification of a group to one receiver integration.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct LogEntry {
    pub firing: BTreeSet<u64>,
    pub resolved: BTreeSet<u64>,
    /// Milliseconds since the epoch.
    pub at: i64,
}

/// Alertmanager's `DedupStage.needsUpdate`.
pub fn needs_update(
    entry: Option<&LogEntry>,
    firing: &BTreeSet<u64>,
    resolved: &BTreeSet<u64>,
    send_resolved: bool,
    repeat_interval_ms: i64,
    now: i64,
) -> bool {
    let Some(entry) = entry else {
        // Never notified: only when something fires.
        return !firing.is_empty();
    };
    if !firing.is_subset(&entry.firing) {
        return true;
    }
    // All resolved: notify (whatever send_resolved says, so the log forgets the firing ones),
    // unless the receiver never heard of them firing.
    if firing.is_empty() {
        return !entry.firing.is_empty();
    }
    if send_resolved && !resolved.is_subset(&entry.resolved) {
        return true;
    }
    // Alertmanager compares with `Before`, but its flush times carry the timer's lag, so a
    // repeat due exactly on a flush goes out there (as its recorded runs show); flushes here
    // are on the beat, where only "not after" gives the same.
    entry.at <= now - repeat_interval_ms
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(items: &[u64]) -> BTreeSet<u64> {
        items.iter().copied().collect()
    }

    #[test]
    fn decides_as_alertmanager_does() {
        let entry = LogEntry { firing: set(&[1, 2]), resolved: set(&[]), at: 1_000 };
        // First notification only when something fires.
        assert!(needs_update(None, &set(&[1]), &set(&[]), true, 60_000, 2_000));
        assert!(!needs_update(None, &set(&[]), &set(&[1]), true, 60_000, 2_000));
        // A new firing alert.
        assert!(needs_update(Some(&entry), &set(&[1, 3]), &set(&[]), true, 60_000, 2_000));
        // Fewer firing, one resolved: only with send_resolved (or after the repeat interval).
        assert!(needs_update(Some(&entry), &set(&[1]), &set(&[2]), true, 60_000, 2_000));
        assert!(!needs_update(Some(&entry), &set(&[1]), &set(&[2]), false, 60_000, 2_000));
        assert!(needs_update(Some(&entry), &set(&[1]), &set(&[2]), false, 60_000, 61_000));
        // All resolved: always, to clear the log.
        assert!(needs_update(Some(&entry), &set(&[]), &set(&[1, 2]), false, 60_000, 2_000));
        let cleared = LogEntry { firing: set(&[]), resolved: set(&[1, 2]), at: 1_000 };
        assert!(!needs_update(Some(&cleared), &set(&[]), &set(&[1, 2]), true, 60_000, 99_000));
        // Nothing changed: the repeat interval decides.
        assert!(!needs_update(Some(&entry), &set(&[1, 2]), &set(&[]), true, 60_000, 60_999));
        assert!(needs_update(Some(&entry), &set(&[1, 2]), &set(&[]), true, 60_000, 61_000));
    }
}
