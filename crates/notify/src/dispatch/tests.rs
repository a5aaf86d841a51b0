//! The oracle's scenario (shared/alert-oracle/am_oracle.py) through the dispatcher in memory:
//! the notifications real Alertmanager 0.25 sent, at the times it sent them.

use std::collections::BTreeSet;

use super::*;
use crate::{alert::Posted, config::parse, matcher, silence::Silence};

fn labels(name: &str, pairs: &[(&str, &str)]) -> Labels {
    let mut out: Labels = pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    out.insert("alertname".into(), name.into());
    out
}

#[derive(Default)]
struct Sim {
    alerts: BTreeMap<u64, Alert>,
    groups: Vec<Group>,
    silences: Vec<Silence>,
    log: BTreeMap<(String, usize, String), LogEntry>,
    sent: Vec<(i64, String, &'static str, Vec<String>)>,
}

impl Sim {
    fn post(&mut self, config: &Config, alert: Alert, now: i64) {
        let fp = alert.fingerprint();
        let stored = Alert::stored(self.alerts.get(&fp), alert);
        self.alerts.insert(fp, stored.clone());
        for d in destinations(&config.route, &stored.labels) {
            let i = match self.groups.iter().position(|g| g.route_id == d.route.id && g.key == d.key) {
                Some(i) => i,
                None => {
                    self.groups.push(Group::new(&d, now));
                    self.groups.len() - 1
                }
            };
            self.groups[i].insert(&stored, d.route, now);
        }
    }

    fn tick(&mut self, config: &Config, now: i64, t0: i64) {
        let mut groups = std::mem::take(&mut self.groups);
        for group in groups.iter_mut().filter(|g| g.next_flush <= now) {
            let at = group.next_flush;
            let receiver = config.receiver(&group.receiver).unwrap();
            let logs: Vec<Option<LogEntry>> = (0..receiver.integrations.len())
                .map(|i| self.log.get(&(group.receiver.clone(), i, group.key.clone())).cloned())
                .collect();
            let none = BTreeSet::new();
            let world = World { config, alerts: &self.alerts, silences: &self.silences, acknowledged: &none, external_url: "" };
            let flushed = flush(group, &world, &logs, at);
            for (i, entry) in flushed.log {
                self.log.insert((group.receiver.clone(), i, group.key.clone()), entry);
            }
            for (_, m) in flushed.messages {
                let alerts = m
                    .alerts
                    .iter()
                    .map(|a| {
                        let name = format!("{}/{}", a.alert.labels["alertname"], a.alert.labels["instance"]);
                        if a.resolved { format!("{name}(resolved)") } else { name }
                    })
                    .collect();
                self.sent.push(((at - t0) / 100, m.receiver.clone(), m.status(), alerts));
            }
        }
        groups.retain(|g| !g.members.is_empty());
        self.groups = groups;
    }
}

#[test]
fn gives_alertmanagers_notifications_for_the_oracle_scenario() {
    let config = parse(crate::config::tests::ORACLE).unwrap();
    let a1 = labels("HighLatency", &[("cluster", "eu"), ("severity", "warning"), ("team", "db"), ("instance", "a")]);
    let a2 = labels("HighLatency", &[("cluster", "eu"), ("severity", "warning"), ("team", "db"), ("instance", "b")]);
    let a3 = labels("HighLatency", &[("cluster", "eu"), ("severity", "warning"), ("team", "db"), ("instance", "c")]);
    let b1 = labels("DiskFull", &[("cluster", "us"), ("severity", "warning"), ("instance", "x")]);
    let q1 = labels("Silenced", &[("cluster", "eu"), ("severity", "warning"), ("instance", "q")]);
    let c1 = labels("NodeDown", &[("cluster", "us"), ("severity", "critical"), ("team", "db"), ("instance", "x")]);
    let t0 = 1_800_000_000_000;
    let s = |secs: f64| t0 + (secs * 1000.0) as i64;
    // (time, alerts, resolve?)
    let script: Vec<(i64, Vec<&Labels>, bool)> = vec![
        (s(0.5), vec![&a1, &b1], false),
        (s(1.0), vec![&a2, &q1], false),
        (s(5.0), vec![&c1], false),
        (s(10.0), vec![&a3], false),
        (s(15.0), vec![&a1], true),
        (s(24.5), vec![&c1], true),
    ];
    let mut sim = Sim::default();
    sim.silences.push(Silence {
        id: "s1".into(),
        matchers: vec![matcher::parse(r#"alertname="Silenced""#).unwrap()],
        starts_at: s(0.0),
        ends_at: s(3600.0),
        updated_at: s(0.0),
        created_by: "oracle".into(),
        comment: "oracle silence".into(),
    });
    let mut first_start: BTreeMap<u64, i64> = BTreeMap::new();
    let mut now = t0;
    let mut events = script.into_iter().peekable();
    while now <= s(50.0) {
        if now == s(30.0) {
            sim.silences[0].expire(now).unwrap();
        }
        while let Some((at, alerts, resolve)) = events.next_if(|e| e.0 <= now) {
            for l in alerts {
                let start = *first_start.entry(crate::alert::fingerprint(l)).or_insert(at);
                let end = if resolve {
                    at
                } else if l["alertname"] == "DiskFull" {
                    s(38.0)
                } else {
                    s(300.0)
                };
                let posted = Posted { labels: l.clone(), starts_at: Some(start), ends_at: Some(end), ..Posted::default() };
                let alert = posted.accept(at, config.resolve_timeout_ms).unwrap();
                sim.post(&config, alert, at);
            }
        }
        sim.tick(&config, now, t0);
        now += 100;
    }
    let got: Vec<String> = sim
        .sent
        .iter()
        .map(|(t, r, st, a)| format!("{:.1} {r} {st} {}", *t as f64 / 10.0, a.join(",")))
        .collect();
    // The reference table in shared/alert-oracle/README.md (two identical runs of Alertmanager 0.25).
    let want = [
        "2.5 team-db firing HighLatency/a,HighLatency/b",
        "2.5 default firing DiskFull/x",
        "7.0 team-db firing NodeDown/x",
        "7.0 critical firing NodeDown/x",
        "12.5 team-db firing HighLatency/a,HighLatency/b,HighLatency/c",
        "17.5 team-db firing HighLatency/a(resolved),HighLatency/b,HighLatency/c",
        "27.0 team-db resolved NodeDown/x(resolved)",
        "27.5 default firing DiskFull/x",
        "33.0 default firing Silenced/q",
        "37.5 team-db firing HighLatency/b,HighLatency/c",
        "42.5 default resolved DiskFull/x(resolved)",
    ];
    // Notifications of one instant may come in either order.
    let by_time = |list: &mut Vec<String>| {
        let time = |s: &String| s.split(' ').next().unwrap().parse::<f64>().unwrap();
        list.sort_by(|a, b| time(a).total_cmp(&time(b)).then(a.cmp(b)));
    };
    let (mut got, mut want) = (got, want.map(String::from).to_vec());
    by_time(&mut got);
    by_time(&mut want);
    assert_eq!(got, want);
}
