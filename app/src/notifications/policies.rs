//! `/alerting/routes` (Grafana's address for notification policies): the tenant's route tree
//! with what each route matches, groups by and waits for; its inhibition rules, time intervals
//! and escalation policies, each added and removed in a form; a routing preview ("these labels
//! go to these receivers, grouped so"); and the whole configuration as Alertmanager's YAML, to
//! edit, import or download.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use super::{
    contact_points::NotificationNav,
    forms::RemoveButton,
    routing_forms::{NewEscalation, NewInhibitRule, NewRoute, NewTimeInterval},
    Part, PoliciesPage, PreviewRow, SaveNotificationConfig, TenantChoice, TenantSwitch,
};
use crate::{
    auth::RequireRole,
    components::{
        forms::{use_form_error, CsrfField, FieldError, FormError},
        load_error,
    },
};

#[component]
pub fn PoliciesRoute() -> impl IntoView {
    view! { <RequireRole><Policies/></RequireRole> }
}

#[component]
fn Policies() -> impl IntoView {
    let query = use_query_map();
    let tenant = Memo::new(move |_| query.read().get("tenant").unwrap_or_default());
    let labels = Memo::new(move |_| query.read().get("labels").unwrap_or_default());
    let save = ServerAction::<SaveNotificationConfig>::new();
    let error = use_form_error("save_notification_config", save);
    let page = Resource::new(
        move || (tenant.get(), labels.get(), save.version().get()),
        |(t, l, _)| super::load_policies(t, l),
    );
    view! {
        <Title text="Notification policies"/>
        <div class="page-header">
            <div>
                <h1>"Notification policies"</h1>
                <p class="muted">"Alertmanager's routing: an alert goes down the tree to the first matching route (and on, where a route says continue), is grouped by the route's labels, and sent after its group wait, then at each group interval when something changed, or at the repeat interval."</p>
            </div>
        </div>
        <NotificationNav current="/alerting/routes"/>
        <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match page.await {
                    Ok(page) => view! { <PoliciesView page labels=labels.get_untracked() save error/> }.into_any(),
                    Err(error) => load_error(error),
                }
            })}
        </Transition>
    }
}

#[component]
fn PoliciesView(
    page: PoliciesPage,
    labels: String,
    save: ServerAction<SaveNotificationConfig>,
    error: Signal<Option<crate::error::AppError>>,
) -> impl IntoView {
    let tenant = page.tenant.clone();
    let export = format!("/api/v1/alertmanager/config?tenant={}", tenant.id);
    let yaml = page.yaml.clone();
    view! {
        <TenantSwitch tenant=tenant.clone() action="/alerting/routes"/>
        <section class="card" id="route-tree">
            <h2>"Routes"</h2>
            <ol class="route-tree">
                {page.routes.clone().into_iter().map(|r| view! {
                    <li style=format!("margin-left: {}rem", r.depth as f64 * 1.5) class="route" data-receiver=r.receiver.clone() data-path=r.path.clone()>
                        <div><code>{r.matchers.clone()}</code>" → "<strong>{r.receiver.clone()}</strong>
                            {r.continue_matching.then(|| view! { " "<span class="tag">"continue"</span> })}
                            {(tenant.can_edit && r.depth > 0).then(|| view! { <RemoveButton tenant=tenant.name.clone() part="route" key=r.path.clone()/> })}</div>
                        <div class="muted">{format!("group by {} · {}", r.group_by, r.timing)}
                            {(!r.mute.is_empty()).then(|| format!(" · {}", r.mute))}</div>
                    </li>
                }).collect_view()}
            </ol>
        </section>
        <section class="card" id="routing-preview">
            <h2>"Routing preview"</h2>
            <form method="get" action="/alerting/routes" class="form inline">
                <input type="hidden" name="tenant" value=tenant.name.clone()/>
                <label class="field grow"><span>"An alert's labels"</span>
                    <input name="labels" value=labels placeholder="alertname=\"HighErrorRatio\", severity=\"critical\", instance=\"api-1\""/></label>
                <div class="actions"><button type="submit" class="button">"Preview"</button></div>
            </form>
            {page.preview.map(|preview| match preview {
                Ok(rows) => view! { <Preview rows/> }.into_any(),
                Err(e) => view! { <p class="callout callout-error" role="alert">{e}</p> }.into_any(),
            })}
        </section>
        {tenant.can_edit.then(|| view! {
            <NewRoute tenant=tenant.clone() receivers=page.receivers.clone() routes=page.routes.clone()
                time_intervals=page.time_intervals.iter().map(|t| t.key.clone()).collect()/>
        })}
        <section class="card" id="inhibition">
            <h2>"Inhibition rules"</h2>
            <p class="muted">"While an alert matches the first matchers, alerts matching the second are not sent (when the listed labels are equal in both)."</p>
            <Parts parts=page.inhibit_rules tenant=tenant.clone() part="inhibit_rule" empty="No inhibition rules."/>
            {tenant.can_edit.then(|| view! { <NewInhibitRule tenant=tenant.clone()/> })}
        </section>
        <section class="card" id="time-intervals">
            <h2>"Time intervals"</h2>
            <p class="muted">"Named times a policy is muted during, or active only during."</p>
            <Parts parts=page.time_intervals.clone() tenant=tenant.clone() part="time_interval" empty="No time intervals."/>
            {tenant.can_edit.then(|| view! { <NewTimeInterval tenant=tenant.clone()/> })}
        </section>
        <section class="card" id="escalation">
            <h2>"Escalation"</h2>
            <p class="muted">"A firing alert that nobody acknowledges is sent on to each step's contact point in turn, until it is acknowledged or resolved."</p>
            <Parts parts=page.escalations tenant=tenant.clone() part="escalation" empty="No escalation policies."/>
            {tenant.can_edit.then(|| view! { <NewEscalation tenant=tenant.clone() receivers=page.receivers.clone()/> })}
        </section>
        <section class="card" id="configuration">
            <h2>"Configuration (Alertmanager YAML)"</h2>
            <p class="muted">"Route, receivers, inhibit_rules and time_intervals, as Alertmanager reads them. The whole file is checked before it replaces the current one; an error names its line. "
                <a href=export rel="external">"Download"</a></p>
            {tenant.can_edit.then(|| view! {
                <ActionForm action=save attr:class="form" attr:id="config-form">
                    <CsrfField/>
                    <input type="hidden" name="tenant" value=tenant.name.clone()/>
                    <label class="field"><span>"alertmanager.yml"</span>
                        <textarea name="yaml" rows="18" spellcheck="false" class="code">{page.yaml.clone()}</textarea></label>
                    <FieldError error field="yaml"/>
                    <FormError error fields=&["yaml"]/>
                    <div class="actions"><button type="submit" class="button primary">"Save configuration"</button></div>
                </ActionForm>
            })}
            {(!tenant.can_edit).then(|| view! { <pre class="code"><code>{yaml.clone()}</code></pre> })}
        </section>
    }
}

/// A list of inhibition rules, time intervals or escalation policies, each with its remove form.
#[component]
fn Parts(parts: Vec<Part>, tenant: TenantChoice, part: &'static str, empty: &'static str) -> impl IntoView {
    if parts.is_empty() {
        return view! { <p class="muted">{empty}</p> }.into_any();
    }
    view! {
        <ul class="parts">
            {parts.into_iter().map(|p| view! {
                <li data-key=p.key.clone()><span>{p.text}</span>
                    {tenant.can_edit.then(|| view! { <RemoveButton tenant=tenant.name.clone() part key=p.key.clone()/> })}</li>
            }).collect_view()}
        </ul>
    }
    .into_any()
}

#[component]
fn Preview(rows: Vec<PreviewRow>) -> impl IntoView {
    view! {
        <table class="table" id="preview-result">
            <thead><tr><th>"Receiver"</th><th>"Group"</th><th>"Timing"</th><th>"Now"</th></tr></thead>
            <tbody>
                {rows.into_iter().map(|r| view! {
                    <tr data-receiver=r.receiver.clone()>
                        <td><strong>{r.receiver.clone()}</strong></td>
                        <td><code>{r.group_labels}</code><br/><span class="muted">{r.group_key}</span></td>
                        <td>{r.timing}</td>
                        <td>{if r.muted.is_empty() { "would be sent".to_string() } else { r.muted }}</td>
                    </tr>
                }).collect_view()}
            </tbody>
        </table>
    }
}
