//! Alertmanager's dispatcher as plain data: an alert joins one group per route it matches; a
//! group flushes `group_wait` after it was made (at once for an alert that started longer
//! ago than that, before the group's first flush), then every `group_interval`. A flush leaves
//! out what is inhibited, silenced or in a mute time, asks the notification log whether each
//! integration needs a message, and drops the resolved alerts it sent.
//!
//! The caller keeps the groups, alerts, silences and log where it likes (Meridian keeps them
//! in PostgreSQL, the tests in memory) and calls [`Group::insert`] when an alert arrives and
//! [`flush`] when a group is due.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::{
    alert::Alert,
    config::Config,
    dedup::{needs_update, LogEntry},
    inhibit::inhibited_by,
    route::Route,
    silence::{silenced_by, Silence},
    time_interval::any_contains,
    webhook::{sort_alerts, Message, Notified},
    Labels,
};

/// An aggregation group: the alerts of one route with the same group labels.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Group {
    pub route_id: String,
    pub receiver: String,
    pub key: String,
    pub labels: Labels,
    /// When it flushes next (ms since the epoch).
    pub next_flush: i64,
    pub has_flushed: bool,
    /// Its alerts' fingerprints, each with the alert's `updated_at` when it joined.
    pub members: BTreeMap<u64, i64>,
}

/// A group an alert goes to: its route, key and labels.
pub struct Destination<'a> {
    pub route: &'a Route,
    pub key: String,
    pub labels: Labels,
}

/// The groups an alert with `labels` belongs to, one per matching route.
pub fn destinations<'a>(root: &'a Route, labels: &Labels) -> Vec<Destination<'a>> {
    root.matches(labels)
        .into_iter()
        .map(|route| {
            let group_labels = route.group_labels(labels);
            Destination {
                route,
                key: route.group_key(&group_labels),
                labels: group_labels,
            }
        })
        .collect()
}

impl Group {
    /// A new group for `destination`, made at `now`: it flushes after the route's `group_wait`.
    pub fn new(destination: &Destination, now: i64) -> Group {
        Group {
            route_id: destination.route.id.clone(),
            receiver: destination.route.receiver.clone(),
            key: destination.key.clone(),
            labels: destination.labels.clone(),
            next_flush: now + destination.route.group_wait_ms,
            has_flushed: false,
            members: BTreeMap::new(),
        }
    }

    /// An alert arrives (new or changed) at `now`. An alert that started longer than
    /// `group_wait` ago makes a group that has not flushed yet flush at once.
    pub fn insert(&mut self, alert: &Alert, route: &Route, now: i64) {
        self.members.insert(alert.fingerprint(), alert.updated_at);
        if !self.has_flushed && alert.starts_at + route.group_wait_ms < now {
            self.next_flush = self.next_flush.min(now);
        }
    }
}

/// What the caller knows of the tenant when a group flushes.
pub struct World<'a> {
    pub config: &'a Config,
    /// Every alert the tenant has, by fingerprint (inhibiting alerts among them).
    pub alerts: &'a BTreeMap<u64, Alert>,
    pub silences: &'a [Silence],
    /// The alerts someone acknowledged: they are not repeated.
    pub acknowledged: &'a BTreeSet<u64>,
    pub external_url: &'a str,
}

/// What a flush came to.
#[derive(Debug, Default)]
pub struct Flushed {
    /// A message for each integration (by its place in the receiver) that needs one.
    pub messages: Vec<(usize, Message)>,
    /// The notification log's new entry for each integration that was asked and said yes.
    pub log: Vec<(usize, LogEntry)>,
    /// Whether the group has no alerts left (the caller may forget it).
    pub empty: bool,
}

/// Why an alert is not notified at `now`, if it is not.
pub struct Muted {
    pub inhibited_by: Option<u64>,
    pub silenced_by: Vec<String>,
}

impl Muted {
    pub fn of(world: &World, labels: &Labels, now: i64) -> Muted {
        Muted {
            inhibited_by: inhibited_by(&world.config.inhibit_rules, labels, world.alerts.values(), now),
            silenced_by: silenced_by(world.silences, labels, now),
        }
    }

    pub fn is_muted(&self) -> bool {
        self.inhibited_by.is_some() || !self.silenced_by.is_empty()
    }
}

/// Whether the route is in a mute time (or outside its active times) at `now`.
pub fn route_muted(config: &Config, route: &Route, now: i64) -> bool {
    let within = |names: &[String]| {
        names.iter().any(|n| {
            config
                .time_intervals
                .get(n)
                .is_some_and(|t| any_contains(t, now))
        })
    };
    within(&route.mute_time_intervals)
        || (!route.active_time_intervals.is_empty() && !within(&route.active_time_intervals))
}

/// Flushes `group` at `now`: the messages to send and the log entries to write, with the
/// group's next flush set and its sent resolved alerts dropped. `logs` holds the notification
/// log's entry for each of the receiver's integrations.
pub fn flush(group: &mut Group, world: &World, logs: &[Option<LogEntry>], now: i64) -> Flushed {
    let mut out = Flushed::default();
    let route = world.config.route.find(&group.route_id);
    let interval = route.map_or(crate::config::DEFAULT_GROUP_INTERVAL_MS, |r| r.group_interval_ms);
    // The next flush keeps to the group's own beat even when this one came late.
    group.next_flush = (group.next_flush + interval).max(now + 1);
    group.has_flushed = true;
    group.members.retain(|fp, _| world.alerts.contains_key(fp));
    let (Some(route), Some(receiver)) = (route, world.config.receiver(&group.receiver)) else {
        out.empty = group.members.is_empty();
        return out;
    };
    let alerts: Vec<Notified> = group
        .members
        .keys()
        .filter_map(|fp| world.alerts.get(fp))
        .map(|a| Notified {
            alert: a.clone(),
            resolved: a.resolved_at(now),
        })
        .collect();
    let sent_resolved: Vec<(u64, i64)> = alerts
        .iter()
        .filter(|a| a.resolved)
        .map(|a| (a.alert.fingerprint(), a.alert.updated_at))
        .collect();
    let mut kept: Vec<Notified> = if route_muted(world.config, route, now) {
        Vec::new()
    } else {
        alerts
            .into_iter()
            .filter(|a| !Muted::of(world, &a.alert.labels, now).is_muted())
            .collect()
    };
    sort_alerts(&mut kept);
    if !kept.is_empty() {
        let firing: BTreeSet<u64> = kept.iter().filter(|a| !a.resolved).map(|a| a.alert.fingerprint()).collect();
        let resolved: BTreeSet<u64> = kept.iter().filter(|a| a.resolved).map(|a| a.alert.fingerprint()).collect();
        // Once every firing alert is acknowledged, only a change is worth a message.
        let repeat = if firing.is_subset(world.acknowledged) && !firing.is_empty() {
            i64::MAX / 4
        } else {
            route.repeat_interval_ms
        };
        for (i, integration) in receiver.integrations.iter().enumerate() {
            let send_resolved = integration.send_resolved();
            let entry = logs.get(i).and_then(Option::as_ref);
            if !needs_update(entry, &firing, &resolved, send_resolved, repeat, now) {
                continue;
            }
            let to_send: Vec<Notified> = kept
                .iter()
                .filter(|a| send_resolved || !a.resolved)
                .cloned()
                .collect();
            if !to_send.is_empty() {
                out.messages.push((
                    i,
                    Message {
                        receiver: receiver.name.clone(),
                        group_key: group.key.clone(),
                        group_labels: group.labels.clone(),
                        alerts: to_send,
                        external_url: world.external_url.to_string(),
                    },
                ));
            }
            out.log.push((
                i,
                LogEntry {
                    firing: firing.clone(),
                    resolved: resolved.clone(),
                    at: now,
                },
            ));
        }
    }
    // A resolved alert that was part of this flush leaves the group, unless it changed since.
    for (fp, updated_at) in sent_resolved {
        if group.members.get(&fp) == Some(&updated_at) {
            group.members.remove(&fp);
        }
    }
    out.empty = group.members.is_empty();
    out
}

#[cfg(test)]
mod tests;
