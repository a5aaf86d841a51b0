//! The alerts page (`/alerts`): what fires and waits now, and the history, filtered by state,
//! severity, labels, time and tenant; and one alert (`/alerts/{id}`) with its timeline over the
//! week, its labels, rendered annotations, its rule, and its acknowledgement.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::{use_params_map, use_query_map};
use uuid::Uuid;

use super::{
    rule_anchor, span_text, time_text, AcknowledgeAlert, AlertDetail, AlertFilter, AlertRow, Bar,
    UnacknowledgeAlert, SEVERITIES,
};
use crate::{
    auth::RequireRole,
    components::{
        forms::{use_form_error, CsrfField, FormError},
        load_error,
    },
    error::AppError,
};

/// The state pill: firing, pending, resolved, or cleared (resolved without firing).
#[component]
pub fn AlertState(alert: AlertRow) -> impl IntoView {
    let (class, text) = match alert.state.as_str() {
        "firing" => ("pill alert-firing", "firing"),
        "pending" => ("pill alert-pending", "pending"),
        _ if alert.never_fired() => ("pill alert-cleared", "cleared"),
        _ => ("pill alert-resolved", "resolved"),
    };
    view! { <span class=class>{text}</span> }
}

#[component]
pub fn Severity(severity: String) -> impl IntoView {
    (!severity.is_empty()).then(|| {
        view! { <span class=format!("pill severity severity-{severity}")>{severity.clone()}</span> }
    })
}

fn labels_view<'a>(labels: impl Iterator<Item = (&'a String, &'a String)>) -> AnyView {
    labels
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .into_iter()
        .map(|text| view! { <span class="chip label">{text}</span> })
        .collect_view()
        .into_any()
}

#[component]
pub fn AlertsRoute() -> impl IntoView {
    view! { <RequireRole><AlertsList/></RequireRole> }
}

#[component]
fn AlertsList() -> impl IntoView {
    let query = use_query_map();
    let filter = Memo::new(move |_| {
        let q = query.read();
        AlertFilter {
            state: q.get("state"),
            severity: q.get("severity"),
            labels: q.get("labels"),
            from: q.get("from"),
            to: q.get("to"),
            tenant: q.get("tenant"),
        }
    });
    let page = Resource::new(move || filter.get(), super::list_alerts);
    let value = move |get: fn(&AlertFilter) -> Option<String>| {
        move || get(&filter.get()).unwrap_or_default()
    };
    let state = move || filter.get().state.unwrap_or_else(|| "active".into());
    let severity = move || filter.get().severity.unwrap_or_default();
    view! {
        <Title text="Alerts"/>
        <div class="page-header">
            <div>
                <h1>"Alerts"</h1>
                <p class="muted">"Alerts firing and pending now, and their history: one row an alert's life, from pending to resolved."</p>
            </div>
            <div class="toolbar">
                <a class="button subtle" href="/alerting/list">"Alert rules"</a>
            </div>
        </div>
        <form method="get" action="/alerts" class="card form filters" id="alert-filters">
            <label class="field"><span>"State"</span>
                <select name="state">
                    {[("active", "Firing and pending"), ("firing", "Firing"), ("pending", "Pending"), ("resolved", "Resolved"), ("all", "All")]
                        .into_iter()
                        .map(|(v, label)| view! { <option value=v selected=move || state() == v>{label}</option> })
                        .collect_view()}
                </select>
            </label>
            <label class="field"><span>"Severity"</span>
                <select name="severity">
                    <option value="">"Any"</option>
                    {SEVERITIES.into_iter()
                        .map(|v| view! { <option value=v selected=move || severity() == v>{v}</option> })
                        .collect_view()}
                </select>
            </label>
            <label class="field wide"><span>"Labels"</span><input name="labels" placeholder="job=\"api\", instance=~\"api-.*\"" value=value(|f| f.labels.clone())/></label>
            <label class="field"><span>"From (UTC)"</span><input type="datetime-local" name="from" value=value(|f| f.from.clone())/></label>
            <label class="field"><span>"To (UTC)"</span><input type="datetime-local" name="to" value=value(|f| f.to.clone())/></label>
            <label class="field"><span>"Tenant"</span><input name="tenant" value=value(|f| f.tenant.clone())/></label>
            <div class="actions">
                <button type="submit" class="button primary">"Filter"</button>
                <a class="button subtle" href="/alerts">"Clear"</a>
            </div>
        </form>
        <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                let page = match page.await {
                    Ok(page) => page,
                    Err(error) => return load_error(error),
                };
                let now = page.now;
                view! {
                    <p class="alert-counts" id="alert-counts">
                        <a class="pill alert-firing" href="/alerts?state=firing">{format!("{} firing", page.firing)}</a>
                        <a class="pill alert-pending" href="/alerts?state=pending">{format!("{} pending", page.pending)}</a>
                    </p>
                    {page.alerts.is_empty().then(|| view! { <p class="muted empty">"No alerts match."</p> })}
                    {(!page.alerts.is_empty()).then(|| view! {
                        <div class="table-scroll">
                        <table class="table alerts" id="alerts">
                            <thead><tr>
                                <th>"State"</th><th>"Alert"</th><th>"Severity"</th><th>"Labels"</th>
                                <th>"Tenant"</th><th>"Active"</th><th>"Acknowledged"</th>
                            </tr></thead>
                            <tbody>
                                {page.alerts.into_iter().map(|alert| view! { <AlertLine alert now/> }).collect_view()}
                            </tbody>
                        </table>
                        </div>
                    })}
                    {page.truncated.then(|| view! { <p class="muted">"Only the first 200 alerts are shown: narrow the filter."</p> })}
                }.into_any()
            })}
        </Transition>
    }
}

#[component]
fn AlertLine(alert: AlertRow, now: chrono::DateTime<chrono::Utc>) -> impl IntoView {
    let href = format!("/alerts/{}", alert.id);
    let name = alert
        .labels
        .get("alertname")
        .cloned()
        .unwrap_or_else(|| alert.rule_name.clone());
    let summary = alert
        .annotations
        .get("summary")
        .cloned()
        .unwrap_or_default();
    let until = alert.resolved_at.unwrap_or(now);
    let since = format!(
        "{} · {}",
        time_text(alert.active_at),
        span_text(alert.active_at, until)
    );
    let ack = alert.ack.clone().map(
        |a| view! { <span class="ack" title=a.comment.clone()>{format!("✓ {}", a.by)}</span> },
    );
    let labels = labels_view(alert.shown_labels());
    let key = name.clone();
    let (state, severity, tenant) = (
        alert.state.clone(),
        alert.severity.clone(),
        alert.tenant_name.clone(),
    );
    view! {
        <tr data-state=state data-alert=key>
            <td><AlertState alert/></td>
            <td><a href=href><strong>{name}</strong></a><br/><span class="muted">{summary}</span></td>
            <td><Severity severity/></td>
            <td class="labels">{labels}</td>
            <td>{tenant}</td>
            <td class="nowrap">{since}</td>
            <td>{ack}</td>
        </tr>
    }
}

#[component]
pub fn AlertRoute() -> impl IntoView {
    view! { <RequireRole><AlertPage/></RequireRole> }
}

#[component]
fn AlertPage() -> impl IntoView {
    let params = use_params_map();
    let acknowledge = ServerAction::<AcknowledgeAlert>::new();
    let unacknowledge = ServerAction::<UnacknowledgeAlert>::new();
    let id = move || {
        params
            .read()
            .get("id")
            .and_then(|id| id.parse::<Uuid>().ok())
    };
    let detail = Resource::new(
        move || {
            (
                id(),
                acknowledge.version().get(),
                unacknowledge.version().get(),
            )
        },
        |(id, _, _)| async move {
            match id {
                Some(id) => super::get_alert(id).await,
                None => Err(AppError::NotFound),
            }
        },
    );
    let ack_error = use_form_error("acknowledge_alert", acknowledge);
    let unack_error = use_form_error("unacknowledge_alert", unacknowledge);
    view! {
        <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                let detail = match detail.await {
                    Ok(detail) => detail,
                    Err(error) => return load_error(error),
                };
                view! { <AlertView detail acknowledge unacknowledge ack_error unack_error/> }.into_any()
            })}
        </Transition>
    }
}

#[component]
fn AlertView(
    detail: AlertDetail,
    acknowledge: ServerAction<AcknowledgeAlert>,
    unacknowledge: ServerAction<UnacknowledgeAlert>,
    ack_error: Signal<Option<AppError>>,
    unack_error: Signal<Option<AppError>>,
) -> impl IntoView {
    let alert = detail.alert.clone();
    let name = alert
        .labels
        .get("alertname")
        .cloned()
        .unwrap_or_else(|| alert.rule_name.clone());
    let until = alert.resolved_at.unwrap_or(detail.now);
    let id = alert.id.to_string();
    let annotations: Vec<(String, String)> = alert
        .annotations
        .iter()
        .filter(|(k, _)| k.as_str() != "summary")
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let ack_box = match (&alert.ack, detail.can_acknowledge) {
        (Some(ack), can) => view! {
            <div class="card ack-box acknowledged" id="acknowledgement">
                <p><strong>{format!("Acknowledged by {}", ack.by)}</strong>{format!(" · {}", time_text(ack.at))}</p>
                {(!ack.comment.is_empty()).then(|| view! { <blockquote>{ack.comment.clone()}</blockquote> })}
                {can.then(|| view! {
                    <ActionForm action=unacknowledge attr:class="form inline">
                        <CsrfField/>
                        <input type="hidden" name="id" value=id.clone()/>
                        <button type="submit" class="button subtle" id="unacknowledge">"Un-acknowledge"</button>
                    </ActionForm>
                })}
                <FormError error=unack_error fields=&[]/>
            </div>
        }.into_any(),
        (None, true) if alert.state != "resolved" => view! {
            <div class="card ack-box" id="acknowledgement">
                <ActionForm action=acknowledge attr:class="form">
                    <CsrfField/>
                    <input type="hidden" name="id" value=id.clone()/>
                    <label class="field"><span>"Comment"</span>
                        <textarea name="comment" rows="2" maxlength="2000" placeholder="Looking into it: the load balancer drains api-2."></textarea>
                    </label>
                    <FormError error=ack_error fields=&["comment"]/>
                    <div class="actions"><button type="submit" class="button primary" id="acknowledge">"Acknowledge"</button></div>
                </ActionForm>
            </div>
        }.into_any(),
        _ => ().into_any(),
    };
    let all_labels = labels_view(alert.labels.iter());
    let rule_href = format!(
        "/alerting/list?tenant={}#{}",
        crate::url::encode(&alert.tenant_name),
        rule_anchor(&alert.group_name, &alert.rule_name)
    );
    view! {
        <Title text=format!("{name} · Alerts")/>
        <p class="breadcrumb"><a href="/alerts">"Alerts"</a>" / "{name.clone()}</p>
        <div class="page-header">
            <div>
                <h1 class="alert-title">{name.clone()}" "<AlertState alert=alert.clone()/>" "<Severity severity=alert.severity.clone()/></h1>
                <p class="lead">{alert.annotations.get("summary").cloned().unwrap_or_default()}</p>
                <p class="muted">
                    {format!("{} · group {} · ", alert.tenant_name, alert.group_name)}
                    {format!("active since {} ({})", time_text(alert.active_at), span_text(alert.active_at, until))}
                    {alert.fired_at.map(|t| format!(" · firing since {}", time_text(t)))}
                    {alert.resolved_at.map(|t| format!(" · resolved {}", time_text(t)))}
                    {alert.value.map(|v| format!(" · value {}", promql_value(v)))}
                </p>
            </div>
        </div>
        {ack_box}
        {(alert.state != "resolved").then(|| view! {
            <crate::notifications::SilenceBox tenant=alert.tenant_name.clone() labels=alert.labels.clone()
                silenced_by=detail.silenced_by.clone() can_edit=detail.can_acknowledge/>
        })}
        <section class="card">
            <h2>"Timeline"</h2>
            <p class="muted">{format!("This alert over the last 7 days: {} episode(s).", detail.episodes.len())}</p>
            <div inner_html=timeline_svg(&detail)></div>
            <TimelineLegend/>
        </section>
        <div class="columns">
            <section class="card">
                <h2>"Labels"</h2>
                <p class="labels" id="alert-labels">{all_labels}</p>
                {(!annotations.is_empty()).then(|| view! {
                    <h2>"Annotations"</h2>
                    <dl class="annotations" id="alert-annotations">
                        {annotations.into_iter().map(|(k, v)| {
                            let link = k == "runbook_url" || v.starts_with("http://") || v.starts_with("https://") || v.starts_with('/');
                            view! {
                                <dt>{k}</dt>
                                <dd>{if link { view! { <a href=v.clone()>{v.clone()}</a> }.into_any() } else { view! { <span>{v}</span> }.into_any() }}</dd>
                            }
                        }).collect_view()}
                    </dl>
                })}
            </section>
            <section class="card">
                <h2>"Rule"</h2>
                {match detail.rule.clone() {
                    Some(rule) => view! {
                        <p><a href=rule_href.clone() id="alert-rule">{rule.name.clone()}</a>{format!(" in group {}", alert.group_name)}</p>
                        <pre class="expr"><code>{rule.expr.clone()}</code></pre>
                        <p class="muted">{format!("for {} · keep firing for {}", rule.for_text, rule.keep_firing_for_text)}</p>
                        <p><a class="button subtle" href=format!("/explore?expr={}", crate::url::encode(&rule.expr))>"Open in Explore"</a></p>
                    }.into_any(),
                    None => view! { <p class="muted">"The rule is no longer in its group."</p> }.into_any(),
                }}
            </section>
        </div>
    }
}

/// A sample value as Prometheus writes it in text.
fn promql_value(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{v:.0}")
    } else {
        format!("{v:.4}")
    }
}

/// The alert's episodes over the window as bars, this one highlighted.
fn timeline_svg(detail: &AlertDetail) -> String {
    let ms = |t: chrono::DateTime<chrono::Utc>| t.timestamp_millis();
    let bars: Vec<Bar> = detail
        .episodes
        .iter()
        .map(|e| Bar {
            active_at: ms(e.active_at),
            fired_at: e.fired_at.map(ms),
            end: ms(e.resolved_at.unwrap_or(detail.now)),
            current: e.id == detail.alert.id,
            title: format!(
                "{} → {}",
                time_text(e.active_at),
                e.resolved_at.map_or("now".to_string(), time_text)
            ),
        })
        .collect();
    super::timeline_svg((ms(detail.window.0), ms(detail.window.1)), &bars)
}

#[component]
pub fn TimelineLegend() -> impl IntoView {
    view! {
        <p class="tl-legend"><span class="tl-key tl-pending"></span>"pending"<span class="tl-key tl-firing"></span>"firing"</p>
    }
}
