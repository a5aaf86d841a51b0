//! Alertmanager's label matchers (`team="db"`, `severity=~"crit.*"`): parsed as its
//! `labels.ParseMatcher` parses them (quotes optional, `\"` `\\` `\n` escapes), matched as it
//! matches (a missing label is the empty value, regular expressions are anchored), and written
//! back as it writes them (`name="value"`).

use std::fmt;

use regex::Regex;
use serde::{Deserialize, Serialize};

use crate::Labels;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Op {
    #[serde(rename = "=")]
    Equal,
    #[serde(rename = "!=")]
    NotEqual,
    #[serde(rename = "=~")]
    Regex,
    #[serde(rename = "!~")]
    NotRegex,
}

impl Op {
    pub fn as_str(self) -> &'static str {
        match self {
            Op::Equal => "=",
            Op::NotEqual => "!=",
            Op::Regex => "=~",
            Op::NotRegex => "!~",
        }
    }

    pub fn is_regex(self) -> bool {
        matches!(self, Op::Regex | Op::NotRegex)
    }

    pub fn is_equal(self) -> bool {
        matches!(self, Op::Equal | Op::Regex)
    }

    pub fn from_flags(is_regex: bool, is_equal: bool) -> Op {
        match (is_regex, is_equal) {
            (false, true) => Op::Equal,
            (false, false) => Op::NotEqual,
            (true, true) => Op::Regex,
            (true, false) => Op::NotRegex,
        }
    }
}

#[derive(Clone, Debug)]
pub struct Matcher {
    pub name: String,
    pub op: Op,
    pub value: String,
    /// The anchored expression of a regex matcher.
    regex: Option<Regex>,
}

impl PartialEq for Matcher {
    fn eq(&self, other: &Matcher) -> bool {
        (&self.name, self.op, &self.value) == (&other.name, other.op, &other.value)
    }
}

impl Eq for Matcher {}

impl PartialOrd for Matcher {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

/// Alertmanager sorts a route's matchers by name, then operator, then value.
impl Ord for Matcher {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (&self.name, self.op, &self.value).cmp(&(&other.name, other.op, &other.value))
    }
}

impl Matcher {
    pub fn new(name: &str, op: Op, value: &str) -> Result<Matcher, String> {
        if !valid_label_name(name) {
            return Err(format!("invalid label name {name:?}"));
        }
        let regex = if op.is_regex() {
            Some(
                Regex::new(&format!("^(?:{value})$"))
                    .map_err(|e| format!("invalid regular expression {value:?}: {e}"))?,
            )
        } else {
            None
        };
        Ok(Matcher {
            name: name.to_string(),
            op,
            value: value.to_string(),
            regex,
        })
    }

    pub fn matches_value(&self, value: &str) -> bool {
        match (self.op, &self.regex) {
            (Op::Equal, _) => value == self.value,
            (Op::NotEqual, _) => value != self.value,
            (Op::Regex, Some(re)) => re.is_match(value),
            (Op::NotRegex, Some(re)) => !re.is_match(value),
            _ => false,
        }
    }

    /// A label the set lacks counts as the empty value, as in Alertmanager.
    pub fn matches(&self, labels: &Labels) -> bool {
        self.matches_value(labels.get(&self.name).map_or("", String::as_str))
    }
}

impl fmt::Display for Matcher {
    /// Alertmanager's form: the value quoted, with `\`, `"` and newlines escaped.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let escaped = self
            .value
            .replace('\\', "\\\\")
            .replace('"', "\\\"")
            .replace('\n', "\\n");
        write!(f, "{}{}\"{}\"", self.name, self.op.as_str(), escaped)
    }
}

impl Serialize for Matcher {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string())
    }
}

impl<'de> Deserialize<'de> for Matcher {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Matcher, D::Error> {
        let text = String::deserialize(d)?;
        parse(&text).map_err(serde::de::Error::custom)
    }
}

/// All matchers must match (an empty list matches everything).
pub fn all_match(matchers: &[Matcher], labels: &Labels) -> bool {
    matchers.iter().all(|m| m.matches(labels))
}

/// Alertmanager's `{a="b", c=~"d"}` form of a list of matchers.
pub fn list_to_string(matchers: &[Matcher]) -> String {
    let parts: Vec<String> = matchers.iter().map(Matcher::to_string).collect();
    format!("{{{}}}", parts.join(","))
}

pub fn valid_label_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// One matcher, as `labels.ParseMatcher` reads it: `name op value`, spaces around allowed, the
/// value optionally in double quotes.
pub fn parse(text: &str) -> Result<Matcher, String> {
    let text = text.trim();
    let name_end = text
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == ':'))
        .ok_or_else(|| format!("bad matcher format: {text}"))?;
    let name = &text[..name_end];
    let rest = text[name_end..].trim_start();
    let (op, raw) = [Op::Regex, Op::NotRegex, Op::NotEqual, Op::Equal]
        .into_iter()
        .find_map(|op| rest.strip_prefix(op.as_str()).map(|r| (op, r.trim())))
        .ok_or_else(|| format!("bad matcher format: {text}"))?;
    if name.is_empty() {
        return Err(format!("bad matcher format: {text}"));
    }
    let (raw, mut expect_quote) = match raw.strip_prefix('"') {
        Some(r) => (r, true),
        None => (raw, false),
    };
    let unescaped = || format!("matcher value contains unescaped double quote: {raw}");
    let mut value = String::new();
    let mut chars = raw.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some((_, 'n')) => value.push('\n'),
                Some((_, c @ ('"' | '\\'))) => value.push(c),
                Some((_, c)) => {
                    value.push('\\');
                    value.push(c);
                }
                None => value.push('\\'),
            },
            '"' => {
                if !expect_quote || i + 1 < raw.len() {
                    return Err(unescaped());
                }
                expect_quote = false;
            }
            c => value.push(c),
        }
    }
    if expect_quote {
        return Err(unescaped());
    }
    Matcher::new(name, op, &value)
}

/// A list of matchers as `labels.ParseMatchers` reads it: `{a="b",c="d"}` or `a=b, c=d`
/// (commas inside quotes belong to the value).
pub fn parse_list(text: &str) -> Result<Vec<Matcher>, String> {
    let mut text = text.trim();
    if let Some(inner) = text.strip_prefix('{').and_then(|t| t.strip_suffix('}')) {
        text = inner;
    }
    let mut parts = Vec::new();
    let (mut start, mut quoted, mut escaped) = (0, false, false);
    for (i, c) in text.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' => escaped = true,
            '"' => quoted = !quoted,
            ',' if !quoted => {
                parts.push(&text[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&text[start..]);
    parts
        .into_iter()
        .filter(|p| !p.trim().is_empty())
        .map(parse)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> Labels {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn parses_as_alertmanager_does() {
        let m = parse(r#"team="db""#).unwrap();
        assert_eq!((m.name.as_str(), m.op, m.value.as_str()), ("team", Op::Equal, "db"));
        let m = parse("severity =~ crit.*").unwrap();
        assert_eq!((m.op, m.value.as_str()), (Op::Regex, "crit.*"));
        let m = parse(r#"a!="x\"y\\z\n""#).unwrap();
        assert_eq!(m.value, "x\"y\\z\n");
        assert_eq!(m.to_string(), r#"a!="x\"y\\z\n""#);
        assert!(parse(r#"a="b"c""#).unwrap_err().contains("unescaped double quote"));
        assert!(parse(r#"a="b"#).is_err());
        assert!(parse("=b").is_err());
        assert!(parse("a~b").is_err());
        assert!(parse("a=~(").unwrap_err().contains("regular expression"));
        let list = parse_list(r#"{alertname="A,B", cluster=~"eu|us"}"#).unwrap();
        assert_eq!(list.len(), 2);
        assert_eq!(list[0].value, "A,B");
        assert_eq!(list_to_string(&list), r#"{alertname="A,B",cluster=~"eu|us"}"#);
    }

    #[test]
    fn matches_as_alertmanager_does() {
        let set = labels(&[("severity", "critical"), ("team", "db")]);
        assert!(parse("severity=~crit.*").unwrap().matches(&set));
        // Anchored: a substring is not a match.
        assert!(!parse("severity=~crit").unwrap().matches(&set));
        // A missing label is the empty value.
        assert!(parse(r#"cluster="""#).unwrap().matches(&set));
        assert!(parse("cluster!=eu").unwrap().matches(&set));
        assert!(parse("cluster!~.+").unwrap().matches(&set));
        assert!(!parse("team!=db").unwrap().matches(&set));
    }
}
