//! Hand-computed timelines: `for`, `keep_firing_for`, an alert that fires at once, and one that
//! comes back.

use super::*;
use crate::file::parse;

fn group(rule: &str) -> Group {
    let text = format!("groups:\n  - name: g\n    interval: 1m\n    rules:\n{rule}");
    parse(&text).unwrap().remove(0)
}

fn up(job: &str) -> Labels {
    vec![("job".into(), job.into())]
}

/// The expression's result at minutes 0..n: `down(minute)` says which jobs return a sample.
fn steps(
    n: i64,
    down: impl Fn(i64) -> Vec<&'static str>,
) -> Vec<(i64, Result<Vec<(Labels, f64)>, String>)> {
    (0..n)
        .map(|m| {
            (
                m * 60_000,
                Ok(down(m).into_iter().map(|j| (up(j), 0.0)).collect()),
            )
        })
        .collect()
}

fn labels(job: &str) -> Labels {
    vec![
        ("alertname".into(), "Down".into()),
        ("job".into(), job.into()),
        ("severity".into(), "critical".into()),
    ]
}

#[test]
fn pending_for_its_for_then_firing_kept_for_keep_firing_for() {
    let g = group(
        "      - alert: Down\n        expr: up == 0\n        for: 2m\n        keep_firing_for: 1m\n        labels:\n          severity: critical\n        annotations:\n          summary: '{{ $labels.job }} down'\n",
    );
    // Down at minutes 2..=6 and again from 10.
    let results = steps(12, |m| {
        if (2..=6).contains(&m) || m >= 10 {
            vec!["api"]
        } else {
            vec![]
        }
    });
    let run = run(
        &g,
        &g.rules[0],
        60_000,
        results,
        &Env::default(),
        &mut RuleState::default(),
        &mut |_, _| {},
    );
    assert_eq!(run.evaluations, 12);
    assert_eq!((run.from_ms, run.to_ms), (0, 11 * 60_000));
    let summary: Labels = vec![("summary".into(), "api down".into())];
    assert_eq!(
        run.alerts,
        vec![AlertTimeline {
            labels: labels("api"),
            episodes: vec![
                // Pending at 2; `for` 2m is met at 4; the series leaves at 7, kept firing
                // through 7 (0 < 1m) and resolved at 8 (1m is not < 1m).
                Episode {
                    pending_at: Some(120_000),
                    firing_at: Some(240_000),
                    inactive_at: Some(480_000),
                    annotations: summary.clone(),
                    value: 0.0,
                },
                // Back at 10: pending again, still pending at the window's end.
                Episode {
                    pending_at: Some(600_000),
                    firing_at: None,
                    inactive_at: None,
                    annotations: summary,
                    value: 0.0,
                },
            ],
        }]
    );
    assert_eq!(
        (run.firing_notifications, run.resolved_notifications),
        (1, 1)
    );
}

#[test]
fn without_for_an_alert_fires_at_once_and_a_short_gap_makes_two_episodes() {
    let g = group("      - alert: Down\n        expr: up == 0\n        labels:\n          severity: critical\n");
    let results = steps(6, |m| {
        if m == 1 || m == 3 {
            vec!["api", "db"]
        } else {
            vec![]
        }
    });
    let run = run(
        &g,
        &g.rules[0],
        60_000,
        results,
        &Env::default(),
        &mut RuleState::default(),
        &mut |_, _| {},
    );
    assert_eq!(run.alerts.len(), 2);
    let episodes: Vec<(Option<i64>, Option<i64>, Option<i64>)> = run.alerts[0]
        .episodes
        .iter()
        .map(|e| (e.pending_at, e.firing_at, e.inactive_at))
        .collect();
    assert_eq!(
        episodes,
        [
            (None, Some(60_000), Some(120_000)),
            (None, Some(180_000), Some(240_000))
        ]
    );
    assert_eq!(
        (run.firing_notifications, run.resolved_notifications),
        (4, 4)
    );
}

#[test]
fn a_failed_evaluation_changes_no_alert() {
    let g = group("      - alert: Down\n        expr: up == 0\n        for: 1m\n");
    let mut results = steps(4, |_| vec!["api"]);
    results[1].1 = Err("query timed out".into());
    let run = run(
        &g,
        &g.rules[0],
        60_000,
        results,
        &Env::default(),
        &mut RuleState::default(),
        &mut |_, _| {},
    );
    assert_eq!(run.failed_evaluations, 1);
    assert_eq!(run.first_error, Some((60_000, "query timed out".into())));
    // Pending at 0, `for` met at 2 (the failure at 1 kept it pending).
    let e = &run.alerts[0].episodes[0];
    assert_eq!(
        (e.pending_at, e.firing_at, e.inactive_at),
        (Some(0), Some(120_000), None)
    );
}
