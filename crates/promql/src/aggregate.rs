//! Aggregation operators with `by` / `without`.

use std::cmp::Ordering;

use promql_parser::parser::LabelModifier;

use crate::{
    eval::{group_by, EvalResult, Param},
    functions::{kahan_sum, mean, quantile, valid_label_name, variance},
    value::{format_float, Labels, Sample, METRIC_NAME},
};

fn grouping(labels: &Labels, modifier: Option<&LabelModifier>) -> Labels {
    match modifier {
        Some(LabelModifier::Include(names)) => {
            let names: Vec<&str> = names.labels.iter().map(String::as_str).collect();
            labels.keep(&names)
        }
        Some(LabelModifier::Exclude(names)) => {
            let mut names: Vec<&str> = names.labels.iter().map(String::as_str).collect();
            names.push(METRIC_NAME);
            labels.without(&names)
        }
        None => Labels::default(),
    }
}

/// A total order of floats with NaN first, as Go's sort.Float64s orders them; topk takes it
/// reversed (NaN last), bottomk moves NaN last itself, as Prometheus does.
pub(crate) fn compare(a: f64, b: f64) -> Ordering {
    match (a.is_nan(), b.is_nan()) {
        (true, true) => Ordering::Equal,
        (true, false) => Ordering::Less,
        (false, true) => Ordering::Greater,
        _ => a.partial_cmp(&b).unwrap_or(Ordering::Equal),
    }
}

pub(crate) fn aggregate(
    op: &str,
    samples: Vec<Sample>,
    param: Param,
    modifier: Option<&LabelModifier>,
    t: i64,
) -> EvalResult<Vec<Sample>> {
    if op == "count_values" {
        let Param::Text(label) = param else {
            return Err("count_values needs a label name".into());
        };
        if !valid_label_name(&label) {
            return Err(format!("invalid label name {label:?}"));
        }
        let mut counts: Vec<(Labels, f64)> = Vec::new();
        for s in samples {
            let mut labels = grouping(&s.labels, modifier);
            labels.set(&label, &format_float(s.v));
            match counts.iter_mut().find(|(l, _)| *l == labels) {
                Some((_, n)) => *n += 1.0,
                None => counts.push((labels, 1.0)),
            }
        }
        return Ok(counts
            .into_iter()
            .map(|(labels, v)| Sample { labels, t, v })
            .collect());
    }
    let groups = group_by(samples, |s| grouping(&s.labels, modifier));
    let mut out = Vec::new();
    for (labels, group) in groups {
        let values: Vec<f64> = group.iter().map(|s| s.v).collect();
        let value = match op {
            "sum" => kahan_sum(&values),
            "avg" => mean(&values),
            "count" => values.len() as f64,
            "group" => 1.0,
            "min" => values
                .iter()
                .copied()
                .fold(f64::NAN, |m, v| if m.is_nan() || v < m { v } else { m }),
            "max" => values
                .iter()
                .copied()
                .fold(f64::NAN, |m, v| if m.is_nan() || v > m { v } else { m }),
            "stddev" => variance(&values).sqrt(),
            "stdvar" => variance(&values),
            "quantile" => {
                let Param::Number(q) = param else {
                    return Err("quantile needs a number".into());
                };
                quantile(q, values.clone())
            }
            "topk" | "bottomk" => {
                let Param::Number(k) = param else {
                    return Err(format!("{op} needs a number"));
                };
                if k.is_nan() {
                    return Err(format!("Parameter value is NaN for {op}"));
                }
                let k = if k < 1.0 { 0 } else { k.min(1e9) as usize };
                let mut group = group;
                if op == "topk" {
                    group.sort_by(|a, b| compare(b.v, a.v));
                } else {
                    group.sort_by(|a, b| compare(b.v, a.v).reverse());
                    // NaN last for bottomk too.
                    group.sort_by(|a, b| match (a.v.is_nan(), b.v.is_nan()) {
                        (true, false) => Ordering::Greater,
                        (false, true) => Ordering::Less,
                        _ => a.v.partial_cmp(&b.v).unwrap_or(Ordering::Equal),
                    });
                }
                out.extend(group.into_iter().take(k));
                continue;
            }
            other => return Err(format!("unknown aggregation {other}")),
        };
        out.push(Sample {
            labels,
            t,
            v: value,
        });
    }
    Ok(out)
}
