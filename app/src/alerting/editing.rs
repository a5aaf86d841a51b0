//! The rule editor's work on the server: the form from a stored rule, the rule from the form
//! (each problem named by its field), the preview, the backtest, the save and the versions.

use std::time::Instant;

use chrono::Utc;
use rules::{
    alert::State,
    file::{self, Group, Kind, RuleDef},
    group::RuleState,
    Labels,
};
use similar::{ChangeTag, TextDiff};
use uuid::Uuid;

use super::{
    backtest,
    form::{
        BacktestSeries, BacktestView, EditorView, PreviewSeries, PreviewView, RuleForm, VersionView,
    },
    repo::{self, StoredGroup, DEFAULT_INTERVAL_MS},
    rule_anchor, time_text,
};
use crate::{error::AppError, ssr::scope::Scope, ssr::AppState};

/// The backtest's window when the form names none.
const DEFAULT_BACKTEST_MS: i64 = 7 * 86_400_000;

async fn tenant_of(scope: &Scope, state: &AppState, name: &str) -> Result<Uuid, AppError> {
    let name = name.trim();
    if name.is_empty() {
        return scope
            .home_tenant
            .ok_or_else(|| AppError::invalid("tenant", "choose a tenant"));
    }
    // A tenant the caller does not see does not exist for it.
    crate::admin::tenants::repo::find_tenant_by_name(scope, &state.pool, name)
        .await?
        .map(|t| t.id)
        .ok_or(AppError::NotFound)
}

fn lines(pairs: &Labels, skip: &[&str]) -> String {
    pairs
        .iter()
        .filter(|(k, _)| !skip.contains(&k.as_str()))
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The form of rule `index` of `stored` (or a new rule in it).
fn form_of(tenant: &str, stored: Option<&StoredGroup>, index: Option<usize>) -> RuleForm {
    let mut form = RuleForm {
        tenant: tenant.to_string(),
        kind: "alert".into(),
        for_text: "5m".into(),
        ..RuleForm::default()
    };
    let Some(stored) = stored else { return form };
    form.group = stored.group.name.clone();
    form.interval = file::format_duration(stored.interval_ms);
    form.version = stored.version.to_string();
    let Some(rule) = index.and_then(|i| stored.group.rules.get(i)) else {
        return form;
    };
    let get = |pairs: &Labels, key: &str| {
        pairs
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    form.rule = index.map(|i| i.to_string()).unwrap_or_default();
    form.kind = match rule.kind {
        Kind::Alert => "alert".into(),
        Kind::Record => "record".into(),
    };
    form.name = rule.name.clone();
    form.expr = rule.expr.clone();
    form.for_text = file::format_duration(rule.for_ms);
    form.keep_firing_for = file::format_duration(rule.keep_firing_for_ms);
    form.severity = get(&rule.labels, "severity");
    form.labels = lines(&rule.labels, &["severity"]);
    form.summary = get(&rule.annotations, "summary");
    form.description = get(&rule.annotations, "description");
    form.runbook_url = get(&rule.annotations, "runbook_url");
    form.annotations = lines(
        &rule.annotations,
        &["summary", "description", "runbook_url"],
    );
    form
}

/// `name=value` lines as sorted pairs.
fn parse_pairs(field: &str, text: &str, errors: &mut Vec<(String, String)>) -> Labels {
    let mut pairs = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        match line.split_once('=').or_else(|| line.split_once(':')) {
            Some((k, v)) => pairs.push((k.trim().to_string(), v.trim().to_string())),
            None => errors.push((field.into(), format!("line {}: expected name=value", n + 1))),
        }
    }
    pairs
}

fn duration(field: &str, text: &str, errors: &mut Vec<(String, String)>) -> i64 {
    let text = text.trim();
    if text.is_empty() {
        return 0;
    }
    file::parse_duration(text).unwrap_or_else(|e| {
        errors.push((field.into(), format!("{text:?}: {e}")));
        0
    })
}

/// The form's field a rules-crate problem is about.
fn field_of(path: &str) -> &'static str {
    // `rule.labels.0bad`: a label's problem is the labels field's.
    for (part, field) in [(".labels", "labels"), (".annotations", "annotations")] {
        if path.contains(part) {
            return field;
        }
    }
    let last = path.rsplit('.').next().unwrap_or("");
    match last.split('[').next().unwrap_or("") {
        "alert" | "record" => "name",
        "expr" => "expr",
        "for" => "for_text",
        "keep_firing_for" => "keep_firing_for",
        "labels" => "labels",
        "annotations" => "annotations",
        _ => "",
    }
}

/// The rule the form describes, and the group's interval; or every problem, by field.
pub fn rule_of(form: &RuleForm) -> Result<(RuleDef, i64), Vec<(String, String)>> {
    let mut errors = Vec::new();
    let kind = match form.kind.as_str() {
        "record" => Kind::Record,
        _ => Kind::Alert,
    };
    let mut labels = parse_pairs("labels", &form.labels, &mut errors);
    if !form.severity.is_empty() {
        labels.retain(|(k, _)| k != "severity");
        labels.push(("severity".into(), form.severity.clone()));
    }
    let mut annotations = parse_pairs("annotations", &form.annotations, &mut errors);
    for (key, value) in [
        ("summary", &form.summary),
        ("description", &form.description),
        ("runbook_url", &form.runbook_url),
    ] {
        if !value.trim().is_empty() {
            annotations.retain(|(k, _)| k != key);
            annotations.push((key.into(), value.trim().to_string()));
        }
    }
    labels.sort();
    annotations.sort();
    let rule = RuleDef {
        kind,
        name: form.name.trim().to_string(),
        expr: form.expr.trim().to_string(),
        for_ms: duration("for_text", &form.for_text, &mut errors),
        keep_firing_for_ms: duration("keep_firing_for", &form.keep_firing_for, &mut errors),
        labels,
        annotations,
    };
    let interval = match form.interval.trim() {
        "" => DEFAULT_INTERVAL_MS,
        text => duration("interval", text, &mut errors),
    };
    if !(repo::MIN_INTERVAL_MS..=86_400_000).contains(&interval) {
        errors.push((
            "interval".into(),
            "the interval must be between 1s and 1d".into(),
        ));
    }
    if form.group.trim().is_empty() {
        errors.push(("group".into(), "name the group the rule belongs to".into()));
    }
    for problem in file::validate_rule(&rule, "rule") {
        let field = field_of(&problem.field);
        let unparsed = field == "expr" && problem.message.starts_with("could not parse");
        let message = match unparsed.then(|| promql::syntax::parse(&rule.expr).err()) {
            Some(Some(error)) => error.pointed(&rule.expr),
            _ => problem.message.clone(),
        };
        errors.push((field.into(), message));
    }
    if errors.is_empty() {
        Ok((rule, interval))
    } else {
        Err(errors)
    }
}

fn show(labels: &Labels) -> String {
    let inner: Vec<String> = labels
        .iter()
        .filter(|(k, _)| k != "__name__")
        .map(|(k, v)| format!("{k}={v:?}"))
        .collect();
    let name = labels
        .iter()
        .find(|(k, _)| k == "__name__")
        .map_or("", |(_, v)| v.as_str());
    format!("{name}{{{}}}", inner.join(", "))
}

/// What the rule gives now: it is replayed over the span its `for` and `keep_firing_for` need,
/// so each series shows the state it would have now, not just its first evaluation's.
async fn preview(
    state: &AppState,
    tenant: Uuid,
    group: &Group,
    rule: &RuleDef,
    interval: i64,
) -> PreviewView {
    let now = Utc::now().timestamp_millis() / interval * interval;
    let span = rule.for_ms + rule.keep_firing_for_ms + interval;
    let results = backtest::results(state, tenant, &rule.expr, (now - span, now, interval)).await;
    let last = results.last().map(|(_, r)| r.clone());
    let mut rule_state = RuleState::default();
    rules::backtest::run(
        group,
        rule,
        interval,
        results,
        &state.rule_templates,
        &mut rule_state,
        &mut |_, _| {},
    );
    let at = chrono::DateTime::from_timestamp_millis(now)
        .map(time_text)
        .unwrap_or_default();
    let vector = match last {
        Some(Ok(vector)) => vector,
        Some(Err(error)) => {
            return PreviewView {
                at,
                series: Vec::new(),
                error: Some(error),
            }
        }
        None => Vec::new(),
    };
    let alerts: Vec<_> = rule_state.alerts.current().collect();
    let series = vector
        .iter()
        .map(|(labels, value)| {
            let alert = (rule.kind == Kind::Alert).then(|| {
                alerts.iter().find(|a| {
                    labels
                        .iter()
                        .filter(|(k, _)| k != "__name__")
                        .all(|pair| a.labels.contains(pair))
                })
            });
            let (state_text, annotations) = match alert.flatten() {
                Some(a) => (
                    match a.state {
                        State::Firing => "firing",
                        _ => "pending",
                    }
                    .to_string(),
                    a.annotations.clone(),
                ),
                None => (String::new(), Vec::new()),
            };
            PreviewSeries {
                labels: show(labels),
                value: promql::format_float(*value),
                state: state_text,
                annotations,
            }
        })
        .collect();
    PreviewView {
        at,
        series,
        error: rule_state.last_error.clone(),
    }
}

fn window(form: &RuleForm) -> Result<(i64, i64), (String, String)> {
    let at = |field: &str, text: &str| {
        crate::audit::parse_time(field, text)
            .map(|t| t.map(|t| t.timestamp_millis()))
            .map_err(|e| match e {
                AppError::Invalid { field, message } => (field, message),
                other => (field.to_string(), other.to_string()),
            })
    };
    let now = Utc::now().timestamp_millis();
    let to = at("to", &form.to)?.unwrap_or(now).min(now);
    let from = at("from", &form.from)?.unwrap_or(to - DEFAULT_BACKTEST_MS);
    if from >= to {
        return Err(("from".into(), "the window must start before it ends".into()));
    }
    if to - from > backtest::MAX_WINDOW_MS {
        return Err(("from".into(), "a backtest covers at most 31 days".into()));
    }
    Ok((from, to))
}

async fn backtest_view(
    state: &AppState,
    tenant: Uuid,
    group: &Group,
    rule: &RuleDef,
    interval: i64,
    (from, to): (i64, i64),
) -> Result<BacktestView, AppError> {
    let began = Instant::now();
    // At the group's slots, as the evaluator would have run it.
    let first = super::evaluator::slot(tenant, &group.name, interval, from) + interval;
    let run = backtest::run(state, tenant, group, rule, (first, to, interval)).await?;
    let series = run
        .alerts
        .iter()
        .map(|a| {
            let episodes: Vec<(i64, Option<i64>, i64)> = a
                .episodes
                .iter()
                .map(|e| {
                    (
                        e.pending_at.or(e.firing_at).unwrap_or(from),
                        e.firing_at,
                        e.inactive_at.unwrap_or(to),
                    )
                })
                .collect();
            BacktestSeries {
                labels: show(&a.labels),
                firing_ms: episodes
                    .iter()
                    .filter_map(|(_, f, e)| f.map(|f| e - f))
                    .sum(),
                episodes,
            }
        })
        .collect();
    Ok(BacktestView {
        from,
        to,
        step_text: file::format_duration(interval),
        evaluations: run.evaluations,
        series,
        firing_notifications: run.firing_notifications,
        resolved_notifications: run.resolved_notifications,
        failed_evaluations: run.failed_evaluations,
        first_error: run.first_error.map(|(_, e)| e),
        took_ms: began.elapsed().as_millis() as u64,
    })
}

fn diff(before: Option<&Group>, after: &Group) -> Vec<(char, String)> {
    let old = before
        .map(|g| file::to_yaml(std::slice::from_ref(g)))
        .unwrap_or_default();
    let new = file::to_yaml(std::slice::from_ref(after));
    TextDiff::from_lines(&old, &new)
        .iter_all_changes()
        .map(|c| {
            let tag = match c.tag() {
                ChangeTag::Insert => '+',
                ChangeTag::Delete => '-',
                ChangeTag::Equal => ' ',
            };
            (tag, c.value().trim_end().to_string())
        })
        .collect()
}

/// The editor for the page's query: the stored rule, or the form's values with what they ask
/// for (`intent=preview` or `backtest`).
pub async fn editor(scope: &Scope, state: &AppState, query: &str) -> Result<EditorView, AppError> {
    scope.require_read()?;
    let pairs = crate::dashboards::run::Request::parse(query);
    let get = |k: &str| pairs.get(k).unwrap_or_default().to_string();
    let tenant_name = match get("tenant") {
        name if name.is_empty() => match scope.home_tenant {
            Some(home) => {
                crate::admin::tenants::repo::get_tenant(scope, &state.pool, home)
                    .await?
                    .name
            }
            None => String::new(),
        },
        name => name,
    };
    let tenant = tenant_of(scope, state, &tenant_name).await.ok();
    let stored = match tenant {
        Some(t) => repo::list(scope, &state.pool, t).await?,
        None => Vec::new(),
    };
    let groups: Vec<String> = stored.iter().map(|g| g.group.name.clone()).collect();
    let group = stored.iter().find(|g| g.group.name == get("group"));
    let index: Option<usize> = get("rule").parse().ok();
    let typed = pairs.has("name") || pairs.has("expr");
    let form = if typed {
        RuleForm::from_pairs(
            super::form::FIELDS
                .iter()
                .filter_map(|f| Some((*f, pairs.get(f)?))),
        )
    } else {
        if index.is_some() && group.and_then(|g| g.group.rules.get(index?)).is_none() {
            return Err(AppError::NotFound);
        }
        form_of(&tenant_name, group, index)
    };
    let mut errors: Vec<(String, String)> = Vec::new();
    if pairs.get("form") == Some("rule_form") {
        errors.push((get("field"), get("error")));
    }
    let can_edit = tenant.is_some_and(|t| scope.require_editor(t).is_ok());
    let intent = get("intent");
    let (mut preview_view, mut backtest_view_) = (None, None);
    if typed && !intent.is_empty() {
        match (tenant, rule_of(&form)) {
            (None, _) => errors.push(("tenant".into(), format!("no tenant named {tenant_name:?}"))),
            (_, Err(problems)) => errors.extend(problems),
            (Some(tenant), Ok((rule, interval))) => {
                let group_def = Group {
                    name: form.group.trim().to_string(),
                    interval_ms: Some(interval),
                    ..group.map(|g| g.group.clone()).unwrap_or_default()
                };
                if intent == "backtest" {
                    match window(&form) {
                        Ok(span) => {
                            backtest_view_ = Some(
                                backtest_view(state, tenant, &group_def, &rule, interval, span)
                                    .await?,
                            )
                        }
                        Err(problem) => errors.push(problem),
                    }
                } else {
                    preview_view = Some(preview(state, tenant, &group_def, &rule, interval).await);
                }
            }
        }
    }
    let versions = match (tenant, group) {
        (Some(t), Some(g)) => {
            let all = repo::versions(scope, &state.pool, t, &g.group.name).await?;
            all.iter()
                .enumerate()
                .map(|(i, v)| VersionView {
                    version: v.version,
                    author: v.author.clone(),
                    message: v.message.clone(),
                    at: time_text(v.created_at),
                    diff: diff(all.get(i + 1).map(|p| &p.group), &v.group),
                })
                .collect()
        }
        _ => Vec::new(),
    };
    Ok(EditorView {
        form,
        errors,
        preview: preview_view,
        backtest: backtest_view_,
        versions,
        groups,
        can_edit,
    })
}

/// Saves the form's rule into its group (a new group when none has its name), as a new
/// version; answers the rule's place on the rules page.
pub async fn save(scope: &Scope, state: &AppState, form: &RuleForm) -> Result<String, AppError> {
    let tenant = tenant_of(scope, state, &form.tenant).await?;
    scope.require_editor(tenant)?;
    let (rule, interval) = rule_of(form).map_err(|problems| {
        let (field, message) = problems.into_iter().next().unwrap_or_default();
        AppError::invalid(&field, message)
    })?;
    let name = form.group.trim().to_string();
    let existing = repo::list(scope, &state.pool, tenant)
        .await?
        .into_iter()
        .find(|g| g.group.name == name);
    let expected: Option<i32> = form.version.trim().parse().ok();
    let (mut group, expected) = match existing {
        Some(stored) => (stored.group, expected.or(Some(stored.version))),
        None => (
            Group {
                name: name.clone(),
                ..Group::default()
            },
            None,
        ),
    };
    group.interval_ms = Some(interval);
    match form.rule.trim().parse::<usize>() {
        Ok(i) if i < group.rules.len() => group.rules[i] = rule.clone(),
        Ok(_) => {
            return Err(AppError::Conflict(
                "the rule is no longer in its group: reload it".into(),
            ))
        }
        Err(_) => group.rules.push(rule.clone()),
    }
    let message = match form.message.trim() {
        "" if form.is_new() => format!("added {}", rule.name),
        "" => format!("changed {}", rule.name),
        text => text.to_string(),
    };
    repo::save_group(scope, &state.pool, tenant, group, expected, &message).await?;
    Ok(format!(
        "/alerting/list?tenant={}#{}",
        crate::url::encode(form.tenant.trim()),
        rule_anchor(&name, &rule.name)
    ))
}

pub async fn restore(
    scope: &Scope,
    state: &AppState,
    tenant: &str,
    group: &str,
    version: i32,
) -> Result<String, AppError> {
    let tenant_id = tenant_of(scope, state, tenant).await?;
    repo::restore(scope, &state.pool, tenant_id, group, version).await?;
    Ok(format!(
        "/alerting/list?tenant={}",
        crate::url::encode(tenant)
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(expr: &str) -> RuleForm {
        RuleForm {
            tenant: "acme".into(),
            group: "g".into(),
            kind: "alert".into(),
            name: "Down".into(),
            expr: expr.into(),
            for_text: "5m".into(),
            severity: "critical".into(),
            labels: "team=web".into(),
            summary: "{{ $labels.job }} down".into(),
            ..RuleForm::default()
        }
    }

    #[test]
    fn a_form_becomes_a_rule_and_its_problems_name_their_fields() {
        let (rule, interval) = rule_of(&form("up == 0")).unwrap();
        assert_eq!(interval, DEFAULT_INTERVAL_MS);
        assert_eq!(rule.for_ms, 300_000);
        assert_eq!(
            rule.labels,
            [
                ("severity".to_string(), "critical".to_string()),
                ("team".into(), "web".into())
            ]
        );
        let mut bad = form("sum(rate(x[5m])");
        bad.for_text = "5 minutes".into();
        bad.labels = "0bad=x".into();
        let errors = rule_of(&bad).unwrap_err();
        let fields: Vec<&str> = errors.iter().map(|(f, _)| f.as_str()).collect();
        assert!(
            fields.contains(&"expr") && fields.contains(&"for_text") && fields.contains(&"labels"),
            "{errors:?}"
        );
        let expr = &errors.iter().find(|(f, _)| f == "expr").unwrap().1;
        assert!(
            expr.contains("sum(rate(x[5m])\n") && expr.ends_with('^'),
            "{expr}"
        );
    }
}
