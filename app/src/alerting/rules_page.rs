//! The alert rules page (`/alerting/list`, Grafana's address for it): every rule group of the
//! viewer's tenants with each rule's expression, state, health and last evaluation, and the
//! group's rule file for download.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use super::{rule_anchor, time_text, GroupView, RuleView};
use crate::{auth::RequireRole, components::load_error};

#[component]
pub fn RulesRoute() -> impl IntoView {
    view! { <RequireRole><RulesList/></RequireRole> }
}

#[component]
fn RulesList() -> impl IntoView {
    let query = use_query_map();
    let tenant = Memo::new(move |_| query.read().get("tenant").unwrap_or_default());
    let groups = Resource::new(move || tenant.get(), super::list_rule_groups);
    view! {
        <Title text="Alert rules"/>
        <div class="page-header">
            <div>
                <h1>"Alert rules"</h1>
                <p class="muted">"Prometheus rule groups, evaluated at their interval: alerting rules go pending, then firing after their "<code>"for"</code>"; recording rules write their series into the tenant's store."</p>
            </div>
            <div class="toolbar">
                <a class="button subtle" href="/alerts">"Alerts"</a>
                <a class="button" id="import-rules" href=move || format!("/alerting/import?tenant={}", crate::url::encode(&tenant.get()))>"Import rule file"</a>
                <a class="button primary" id="new-rule" href=move || format!("/alerting/new?tenant={}", crate::url::encode(&tenant.get()))>"New alert rule"</a>
            </div>
        </div>
        <form method="get" action="/alerting/list" class="card form filters">
            <label class="field"><span>"Tenant"</span><input name="tenant" value=move || tenant.get()/></label>
            <div class="actions"><button type="submit" class="button primary">"Show"</button></div>
        </form>
        <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                let groups = match groups.await {
                    Ok(groups) => groups,
                    Err(error) => return load_error(error),
                };
                view! {
                    {groups.is_empty().then(|| view! { <p class="muted empty">"No rule groups yet. Import a Prometheus rule file, or create a rule."</p> })}
                    <div id="rule-groups">
                        {groups.into_iter().map(|group| view! { <GroupCard group/> }).collect_view()}
                    </div>
                }.into_any()
            })}
        </Transition>
    }
}

#[component]
fn GroupCard(group: GroupView) -> impl IntoView {
    let export = format!(
        "/api/v1/rules?format=yaml&tenant={}",
        crate::url::encode(&group.tenant_name)
    );
    let evaluated = match (group.last_evaluation, group.last_duration_ms) {
        (Some(t), Some(ms)) => format!("last evaluated {} in {ms:.0} ms", time_text(t)),
        _ => "not evaluated yet".into(),
    };
    view! {
        <section class="card rule-group" data-group=group.name.clone()>
            <div class="rule-group-head">
                <h2>{group.name.clone()}</h2>
                <span class="muted">{format!("{} · every {} · version {} · {evaluated}", group.tenant_name, group.interval_text, group.version)}</span>
                {group.provisioned.clone().map(|p| view! { <span class="tag">{format!("provisioned: {p}")}</span> })}
            </div>
            <table class="table rules">
                <thead><tr><th>"Rule"</th><th>"State"</th><th>"Expression"</th><th>"Health"</th></tr></thead>
                <tbody>
                    {group.rules.into_iter().enumerate().map(|(index, rule)| {
                        let edit = format!(
                            "/alerting/edit?tenant={}&group={}&rule={index}",
                            crate::url::encode(&group.tenant_name),
                            crate::url::encode(&group.name)
                        );
                        view! { <RuleLine group=group.name.clone() rule edit/> }
                    }).collect_view()}
                </tbody>
            </table>
            <p class="muted"><a href=export rel="external">"Download as a Prometheus rule file"</a></p>
        </section>
    }
}

#[component]
fn RuleLine(group: String, rule: RuleView, edit: String) -> impl IntoView {
    let anchor = rule_anchor(&group, &rule.name);
    let state = (!rule.state.is_empty()).then(|| {
        view! { <span class=format!("pill alert-{}", rule.state)>{rule.state.clone()}</span> }
    });
    let detail = if rule.kind == "alert" {
        format!(
            "alert · for {} · keep firing for {}",
            rule.for_text, rule.keep_firing_for_text
        )
    } else {
        "recording rule".into()
    };
    let severity = rule.labels.get("severity").cloned().unwrap_or_default();
    let alerts_href = format!(
        "/alerts?labels={}",
        crate::url::encode(&format!("alertname=\"{}\"", rule.name))
    );
    view! {
        <tr id=anchor data-rule=rule.name.clone()>
            <td>
                <a href=edit class="rule-name"><strong>{rule.name.clone()}</strong></a>" "<super::page::Severity severity/>
                <br/><span class="muted">{detail}</span>
                {(rule.kind == "alert").then(|| view! { <br/><a href=alerts_href>{format!("{} active", rule.active_alerts)}</a> })}
            </td>
            <td>{state}</td>
            <td><pre class="expr"><code>{rule.expr.clone()}</code></pre></td>
            <td>
                <span class=format!("health health-{}", rule.health)>{rule.health.clone()}</span>
                {(!rule.last_error.is_empty()).then(|| view! { <br/><span class="error-text">{rule.last_error.clone()}</span> })}
            </td>
        </tr>
    }
}
