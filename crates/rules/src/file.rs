//! Prometheus rule files (`rulefmt`): read with the line of every value, validated as Prometheus
//! validates them (plus the template functions it would call), and written back in a form
//! `promtool check rules` accepts. The same validation serves the rule editor's forms, which
//! name fields by the same paths (`groups[0].rules[2].expr`).

use std::collections::{BTreeMap, HashMap};

use marked_yaml::Spanned;
use serde::{Deserialize, Serialize};

use crate::{template, Labels};

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Group {
    pub name: String,
    /// `interval`; `None` takes the evaluator's default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interval_ms: Option<i64>,
    /// `query_offset`: the group evaluates this far in the past (Prometheus 2.53+).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub query_offset_ms: Option<i64>,
    /// `limit`: at most this many alerts or series per rule; 0 is no limit.
    #[serde(default)]
    pub limit: u64,
    /// Labels added to every rule's results (Prometheus 3); a rule's own label wins.
    #[serde(default)]
    pub labels: Labels,
    pub rules: Vec<RuleDef>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Alert,
    Record,
}

/// One rule as written.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RuleDef {
    pub kind: Kind,
    /// The alert's name or the recorded metric's name.
    pub name: String,
    pub expr: String,
    #[serde(default)]
    pub for_ms: i64,
    #[serde(default)]
    pub keep_firing_for_ms: i64,
    /// Sorted by name.
    #[serde(default)]
    pub labels: Labels,
    /// Sorted by name.
    #[serde(default)]
    pub annotations: Labels,
}

impl RuleDef {
    pub fn label(&self, name: &str) -> Option<&str> {
        self.labels
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// One thing wrong with a rule file or a group: where (a path such as
/// `groups[0].rules[2].expr`, and in a file its line and column) and what.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    pub field: String,
    pub message: String,
    /// 1-based; 0 when there is no file.
    pub line: usize,
    pub column: usize,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.line > 0 {
            write!(f, "line {}, column {}: ", self.line, self.column)?;
        }
        if self.field.is_empty() {
            f.write_str(&self.message)
        } else {
            write!(f, "{}: {}", self.field, self.message)
        }
    }
}

fn problem(field: impl Into<String>, message: impl Into<String>) -> Problem {
    Problem {
        field: field.into(),
        message: message.into(),
        line: 0,
        column: 0,
    }
}

type Pairs = Option<HashMap<Spanned<String>, Spanned<String>>>;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    groups: Option<Vec<Spanned<RawGroup>>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawGroup {
    name: Option<Spanned<String>>,
    interval: Option<Spanned<String>>,
    query_offset: Option<Spanned<String>>,
    limit: Option<Spanned<String>>,
    labels: Pairs,
    rules: Option<Vec<Spanned<RawRule>>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRule {
    record: Option<Spanned<String>>,
    alert: Option<Spanned<String>>,
    expr: Option<Spanned<String>>,
    #[serde(rename = "for")]
    hold: Option<Spanned<String>>,
    keep_firing_for: Option<Spanned<String>>,
    labels: Pairs,
    annotations: Pairs,
}

/// Where each value of a file is: path → (line, column).
#[derive(Default)]
struct Places(HashMap<String, (usize, usize)>);

impl Places {
    fn note<T>(&mut self, path: &str, value: &Spanned<T>) {
        if let Some(mark) = value.span().start() {
            self.0
                .insert(path.to_string(), (mark.line(), mark.column()));
        }
    }

    /// The place of `path`, or of the nearest enclosing value that has one.
    fn find(&self, path: &str) -> (usize, usize) {
        let mut path = path;
        loop {
            if let Some(place) = self.0.get(path) {
                return *place;
            }
            match path.rfind(['.', '[']) {
                Some(i) => path = &path[..i],
                None => return (1, 1),
            }
        }
    }

    fn locate(&self, mut p: Problem) -> Problem {
        (p.line, p.column) = self.find(&p.field);
        p
    }
}

/// Reads and validates a rule file: its groups, or every problem found, each with its line
/// (nothing is half-read).
pub fn parse(text: &str) -> Result<Vec<Group>, Vec<Problem>> {
    let meaningful = text
        .lines()
        .any(|l| !l.trim().is_empty() && !l.trim_start().starts_with('#') && l.trim() != "---");
    if !meaningful {
        return Ok(Vec::new());
    }
    let (raw, _node): (RawFile, _) = crate::yaml::load(text)?;
    let mut places = Places::default();
    let mut problems = Vec::new();
    let mut groups = Vec::new();
    for (g, raw_group) in raw.groups.unwrap_or_default().into_iter().enumerate() {
        let path = format!("groups[{g}]");
        places.note(&path, &raw_group);
        let raw_group: &RawGroup = &raw_group;
        let mut group = Group {
            name: text_of(&raw_group.name, &format!("{path}.name"), &mut places),
            ..Group::default()
        };
        group.interval_ms = duration_of(
            &raw_group.interval,
            &format!("{path}.interval"),
            &mut places,
            &mut problems,
        );
        group.query_offset_ms = duration_of(
            &raw_group.query_offset,
            &format!("{path}.query_offset"),
            &mut places,
            &mut problems,
        );
        if let Some(limit) = &raw_group.limit {
            let field = format!("{path}.limit");
            places.note(&field, limit);
            match limit.parse::<u64>() {
                Ok(n) => group.limit = n,
                Err(_) => problems.push(problem(
                    field,
                    format!("{:?} is not a whole number", limit.as_str()),
                )),
            }
        }
        group.labels = pairs_of(&raw_group.labels, &format!("{path}.labels"), &mut places);
        for (r, raw_rule) in raw_group.rules.iter().flatten().enumerate() {
            let path = format!("{path}.rules[{r}]");
            places.note(&path, raw_rule);
            let raw_rule: &RawRule = raw_rule;
            let (kind, name) = match (&raw_rule.alert, &raw_rule.record) {
                (Some(alert), None) => (
                    Kind::Alert,
                    text_of(&Some(alert.clone()), &format!("{path}.alert"), &mut places),
                ),
                (None, Some(record)) => (
                    Kind::Record,
                    text_of(
                        &Some(record.clone()),
                        &format!("{path}.record"),
                        &mut places,
                    ),
                ),
                (Some(_), Some(_)) => {
                    problems.push(problem(
                        &path,
                        "only one of 'record' and 'alert' must be set",
                    ));
                    continue;
                }
                (None, None) => {
                    problems.push(problem(&path, "one of 'record' or 'alert' must be set"));
                    continue;
                }
            };
            let rule = RuleDef {
                kind,
                name,
                expr: text_of(&raw_rule.expr, &format!("{path}.expr"), &mut places),
                for_ms: duration_of(
                    &raw_rule.hold,
                    &format!("{path}.for"),
                    &mut places,
                    &mut problems,
                )
                .unwrap_or(0),
                keep_firing_for_ms: duration_of(
                    &raw_rule.keep_firing_for,
                    &format!("{path}.keep_firing_for"),
                    &mut places,
                    &mut problems,
                )
                .unwrap_or(0),
                labels: pairs_of(&raw_rule.labels, &format!("{path}.labels"), &mut places),
                annotations: pairs_of(
                    &raw_rule.annotations,
                    &format!("{path}.annotations"),
                    &mut places,
                ),
            };
            group.rules.push(rule);
        }
        groups.push(group);
    }
    problems.extend(validate(&groups));
    if problems.is_empty() {
        return Ok(groups);
    }
    let mut problems: Vec<Problem> = problems.into_iter().map(|p| places.locate(p)).collect();
    problems.sort_by_key(|p| (p.line, p.column));
    Err(problems)
}

fn text_of(value: &Option<Spanned<String>>, path: &str, places: &mut Places) -> String {
    match value {
        Some(v) => {
            places.note(path, v);
            v.as_str().to_string()
        }
        None => String::new(),
    }
}

fn duration_of(
    value: &Option<Spanned<String>>,
    path: &str,
    places: &mut Places,
    problems: &mut Vec<Problem>,
) -> Option<i64> {
    let value = value.as_ref()?;
    places.note(path, value);
    match parse_duration(value.as_str()) {
        Ok(ms) => Some(ms),
        Err(e) => {
            problems.push(problem(path, e));
            None
        }
    }
}

fn pairs_of(pairs: &Pairs, path: &str, places: &mut Places) -> Labels {
    let mut out: BTreeMap<String, String> = BTreeMap::new();
    for (k, v) in pairs.iter().flatten() {
        places.note(&format!("{path}.{}", k.as_str()), k);
        out.insert(k.as_str().to_string(), v.as_str().to_string());
    }
    out.into_iter().collect()
}

/// A duration as Prometheus' `model.ParseDuration` takes it: units from years down to
/// milliseconds, each at most once and largest first, never negative.
pub fn parse_duration(text: &str) -> Result<i64, String> {
    let bad = || format!("not a valid duration string: {text:?}");
    if text == "0" {
        return Ok(0);
    }
    const UNITS: [(&str, i64); 7] = [
        ("y", 31_536_000_000),
        ("w", 604_800_000),
        ("d", 86_400_000),
        ("h", 3_600_000),
        ("m", 60_000),
        ("s", 1000),
        ("ms", 1),
    ];
    let mut rest = text;
    let mut total: i64 = 0;
    let mut next_unit = 0;
    if rest.is_empty() {
        return Err(bad());
    }
    while !rest.is_empty() {
        let digits = rest.find(|c: char| !c.is_ascii_digit()).ok_or_else(bad)?;
        if digits == 0 {
            return Err(bad());
        }
        let n: i64 = rest[..digits].parse().map_err(|_| bad())?;
        rest = &rest[digits..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit())
            .unwrap_or(rest.len());
        let unit = &rest[..unit_len];
        let at = UNITS[next_unit..]
            .iter()
            .position(|(u, _)| *u == unit)
            .ok_or_else(bad)?;
        let scale = UNITS[next_unit + at].1;
        next_unit += at + 1;
        total = n
            .checked_mul(scale)
            .and_then(|v| total.checked_add(v))
            .ok_or_else(|| format!("duration {text:?} is too long"))?;
        rest = &rest[unit_len..];
    }
    Ok(total)
}

/// A duration as Prometheus writes one (`model.Duration.String`): `1h30m`, `5m`, `0s`.
pub fn format_duration(ms: i64) -> String {
    if ms == 0 {
        return "0s".into();
    }
    let mut left = ms;
    let mut out = String::new();
    for (unit, scale) in [
        ("y", 31_536_000_000),
        ("w", 604_800_000),
        ("d", 86_400_000),
        ("h", 3_600_000),
        ("m", 60_000),
        ("s", 1000),
        ("ms", 1),
    ] {
        let n = left / scale;
        if n > 0 {
            out.push_str(&format!("{n}{unit}"));
            left -= n * scale;
        }
    }
    out
}

fn valid_label_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

pub fn valid_metric_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == ':')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
}

/// Prometheus' checks of groups and rules (`rulefmt.Validate`), naming each field by its
/// path in the file.
pub fn validate(groups: &[Group]) -> Vec<Problem> {
    let mut problems = Vec::new();
    let mut seen = HashMap::new();
    for (g, group) in groups.iter().enumerate() {
        let path = format!("groups[{g}]");
        if group.name.trim().is_empty() {
            problems.push(problem(
                format!("{path}.name"),
                "group name must not be empty",
            ));
        } else if seen.insert(group.name.clone(), g).is_some() {
            problems.push(problem(
                format!("{path}.name"),
                format!("group name {:?} is repeated in the same file", group.name),
            ));
        }
        if group.interval_ms.is_some_and(|i| i < 0) {
            problems.push(problem(
                format!("{path}.interval"),
                "interval must not be negative",
            ));
        }
        check_labels(&group.labels, &format!("{path}.labels"), &mut problems);
        for (r, rule) in group.rules.iter().enumerate() {
            problems.extend(validate_rule(rule, &format!("{path}.rules[{r}]")));
        }
    }
    problems
}

/// One rule's problems, its fields named under `path`.
pub fn validate_rule(rule: &RuleDef, path: &str) -> Vec<Problem> {
    let mut problems = Vec::new();
    let name_field = match rule.kind {
        Kind::Alert => "alert",
        Kind::Record => "record",
    };
    if rule.name.trim().is_empty() {
        problems.push(problem(
            format!("{path}.{name_field}"),
            format!("field '{name_field}' must be set"),
        ));
    } else if rule.kind == Kind::Record && !valid_metric_name(&rule.name) {
        problems.push(problem(
            format!("{path}.record"),
            format!("invalid recording rule name: {}", rule.name),
        ));
    }
    if rule.expr.trim().is_empty() {
        problems.push(problem(
            format!("{path}.expr"),
            "field 'expr' must be set in rule",
        ));
    } else if let Err(e) = promql::syntax::parse(&rule.expr) {
        problems.push(problem(
            format!("{path}.expr"),
            format!(
                "could not parse expression: {}:{}: {}",
                e.line, e.column, e.message
            ),
        ));
    }
    for (field, ms) in [
        ("for", rule.for_ms),
        ("keep_firing_for", rule.keep_firing_for_ms),
    ] {
        if ms < 0 {
            problems.push(problem(
                format!("{path}.{field}"),
                format!("'{field}' must not be negative"),
            ));
        } else if ms != 0 && rule.kind == Kind::Record {
            problems.push(problem(
                format!("{path}.{field}"),
                format!("invalid field '{field}' in recording rule"),
            ));
        }
    }
    if rule.kind == Kind::Record && !rule.annotations.is_empty() {
        problems.push(problem(
            format!("{path}.annotations"),
            "invalid field 'annotations' in recording rule",
        ));
    }
    check_labels(&rule.labels, &format!("{path}.labels"), &mut problems);
    for (name, text) in &rule.annotations {
        let field = format!("{path}.annotations.{name}");
        if !valid_label_name(name) {
            problems.push(problem(&field, format!("invalid annotation name: {name}")));
        }
        if let Err(e) = template::check(text) {
            problems.push(problem(&field, format!("template: {e}")));
        }
    }
    problems
}

fn check_labels(labels: &Labels, path: &str, problems: &mut Vec<Problem>) {
    for (name, value) in labels {
        let field = format!("{path}.{name}");
        if !valid_label_name(name) || name == "__name__" {
            problems.push(problem(&field, format!("invalid label name: {name}")));
        }
        if let Err(e) = template::check(value) {
            problems.push(problem(&field, format!("template: {e}")));
        }
    }
}

/// The groups as a Prometheus rule file. Fields Prometheus 2.x does not know (`query_offset`,
/// group `labels`) are written only when set.
pub fn to_yaml(groups: &[Group]) -> String {
    use yaml_rust2::{yaml::Hash, Yaml, YamlEmitter};
    let s = |t: &str| Yaml::String(t.to_string());
    let pairs = |labels: &Labels| {
        let mut h = Hash::new();
        for (k, v) in labels {
            h.insert(s(k), s(v));
        }
        Yaml::Hash(h)
    };
    let mut out_groups = Vec::new();
    for group in groups {
        let mut g = Hash::new();
        g.insert(s("name"), s(&group.name));
        if let Some(ms) = group.interval_ms {
            g.insert(s("interval"), s(&format_duration(ms)));
        }
        if let Some(ms) = group.query_offset_ms {
            g.insert(s("query_offset"), s(&format_duration(ms)));
        }
        if group.limit > 0 {
            g.insert(s("limit"), Yaml::Integer(group.limit as i64));
        }
        if !group.labels.is_empty() {
            g.insert(s("labels"), pairs(&group.labels));
        }
        let mut rules = Vec::new();
        for rule in &group.rules {
            let mut r = Hash::new();
            let key = match rule.kind {
                Kind::Alert => "alert",
                Kind::Record => "record",
            };
            r.insert(s(key), s(&rule.name));
            r.insert(s("expr"), s(&rule.expr));
            if rule.for_ms > 0 {
                r.insert(s("for"), s(&format_duration(rule.for_ms)));
            }
            if rule.keep_firing_for_ms > 0 {
                r.insert(
                    s("keep_firing_for"),
                    s(&format_duration(rule.keep_firing_for_ms)),
                );
            }
            if !rule.labels.is_empty() {
                r.insert(s("labels"), pairs(&rule.labels));
            }
            if !rule.annotations.is_empty() {
                r.insert(s("annotations"), pairs(&rule.annotations));
            }
            rules.push(Yaml::Hash(r));
        }
        g.insert(s("rules"), Yaml::Array(rules));
        out_groups.push(Yaml::Hash(g));
    }
    let mut top = Hash::new();
    top.insert(s("groups"), Yaml::Array(out_groups));
    let mut out = String::new();
    let mut emitter = YamlEmitter::new(&mut out);
    emitter.multiline_strings(true);
    // Writing to a String cannot fail.
    let _ = emitter.dump(&Yaml::Hash(top));
    out.push('\n');
    out
}

#[cfg(test)]
mod tests;
