//! Series identity: a label set (metric name in `__name__`), validated as Prometheus does,
//! kept sorted so equal sets compare and hash equal, and label matchers with Prometheus'
//! semantics — regular expressions fully anchored, a missing label matching as the empty string.

use std::fmt;

use regex::Regex;

pub const METRIC_NAME: &str = "__name__";

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum LabelError {
    #[error("invalid label name {0:?}: must match [a-zA-Z_][a-zA-Z0-9_]*")]
    InvalidName(String),
    #[error("invalid metric name {0:?}: must match [a-zA-Z_:][a-zA-Z0-9_:]*")]
    InvalidMetricName(String),
    #[error("duplicate label name {0:?}")]
    Duplicate(String),
    #[error("label {0:?} has an empty value")]
    EmptyValue(String),
    #[error("invalid regular expression {pattern:?}: {message}")]
    InvalidRegex { pattern: String, message: String },
}

/// A label name Prometheus accepts: `[a-zA-Z_][a-zA-Z0-9_]*`.
pub fn is_label_name(name: &str) -> bool {
    valid_name(name, false)
}

fn valid_name(name: &str, colon: bool) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_' || (colon && c == ':'))
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || (colon && c == ':'))
}

/// A series' labels, sorted by name. Empty values are not stored: Prometheus treats a label
/// with an empty value as absent.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Labels(Vec<(String, String)>);

impl Labels {
    /// Validates names (and the metric name's own charset) and refuses duplicates.
    pub fn new<N: Into<String>, V: Into<String>>(
        pairs: impl IntoIterator<Item = (N, V)>,
    ) -> Result<Labels, LabelError> {
        let mut labels: Vec<(String, String)> = Vec::new();
        for (name, value) in pairs {
            let (name, value) = (name.into(), value.into());
            let ok = if name == METRIC_NAME {
                valid_name(&value, true)
            } else {
                valid_name(&name, false)
            };
            if !ok {
                return Err(if name == METRIC_NAME {
                    LabelError::InvalidMetricName(value)
                } else {
                    LabelError::InvalidName(name)
                });
            }
            if !value.is_empty() {
                labels.push((name, value));
            }
        }
        labels.sort();
        if let Some(pair) = labels.windows(2).find(|w| w[0].0 == w[1].0) {
            return Err(LabelError::Duplicate(pair[0].0.clone()));
        }
        Ok(Labels(labels))
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .binary_search_by(|(n, _)| n.as_str().cmp(name))
            .ok()
            .map(|i| self.0[i].1.as_str())
    }

    pub fn metric_name(&self) -> Option<&str> {
        self.get(METRIC_NAME)
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(n, v)| (n.as_str(), v.as_str()))
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// A stable 64-bit fingerprint (FNV-1a over names and values with separators that cannot
    /// occur in names), the same on every replica and across versions.
    pub fn fingerprint(&self) -> u64 {
        let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
        for (name, value) in &self.0 {
            for byte in name
                .bytes()
                .chain([0xff])
                .chain(value.bytes())
                .chain([0xfe])
            {
                hash ^= byte as u64;
                hash = hash.wrapping_mul(0x0100_0000_01b3);
            }
        }
        hash
    }
}

impl fmt::Display for Labels {
    /// `name{a="1", b="2"}`, as Prometheus prints a series.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(name) = self.metric_name() {
            f.write_str(name)?;
        }
        let rest: Vec<String> = self
            .iter()
            .filter(|(n, _)| *n != METRIC_NAME)
            .map(|(n, v)| format!("{n}={v:?}"))
            .collect();
        write!(f, "{{{}}}", rest.join(", "))
    }
}

#[derive(Clone, Debug)]
pub enum MatchOp {
    Equal(String),
    NotEqual(String),
    Regex(Regex),
    NotRegex(Regex),
}

#[derive(Clone, Debug)]
pub struct Matcher {
    pub name: String,
    pub op: MatchOp,
}

fn anchored(pattern: &str) -> Result<Regex, LabelError> {
    Regex::new(&format!("^(?s:{pattern})$")).map_err(|e| LabelError::InvalidRegex {
        pattern: pattern.to_string(),
        message: e.to_string(),
    })
}

impl Matcher {
    pub fn equal(name: &str, value: &str) -> Matcher {
        Matcher {
            name: name.into(),
            op: MatchOp::Equal(value.into()),
        }
    }

    pub fn not_equal(name: &str, value: &str) -> Matcher {
        Matcher {
            name: name.into(),
            op: MatchOp::NotEqual(value.into()),
        }
    }

    /// `=~`: the whole value must match, as in Prometheus (`a.*` does not match `ba`).
    pub fn regex(name: &str, pattern: &str) -> Result<Matcher, LabelError> {
        Ok(Matcher {
            name: name.into(),
            op: MatchOp::Regex(anchored(pattern)?),
        })
    }

    pub fn not_regex(name: &str, pattern: &str) -> Result<Matcher, LabelError> {
        Ok(Matcher {
            name: name.into(),
            op: MatchOp::NotRegex(anchored(pattern)?),
        })
    }

    /// Whether a label value matches; an absent label is the empty string.
    pub fn matches_value(&self, value: &str) -> bool {
        match &self.op {
            MatchOp::Equal(v) => value == v,
            MatchOp::NotEqual(v) => value != v,
            MatchOp::Regex(re) => re.is_match(value),
            MatchOp::NotRegex(re) => !re.is_match(value),
        }
    }

    pub fn matches(&self, labels: &Labels) -> bool {
        self.matches_value(labels.get(&self.name).unwrap_or(""))
    }

    /// True when the matcher also matches series that lack the label (e.g. `{a=""}`, `{a=~".*"}`),
    /// which an index lookup by label value cannot find on its own.
    pub fn matches_empty(&self) -> bool {
        self.matches_value("")
    }
}

/// A series is selected when every matcher matches.
pub fn matches_all(matchers: &[Matcher], labels: &Labels) -> bool {
    matchers.iter().all(|m| m.matches(labels))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> Labels {
        Labels::new(pairs.iter().copied()).unwrap()
    }

    #[test]
    fn label_sets_are_validated_sorted_and_fingerprinted_stably() {
        let a = labels(&[
            ("job", "api"),
            ("__name__", "http_requests_total"),
            ("code", "200"),
        ]);
        let b = labels(&[
            ("code", "200"),
            ("job", "api"),
            ("__name__", "http_requests_total"),
            ("empty", ""),
        ]);
        assert_eq!(a, b, "order and empty values do not matter");
        assert_eq!(a.fingerprint(), b.fingerprint());
        assert_ne!(
            a.fingerprint(),
            labels(&[
                ("__name__", "http_requests_total"),
                ("code", "500"),
                ("job", "api")
            ])
            .fingerprint()
        );
        // Values cannot run into names: {a="b", c=""} differs from {a="bc"}.
        assert_ne!(
            labels(&[("a", "b"), ("c", "d")]).fingerprint(),
            labels(&[("a", "bc"), ("d", "")]).fingerprint()
        );
        assert_eq!(
            a.to_string(),
            r#"http_requests_total{code="200", job="api"}"#
        );

        assert_eq!(
            Labels::new([("1job", "x")]),
            Err(LabelError::InvalidName("1job".into()))
        );
        assert_eq!(
            Labels::new([("__name__", "http-requests")]),
            Err(LabelError::InvalidMetricName("http-requests".into()))
        );
        assert!(
            Labels::new([("__name__", "ns:rule:rate5m")]).is_ok(),
            "colons are allowed in metric names"
        );
        assert_eq!(
            Labels::new([("job", "a"), ("job", "b")]),
            Err(LabelError::Duplicate("job".into()))
        );
        assert!(Labels::new([("job", "ünïcödé values are fine")]).is_ok());
    }

    #[test]
    fn matchers_follow_prometheus_semantics() {
        let series = labels(&[
            ("__name__", "up"),
            ("job", "api"),
            ("instance", "host-1:9090"),
        ]);
        let yes = |m: Matcher| assert!(m.matches(&series), "{m:?} should match");
        let no = |m: Matcher| assert!(!m.matches(&series), "{m:?} should not match");
        yes(Matcher::equal("job", "api"));
        no(Matcher::equal("job", "ap"));
        yes(Matcher::not_equal("job", "web"));
        yes(Matcher::regex("job", "a.*").unwrap());
        no(Matcher::regex("job", "p.*").unwrap()); // anchored: "p.*" does not match "api"
        no(Matcher::regex("job", "pi").unwrap());
        yes(Matcher::regex("job", "api|web").unwrap()); // alternation inside the anchors
        yes(Matcher::not_regex("job", "web|db").unwrap());
        yes(Matcher::regex("instance", "host-.*:9090").unwrap());
        // A missing label is the empty string.
        yes(Matcher::equal("env", ""));
        no(Matcher::not_equal("env", ""));
        yes(Matcher::regex("env", ".*").unwrap());
        no(Matcher::regex("env", ".+").unwrap());
        yes(Matcher::not_regex("env", ".+").unwrap());
        assert!(Matcher::regex("env", "").unwrap().matches_empty());
        assert!(!Matcher::equal("job", "api").matches_empty());
        // `.` matches newlines too, as in Prometheus.
        let multiline = labels(&[("msg", "a\nb")]);
        assert!(Matcher::regex("msg", "a.b").unwrap().matches(&multiline));
        assert!(matches!(
            Matcher::regex("job", "(unclosed"),
            Err(LabelError::InvalidRegex { .. })
        ));
        assert!(matches_all(
            &[
                Matcher::equal("__name__", "up"),
                Matcher::regex("job", "api").unwrap()
            ],
            &series
        ));
    }
}
