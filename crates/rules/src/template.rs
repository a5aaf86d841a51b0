//! Prometheus' templates for alert labels and annotations (template/template.go): Go's
//! text/template (the `gotmpl` crate) with the data Prometheus gives a rule's templates
//! (`$labels`, `$externalLabels`, `$externalURL`, `$value`) and its functions.
//!
//! Left out, because they need Go's types or Prometheus' web UI: `toTime` (a Go `time.Time` with
//! its methods), `safeHtml` and `tmpl` (console templates), `pathPrefix` (no path prefix here).
//! `graphLink` and `tableLink` link to Meridian's Explore instead of Prometheus' `/graph`.
//! One difference: a float printed as it is (`{{ $value }}`) takes Rust's shortest form, so
//! values from 1e6 up or below 1e-4 read `1234567` where Go writes `1.234567e+06` (`gotmpl`
//! prints floats so); `humanize` and `printf` format exactly as Go does.

use std::{collections::BTreeMap, sync::Arc};

use gotmpl::{
    parse::{Expr, Node, PipeNode},
    Template, TemplateError, Value,
};

use crate::Labels;

/// A PromQL query a template runs (`query "…"`): the instant vector at the evaluation time.
pub type QueryFn = Arc<dyn Fn(&str) -> Result<Vec<(Labels, f64)>, String> + Send + Sync>;

/// What a rule's templates see.
#[derive(Clone)]
pub struct Data<'a> {
    /// The alert's labels (`$labels`).
    pub labels: &'a Labels,
    pub external_labels: &'a Labels,
    pub external_url: &'a str,
    /// The series' value (`$value`).
    pub value: f64,
    pub query: Option<QueryFn>,
}

/// What Prometheus puts before every rule template, so `$labels` and friends exist.
const DEFINITIONS: &str = "{{$labels := .Labels}}{{$externalLabels := .ExternalLabels}}{{$externalURL := .ExternalURL}}{{$value := .Value}}";

/// Expands one label or annotation template. As in Prometheus, an error becomes the value
/// (`<error expanding template: …>`) instead of failing the rule.
pub fn expand(name: &str, text: &str, data: &Data) -> String {
    if !text.contains("{{") {
        return text.to_string();
    }
    let source = format!("{DEFINITIONS}{text}");
    match render(&format!("__alert_{name}"), &source, data) {
        Ok(out) => out,
        Err(e) => format!("<error expanding template: {e}>"),
    }
}

/// Checks that a template parses and calls only functions that exist (for rule validation).
pub fn check(text: &str) -> Result<(), String> {
    if !text.contains("{{") {
        return Ok(());
    }
    let template = functions(Template::new("template"), None, "")
        .parse(&format!("{DEFINITIONS}{text}"))
        .map_err(|e| e.to_string())?;
    for name in template.templates() {
        if let Some(tree) = template.lookup(name) {
            check_calls(&tree.nodes, FUNCTIONS)?;
        }
    }
    Ok(())
}

/// Go's template parser refuses a call to a function it does not know (not in `known`);
/// `gotmpl` finds out only when it runs, so validation walks the tree.
pub fn check_calls(nodes: &[Node], known: &[&str]) -> Result<(), String> {
    let pipe = |p: &PipeNode| p.commands.iter().flat_map(|c| &c.args).try_for_each(|e| check_expr(e, known));
    for node in nodes {
        match node {
            Node::List(list) => check_calls(&list.nodes, known)?,
            Node::Action(action) => pipe(&action.pipe)?,
            Node::If(branch) | Node::Range(branch) | Node::With(branch) => {
                pipe(&branch.pipe)?;
                check_calls(&branch.body.nodes, known)?;
                if let Some(other) = &branch.else_body {
                    check_calls(&other.nodes, known)?;
                }
            }
            Node::Template(t) => {
                if let Some(p) = &t.pipe {
                    pipe(p)?;
                }
            }
            Node::Define(d) => check_calls(&d.body.nodes, known)?,
            Node::Text(_) | Node::Break(_) | Node::Continue(_) => {}
        }
    }
    Ok(())
}

fn check_expr(e: &Expr, known: &[&str]) -> Result<(), String> {
    match e {
        Expr::Identifier(_, name) if !known.contains(&name.as_str()) => {
            Err(format!("function {:?} not defined", name.as_str()))
        }
        Expr::Pipe(_, p) => p.commands.iter().flat_map(|c| &c.args).try_for_each(|e| check_expr(e, known)),
        Expr::Chain(_, inner, _) => check_expr(inner, known),
        _ => Ok(()),
    }
}

/// Go's built-in template functions and Prometheus' (those registered in [`functions`]).
const FUNCTIONS: &[&str] = &[
    "and",
    "call",
    "html",
    "index",
    "slice",
    "js",
    "len",
    "not",
    "or",
    "print",
    "printf",
    "println",
    "urlquery",
    "eq",
    "ge",
    "gt",
    "le",
    "lt",
    "ne",
    "query",
    "first",
    "label",
    "value",
    "strvalue",
    "sortByLabel",
    "args",
    "reReplaceAll",
    "match",
    "title",
    "toUpper",
    "toLower",
    "stripPort",
    "stripDomain",
    "humanize",
    "humanize1024",
    "humanizeDuration",
    "humanizePercentage",
    "humanizeTimestamp",
    "parseDuration",
    "graphLink",
    "tableLink",
    "externalURL",
];

/// Renders `source` (definitions included) with `data`.
pub fn render(name: &str, source: &str, data: &Data) -> Result<String, String> {
    let root = map([
        ("Labels", labels_value(data.labels)),
        ("ExternalLabels", labels_value(data.external_labels)),
        ("ExternalURL", Value::String(data.external_url.into())),
        ("Value", Value::Float(data.value)),
    ]);
    execute(name, source, &root, data.query.clone(), data.external_url)
}

fn execute(
    name: &str,
    source: &str,
    root: &Value,
    query: Option<QueryFn>,
    external_url: &str,
) -> Result<String, String> {
    let out = functions(Template::new(name), query, external_url)
        .parse(source)
        .map_err(|e| format!("error parsing template {name}: {e}"))?
        .execute_to_string(root)
        .map_err(|e| format!("error executing template {name}: {e}"))?;
    // Prometheus' labels are Go `map[string]string`s, whose missing keys print as "";
    // `gotmpl`'s maps are untyped and print a missing key as Go prints an untyped one.
    Ok(out.replace("<no value>", ""))
}

fn map<const N: usize>(entries: [(&str, Value); N]) -> Value {
    Value::Map(Arc::new(
        entries
            .into_iter()
            .map(|(k, v)| (Arc::from(k), v))
            .collect(),
    ))
}

fn labels_value(labels: &Labels) -> Value {
    Value::Map(Arc::new(
        labels
            .iter()
            .map(|(k, v)| (Arc::from(k.as_str()), Value::String(v.as_str().into())))
            .collect(),
    ))
}

/// A query result sample as Prometheus' templates see one: `.Labels` and `.Value`.
fn sample_value(labels: &Labels, value: f64) -> Value {
    map([
        ("Labels", labels_value(labels)),
        ("Value", Value::Float(value)),
    ])
}

pub fn fail(message: impl Into<String>) -> TemplateError {
    TemplateError::Exec(message.into())
}

pub fn arg<'a>(args: &'a [Value], i: usize, function: &str) -> gotmpl::Result<&'a Value> {
    args.get(i)
        .ok_or_else(|| fail(format!("wrong number of args for {function}")))
}

pub fn string_arg(args: &[Value], i: usize, function: &str) -> gotmpl::Result<String> {
    match arg(args, i, function)? {
        Value::String(s) => Ok(s.to_string()),
        // A missing label: Go's would be "".
        Value::Nil => Ok(String::new()),
        other => Err(fail(format!(
            "{function}: expected a string, got {}",
            other.type_name()
        ))),
    }
}

/// Prometheus' `convertToFloat`: numbers as they are, strings parsed as Go parses them.
fn to_float(value: &Value) -> gotmpl::Result<f64> {
    match value {
        Value::Int(n) => Ok(*n as f64),
        Value::Uint(n) => Ok(*n as f64),
        Value::Float(f) => Ok(*f),
        Value::String(s) => parse_go_float(s)
            .ok_or_else(|| fail(format!("strconv.ParseFloat: parsing {s:?}: invalid syntax"))),
        other => Err(fail(format!(
            "can't convert {} to float",
            other.type_name()
        ))),
    }
}

fn parse_go_float(s: &str) -> Option<f64> {
    match s.trim_start_matches('+').to_ascii_lowercase().as_str() {
        "inf" | "infinity" => return Some(f64::INFINITY),
        "-inf" | "-infinity" => return Some(f64::NEG_INFINITY),
        "nan" => return Some(f64::NAN),
        _ => {}
    }
    s.replace('_', "").parse().ok()
}

fn sample_of(value: &Value) -> gotmpl::Result<(&Value, f64)> {
    let labels = value.field("Labels");
    let number = value.field("Value").and_then(Value::as_float);
    match (labels, number) {
        (Some(labels), Some(number)) => Ok((labels, number)),
        _ => Err(fail("expected a query result sample")),
    }
}

fn functions(template: Template, query: Option<QueryFn>, external_url: &str) -> Template {
    let external_url = external_url.to_string();
    string_functions(template)
        .func("query", move |args| {
            let expr = string_arg(args, 0, "query")?;
            let query = query
                .as_ref()
                .ok_or_else(|| fail("query is not available here"))?;
            let samples = query(&expr).map_err(fail)?;
            Ok(Value::List(
                samples
                    .iter()
                    .map(|(labels, value)| sample_value(labels, *value))
                    .collect(),
            ))
        })
        .func("first", |args| match arg(args, 0, "first")? {
            Value::List(items) => items
                .first()
                .cloned()
                .ok_or_else(|| fail("first() called on vector with no elements")),
            other => Err(fail(format!(
                "first: expected a vector, got {}",
                other.type_name()
            ))),
        })
        .func("label", |args| {
            let name = string_arg(args, 0, "label")?;
            let (labels, _) = sample_of(arg(args, 1, "label")?)?;
            Ok(labels
                .field(&name)
                .cloned()
                .unwrap_or(Value::String("".into())))
        })
        .func("value", |args| {
            let (_, value) = sample_of(arg(args, 0, "value")?)?;
            Ok(Value::Float(value))
        })
        .func("strvalue", |args| {
            let (labels, _) = sample_of(arg(args, 0, "strvalue")?)?;
            Ok(labels
                .field("__value__")
                .cloned()
                .unwrap_or(Value::String("".into())))
        })
        .func("sortByLabel", |args| {
            let name = string_arg(args, 0, "sortByLabel")?;
            let Value::List(items) = arg(args, 1, "sortByLabel")? else {
                return Err(fail("sortByLabel: expected a vector"));
            };
            let mut items: Vec<Value> = items.to_vec();
            let key = |v: &Value| {
                v.field("Labels")
                    .and_then(|l| l.field(&name))
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_string()
            };
            items.sort_by_key(key);
            Ok(Value::List(items.into()))
        })
        .func("args", |args| {
            let entries: BTreeMap<Arc<str>, Value> = args
                .iter()
                .enumerate()
                .map(|(i, v)| (Arc::from(format!("arg{i}").as_str()), v.clone()))
                .collect();
            Ok(Value::Map(Arc::new(entries)))
        })
        .func("stripPort", |args| {
            let text = string_arg(args, 0, "stripPort")?;
            Ok(Value::String(
                split_host_port(&text)
                    .map_or(text.clone(), |(host, _)| host)
                    .into(),
            ))
        })
        .func("stripDomain", |args| {
            Ok(Value::String(
                strip_domain(&string_arg(args, 0, "stripDomain")?).into(),
            ))
        })
        .func("humanize", |args| {
            Ok(Value::String(
                humanize(to_float(arg(args, 0, "humanize")?)?).into(),
            ))
        })
        .func("humanize1024", |args| {
            Ok(Value::String(
                humanize1024(to_float(arg(args, 0, "humanize1024")?)?).into(),
            ))
        })
        .func("humanizeDuration", |args| {
            Ok(Value::String(
                humanize_duration(to_float(arg(args, 0, "humanizeDuration")?)?).into(),
            ))
        })
        .func("humanizePercentage", |args| {
            let v = to_float(arg(args, 0, "humanizePercentage")?)?;
            Ok(Value::String(format!("{}%", go_g(v * 100.0, 4)).into()))
        })
        .func("humanizeTimestamp", |args| {
            let v = to_float(arg(args, 0, "humanizeTimestamp")?)?;
            humanize_timestamp(v)
                .map(|s| Value::String(s.into()))
                .map_err(fail)
        })
        .func("parseDuration", |args| {
            let text = string_arg(args, 0, "parseDuration")?;
            promql::parse_duration(&text)
                .map(|ms| Value::Float(ms as f64 / 1000.0))
                .map_err(fail)
        })
        .func("graphLink", {
            let external_url = external_url.clone();
            move |args| {
                Ok(Value::String(
                    explore_link(&external_url, &string_arg(args, 0, "graphLink")?, "graph").into(),
                ))
            }
        })
        .func("tableLink", {
            let external_url = external_url.clone();
            move |args| {
                Ok(Value::String(
                    explore_link(&external_url, &string_arg(args, 0, "tableLink")?, "table").into(),
                ))
            }
        })
        .func("externalURL", move |_| {
            Ok(Value::String(external_url.as_str().into()))
        })
}

/// The string functions Prometheus' and Alertmanager's templates share: `reReplaceAll`,
/// `match`, `title`, `toUpper`, `toLower`.
pub fn string_functions(template: Template) -> Template {
    template
        .func("reReplaceAll", |args| {
            let pattern = string_arg(args, 0, "reReplaceAll")?;
            let replacement = string_arg(args, 1, "reReplaceAll")?;
            let text = string_arg(args, 2, "reReplaceAll")?;
            let re = regex::Regex::new(&pattern).map_err(|e| fail(e.to_string()))?;
            Ok(Value::String(
                re.replace_all(&text, replacement.as_str()).as_ref().into(),
            ))
        })
        .func("match", |args| {
            let pattern = string_arg(args, 0, "match")?;
            let text = string_arg(args, 1, "match")?;
            let re = regex::Regex::new(&pattern).map_err(|e| fail(e.to_string()))?;
            Ok(Value::Bool(re.is_match(&text)))
        })
        .func("title", |args| {
            Ok(Value::String(title(&string_arg(args, 0, "title")?).into()))
        })
        .func("toUpper", |args| {
            Ok(Value::String(
                string_arg(args, 0, "toUpper")?.to_uppercase().into(),
            ))
        })
        .func("toLower", |args| {
            Ok(Value::String(
                string_arg(args, 0, "toLower")?.to_lowercase().into(),
            ))
        })
}

/// A link to the expression in Explore, as a graph or as a table.
fn explore_link(external_url: &str, expr: &str, view: &str) -> String {
    format!(
        "{}/explore?expr={}&view={view}",
        external_url.trim_end_matches('/'),
        gotmpl::url_encode(expr)
    )
}

/// Go's `strings.Title`: the first letter of every word in upper case.
pub fn title(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut previous: Option<char> = None;
    for c in text.chars() {
        let starts_word = previous.is_none_or(|p| !(p.is_alphanumeric() || p == '_' || p == '\''));
        if starts_word {
            out.extend(c.to_uppercase());
        } else {
            out.push(c);
        }
        previous = Some(c);
    }
    out
}

/// Go's `net.SplitHostPort`.
fn split_host_port(text: &str) -> Option<(String, String)> {
    if let Some(rest) = text.strip_prefix('[') {
        let (host, after) = rest.split_once(']')?;
        let port = after.strip_prefix(':')?;
        if port.contains(':') || host.contains(']') {
            return None;
        }
        return Some((host.to_string(), port.to_string()));
    }
    let (host, port) = text.rsplit_once(':')?;
    if host.contains(':') {
        return None;
    }
    Some((host.to_string(), port.to_string()))
}

/// Prometheus' `stripDomain`: the host's first label, an IP address as it is, the port kept.
fn strip_domain(text: &str) -> String {
    let (host, port) = match split_host_port(text) {
        Some((host, port)) => (host, Some(port)),
        None => (text.to_string(), None),
    };
    if host.parse::<std::net::IpAddr>().is_ok() {
        return text.to_string();
    }
    let short = host.split('.').next().unwrap_or("");
    match port {
        Some(port) => format!("{short}:{port}"),
        None => short.to_string(),
    }
}

fn humanize(mut v: f64) -> String {
    if v == 0.0 || !v.is_finite() {
        return go_g(v, 4);
    }
    let prefixes: &[&str] = if v.abs() >= 1.0 {
        &["k", "M", "G", "T", "P", "E", "Z", "Y"]
    } else {
        &["m", "u", "n", "p", "f", "a", "z", "y"]
    };
    let big = v.abs() >= 1.0;
    let mut prefix = "";
    for p in prefixes {
        if (big && v.abs() < 1000.0) || (!big && v.abs() >= 1.0) {
            break;
        }
        prefix = p;
        if big {
            v /= 1000.0;
        } else {
            v *= 1000.0;
        }
    }
    format!("{}{prefix}", go_g(v, 4))
}

fn humanize1024(mut v: f64) -> String {
    if v.abs() <= 1.0 || !v.is_finite() {
        return go_g(v, 4);
    }
    let mut prefix = "";
    for p in ["ki", "Mi", "Gi", "Ti", "Pi", "Ei", "Zi", "Yi"] {
        if v.abs() < 1024.0 {
            break;
        }
        prefix = p;
        v /= 1024.0;
    }
    format!("{}{prefix}", go_g(v, 4))
}

fn humanize_duration(mut v: f64) -> String {
    if !v.is_finite() {
        return go_g(v, 4);
    }
    if v == 0.0 {
        return format!("{}s", go_g(v, 4));
    }
    if v.abs() >= 1.0 {
        let sign = if v < 0.0 { "-" } else { "" };
        v = v.abs();
        let whole = v as i64;
        let (seconds, minutes, hours, days) = (
            whole % 60,
            (whole / 60) % 60,
            (whole / 3600) % 24,
            whole / 86400,
        );
        return if days != 0 {
            format!("{sign}{days}d {hours}h {minutes}m {seconds}s")
        } else if hours != 0 {
            format!("{sign}{hours}h {minutes}m {seconds}s")
        } else if minutes != 0 {
            format!("{sign}{minutes}m {seconds}s")
        } else {
            format!("{sign}{}s", go_g(v, 4))
        };
    }
    let mut prefix = "";
    for p in ["m", "u", "n", "p", "f", "a", "z", "y"] {
        if v.abs() >= 1.0 {
            break;
        }
        prefix = p;
        v *= 1000.0;
    }
    format!("{}{prefix}s", go_g(v, 4))
}

/// Go's `fmt.Sprint(time.Time)` of a Unix time in seconds, at Prometheus' millisecond
/// precision: `2015-06-23 13:19:44.128 +0000 UTC`.
fn humanize_timestamp(v: f64) -> Result<String, String> {
    if !v.is_finite() {
        return Ok(go_g(v, 4));
    }
    let ns = v * 1e9;
    if ns >= i64::MAX as f64 || ns < i64::MIN as f64 {
        return Err(format!(
            "{} cannot be represented as a nanoseconds timestamp since it overflows int64",
            go_v(v)
        ));
    }
    let ms = (ns as i64) / 1_000_000;
    Ok(format_utc_ms(ms))
}

/// `YYYY-MM-DD hh:mm:ss[.fff] +0000 UTC` for a time in ms since the epoch.
pub fn format_utc_ms(ms: i64) -> String {
    let seconds = ms.div_euclid(1000);
    let millis = ms.rem_euclid(1000);
    let days = seconds.div_euclid(86400);
    let of_day = seconds.rem_euclid(86400);
    let (y, m, d) = civil_from_days(days);
    let mut out = format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02}",
        of_day / 3600,
        of_day / 60 % 60,
        of_day % 60
    );
    if millis != 0 {
        let fraction = format!("{millis:03}");
        out.push('.');
        out.push_str(fraction.trim_end_matches('0'));
    }
    out.push_str(" +0000 UTC");
    out
}

/// The proleptic Gregorian date of a day count since 1970-01-01 (Howard Hinnant's algorithm).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// Go's `%.<prec>g`: `prec` significant digits, exponent form below 1e-4 or from 10^prec,
/// trailing zeros dropped.
pub fn go_g(v: f64, prec: usize) -> String {
    if v.is_nan() {
        return "NaN".into();
    }
    if v.is_infinite() {
        return if v > 0.0 { "+Inf" } else { "-Inf" }.into();
    }
    if v == 0.0 {
        return if v.is_sign_negative() { "-0" } else { "0" }.into();
    }
    let prec = prec.max(1);
    let scientific = format!("{:.*e}", prec - 1, v);
    let (mantissa, exp) = scientific.split_once('e').unwrap_or((&scientific, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    if exp < -4 || exp >= prec as i32 {
        let mantissa = trim_zeros(mantissa);
        let sign = if exp < 0 { '-' } else { '+' };
        format!("{mantissa}e{sign}{:02}", exp.abs())
    } else {
        let decimals = (prec as i32 - 1 - exp).max(0) as usize;
        trim_zeros(&format!("{v:.decimals$}")).to_string()
    }
}

/// Go's `%v` of a float64: the shortest form that reads back, exponent form below 1e-4 or
/// from 1e6.
pub fn go_v(v: f64) -> String {
    if !v.is_finite() || v == 0.0 {
        return go_g(v, 1);
    }
    let shortest = format!("{v:e}");
    let (mantissa, exp) = shortest.split_once('e').unwrap_or((&shortest, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    if !(-4..6).contains(&exp) {
        let sign = if exp < 0 { '-' } else { '+' };
        format!("{mantissa}e{sign}{:02}", exp.abs())
    } else {
        format!("{v}")
    }
}

fn trim_zeros(text: &str) -> &str {
    if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.')
    } else {
        text
    }
}

#[cfg(test)]
mod tests;
