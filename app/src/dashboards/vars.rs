//! Template variables, resolved for one viewer: the values each may take (from its definition,
//! or for `label_values` / `metrics` / `query_result` from the viewer's own tenants), which are
//! selected (from the URL, else the saved value, else the first or All) and what goes into the
//! queries. A value from the URL must be one of the allowed values; others are dropped and said
//! so, so an edited URL cannot widen a query.

use futures::future::join_all;
use viz::model::Variable;

use super::{
    interpolate::{self, Values},
    run::{Request, Span, Tenants},
    VariableView, ALL,
};
use crate::{query, ssr::AppState};

/// The variable global dashboards have first: which of the viewer's tenants the panels show.
pub const TENANT_VARIABLE: &str = "tenant";

/// The variables as the page shows them, what goes into queries, and what was dropped.
#[derive(Default)]
pub struct Resolved {
    pub views: Vec<VariableView>,
    pub values: Values,
    pub notices: Vec<String>,
}

/// Splits Grafana's custom list: `a, b, c` or `text : value` pairs; `\,` keeps a comma.
fn custom_options(query: &str) -> Vec<(String, String)> {
    let mut items = Vec::new();
    let mut current = String::new();
    let mut chars = query.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' if chars.peek() == Some(&',') => current.push(chars.next().unwrap_or(',')),
            ',' => items.push(std::mem::take(&mut current)),
            c => current.push(c),
        }
    }
    items.push(current);
    items
        .into_iter()
        .map(|item| item.trim().to_string())
        .filter(|item| !item.is_empty())
        .map(|item| match item.split_once(" : ") {
            Some((text, value)) => (text.trim().to_string(), value.trim().to_string()),
            None => (item.clone(), item),
        })
        .collect()
}

/// The function call and its arguments of a query variable (`label_values(up, job)`).
fn call(query: &str) -> Option<(&str, Vec<&str>)> {
    let query = query.trim();
    let open = query.find('(')?;
    let inner = query[open + 1..].strip_suffix(')')?;
    let name = query[..open].trim();
    // The last comma outside braces and quotes separates label_values' two arguments.
    let mut depth = 0i32;
    let mut quote = None;
    let mut split = None;
    for (i, c) in inner.char_indices() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '"' | '\'' | '`') => quote = Some(c),
            (None, '{' | '(' | '[') => depth += 1,
            (None, '}' | ')' | ']') => depth -= 1,
            (None, ',') if depth == 0 => split = Some(i),
            _ => {}
        }
    }
    let args = match split {
        Some(i) if name == "label_values" => vec![inner[..i].trim(), inner[i + 1..].trim()],
        _ => vec![inner.trim()],
    };
    Some((name, args))
}

/// The values a query variable offers, from each of the tenants its queries run in.
async fn query_options(
    state: &AppState,
    tenants: &Tenants,
    query: &str,
    span: &Span,
) -> Result<Vec<String>, String> {
    let (name, args) = call(query).ok_or_else(|| {
        format!("{query:?} is not label_values(…), metrics(…) or query_result(…)")
    })?;
    let mut found = std::collections::BTreeSet::new();
    let ids: Vec<uuid::Uuid> = tenants.selected.iter().map(|(id, _)| *id).collect();
    let range = (span.from, span.to);
    match (name, &args[..]) {
        ("label_values", [label]) | ("label_values", [_, label]) if !label.is_empty() => {
            let selector = (args.len() == 2).then(|| args[0]);
            let answers = join_all(
                ids.iter()
                    .map(|t| query::label_values(state, *t, selector, label, range)),
            )
            .await;
            for answer in answers {
                found.extend(answer.map_err(|e| e.to_string())?);
            }
        }
        ("metrics", [pattern]) => {
            let pattern = regex::Regex::new(pattern).map_err(|e| e.to_string())?;
            let answers = join_all(
                ids.iter()
                    .map(|t| query::label_values(state, *t, None, "__name__", range)),
            )
            .await;
            for answer in answers {
                found.extend(
                    answer
                        .map_err(|e| e.to_string())?
                        .into_iter()
                        .filter(|n| pattern.is_match(n)),
                );
            }
        }
        ("query_result", [expr]) => {
            let answers = join_all(
                ids.iter()
                    .map(|t| query::evaluate(state, *t, expr, (span.to, span.to, 0))),
            )
            .await;
            for answer in answers {
                if let promql::Value::Vector(samples) = answer.map_err(|e| e.to_string())? {
                    found.extend(samples.iter().map(|s| {
                        format!(
                            "{} {} {}",
                            crate::query::show_labels(&s.labels),
                            promql::format_float(s.v),
                            s.t
                        )
                    }));
                }
            }
        }
        _ => return Err(format!("{name}(…) is not a variable query Meridian runs")),
    }
    Ok(found.into_iter().collect())
}

/// Grafana's variable regex: keeps matching values; a capture group (or the named groups
/// `text` and `value`) picks what is shown and used.
fn apply_regex(pattern: &str, values: Vec<String>) -> Result<Vec<(String, String)>, String> {
    if pattern.is_empty() {
        return Ok(values.into_iter().map(|v| (v.clone(), v)).collect());
    }
    let body = pattern
        .strip_prefix('/')
        .and_then(|p| p.rsplit_once('/'))
        .map_or(pattern, |(body, _)| body);
    let re = regex::Regex::new(body).map_err(|e| format!("regex {pattern:?}: {e}"))?;
    let mut out: Vec<(String, String)> = Vec::new();
    for value in values {
        let Some(caps) = re.captures(&value) else {
            continue;
        };
        let named = |n: &str| caps.name(n).map(|m| m.as_str().to_string());
        let first = caps.get(1).map(|m| m.as_str().to_string());
        let picked = named("value")
            .or_else(|| first.clone())
            .unwrap_or(value.clone());
        let text = named("text").unwrap_or_else(|| picked.clone());
        if !out.iter().any(|(_, v)| *v == picked) {
            out.push((text, picked));
        }
    }
    Ok(out)
}

/// Grafana's variable sort orders (1–2 alphabetical, 3–4 numerical, 5–6 case-insensitive).
fn sort(options: &mut [(String, String)], order: u32) {
    let number = |s: &str| {
        s.chars()
            .skip_while(|c| !c.is_ascii_digit() && *c != '-')
            .take_while(|c| c.is_ascii_digit() || *c == '.' || *c == '-')
            .collect::<String>()
            .parse::<f64>()
            .unwrap_or(f64::NAN)
    };
    match order {
        1 | 2 => options.sort_by(|a, b| a.0.cmp(&b.0)),
        3 | 4 => options.sort_by(|a, b| number(&a.0).total_cmp(&number(&b.0))),
        5 | 6 => options.sort_by_key(|a| a.0.to_lowercase()),
        _ => {}
    }
    if order.is_multiple_of(2) && order > 0 {
        options.reverse();
    }
}

/// The options of one variable; `Err` is a message for the page.
async fn options_of(
    state: &AppState,
    tenants: &Tenants,
    variable: &Variable,
    values: &Values,
    span: &Span,
) -> Result<Vec<(String, String)>, String> {
    let query = variable.query_text();
    let mut options = match variable.kind.as_str() {
        "custom" => custom_options(query),
        "interval" => {
            let mut options = custom_options(query);
            if variable.auto {
                options.insert(0, ("auto".into(), "$__auto_interval".into()));
            }
            options
        }
        "constant" => vec![(query.to_string(), query.to_string())],
        "query" => {
            // A chained variable's query holds the values chosen before it.
            let query = interpolate::interpolate(query, values)?;
            let found = query_options(state, tenants, &query, span).await?;
            apply_regex(&variable.regex, found)?
        }
        other => return Err(format!("variables of type {other:?} are not supported")),
    };
    if variable.kind == "query" {
        sort(&mut options, variable.sort);
    }
    Ok(options)
}

/// The value of an interval variable's `auto`: the span in `auto_count` steps, at least
/// `auto_min`, as Grafana computes it.
fn auto_interval(variable: &Variable, span: &Span) -> String {
    let count = if variable.auto_count == 0 {
        30
    } else {
        variable.auto_count
    } as i64;
    let min = promql::parse_duration(&variable.auto_min).unwrap_or(10_000);
    viz::time::duration_text(((span.to - span.from) / count).max(min))
}

/// Which values are selected: the URL's that are allowed, else the saved ones that are, else
/// All (when offered) or the first value.
fn selection(
    variable: &Variable,
    options: &[(String, String)],
    request: &Request,
    notices: &mut Vec<String>,
) -> Vec<String> {
    let allowed =
        |v: &str| (v == ALL && variable.include_all) || options.iter().any(|(_, o)| o == v);
    let from_url = request.all(&format!("var-{}", variable.name));
    let mut chosen: Vec<String> = Vec::new();
    for value in from_url.iter().filter(|v| !v.is_empty()) {
        if allowed(value) {
            chosen.push(value.to_string());
        } else {
            notices.push(format!(
                "{:?} is not a value of ${}; it was left out.",
                value, variable.name
            ));
        }
    }
    if chosen.is_empty() {
        chosen = variable
            .current_values()
            .into_iter()
            .filter(|v| allowed(v))
            .collect();
    }
    if chosen.is_empty() {
        chosen = match (variable.include_all, options.first()) {
            (true, _) => vec![ALL.to_string()],
            (false, Some((_, first))) => vec![first.clone()],
            (false, None) => Vec::new(),
        };
    }
    if !variable.multi || chosen.iter().any(|v| v == ALL) {
        chosen.truncate(1);
        if chosen.iter().any(|v| v == ALL) {
            chosen = vec![ALL.to_string()];
        }
    }
    chosen
}

/// The `tenant` variable of a global dashboard: the tenants the viewer sees (but the system
/// tenant, which holds Meridian's own metrics), several at once, All by default.
pub fn tenant_variable(names: &[String]) -> Variable {
    Variable {
        name: TENANT_VARIABLE.into(),
        label: "Tenant".into(),
        kind: "custom".into(),
        query: serde_json::Value::String(
            names
                .iter()
                .map(|n| n.replace(',', "\\,"))
                .collect::<Vec<_>>()
                .join(","),
        ),
        multi: true,
        include_all: true,
        ..Variable::default()
    }
}

/// Resolves `variables` in order into `resolved` (each sees the values chosen before it). On a
/// global dashboard a variable of its own named `tenant` is skipped: that name is the tenants'.
pub async fn resolve(
    state: &AppState,
    tenants: &Tenants,
    variables: &[Variable],
    request: &Request,
    span: &Span,
    resolved: &mut Resolved,
) {
    for variable in variables {
        if variable.kind == "datasource" || variable.name.is_empty() {
            continue;
        }
        if resolved.values.contains_key(&variable.name) {
            continue;
        }
        let textbox = variable.kind == "textbox";
        let mut error = None;
        let options = if textbox {
            Vec::new()
        } else {
            match options_of(state, tenants, variable, &resolved.values, span).await {
                Ok(options) => options,
                Err(message) => {
                    error = Some(message);
                    Vec::new()
                }
            }
        };
        let selected = if textbox {
            vec![request
                .get(&format!("var-{}", variable.name))
                .map(str::to_string)
                .or_else(|| variable.current_values().into_iter().next())
                .unwrap_or_else(|| variable.query_text().to_string())]
        } else {
            selection(variable, &options, request, &mut resolved.notices)
        };
        let all = selected.iter().any(|v| v == ALL);
        let mut values: Vec<String> = if all {
            options.iter().map(|(_, v)| v.clone()).collect()
        } else {
            selected.clone()
        };
        if variable.kind == "interval"
            && values.first().map(String::as_str) == Some("$__auto_interval")
        {
            values = vec![auto_interval(variable, span)];
        }
        resolved.values.insert(
            variable.name.clone(),
            interpolate::Value {
                values,
                regex: variable.multi || variable.include_all,
                raw: (all && !variable.all_value.is_empty()).then(|| variable.all_value.clone()),
            },
        );
        resolved.views.push(VariableView {
            name: variable.name.clone(),
            label: if variable.label.is_empty() {
                variable.name.clone()
            } else {
                variable.label.clone()
            },
            multi: variable.multi,
            include_all: variable.include_all,
            textbox,
            hidden: variable.hide == 2 || variable.kind == "constant",
            options,
            selected,
            error,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn custom_lists_split_as_grafana_splits_them() {
        assert_eq!(
            custom_options("a, b ,c\\,d, Text : v"),
            vec![
                ("a".to_string(), "a".to_string()),
                ("b".into(), "b".into()),
                ("c,d".into(), "c,d".into()),
                ("Text".into(), "v".into())
            ]
        );
    }

    #[test]
    fn label_values_calls_split_at_the_last_top_level_comma() {
        assert_eq!(
            call(r#"label_values(up{job="a,b", x=~"1|2"}, instance)"#),
            Some((
                "label_values",
                vec![r#"up{job="a,b", x=~"1|2"}"#, "instance"]
            ))
        );
        assert_eq!(
            call("label_values(job)"),
            Some(("label_values", vec!["job"]))
        );
        assert_eq!(call("metrics(^http_)"), Some(("metrics", vec!["^http_"])));
        assert_eq!(call("nonsense"), None);
    }

    #[test]
    fn variable_regexes_filter_and_capture() {
        let values = vec![
            "api-1:8080".to_string(),
            "db-1:5432".into(),
            "api-2:8080".into(),
        ];
        assert_eq!(
            apply_regex("/(api-\\d+):.*/", values.clone()).unwrap(),
            vec![
                ("api-1".to_string(), "api-1".to_string()),
                ("api-2".into(), "api-2".into())
            ]
        );
        assert_eq!(
            apply_regex("(?P<text>[a-z]+)-(?P<value>\\d)", values).unwrap()[0],
            ("api".to_string(), "1".to_string())
        );
    }

    #[test]
    fn a_value_from_the_url_must_be_allowed() {
        let variable = Variable {
            name: "job".into(),
            kind: "custom".into(),
            multi: true,
            include_all: true,
            ..Variable::default()
        };
        let options = custom_options("api, web");
        let mut notices = Vec::new();
        let request = Request::parse(
            "var-job=api&var-job=.*&var-job=%22%7D%20or%20vector(1)%20or%20%7Bx%3D%22&var-job=web",
        );
        assert_eq!(
            selection(&variable, &options, &request, &mut notices),
            ["api", "web"]
        );
        assert_eq!(notices.len(), 2, "{notices:?}");
        let none = Request::parse("var-job=other-tenant-id");
        assert_eq!(selection(&variable, &options, &none, &mut notices), [ALL]);
    }

    #[test]
    fn sorting_follows_grafanas_orders() {
        let mut options: Vec<(String, String)> = ["b10", "a2", "C1"]
            .iter()
            .map(|s| (s.to_string(), s.to_string()))
            .collect();
        sort(&mut options, 3);
        assert_eq!(options[0].0, "C1");
        sort(&mut options, 6);
        assert_eq!(options[0].0, "C1");
        sort(&mut options, 1);
        assert_eq!(options[0].0, "C1", "upper case sorts first");
    }
}
