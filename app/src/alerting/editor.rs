//! The rule editor (`/alerting/new`, `/alerting/edit?tenant=…&group=…&rule=N`): one rule of a
//! group in a form that validates as Prometheus does (expression errors at their position,
//! durations, label names); "Preview now" shows the series the expression returns now and which
//! would be pending or firing, with their annotations rendered; "Backtest" replays the rule over
//! a past window at the group's interval with the evaluator's own state machine and draws each
//! alert's pending and firing periods; every save is a version of the group (author, time,
//! message), with its diff and a restore.
//!
//! Preview and backtest are addresses of the page itself (the form's values and the intent in
//! the query), so they work without JavaScript and can be shared as links; the form posts to
//! `rule_form`, which saves or sends the browser there.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_location;

pub use super::form::*;
use super::{page::TimelineLegend, time_text, Bar};
use crate::{
    auth::RequireRole,
    components::{forms::CsrfField, load_error},
    error::AppError,
};

#[server(prefix = "/rpc", endpoint = "rule_editor")]
pub async fn rule_editor(#[server(default)] query: String) -> Result<EditorView, AppError> {
    use crate::ssr::server_fns::{app_state, current_scope, finish};
    let result = async {
        let (scope, state) = (current_scope().await?, app_state()?);
        super::editing::editor(&scope, &state, &query).await
    }
    .await;
    finish("rule_editor", result)
}

/// The editor form's buttons: `save` saves the rule into its group (a new version) and
/// answers the rule's place on the rules page; `preview` and `backtest` answer the editor's
/// address with the form's values and the intent, which the page then computes and shows.
/// A plain form post is redirected there (on a failed save, back to the editor with every value
/// and the error beside its field); the page's script goes there itself.
#[server(prefix = "/rpc", endpoint = "rule_form")]
pub async fn submit_rule(
    csrf: String,
    #[server(default)] intent: String,
    #[server(flatten)] form: RuleForm,
) -> Result<String, AppError> {
    use crate::ssr::server_fns::{
        app_state, back_to_form, finish, is_plain_form_post, mutation_scope,
    };
    let result = async {
        let scope = mutation_scope(&csrf).await?;
        match intent.as_str() {
            "save" => super::editing::save(&scope, &app_state()?, &form).await,
            "preview" | "backtest" => Ok(format!(
                "/alerting/edit?{}&intent={intent}",
                form.to_query()
            )),
            other => Err(AppError::invalid(
                "intent",
                format!("{other:?} is not preview, backtest or save"),
            )),
        }
    }
    .await;
    if is_plain_form_post() {
        let location = match &result {
            Ok(path) => path.clone(),
            // Back to the editor with every value typed, whatever page the post came from.
            Err(error) => {
                let editor = format!("/alerting/edit?{}", form.to_query());
                back_to_form(&editor, "rule_form", error).unwrap_or(editor)
            }
        };
        leptos_axum::redirect(&location);
        return Ok(location);
    }
    finish("rule_form", result)
}

#[server(prefix = "/rpc", endpoint = "restore_rule_group")]
pub async fn restore_rule_group(
    csrf: String,
    tenant: String,
    group: String,
    version: i32,
) -> Result<String, AppError> {
    use crate::ssr::server_fns::{app_state, finish, mutation_scope};
    let result = async {
        let scope = mutation_scope(&csrf).await?;
        super::editing::restore(&scope, &app_state()?, &tenant, &group, version).await
    }
    .await;
    finish("restore_rule_group", result)
}

#[component]
pub fn RuleEditorRoute() -> impl IntoView {
    view! { <RequireRole><RuleEditor/></RequireRole> }
}

#[component]
fn RuleEditor() -> impl IntoView {
    let location = use_location();
    let data = Resource::new(
        move || location.search.get(),
        |search| rule_editor(search.trim_start_matches('?').to_string()),
    );
    view! {
        <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match data.await {
                    Ok(view) => view! { <EditorPage view/> }.into_any(),
                    Err(error) => load_error(error),
                }
            })}
        </Transition>
    }
}

fn error_for(errors: &[(String, String)], field: &str) -> Option<String> {
    errors
        .iter()
        .filter(|(f, _)| f == field)
        .map(|(_, m)| m.clone())
        .reduce(|a, b| format!("{a}; {b}"))
}

#[component]
fn EditorPage(view: EditorView) -> impl IntoView {
    let EditorView {
        form,
        errors,
        preview,
        backtest,
        versions,
        groups,
        can_edit,
    } = view;
    let title = if form.is_new() {
        "New alert rule".to_string()
    } else {
        format!("Edit {}", form.name)
    };
    let err = |field: &str| {
        error_for(&errors, field)
            .map(|m| view! { <span class="field-error" role="alert">{m}</span> })
    };
    let general = error_for(&errors, "");
    let is_alert = form.kind != "record";
    let list_href = format!("/alerting/list?tenant={}", crate::url::encode(&form.tenant));
    let hidden =
        |name: &'static str, value: String| view! { <input type="hidden" name=name value=value/> };
    view! {
        <Title text=title.clone()/>
        <p class="breadcrumb"><a href=list_href>"Alert rules"</a>" / "{title.clone()}</p>
        <div class="page-header"><div>
            <h1>{title.clone()}</h1>
            <p class="muted">"Prometheus' rule semantics: the expression runs at the group's interval; an alert is pending from its first match and fires once it has matched for "<code>"for"</code>"."</p>
        </div></div>
        {general.map(|m| view! { <p class="callout callout-error" role="alert">{m}</p> })}
        {(!can_edit).then(|| view! { <p class="callout">"You may look at this rule but not change it."</p> })}
        <div class="rule-editor">
        <form method="post" action="/rpc/rule_form" class="card form rule-form" id="rule-form">
            {hidden("rule", form.rule.clone())}
            {hidden("version", form.version.clone())}
            <CsrfField/>
            <div class="form-row">
                <label class="field"><span>"Tenant"</span><input name="tenant" value=form.tenant.clone() required/>{err("tenant")}</label>
                <label class="field"><span>"Group"</span>
                    <input name="group" list="rule-groups" value=form.group.clone() required/>
                    <datalist id="rule-groups">{groups.into_iter().map(|g| view! { <option value=g/> }).collect_view()}</datalist>
                    {err("group")}
                </label>
                <label class="field"><span>"Evaluate every"</span><input name="interval" value=form.interval.clone() placeholder="1m"/>{err("interval")}</label>
            </div>
            <div class="form-row">
                <label class="field"><span>"Kind"</span>
                    <select name="kind">
                        <option value="alert" selected=is_alert>"Alerting rule"</option>
                        <option value="record" selected=!is_alert>"Recording rule"</option>
                    </select>
                </label>
                <label class="field grow"><span>{if is_alert { "Alert name" } else { "Recorded metric" }}</span><input name="name" value=form.name.clone() required/>{err("name")}</label>
            </div>
            <label class="field"><span>"Expression (PromQL)"</span>
                <textarea name="expr" class="code" rows="4" spellcheck="false" required>{form.expr.clone()}</textarea>
                {error_for(&errors, "expr").map(|m| view! { <pre class="field-error caret" role="alert">{m}</pre> })}
            </label>
            <div class="form-row">
                <label class="field"><span>"Pending for ("<code>"for"</code>")"</span><input name="for_text" value=form.for_text.clone() placeholder="5m"/>{err("for_text")}</label>
                <label class="field"><span>"Keep firing for"</span><input name="keep_firing_for" value=form.keep_firing_for.clone() placeholder="0s"/>{err("keep_firing_for")}</label>
                <label class="field"><span>"Severity"</span>
                    <select name="severity">
                        <option value="" selected=form.severity.is_empty()>"none"</option>
                        {super::SEVERITIES.into_iter().map(|s| view! { <option value=s selected=form.severity == s>{s}</option> }).collect_view()}
                    </select>
                </label>
            </div>
            <label class="field"><span>"Summary"</span><input name="summary" value=form.summary.clone() placeholder="{{ $labels.instance }} is down"/>{err("summary")}</label>
            <label class="field"><span>"Description"</span><textarea name="description" rows="2">{form.description.clone()}</textarea></label>
            <label class="field"><span>"Runbook URL"</span><input name="runbook_url" value=form.runbook_url.clone()/></label>
            <div class="form-row">
                <label class="field grow"><span>"Other labels (name=value a line)"</span><textarea name="labels" class="code" rows="2">{form.labels.clone()}</textarea>{err("labels")}</label>
                <label class="field grow"><span>"Other annotations (name=value a line)"</span><textarea name="annotations" class="code" rows="2">{form.annotations.clone()}</textarea>{err("annotations")}</label>
            </div>
            <div class="form-row">
                <label class="field"><span>"Backtest from (UTC)"</span><input type="datetime-local" name="from" value=form.from.clone()/>{err("from")}</label>
                <label class="field"><span>"to (UTC)"</span><input type="datetime-local" name="to" value=form.to.clone()/>{err("to")}</label>
                <label class="field grow"><span>"Save message"</span><input name="message" value=form.message.clone() placeholder="what changed and why"/></label>
            </div>
            <div class="actions">
                <button type="submit" name="intent" value="preview" class="button" id="preview-rule">"Preview now"</button>
                <button type="submit" name="intent" value="backtest" class="button" id="backtest-rule" disabled=!is_alert>"Backtest"</button>
                {can_edit.then(|| view! {
                    <button type="submit" name="intent" value="save" class="button primary" id="save-rule">"Save"</button>
                })}
            </div>
        </form>
        <div class="rule-results">
            {preview.map(|p| view! { <PreviewCard preview=p/> })}
            {backtest.map(|b| view! { <BacktestCard backtest=b/> })}
            {(!versions.is_empty()).then(|| view! { <VersionsCard versions form=form.clone() can_edit/> })}
        </div>
        </div>
    }
}

#[component]
fn PreviewCard(preview: PreviewView) -> impl IntoView {
    let count = preview.series.len();
    view! {
        <section class="card" id="rule-preview">
            <h2>"Preview now"</h2>
            <p class="muted">{format!("{count} series at {}", preview.at)}</p>
            {preview.error.map(|e| view! { <p class="callout callout-error" role="alert">{e}</p> })}
            {(count == 0).then(|| view! { <p class="muted">"The expression returns nothing now: no alert."</p> })}
            <ul class="preview-list">
                {preview.series.into_iter().map(|s| view! {
                    <li data-state=s.state.clone()>
                        {(!s.state.is_empty()).then(|| view! { <span class=format!("pill alert-{}", s.state)>{s.state.clone()}</span> })}
                        " "<code>{s.labels.clone()}</code>" "<strong>{s.value.clone()}</strong>
                        {(!s.annotations.is_empty()).then(|| view! {
                            <dl class="annotations">
                                {s.annotations.into_iter().map(|(k, v)| view! { <dt>{k}</dt><dd>{v}</dd> }).collect_view()}
                            </dl>
                        })}
                    </li>
                }).collect_view()}
            </ul>
        </section>
    }
}

#[component]
fn BacktestCard(backtest: BacktestView) -> impl IntoView {
    let window = (backtest.from, backtest.to);
    let when = |ms: i64| {
        chrono::DateTime::from_timestamp_millis(ms)
            .map(time_text)
            .unwrap_or_default()
    };
    let summary = format!(
        "{} evaluations every {} from {} to {} ({} ms): {} alert(s), {} firing and {} resolved notification(s) would have gone out.",
        backtest.evaluations,
        backtest.step_text,
        when(backtest.from),
        when(backtest.to),
        backtest.took_ms,
        backtest.series.len(),
        backtest.firing_notifications,
        backtest.resolved_notifications
    );
    view! {
        <section class="card" id="rule-backtest">
            <h2>"Backtest"</h2>
            <p id="backtest-summary">{summary}</p>
            {backtest.first_error.map(|e| view! {
                <p class="callout callout-error">{format!("{} evaluation(s) failed; the first: {e}", backtest.failed_evaluations)}</p>
            })}
            {backtest.series.is_empty().then(|| view! { <p class="muted">"It would not have fired or been pending in this window."</p> })}
            <div class="backtest-series">
                {backtest.series.into_iter().map(|s| {
                    let bars: Vec<Bar> = s.episodes.iter().map(|(a, f, e)| Bar {
                        active_at: *a, fired_at: *f, end: *e, current: true,
                        title: format!("{} → {}", when(*a), when(*e)),
                    }).collect();
                    let firing = super::span_text(chrono::DateTime::UNIX_EPOCH, chrono::DateTime::UNIX_EPOCH + chrono::Duration::milliseconds(s.firing_ms));
                    view! {
                        <div class="backtest-row">
                            <p><code>{s.labels.clone()}</code>" "<span class="muted">{format!("{} episode(s), firing {firing} in all", s.episodes.len())}</span></p>
                            <div inner_html=super::timeline_svg(window, &bars)></div>
                        </div>
                    }
                }).collect_view()}
            </div>
            <TimelineLegend/>
        </section>
    }
}

#[component]
fn VersionsCard(versions: Vec<VersionView>, form: RuleForm, can_edit: bool) -> impl IntoView {
    let newest = versions.first().map(|v| v.version);
    view! {
        <section class="card" id="rule-versions">
            <h2>"Versions of the group"</h2>
            <ol class="versions">
                {versions.into_iter().map(|v| {
                    let restore = (can_edit && Some(v.version) != newest).then(|| view! {
                        <form method="post" action="/rpc/restore_rule_group" class="inline">
                            <CsrfField/>
                            <input type="hidden" name="tenant" value=form.tenant.clone()/>
                            <input type="hidden" name="group" value=form.group.clone()/>
                            <input type="hidden" name="version" value=v.version/>
                            <button type="submit" class="button subtle">"Restore"</button>
                        </form>
                    });
                    view! {
                        <li data-version=v.version>
                            <details>
                                <summary>{format!("v{} · {} · {}", v.version, v.author, v.at)}{(!v.message.is_empty()).then(|| format!(" · {}", v.message))}</summary>
                                <pre class="diff">{v.diff.into_iter().map(|(tag, line)| {
                                    let class = match tag { '+' => "ins", '-' => "del", _ => "ctx" };
                                    view! { <span class=class>{format!("{tag} {line}\n")}</span> }
                                }).collect_view()}</pre>
                                {restore}
                            </details>
                        </li>
                    }
                }).collect_view()}
            </ol>
        </section>
    }
}
