//! Alertmanager's notification templates: Go's text/template over Alertmanager's data
//! (`.Receiver`, `.Status`, `.Alerts`, `.GroupLabels`, `.CommonLabels`, `.CommonAnnotations`,
//! `.ExternalURL`), its default definitions (`default.tmpl`, loaded first as Alertmanager loads
//! it) and a tenant's own template files, whose `{{ define }}` blocks replace a default of the
//! same name.
//!
//! Alertmanager's data has methods (`.Alerts.Firing`, `.Labels.SortedPairs`, `.Values`,
//! `.CommonLabels.Remove .GroupLabels.Names`, `.StartsAt.Format "…"`) that Go calls through
//! reflection. `gotmpl` has no methods, so each parsed tree is rewritten once: a method in a
//! field chain becomes a call of a function that does what the method does
//! (`.GroupLabels.SortedPairs.Values` → `(__values (__sortedPairs .GroupLabels))`).
//!
//! The functions are Alertmanager 0.25's: `toUpper`, `toLower`, `title`, `join`, `match`,
//! `safeHtml`, `reReplaceAll`, `stringSlice`, and `trimSpace` from later versions.

use std::{
    collections::{BTreeMap, BTreeSet},
    sync::Arc,
};

use chrono::{NaiveDateTime, TimeZone, Utc};
use gotmpl::{
    parse::{CommandNode, Expr, ListNode, Node, PipeNode, SmolStr},
    Template, Value,
};
use rules::template::{arg, check_calls, fail, string_arg, string_functions};

use crate::{
    alert::fingerprint_hex,
    bodies::escape_html,
    webhook::{Message, Notified},
    Labels,
};

/// Alertmanager 0.25's `template/default.tmpl` (Apache 2.0, see `template/SOURCE.txt`).
const DEFAULTS: &str = include_str!("template/default.tmpl");

/// The name a field's own text is parsed under.
const FIELD: &str = "__meridian_field";

/// Methods without arguments, and the functions that stand in for them.
const METHODS: [(&str, &str); 5] = [
    ("Firing", "__firing"),
    ("Resolved", "__resolved"),
    ("SortedPairs", "__sortedPairs"),
    ("Names", "__names"),
    ("Values", "__values"),
];

/// Methods that take arguments; Go's template syntax allows them only at a command's start.
const METHODS_WITH_ARGS: [(&str, &str); 2] = [("Remove", "__remove"), ("Format", "__format")];


/// The defaults and a tenant's template files, parsed and rewritten, ready to render fields.
#[derive(Clone)]
pub struct Templates {
    base: Template,
    /// The definitions in `base`: a field's own `{{ define }}`s are the ones not here.
    known: BTreeSet<String>,
    /// The definitions a tenant's files make (so that Meridian's own bodies stand in for the
    /// defaults only while nobody changed them).
    pub customised: BTreeSet<String>,
}

impl std::fmt::Debug for Templates {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Templates").field("known", &self.known.len()).field("customised", &self.customised).finish()
    }
}

impl Default for Templates {
    fn default() -> Self {
        Templates::new(&BTreeMap::new()).expect("Alertmanager's default templates parse")
    }
}

impl Templates {
    /// The defaults, then each file in name order. An error names the file and Go's
    /// `template: name:line:column` place.
    pub fn new(files: &BTreeMap<String, String>) -> Result<Self, (String, String)> {
        let mut base = functions(Template::new(FIELD)).parse(DEFAULTS).map_err(|e| ("default.tmpl".to_string(), e.to_string()))?;
        let mut customised = BTreeSet::new();
        for (name, text) in files {
            let own = functions(Template::new(FIELD)).parse(text).map_err(|e| (name.clone(), e.to_string()))?;
            customised.extend(own.templates().into_iter().map(str::to_string));
            base = base.parse(text).map_err(|e| (name.clone(), e.to_string()))?;
        }
        let known: BTreeSet<String> = base.templates().into_iter().map(str::to_string).collect();
        let base = rewrite_all(base, |_| true);
        for (name, _) in files {
            check_templates(&base, name)?;
        }
        customised.retain(|n| n != FIELD);
        Ok(Templates { base, known, customised })
    }

    /// Renders a receiver's field (`title`, `text`, `html`, a header) with the data.
    pub fn render(&self, text: &str, data: &Value) -> Result<String, String> {
        if !text.contains("{{") {
            return Ok(text.to_string());
        }
        let parsed = self.base.clone().parse(text).map_err(|e| e.to_string())?;
        let known = &self.known;
        let parsed = rewrite_all(parsed, |name| name == FIELD || !known.contains(name));
        if parsed.lookup(FIELD).is_none() {
            // Nothing but comments.
            return Ok(String::new());
        }
        let out = parsed.execute_template_to_string(FIELD, data).map_err(|e| e.to_string())?;
        // Alertmanager's maps are Go `map[string]string`s: a missing key prints as "".
        Ok(out.replace("<no value>", ""))
    }

    /// Checks that a field parses and calls only functions that exist (for validation).
    pub fn check(&self, text: &str) -> Result<(), String> {
        if !text.contains("{{") {
            return Ok(());
        }
        let parsed = self.base.clone().parse(text).map_err(|e| e.to_string())?;
        let known = &self.known;
        let parsed = rewrite_all(parsed, |name| name == FIELD || !known.contains(name));
        check_templates(&parsed, FIELD).map_err(|(_, e)| e)
    }

    /// Whether `text` is exactly a call of one of Alertmanager's defaults that no file of the
    /// tenant replaces, so that Meridian's own richer body (buttons, links) may stand in.
    pub fn is_default_call(&self, text: &str) -> bool {
        let inner = text.trim().strip_prefix("{{").and_then(|t| t.strip_suffix("}}")).map(str::trim);
        let Some(name) = inner.and_then(|t| t.strip_prefix("template ")).and_then(|t| t.trim().strip_suffix('.')) else {
            return false;
        };
        let name = name.trim().trim_matches('"');
        !self.customised.iter().any(|c| depends_on(&self.base, name, c, &mut BTreeSet::new()))
    }
}

/// A notification's texts from a receiver's templates; `None` where the field calls
/// Alertmanager's default unchanged, so that Meridian's own body (with its links and buttons)
/// stands in for it.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Texts {
    /// Slack's title, an e-mail's subject, PagerDuty's summary.
    pub title: Option<String>,
    pub text: Option<String>,
    pub html: Option<String>,
    /// PagerDuty's custom details.
    pub details: Option<BTreeMap<String, String>>,
}

impl Templates {
    /// Renders what `integration` sends for `message`. An error names the field.
    pub fn texts(&self, integration: &crate::config::Integration, message: &Message) -> Result<Texts, String> {
        use crate::config::Integration;
        let plain = data(message, false);
        let own = |text: &str| text.trim().is_empty() || self.is_default_call(text);
        let field = |name: &str, text: &str, data: &Value| -> Result<Option<String>, String> {
            if own(text) {
                return Ok(None);
            }
            self.render(text, data).map(Some).map_err(|e| format!("template of {name}: {e}"))
        };
        Ok(match integration {
            Integration::Slack { title, text, .. } => Texts {
                title: field("title", title, &plain)?,
                text: field("text", text, &plain)?,
                ..Texts::default()
            },
            Integration::Email { html, text, headers, .. } => {
                let subject = headers.iter().find(|(k, _)| k.eq_ignore_ascii_case("subject")).map(|(_, v)| v.as_str());
                Texts {
                    title: match subject {
                        Some(s) => field("headers.Subject", s, &plain)?,
                        None => None,
                    },
                    text: field("text", text, &plain)?,
                    html: field("html", html, &data(message, true))?,
                    details: None,
                }
            }
            Integration::PagerDuty { description, details, .. } => Texts {
                title: field("description", description, &plain)?,
                details: if details.is_empty() {
                    None
                } else {
                    let mut out = BTreeMap::new();
                    for (key, text) in details {
                        out.insert(key.clone(), self.render(text, &plain).map_err(|e| format!("template of details.{key}: {e}"))?);
                    }
                    Some(out)
                },
                ..Texts::default()
            },
            _ => Texts::default(),
        })
    }
}

/// Whether template `name` is or calls (directly or not) template `target`.
fn depends_on(base: &Template, name: &str, target: &str, seen: &mut BTreeSet<String>) -> bool {
    if name == target {
        return true;
    }
    if !seen.insert(name.to_string()) {
        return false;
    }
    let mut called = Vec::new();
    if let Some(tree) = base.lookup(name) {
        template_calls(&tree.nodes, &mut called);
    }
    called.iter().any(|c| depends_on(base, c, target, seen))
}

fn template_calls(nodes: &[Node], out: &mut Vec<String>) {
    for node in nodes {
        match node {
            Node::List(list) => template_calls(&list.nodes, out),
            Node::If(b) | Node::Range(b) | Node::With(b) => {
                template_calls(&b.body.nodes, out);
                if let Some(other) = &b.else_body {
                    template_calls(&other.nodes, out);
                }
            }
            Node::Template(t) => out.push(t.name.to_string()),
            _ => {}
        }
    }
}

/// Go's parser refuses unknown functions; `gotmpl` finds out only when it runs.
fn check_templates(template: &Template, file: &str) -> Result<(), (String, String)> {
    for name in template.templates() {
        if let Some(tree) = template.lookup(name) {
            check_calls(&tree.nodes, FUNCTIONS).map_err(|e| (file.to_string(), format!("template {name:?}: {e}")))?;
        }
    }
    Ok(())
}


/// Go's built-in functions, Alertmanager's, and the stand-ins for its methods.
const FUNCTIONS: &[&str] = &[
    "and", "call", "html", "index", "slice", "js", "len", "not", "or", "print", "printf", "println", "urlquery", "eq", "ge",
    "gt", "le", "lt", "ne", "toUpper", "toLower", "title", "join", "match", "safeHtml", "reReplaceAll", "stringSlice",
    "trimSpace", "__firing", "__resolved", "__sortedPairs", "__names", "__values", "__remove", "__format",
];

/// The data Alertmanager gives a notification's templates. With `escape`, every string that
/// comes from the alerts is HTML-escaped, for a field that is HTML (Alertmanager renders those
/// with html/template, which escapes as it prints).
pub fn data(message: &Message, escape: bool) -> Value {
    let text = |s: &str| Value::String(if escape { escape_html(s) } else { s.to_string() }.into());
    let kv = |labels: &Labels| Value::Map(Arc::new(labels.iter().map(|(k, v)| (Arc::from(k.as_str()), text(v))).collect()));
    let alerts: Vec<Value> = message
        .alerts
        .iter()
        .map(|a: &Notified| {
            map([
                ("Status", Value::String(if a.resolved { "resolved" } else { "firing" }.into())),
                ("Labels", kv(&a.alert.labels)),
                ("Annotations", kv(&a.alert.annotations)),
                ("StartsAt", Value::String(go_time_string(Some(a.alert.starts_at)).into())),
                ("EndsAt", Value::String(go_time_string(a.resolved.then_some(a.alert.ends_at)).into())),
                ("GeneratorURL", text(&a.alert.generator_url)),
                ("Fingerprint", Value::String(fingerprint_hex(a.alert.fingerprint()).into())),
            ])
        })
        .collect();
    map([
        ("Receiver", text(&message.receiver)),
        ("Status", Value::String(message.status().into())),
        ("Alerts", Value::List(alerts.into())),
        ("GroupLabels", kv(&message.group_labels)),
        ("CommonLabels", kv(&message.common_labels())),
        ("CommonAnnotations", kv(&message.common_annotations())),
        ("ExternalURL", text(&message.external_url)),
    ])
}

fn map<const N: usize>(entries: [(&str, Value); N]) -> Value {
    Value::Map(Arc::new(entries.into_iter().map(|(k, v)| (Arc::from(k), v)).collect()))
}

/// A time as Go prints a `time.Time` (`2026-12-07 10:00:00.5 +0000 UTC`); `None` is Go's zero
/// time, which a firing alert's end is in Alertmanager's data.
fn go_time_string(ms: Option<i64>) -> String {
    match ms.and_then(|ms| Utc.timestamp_millis_opt(ms).single()) {
        Some(t) => {
            let base = t.format("%Y-%m-%d %H:%M:%S").to_string();
            let frac = format!("{:03}", ms.unwrap_or(0).rem_euclid(1000));
            let frac = frac.trim_end_matches('0');
            if frac.is_empty() {
                format!("{base} +0000 UTC")
            } else {
                format!("{base}.{frac} +0000 UTC")
            }
        }
        None => "0001-01-01 00:00:00 +0000 UTC".to_string(),
    }
}

/// Go's `Time.Format` for the layouts templates use, by translating the reference time's
/// parts (`2006-01-02 15:04:05 MST`) to chrono's.
fn go_format(time: &str, layout: &str) -> Result<String, String> {
    let naive = time.trim_end_matches(" +0000 UTC");
    let t = NaiveDateTime::parse_from_str(naive, "%Y-%m-%d %H:%M:%S%.f").map_err(|_| format!("Format: not a time: {time:?}"))?;
    // Longest first, so `2006` is not read as `2` and `01` as `1`.
    const PARTS: [(&str, &str); 28] = [
        ("January", "%B"),
        ("Monday", "%A"),
        ("Z07:00", "Z"),
        ("-07:00", "+00:00"),
        (".000000000", "%.9f"),
        (".000000", "%.6f"),
        (".999999999", "%.f"),
        (".000", "%.3f"),
        (".999", "%.f"),
        ("-0700", "+0000"),
        ("2006", "%Y"),
        ("Jan", "%b"),
        ("Mon", "%a"),
        ("MST", "UTC"),
        ("_2", "%e"),
        ("01", "%m"),
        ("02", "%d"),
        ("15", "%H"),
        ("03", "%I"),
        ("04", "%M"),
        ("05", "%S"),
        ("06", "%y"),
        ("PM", "%p"),
        ("pm", "%P"),
        ("1", "%-m"),
        ("2", "%-d"),
        ("3", "%-I"),
        ("4", "%-M"),
    ];
    let mut out = String::new();
    let mut rest = layout;
    'outer: while !rest.is_empty() {
        for (go, chrono) in PARTS {
            if let Some(after) = rest.strip_prefix(go) {
                out.push_str(chrono);
                rest = after;
                continue 'outer;
            }
        }
        let c = rest.chars().next().unwrap_or_default();
        if c == '5' {
            out.push_str("%-S");
        } else if c == '%' {
            out.push_str("%%");
        } else {
            out.push(c);
        }
        rest = &rest[c.len_utf8()..];
    }
    Ok(t.format(&out).to_string())
}

fn strings(value: &Value, function: &str) -> gotmpl::Result<Vec<String>> {
    match value {
        Value::List(items) => Ok(items.iter().map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_string)).collect()),
        Value::Nil => Ok(Vec::new()),
        other => Err(fail(format!("{function}: expected a list of strings, got {}", other.type_name()))),
    }
}

/// Alertmanager's `KV.SortedPairs`: by name, `alertname` first.
fn sorted_pairs(value: &Value) -> gotmpl::Result<Vec<(Arc<str>, Value)>> {
    let Value::Map(kv) = value else {
        return match value {
            Value::Nil => Ok(Vec::new()),
            other => Err(fail(format!("SortedPairs: expected labels, got {}", other.type_name()))),
        };
    };
    let mut pairs: Vec<(Arc<str>, Value)> = kv.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
    pairs.sort_by(|a, b| (&*a.0 != "alertname", &a.0).cmp(&(&*b.0 != "alertname", &b.0)));
    Ok(pairs)
}

/// `.Names` and `.Values` of labels (`KV`) or of pairs (`Pairs`).
fn names_or_values(value: &Value, names: bool) -> gotmpl::Result<Value> {
    let pick = |name: Arc<str>, v: Value| if names { Value::String(name) } else { v };
    let items: Vec<Value> = match value {
        Value::List(pairs) => pairs
            .iter()
            .map(|p| pick(p.field("Name").and_then(Value::as_str).unwrap_or("").into(), p.field("Value").cloned().unwrap_or(Value::Nil)))
            .collect(),
        other => sorted_pairs(other)?.into_iter().map(|(k, v)| pick(k, v)).collect(),
    };
    Ok(Value::List(items.into()))
}

fn by_status(value: &Value, status: &str) -> gotmpl::Result<Value> {
    match value {
        Value::List(alerts) => Ok(Value::List(
            alerts.iter().filter(|a| a.field("Status").and_then(Value::as_str) == Some(status)).cloned().collect(),
        )),
        other => Err(fail(format!("expected alerts, got {}", other.type_name()))),
    }
}

fn functions(template: Template) -> Template {
    string_functions(template)
        .func("join", |args| {
            let sep = string_arg(args, 0, "join")?;
            Ok(Value::String(strings(arg(args, 1, "join")?, "join")?.join(&sep).into()))
        })
        .func("safeHtml", |args| Ok(Value::String(string_arg(args, 0, "safeHtml")?.into())))
        .func("trimSpace", |args| Ok(Value::String(string_arg(args, 0, "trimSpace")?.trim().into())))
        .func("stringSlice", |args| Ok(Value::List(args.to_vec().into())))
        .func("__firing", |args| by_status(arg(args, 0, "Firing")?, "firing"))
        .func("__resolved", |args| by_status(arg(args, 0, "Resolved")?, "resolved"))
        .func("__sortedPairs", |args| {
            let pairs = sorted_pairs(arg(args, 0, "SortedPairs")?)?;
            Ok(Value::List(pairs.into_iter().map(|(k, v)| map([("Name", Value::String(k)), ("Value", v)])).collect()))
        })
        .func("__names", |args| names_or_values(arg(args, 0, "Names")?, true))
        .func("__values", |args| names_or_values(arg(args, 0, "Values")?, false))
        .func("__remove", |args| {
            let Value::Map(kv) = arg(args, 0, "Remove")? else {
                return Err(fail("Remove: expected labels"));
            };
            let drop: BTreeSet<String> = strings(arg(args, 1, "Remove")?, "Remove")?.into_iter().collect();
            Ok(Value::Map(Arc::new(kv.iter().filter(|(k, _)| !drop.contains(&***k)).map(|(k, v)| (k.clone(), v.clone())).collect())))
        })
        .func("__format", |args| {
            let time = string_arg(args, 0, "Format")?;
            let layout = string_arg(args, 1, "Format")?;
            go_format(&time, &layout).map(|s| Value::String(s.into())).map_err(fail)
        })
}

/// Rewrites the method calls in the named trees that `which` selects.
fn rewrite_all(mut template: Template, which: impl Fn(&str) -> bool) -> Template {
    let names: Vec<String> = template.templates().into_iter().filter(|n| which(n)).map(str::to_string).collect();
    for name in names {
        if let Some(tree) = template.lookup(&name) {
            let mut tree = tree.clone();
            rewrite_list(&mut tree);
            template = template.add_parse_tree(&name, tree);
        }
    }
    template
}

fn rewrite_list(list: &mut ListNode) {
    for node in &mut list.nodes {
        match node {
            Node::List(inner) => rewrite_list(inner),
            Node::Action(action) => rewrite_pipe(&mut action.pipe),
            Node::If(b) | Node::Range(b) | Node::With(b) => {
                rewrite_pipe(&mut b.pipe);
                rewrite_list(&mut b.body);
                if let Some(other) = &mut b.else_body {
                    rewrite_list(other);
                }
            }
            Node::Template(t) => {
                if let Some(p) = &mut t.pipe {
                    rewrite_pipe(p);
                }
            }
            Node::Define(d) => rewrite_list(&mut d.body),
            Node::Text(_) | Node::Break(_) | Node::Continue(_) => {}
        }
    }
}

fn rewrite_pipe(pipe: &mut PipeNode) {
    for command in &mut pipe.commands {
        rewrite_command(command);
    }
}

/// A command that starts with a chain ending in a method with arguments
/// (`.CommonLabels.Remove .GroupLabels.Names`) becomes that function's call; every other
/// argument is rewritten on its own.
fn rewrite_command(command: &mut CommandNode) {
    let args = std::mem::take(&mut command.args);
    let mut args = args.into_iter();
    let Some(first) = args.next() else {
        return;
    };
    let rest: Vec<Expr> = args.map(rewrite_expr).collect();
    let with_args = |fields: &[SmolStr]| fields.last().and_then(|last| METHODS_WITH_ARGS.iter().find(|(m, _)| last == m)).map(|(_, f)| *f);
    let (function, receiver) = match first {
        Expr::Field(pos, fields) if with_args(&fields).is_some() => {
            let f = with_args(&fields).unwrap_or_default();
            (Some(f), chain(Expr::Dot(pos), &fields[..fields.len() - 1]))
        }
        Expr::Variable(pos, name, fields) if with_args(&fields).is_some() => {
            let f = with_args(&fields).unwrap_or_default();
            (Some(f), chain(Expr::Variable(pos, name, Vec::new()), &fields[..fields.len() - 1]))
        }
        Expr::Chain(_, inner, fields) if with_args(&fields).is_some() => {
            let f = with_args(&fields).unwrap_or_default();
            (Some(f), chain(rewrite_expr(*inner), &fields[..fields.len() - 1]))
        }
        other => (None, rewrite_expr(other)),
    };
    command.args = match function {
        Some(f) => {
            let pos = receiver.pos();
            [Expr::Identifier(pos, f.into()), receiver].into_iter().chain(rest).collect()
        }
        None => std::iter::once(receiver).chain(rest).collect(),
    };
}

fn rewrite_expr(expr: Expr) -> Expr {
    match expr {
        Expr::Field(pos, fields) => chain(Expr::Dot(pos), &fields),
        Expr::Variable(pos, name, fields) => chain(Expr::Variable(pos, name, Vec::new()), &fields),
        Expr::Chain(_, inner, fields) => chain(rewrite_expr(*inner), &fields),
        Expr::Pipe(pos, mut pipe) => {
            rewrite_pipe(&mut pipe);
            Expr::Pipe(pos, pipe)
        }
        other => other,
    }
}

/// `base.f1.f2…` with every method in the chain turned into a call on what precedes it.
fn chain(base: Expr, fields: &[SmolStr]) -> Expr {
    let pos = base.pos();
    match fields.iter().position(|f| METHODS.iter().any(|(m, _)| f == m)) {
        None => attach(base, fields),
        Some(i) => {
            let function = METHODS.iter().find(|(m, _)| fields[i] == *m).map(|(_, f)| *f).unwrap_or_default();
            let receiver = attach(base, &fields[..i]);
            let call = Expr::Pipe(
                pos,
                PipeNode {
                    pos,
                    decl: Vec::new(),
                    commands: vec![CommandNode { pos, args: vec![Expr::Identifier(pos, function.into()), receiver] }],
                    is_assign: false,
                },
            );
            chain(call, &fields[i + 1..])
        }
    }
}

/// Plain field access on `base`.
fn attach(base: Expr, fields: &[SmolStr]) -> Expr {
    if fields.is_empty() {
        return base;
    }
    match base {
        Expr::Dot(pos) => Expr::Field(pos, fields.to_vec()),
        Expr::Field(pos, mut own) => {
            own.extend_from_slice(fields);
            Expr::Field(pos, own)
        }
        Expr::Variable(pos, name, mut own) => {
            own.extend_from_slice(fields);
            Expr::Variable(pos, name, own)
        }
        other => Expr::Chain(other.pos(), Box::new(other), fields.to_vec()),
    }
}

#[cfg(test)]
mod tests;
