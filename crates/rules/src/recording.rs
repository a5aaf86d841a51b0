//! What a rule writes, and which of its series went stale: Prometheus' group evaluation writes a
//! staleness marker at the evaluation time for every series a rule wrote last time and not this
//! time (a recording rule's series, and an alerting rule's `ALERTS` and `ALERTS_FOR_STATE`), so
//! queries stop seeing them at once instead of five minutes later.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::{sorted, stale_marker, Labels, Sample};

/// The labels of a recording rule's series: the result's, named `record`, with the rule's labels
/// over them (an empty value removes the label, as in Prometheus).
pub fn record_labels(series: &Labels, record: &str, rule_labels: &Labels) -> Labels {
    let mut labels: BTreeMap<String, String> = series.iter().cloned().collect();
    labels.insert("__name__".into(), record.into());
    for (k, v) in rule_labels {
        if v.is_empty() {
            labels.remove(k);
        } else {
            labels.insert(k.clone(), v.clone());
        }
    }
    labels.into_iter().collect()
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DuplicateSeries;

impl std::fmt::Display for DuplicateSeries {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("vector contains metrics with the same labelset after applying rule labels")
    }
}

impl std::error::Error for DuplicateSeries {}

/// A recording rule's samples at one evaluation: its result relabelled; two results that end up
/// with the same labels are an error.
pub fn record(
    record: &str,
    rule_labels: &Labels,
    results: Vec<(Labels, f64)>,
) -> Result<Vec<Sample>, DuplicateSeries> {
    let mut seen = std::collections::BTreeSet::new();
    let mut out = Vec::with_capacity(results.len());
    for (labels, value) in results {
        let labels = record_labels(&sorted(labels), record, rule_labels);
        if !seen.insert(labels.clone()) {
            return Err(DuplicateSeries);
        }
        out.push(Sample { labels, value });
    }
    Ok(out)
}

/// The series one rule wrote at its last evaluation.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Written {
    previous: Vec<Labels>,
}

impl Written {
    /// Takes this evaluation's samples and answers the staleness markers to write beside them:
    /// one for each series written last time and not now.
    pub fn stale_after(&mut self, samples: &[Sample]) -> Vec<Sample> {
        let mut now: Vec<Labels> = samples.iter().map(|s| s.labels.clone()).collect();
        now.sort();
        now.dedup();
        let gone = self
            .previous
            .iter()
            .filter(|labels| now.binary_search(labels).is_err())
            .map(|labels| Sample {
                labels: labels.clone(),
                value: stale_marker(),
            })
            .collect();
        self.previous = now;
        gone
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::STALE_NAN;

    fn labels(pairs: &[(&str, &str)]) -> Labels {
        sorted(
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        )
    }

    #[test]
    fn a_recording_rule_names_its_series_and_applies_its_labels() {
        let result = vec![
            (
                labels(&[
                    ("__name__", "http_requests_total"),
                    ("job", "api"),
                    ("env", "dev"),
                ]),
                3.0,
            ),
            (labels(&[("job", "web"), ("env", "dev")]), 4.0),
        ];
        let samples = record(
            "job:requests:rate5m",
            &labels(&[("env", ""), ("team", "core")]),
            result,
        )
        .unwrap();
        assert_eq!(
            samples[0].labels,
            labels(&[
                ("__name__", "job:requests:rate5m"),
                ("job", "api"),
                ("team", "core")
            ])
        );
        assert_eq!(samples[1].value, 4.0);
        // Dropping the only label that told two series apart makes them one: an error.
        let twins = vec![
            (labels(&[("job", "a")]), 1.0),
            (labels(&[("job", "b")]), 2.0),
        ];
        assert_eq!(
            record("x", &labels(&[("job", "")]), twins),
            Err(DuplicateSeries)
        );
    }

    #[test]
    fn series_that_stop_get_a_staleness_marker_once() {
        let mut written = Written::default();
        let a = Sample {
            labels: labels(&[("__name__", "r"), ("job", "a")]),
            value: 1.0,
        };
        let b = Sample {
            labels: labels(&[("__name__", "r"), ("job", "b")]),
            value: 2.0,
        };
        assert!(written.stale_after(&[a.clone(), b.clone()]).is_empty());
        let stale = written.stale_after(std::slice::from_ref(&a));
        assert_eq!(stale.len(), 1);
        assert_eq!(stale[0].labels, b.labels);
        assert_eq!(stale[0].value.to_bits(), STALE_NAN);
        assert!(
            written.stale_after(std::slice::from_ref(&a)).is_empty(),
            "marked once"
        );
        assert_eq!(written.stale_after(&[]).len(), 1);
    }
}
