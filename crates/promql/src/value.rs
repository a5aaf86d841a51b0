//! The values PromQL computes with: label sets, samples, and the four result types.

use std::{
    fmt,
    hash::{Hash, Hasher},
    sync::{Arc, Mutex},
};

/// Prometheus' staleness marker: a NaN with this exact bit pattern ends a series.
pub const STALE_NAN: u64 = 0x7ff0_0000_0000_0002;
pub const METRIC_NAME: &str = "__name__";

pub fn is_stale(v: f64) -> bool {
    v.to_bits() == STALE_NAN
}

/// Labels sorted by name, no empty values. Shared: a series' labels are cloned into every
/// step's samples, so a clone only counts a reference. Each label set hashes once, when it is
/// made, and remembers the few sets derived from it (without `__name__`, a grouping's labels),
/// so a range query derives them once per series, not at every step.
#[derive(Clone)]
pub struct Labels(Arc<Inner>);

struct Inner {
    pairs: Vec<(String, String)>,
    hash: u64,
    /// (kept or dropped, the names, the result) of earlier keep/without calls.
    derived: Mutex<Vec<(bool, Vec<String>, Labels)>>,
}

/// Derived sets a label set remembers; more are computed each time.
const DERIVED_KEPT: usize = 8;

impl Labels {
    pub fn new(mut pairs: Vec<(String, String)>) -> Labels {
        pairs.retain(|(_, v)| !v.is_empty());
        pairs.sort();
        pairs.dedup_by(|a, b| a.0 == b.0);
        Labels::from_sorted(pairs)
    }

    fn from_sorted(pairs: Vec<(String, String)>) -> Labels {
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        pairs.hash(&mut hasher);
        Labels(Arc::new(Inner {
            hash: hasher.finish(),
            pairs,
            derived: Mutex::new(Vec::new()),
        }))
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .pairs
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.pairs.iter().map(|(n, v)| (n.as_str(), v.as_str()))
    }

    pub fn set(&mut self, name: &str, value: &str) {
        let mut pairs: Vec<(String, String)> = self
            .0
            .pairs
            .iter()
            .filter(|(n, _)| n != name)
            .cloned()
            .collect();
        if !value.is_empty() {
            pairs.push((name.to_string(), value.to_string()));
            pairs.sort();
        }
        *self = Labels::from_sorted(pairs);
    }

    /// The labels named (`keep`) or all but those (`!keep`), remembered for the next call.
    fn derive(&self, keep: bool, names: &[&str]) -> Labels {
        let mut derived = self.0.derived.lock().unwrap_or_else(|e| e.into_inner());
        let same =
            |n: &Vec<String>| n.len() == names.len() && n.iter().zip(names).all(|(a, b)| a == b);
        if let Some((_, _, labels)) = derived.iter().find(|(k, n, _)| *k == keep && same(n)) {
            return labels.clone();
        }
        let labels = Labels::from_sorted(
            self.0
                .pairs
                .iter()
                .filter(|(n, _)| names.contains(&n.as_str()) == keep)
                .cloned()
                .collect(),
        );
        if derived.len() < DERIVED_KEPT {
            derived.push((
                keep,
                names.iter().map(|n| n.to_string()).collect(),
                labels.clone(),
            ));
        }
        labels
    }

    pub fn without(&self, names: &[&str]) -> Labels {
        self.derive(false, names)
    }

    pub fn keep(&self, names: &[&str]) -> Labels {
        self.derive(true, names)
    }

    /// The labels without `__name__`; the same shared labels when there is none.
    pub fn without_name(&self) -> Labels {
        if self.get(METRIC_NAME).is_none() {
            return self.clone();
        }
        self.without(&[METRIC_NAME])
    }

    pub fn is_empty(&self) -> bool {
        self.0.pairs.is_empty()
    }
}

impl Default for Labels {
    fn default() -> Self {
        Labels::from_sorted(Vec::new())
    }
}

impl PartialEq for Labels {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
            || (self.0.hash == other.0.hash && self.0.pairs == other.0.pairs)
    }
}

impl Eq for Labels {}

impl Hash for Labels {
    fn hash<H: Hasher>(&self, state: &mut H) {
        state.write_u64(self.0.hash);
    }
}

impl PartialOrd for Labels {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Labels {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.0.pairs.cmp(&other.0.pairs)
    }
}

impl fmt::Debug for Labels {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Labels").field(&self.0.pairs).finish()
    }
}

impl fmt::Display for Labels {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = self.get(METRIC_NAME).unwrap_or_default();
        let rest: Vec<String> = self
            .0
            .pairs
            .iter()
            .filter(|(n, _)| n != METRIC_NAME)
            .map(|(n, v)| format!("{n}={v:?}"))
            .collect();
        write!(f, "{name}{{{}}}", rest.join(", "))
    }
}

/// One series at one time.
#[derive(Clone, Debug, PartialEq)]
pub struct Sample {
    pub labels: Labels,
    pub t: i64,
    pub v: f64,
}

/// A series over a range.
#[derive(Clone, Debug, PartialEq)]
pub struct Series {
    pub labels: Labels,
    pub points: Vec<(i64, f64)>,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    Scalar(f64),
    String(String),
    Vector(Vec<Sample>),
    Matrix(Vec<Series>),
}

impl Value {
    pub fn kind(&self) -> &'static str {
        match self {
            Value::Scalar(_) => "scalar",
            Value::String(_) => "string",
            Value::Vector(_) => "vector",
            Value::Matrix(_) => "matrix",
        }
    }
}

/// A float as Go's strconv.FormatFloat(v, 'f', -1, 64) writes it: how Prometheus prints sample
/// values in its API and in count_values' label.
pub fn format_float(v: f64) -> String {
    if v.is_nan() {
        "NaN".into()
    } else if v.is_infinite() {
        if v > 0.0 { "+Inf" } else { "-Inf" }.into()
    } else {
        format!("{v}")
    }
}

/// A step or span as Prometheus' API takes it: seconds (`15`, `0.5`) or a duration (`15s`,
/// `1m30s`); milliseconds.
pub fn parse_seconds_or_duration(text: &str) -> Result<i64, String> {
    match text.parse::<f64>() {
        Ok(seconds) if seconds.is_finite() => Ok((seconds * 1000.0).round() as i64),
        Ok(_) => Err(format!("{text:?} is not a finite number of seconds")),
        Err(_) => parse_duration(text),
    }
}

/// A Prometheus duration (`1h30m`, `15s`, `0`, `-5m`) in milliseconds.
pub fn parse_duration(text: &str) -> Result<i64, String> {
    let text = text.trim();
    if text == "0" {
        return Ok(0);
    }
    let (negative, body) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    if body.is_empty() {
        return Err(format!("not a duration: {text:?}"));
    }
    let mut total = 0i64;
    let mut rest = body;
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !c.is_ascii_digit())
            .ok_or_else(|| format!("no unit in duration {text:?}"))?;
        let n: i64 = rest[..digits]
            .parse()
            .map_err(|_| format!("not a duration: {text:?}"))?;
        rest = &rest[digits..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit())
            .unwrap_or(rest.len());
        let unit = match &rest[..unit_len] {
            "ms" => 1,
            "s" => 1000,
            "m" => 60_000,
            "h" => 3_600_000,
            "d" => 86_400_000,
            "w" => 604_800_000,
            "y" => 31_536_000_000,
            other => return Err(format!("unknown unit {other:?} in duration {text:?}")),
        };
        total += n * unit;
        rest = &rest[unit_len..];
    }
    Ok(if negative { -total } else { total })
}
