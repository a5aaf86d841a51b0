//! The series notation of Prometheus' tests (promqltest's `load`, promtool's `input_series`):
//! `name{label="value"}` and values such as `0+10x5 _ stale 3x2`.

use promql_parser::parser::Expr;

use crate::value::{parse_duration, Labels};

/// The bits of Prometheus' staleness marker.
const STALE_NAN: u64 = 0x7ff0_0000_0000_0002;

/// A series' labels from `name{a="b"}`, `{a="b"}` or `{}`.
pub fn series_labels(desc: &str) -> Result<Labels, String> {
    if desc.trim() == "{}" {
        return Ok(Labels::default());
    }
    match promql_parser::parser::parse(desc)? {
        Expr::VectorSelector(vs) => {
            let mut pairs: Vec<(String, String)> = vs
                .matchers
                .matchers
                .iter()
                .map(|m| (m.name.clone(), m.value.clone()))
                .collect();
            if let Some(name) = vs.name {
                pairs.push(("__name__".into(), name));
            }
            Ok(Labels::new(pairs))
        }
        _ => Err(format!("not a series: {desc}")),
    }
}

/// A number as the notation writes one: `1`, `-2.5`, `Inf`, `NaN`, or a duration in seconds
/// (`1m` is 60).
pub fn number(text: &str) -> Option<f64> {
    let (sign, body) = match text.strip_prefix('-') {
        Some(b) => (-1.0, b),
        None => (1.0, text.strip_prefix('+').unwrap_or(text)),
    };
    let value = match body {
        "Inf" | "inf" => f64::INFINITY,
        "NaN" | "nan" => return Some(f64::NAN),
        _ if body.starts_with(|c: char| c.is_ascii_digit() || c == '.') => {
            match body.parse::<f64>() {
                Ok(v) => v,
                Err(_) => parse_duration(body).ok()? as f64 / 1000.0,
            }
        }
        _ => return None,
    };
    Some(sign * value)
}

/// The values of a series, one a step: `None` for `_` (no sample at that step), the staleness
/// marker for `stale`, and `a+bxn` expanded to n+1 values.
pub fn series_values(tokens: &[&str]) -> Result<Vec<Option<f64>>, String> {
    let mut out = Vec::new();
    for token in tokens {
        if *token == "_" {
            out.push(None);
        } else if *token == "stale" {
            out.push(Some(f64::from_bits(STALE_NAN)));
        } else if let Some(n) = token.strip_prefix("_x") {
            let n: usize = n.parse().map_err(|_| format!("bad {token}"))?;
            out.extend(std::iter::repeat_n(None, n));
        } else if let Some(v) = number(token) {
            out.push(Some(v));
        } else if let Some((left, times)) = token.rsplit_once('x') {
            let times: usize = times.parse().map_err(|_| format!("bad {token}"))?;
            let split = left
                .char_indices()
                .skip(1)
                .find(|&(i, c)| (c == '+' || c == '-') && !left[..i].ends_with(['e', 'E']))
                .map(|(i, _)| i);
            let (start, step) = match split {
                Some(i) => (
                    number(&left[..i]).ok_or(format!("bad {token}"))?,
                    number(&left[i..]).ok_or(format!("bad {token}"))?,
                ),
                None => (number(left).ok_or(format!("bad {token}"))?, 0.0),
            };
            let mut v = start;
            out.push(Some(v));
            for _ in 0..times {
                v += step;
                out.push(Some(v));
            }
        } else {
            return Err(format!("cannot read value {token:?}"));
        }
    }
    Ok(out)
}
