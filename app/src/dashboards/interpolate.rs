//! Putting variable values into a panel's PromQL so that no value can change the query's shape.
//! Grafana pastes values in as text, which lets a viewer who edits the URL run anything; here a
//! value inside a string literal is escaped for that literal (and regex-escaped where Grafana
//! would join several values into an alternation), and a value outside a string must be a single
//! token — a number, a duration, a name — or the panel refuses the query.

use std::collections::BTreeMap;

/// A variable's value(s) as they go into queries.
#[derive(Clone, Debug, PartialEq)]
pub struct Value {
    pub values: Vec<String>,
    /// Several values, or All: inside a string they become a regex alternation `(a|b)`.
    pub regex: bool,
    /// What All stands for when the variable gives one (`allValue`, e.g. `.*`); used as typed.
    pub raw: Option<String>,
}

impl Value {
    pub fn single(value: impl Into<String>) -> Value {
        Value {
            values: vec![value.into()],
            regex: false,
            raw: None,
        }
    }
}

pub type Values = BTreeMap<String, Value>;

/// Replaces `$name`, `${name}`, `${name:format}` and `[[name]]` of known variables in `expr`.
/// Unknown names stay as they are (as in Grafana, the query then fails to parse).
pub fn interpolate(expr: &str, values: &Values) -> Result<String, String> {
    let mut out = String::with_capacity(expr.len());
    let mut quote: Option<char> = None;
    let mut chars = expr.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        match (quote, c) {
            (Some(q), '\\') if q != '`' => {
                out.push(c);
                if let Some((_, next)) = chars.next() {
                    out.push(next);
                }
                continue;
            }
            (Some(q), c) if c == q => quote = None,
            (None, '"' | '\'' | '`') => quote = Some(c),
            (None, '#') => {
                // A comment runs to the end of the line; nothing in it is a variable.
                let end = expr[i..].find('\n').map_or(expr.len(), |n| i + n);
                out.push_str(&expr[i..end]);
                while chars.peek().is_some_and(|(j, _)| *j < end) {
                    chars.next();
                }
                continue;
            }
            _ => {}
        }
        if c == '$' || (c == '[' && expr[i..].starts_with("[[")) {
            if let Some((name, len)) = reference(&expr[i..]) {
                if let Some(value) = values.get(name) {
                    out.push_str(&render(name, value, quote)?);
                    while chars.peek().is_some_and(|(j, _)| *j < i + len) {
                        chars.next();
                    }
                    continue;
                }
            }
        }
        out.push(c);
    }
    Ok(out)
}

/// The syntax error of `expr` as typed, if any: every variable reference outside a string stands
/// in as a duration, then as a number, of its own length, so the error's column is where the
/// editor's caret would be.
pub fn syntax_error(expr: &str) -> Option<promql::syntax::ParseError> {
    let duration = |len: usize| format!("1{}s", "0".repeat(len.saturating_sub(2)));
    let number = |len: usize| format!("1{}", "0".repeat(len.saturating_sub(1)));
    let mut first = None;
    for fill in [&duration as &dyn Fn(usize) -> String, &number] {
        match promql::syntax::parse(&stand_ins(expr, fill)) {
            Ok(_) => return None,
            Err(error) => {
                first.get_or_insert(error);
            }
        }
    }
    first
}

/// `expr` with each variable reference outside quotes replaced by `fill(its length)`.
fn stand_ins(expr: &str, fill: &dyn Fn(usize) -> String) -> String {
    let mut out = String::with_capacity(expr.len());
    let mut quote: Option<char> = None;
    let mut skip_to = 0;
    let mut escaped = false;
    for (i, c) in expr.char_indices() {
        if i < skip_to {
            continue;
        }
        match (quote, c) {
            _ if escaped => escaped = false,
            (Some(q), '\\') if q != '`' => escaped = true,
            (Some(q), c) if c == q => quote = None,
            (None, '"' | '\'' | '`') => quote = Some(c),
            (None, '$' | '[') => {
                if let Some((_, len)) =
                    reference(&expr[i..]).filter(|_| c == '$' || expr[i..].starts_with("[["))
                {
                    out.push_str(&fill(expr[i..i + len].chars().count()));
                    skip_to = i + len;
                    continue;
                }
            }
            _ => {}
        }
        out.push(c);
    }
    out
}

/// The variable name a reference at the start of `text` names, and the reference's length.
fn reference(text: &str) -> Option<(&str, usize)> {
    let name_len = |s: &str| {
        s.char_indices()
            .find(|(_, c)| !(c.is_ascii_alphanumeric() || *c == '_'))
            .map_or(s.len(), |(i, _)| i)
    };
    if let Some(rest) = text.strip_prefix("${") {
        let end = rest.find('}')?;
        let name = rest[..end].split(':').next()?;
        return (!name.is_empty() && name_len(name) == name.len()).then_some((name, end + 3));
    }
    if let Some(rest) = text.strip_prefix("[[") {
        let end = rest.find("]]")?;
        let name = rest[..end].split(':').next()?;
        return (!name.is_empty() && name_len(name) == name.len()).then_some((name, end + 4));
    }
    let rest = text.strip_prefix('$')?;
    let len = name_len(rest);
    (len > 0).then_some((&rest[..len], len + 1))
}

fn render(name: &str, value: &Value, quote: Option<char>) -> Result<String, String> {
    match quote {
        Some(q) => {
            let text = match (&value.raw, value.regex) {
                (Some(raw), _) => raw.clone(),
                (None, true) => {
                    let escaped: Vec<String> =
                        value.values.iter().map(|v| regex_escape(v)).collect();
                    if escaped.len() == 1 {
                        escaped[0].clone()
                    } else {
                        format!("({})", escaped.join("|"))
                    }
                }
                (None, false) => value.values.first().cloned().unwrap_or_default(),
            };
            escape_for_literal(&text, q)
                .ok_or_else(|| format!("the value of ${name} cannot go inside a `raw string`"))
        }
        None => {
            let [single] = &value.values[..] else {
                return Err(format!(
                    "${name} has several values here; use it inside a label matcher such as {{x=~\"${name}\"}}"
                ));
            };
            if is_token(single) {
                Ok(single.clone())
            } else {
                Err(format!(
                    "the value of ${name} can only be used inside quotes (it is not a number, duration or name)"
                ))
            }
        }
    }
}

/// A number, a duration or a name: what may stand outside a string without changing the
/// query's structure.
fn is_token(text: &str) -> bool {
    let number = text.parse::<f64>().is_ok() && !text.contains(char::is_whitespace);
    let word = !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
        && !text.starts_with(|c: char| c.is_ascii_digit());
    let duration = !text.is_empty()
        && text.starts_with(|c: char| c.is_ascii_digit())
        && text
            .chars()
            .all(|c| c.is_ascii_digit() || "smhdwy".contains(c));
    number || word || duration
}

/// Escapes `text` to go between `quote`s in PromQL (Go's string syntax); raw strings cannot
/// hold their own delimiter.
fn escape_for_literal(text: &str, quote: char) -> Option<String> {
    if quote == '`' {
        return (!text.contains('`')).then(|| text.to_string());
    }
    let mut out = String::with_capacity(text.len() + 2);
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            c => out.push(c),
        }
    }
    Some(out)
}

/// Escapes regex syntax, as Grafana's Prometheus data source does for multi-value variables.
pub fn regex_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if "\\^$*+?.()|{}[]".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(pairs: &[(&str, Value)]) -> Values {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect()
    }

    fn multi(items: &[&str]) -> Value {
        Value {
            values: items.iter().map(|s| s.to_string()).collect(),
            regex: true,
            raw: None,
        }
    }

    #[test]
    fn values_inside_strings_are_escaped_for_the_string() {
        let vars = values(&[
            ("job", Value::single("api")),
            ("evil", Value::single(r#""} or vector(1) or {x=""#)),
            ("endpoint", multi(&["/orders", "/a.b"])),
        ]);
        assert_eq!(
            interpolate(r#"up{job="$job", e=~"${endpoint}"}"#, &vars).unwrap(),
            r#"up{job="api", e=~"(/orders|/a\\.b)"}"#
        );
        let injected = interpolate(r#"up{job="$evil"}"#, &vars).unwrap();
        assert_eq!(injected, r#"up{job="\"} or vector(1) or {x=\""}"#);
        let parsed = promql_parser::parser::parse(&injected).unwrap();
        assert!(
            matches!(parsed, promql_parser::parser::Expr::VectorSelector(_)),
            "still one selector: {parsed:?}"
        );
        assert_eq!(
            interpolate("up{job='$evil'}", &vars).unwrap(),
            r#"up{job='"} or vector(1) or {x="'}"#
        );
    }

    #[test]
    fn values_outside_strings_must_be_single_tokens() {
        let vars = values(&[
            ("interval", Value::single("5m")),
            ("k", Value::single("3")),
            ("evil", Value::single("1) or vector(1")),
            ("several", multi(&["a", "b"])),
        ]);
        assert_eq!(
            interpolate("topk($k, rate(x[$interval]))", &vars).unwrap(),
            "topk(3, rate(x[5m]))"
        );
        assert!(interpolate("rate(x[$evil])", &vars)
            .unwrap_err()
            .contains("inside quotes"));
        assert!(interpolate("sum($several)", &vars)
            .unwrap_err()
            .contains("several values"));
    }

    #[test]
    fn every_reference_form_and_unknown_names() {
        let vars = values(&[("a", Value::single("x"))]);
        assert_eq!(
            interpolate(r#"m{l="$a ${a} ${a:regex} [[a]] $b $"}"#, &vars).unwrap(),
            r#"m{l="x x x x $b $"}"#
        );
        assert_eq!(
            interpolate("m # $a stays in the comment\n+ $a", &vars).unwrap(),
            "m # $a stays in the comment\n+ x"
        );
        assert_eq!(
            interpolate(r#"m{l="\"$a"}"#, &vars).unwrap(),
            r#"m{l="\"x"}"#
        );
    }

    #[test]
    fn all_with_an_all_value_is_used_as_written() {
        let vars = values(&[(
            "job",
            Value {
                values: vec!["a".into(), "b".into()],
                regex: true,
                raw: Some(".*".into()),
            },
        )]);
        assert_eq!(
            interpolate(r#"up{job=~"$job"}"#, &vars).unwrap(),
            r#"up{job=~".*"}"#
        );
    }

    #[test]
    fn syntax_errors_point_at_the_text_as_typed() {
        assert!(syntax_error("rate(x{job=~\"$job\"}[$__rate_interval])").is_none());
        assert!(syntax_error("up > $threshold").is_none());
        assert!(
            syntax_error("sum by (instance) (rate(node_cpu_seconds_total[${interval}]))").is_none()
        );
        let error = syntax_error("rate(x[$__rate_interval]) +").unwrap();
        assert_eq!((error.line, error.column), (1, 28), "{error}");
        let error = syntax_error("sum(rate(x[5m]) by (job)").unwrap();
        assert_eq!(error.line, 1);
        assert!(error.column > 1, "{error}");
    }
}
