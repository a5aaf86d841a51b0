//! One rule of a group evaluated at one time, as Prometheus' `Group.Eval` does it, from its
//! expression's result to the samples to write: a recording rule's series, or an alerting
//! rule's `ALERTS` and `ALERTS_FOR_STATE` with its alerts moved on, plus the staleness markers of
//! what the rule wrote last time and not now. The caller runs the query and writes the samples
//! before the next rule runs, so a recording rule's result is visible to the rules after it;
//! that keeps this free of any store (the evaluator's is async, `server rules test`'s is memory).

use serde::{Deserialize, Serialize};

use crate::{
    alert::{alert_labels, Alerts, Found, Rule},
    file::{Group, Kind, RuleDef},
    recording::{record, Written},
    template::{self, QueryFn},
    Labels, Sample,
};

/// What a rule keeps from one evaluation to the next (kept in PostgreSQL by the evaluator).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct RuleState {
    #[serde(default)]
    pub alerts: Alerts,
    #[serde(default)]
    pub written: Written,
    /// The last evaluation's error, if it failed.
    #[serde(default)]
    pub last_error: Option<String>,
    /// When it last evaluated (ms).
    #[serde(default)]
    pub last_eval_ms: Option<i64>,
}

/// What templates may use besides the alert itself.
#[derive(Clone, Default)]
pub struct Env {
    pub external_labels: Labels,
    pub external_url: String,
    /// `query` in templates, at the evaluation's time.
    pub query: Option<QueryFn>,
}

/// A rule's labels: the group's, with the rule's own over them.
pub fn rule_labels(group: &Group, rule: &RuleDef) -> Labels {
    let mut labels: std::collections::BTreeMap<String, String> =
        group.labels.iter().cloned().collect();
    labels.extend(rule.labels.iter().cloned());
    labels.into_iter().collect()
}

/// The expression's result as a rule takes it: an instant vector, or a scalar as one sample
/// without labels; anything else is Prometheus' error.
pub fn as_vector(value: promql::Value) -> Result<Vec<(Labels, f64)>, String> {
    match value {
        promql::Value::Vector(samples) => Ok(samples
            .into_iter()
            .map(|s| (pairs(&s.labels), s.v))
            .collect()),
        promql::Value::Scalar(v) => Ok(vec![(Vec::new(), v)]),
        _ => Err("rule result is not a vector or scalar".into()),
    }
}

/// A PromQL label set as sorted pairs.
pub fn pairs(labels: &promql::Labels) -> Labels {
    labels
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// The alerts an alerting rule's result gives, its labels and annotations expanded for each
/// series.
pub fn found_alerts(
    group: &Group,
    rule: &RuleDef,
    result: &[(Labels, f64)],
    env: &Env,
) -> Vec<Found> {
    let labels = rule_labels(group, rule);
    result
        .iter()
        .map(|(series, value)| {
            let data = template::Data {
                labels: series,
                external_labels: &env.external_labels,
                external_url: &env.external_url,
                value: *value,
                query: env.query.clone(),
            };
            let expanded: Labels = labels
                .iter()
                .map(|(k, v)| (k.clone(), template::expand(&rule.name, v, &data)))
                .collect();
            let annotations = rule
                .annotations
                .iter()
                .map(|(k, v)| (k.clone(), template::expand(&rule.name, v, &data)))
                .collect();
            Found {
                labels: alert_labels(series, &expanded, &rule.name),
                annotations,
                value: *value,
            }
        })
        .collect()
}

/// Evaluates `rule` at `ts` (ms) on its expression's `result`: the samples to write at `ts`.
/// On an error (the query's, duplicate series, the group's limit) nothing is written, the
/// rule's state is kept, and the error is the rule's last error.
pub fn eval_rule(
    group: &Group,
    rule: &RuleDef,
    state: &mut RuleState,
    ts: i64,
    result: Result<Vec<(Labels, f64)>, String>,
    env: &Env,
) -> Vec<Sample> {
    state.last_eval_ms = Some(ts);
    match produce(group, rule, state, ts, result, env) {
        Ok(mut samples) => {
            state.last_error = None;
            let stale = state.written.stale_after(&samples);
            samples.extend(stale);
            samples
        }
        Err(e) => {
            state.last_error = Some(e);
            Vec::new()
        }
    }
}

fn produce(
    group: &Group,
    rule: &RuleDef,
    state: &mut RuleState,
    ts: i64,
    result: Result<Vec<(Labels, f64)>, String>,
    env: &Env,
) -> Result<Vec<Sample>, String> {
    let result = result?;
    let limit = group.limit as usize;
    match rule.kind {
        Kind::Record => {
            let samples =
                record(&rule.name, &rule_labels(group, rule), result).map_err(|e| e.to_string())?;
            if limit > 0 && samples.len() > limit {
                return Err(format!(
                    "exceeded limit of {limit} with {} series",
                    samples.len()
                ));
            }
            Ok(samples)
        }
        Kind::Alert => {
            let found = found_alerts(group, rule, &result, env);
            let decide = Rule {
                name: rule.name.clone(),
                hold_ms: rule.for_ms,
                keep_firing_for_ms: rule.keep_firing_for_ms,
            };
            let samples = state
                .alerts
                .eval(&decide, ts, found)
                .map_err(|e| e.to_string())?;
            let active = state.alerts.current().count();
            if limit > 0 && active > limit {
                state.alerts.active.clear();
                return Err(format!("exceeded limit of {limit} with {active} alerts"));
            }
            Ok(samples)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{alert::State, file::parse};

    fn group(yaml: &str) -> Group {
        parse(yaml).unwrap().remove(0)
    }

    fn series(pairs: &[(&str, &str)], v: f64) -> (Labels, f64) {
        (
            crate::sorted(
                pairs
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
            ),
            v,
        )
    }

    #[test]
    fn alert_labels_and_annotations_are_expanded_per_series() {
        let g = group(
            r#"
groups:
  - name: g
    labels: {team: web}
    rules:
      - alert: Down
        expr: up == 0
        labels:
          severity: "{{ if eq $labels.env \"prod\" }}critical{{ else }}warning{{ end }}"
        annotations:
          summary: "{{ $labels.instance }} is down ({{ $value }})"
"#,
        );
        let mut state = RuleState::default();
        let result = vec![
            series(
                &[("__name__", "up"), ("instance", "a"), ("env", "prod")],
                0.0,
            ),
            series(
                &[("__name__", "up"), ("instance", "b"), ("env", "dev")],
                0.0,
            ),
        ];
        let samples = eval_rule(&g, &g.rules[0], &mut state, 0, Ok(result), &Env::default());
        assert_eq!(samples.len(), 4);
        let alerts: Vec<_> = state.alerts.current().collect();
        assert_eq!(alerts[0].state, State::Firing);
        let a = alerts
            .iter()
            .find(|a| a.labels.contains(&("instance".into(), "a".into())))
            .unwrap();
        assert!(a.labels.contains(&("severity".into(), "critical".into())));
        assert!(a.labels.contains(&("team".into(), "web".into())));
        assert_eq!(
            a.annotations,
            vec![("summary".to_string(), "a is down (0)".to_string())]
        );
        let b = alerts
            .iter()
            .find(|a| a.labels.contains(&("instance".into(), "b".into())))
            .unwrap();
        assert!(b.labels.contains(&("severity".into(), "warning".into())));
    }

    #[test]
    fn errors_write_nothing_and_keep_the_state() {
        let g = group(
            "groups:\n  - name: g\n    limit: 1\n    rules:\n      - record: r\n        expr: x\n",
        );
        let mut state = RuleState::default();
        let one = vec![series(&[("__name__", "x"), ("i", "1")], 1.0)];
        assert_eq!(
            eval_rule(
                &g,
                &g.rules[0],
                &mut state,
                0,
                Ok(one.clone()),
                &Env::default()
            )
            .len(),
            1
        );
        let two = vec![
            one[0].clone(),
            series(&[("__name__", "x"), ("i", "2")], 2.0),
        ];
        assert!(eval_rule(
            &g,
            &g.rules[0],
            &mut state,
            60_000,
            Ok(two),
            &Env::default()
        )
        .is_empty());
        assert_eq!(
            state.last_error.as_deref(),
            Some("exceeded limit of 1 with 2 series")
        );
        assert!(eval_rule(
            &g,
            &g.rules[0],
            &mut state,
            120_000,
            Err("boom".into()),
            &Env::default()
        )
        .is_empty());
        assert_eq!(state.last_error.as_deref(), Some("boom"));
        // The series written before the errors goes stale when the rule next succeeds without it.
        let written = eval_rule(
            &g,
            &g.rules[0],
            &mut state,
            180_000,
            Ok(vec![]),
            &Env::default(),
        );
        assert_eq!(written.len(), 1);
        assert_eq!(written[0].value.to_bits(), crate::STALE_NAN);
        assert_eq!(state.last_error, None);
    }
}
