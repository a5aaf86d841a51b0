//! Operators between two instant vectors: one-to-one and group_left/group_right matching,
//! `bool`, and the set operators, with Prometheus' errors for ambiguous matches.

use std::collections::{HashMap, HashSet};

use promql_parser::parser::{BinModifier, LabelModifier, VectorMatchCardinality};

use crate::{
    eval::{arith, group_labels, is_comparison, signature, EvalResult},
    value::{Labels, Sample},
};

pub(crate) fn vector_vector(
    op: &str,
    lhs: Vec<Sample>,
    rhs: Vec<Sample>,
    modifier: Option<&BinModifier>,
) -> EvalResult<Vec<Sample>> {
    let matching = modifier.and_then(|m| m.matching.as_ref());
    let card = modifier
        .map(|m| m.card.clone())
        .unwrap_or(VectorMatchCardinality::OneToOne);
    let return_bool = modifier.is_some_and(|m| m.return_bool);
    match op {
        "and" => {
            let keys: HashSet<Labels> =
                rhs.iter().map(|s| signature(&s.labels, matching)).collect();
            Ok(lhs
                .into_iter()
                .filter(|s| keys.contains(&signature(&s.labels, matching)))
                .collect())
        }
        "unless" => {
            let keys: HashSet<Labels> =
                rhs.iter().map(|s| signature(&s.labels, matching)).collect();
            Ok(lhs
                .into_iter()
                .filter(|s| !keys.contains(&signature(&s.labels, matching)))
                .collect())
        }
        "or" => {
            let keys: HashSet<Labels> =
                lhs.iter().map(|s| signature(&s.labels, matching)).collect();
            let mut out = lhs;
            out.extend(
                rhs.into_iter()
                    .filter(|s| !keys.contains(&signature(&s.labels, matching))),
            );
            Ok(out)
        }
        _ => matched(op, lhs, rhs, matching, &card, return_bool),
    }
}

fn matched(
    op: &str,
    lhs: Vec<Sample>,
    rhs: Vec<Sample>,
    matching: Option<&LabelModifier>,
    card: &VectorMatchCardinality,
    return_bool: bool,
) -> EvalResult<Vec<Sample>> {
    // group_right is group_left with the sides swapped; the operator still sees lhs op rhs.
    let swapped = matches!(card, VectorMatchCardinality::OneToMany(_));
    let (many, one) = if swapped { (rhs, lhs) } else { (lhs, rhs) };
    let mut one_side: HashMap<Labels, Sample> = HashMap::new();
    for s in one {
        let key = signature(&s.labels, matching);
        if let Some(previous) = one_side.get(&key) {
            let side = if swapped { "left" } else { "right" };
            return Err(format!(
                "found duplicate series for the match group {} on the {side} hand-side of the operation: [{}, {}];many-to-many matching not allowed: matching labels must be unique on one side",
                key_text(&key),
                previous.labels,
                s.labels
            ));
        }
        one_side.insert(key, s);
    }
    let include = group_labels(card);
    let one_to_one = matches!(card, VectorMatchCardinality::OneToOne);
    let comparison = is_comparison(op);
    // One-to-one: match groups seen; grouping: result label sets seen.
    let mut seen: HashSet<Labels> = HashSet::new();
    let mut out = Vec::new();
    for s in many {
        let key = signature(&s.labels, matching);
        let Some(other) = one_side.get(&key) else {
            continue;
        };
        let (l, r) = if swapped {
            (other.v, s.v)
        } else {
            (s.v, other.v)
        };
        let value = arith(op, l, r)?;
        let keep = !comparison || return_bool || !value.is_nan();
        let labels = result_labels(
            &s.labels,
            &other.labels,
            op,
            matching,
            one_to_one,
            &include,
            return_bool,
        );
        if one_to_one {
            if !seen.insert(key.clone()) {
                return Err("multiple matches for labels: many-to-one matching must be explicit (group_left/group_right)".into());
            }
        } else if !seen.insert(labels.clone()) && keep {
            return Err(
                "multiple matches for labels: grouping labels must ensure unique matches".into(),
            );
        }
        if !keep {
            continue;
        }
        let v = if comparison {
            if return_bool {
                if value.is_nan() {
                    0.0
                } else {
                    1.0
                }
            } else {
                // A filter keeps the left side's value.
                l
            }
        } else {
            value
        };
        out.push(Sample { labels, t: s.t, v });
    }
    Ok(out)
}

fn key_text(key: &Labels) -> String {
    let pairs: Vec<String> = key.iter().map(|(n, v)| format!("{n}={v:?}")).collect();
    format!("{{{}}}", pairs.join(", "))
}

/// Prometheus' resultMetric: arithmetic (and `bool`) drop the name; one-to-one matching with
/// `on` keeps only the `on` labels, with `ignoring` drops them; group_left/right copy the
/// listed labels from the "one" side.
fn result_labels(
    many: &Labels,
    one: &Labels,
    op: &str,
    matching: Option<&LabelModifier>,
    one_to_one: bool,
    include: &[String],
    return_bool: bool,
) -> Labels {
    let mut labels = if !is_comparison(op) || return_bool {
        many.without_name()
    } else {
        many.clone()
    };
    if one_to_one {
        match matching {
            Some(LabelModifier::Include(names)) => {
                let names: Vec<&str> = names.labels.iter().map(String::as_str).collect();
                labels = labels.keep(&names);
            }
            Some(LabelModifier::Exclude(names)) => {
                let names: Vec<&str> = names.labels.iter().map(String::as_str).collect();
                labels = labels.without(&names);
            }
            None => {}
        }
    }
    for name in include {
        labels.set(name, one.get(name).unwrap_or_default());
    }
    labels
}
