//! `/alerting/notifications` (Grafana's address for contact points): each of the tenant's
//! receivers with where its integrations send (secrets masked), "Send test notification", and
//! its latest deliveries with their attempts, latency and errors.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use super::{ms_text, DeliveryView, ReceiverView, SendTestNotification, TenantChoice, TenantSwitch};
use crate::{
    auth::RequireRole,
    components::{
        forms::{use_form_error, CsrfField, FormError},
        load_error,
    },
};

#[component]
pub fn ContactPointsRoute() -> impl IntoView {
    view! { <RequireRole><ContactPoints/></RequireRole> }
}

/// The links between the notification pages.
#[component]
pub fn NotificationNav(current: &'static str) -> impl IntoView {
    let pages = [
        ("/alerting/notifications", "Contact points"),
        ("/alerting/routes", "Notification policies"),
        ("/alerting/silences", "Silences"),
        ("/inbox", "Inbox"),
    ];
    view! {
        <nav class="tabs" aria-label="Notifications">
            {pages.into_iter().map(|(href, text)| {
                let here = href == current;
                view! { <a href=href class:active=here aria-current=here.then_some("page")>{text}</a> }
            }).collect_view()}
        </nav>
    }
}

#[component]
fn ContactPoints() -> impl IntoView {
    let query = use_query_map();
    let tenant = Memo::new(move |_| query.read().get("tenant").unwrap_or_default());
    let send = ServerAction::<SendTestNotification>::new();
    let error = use_form_error("send_test_notification", send);
    let page = Resource::new(move || (tenant.get(), send.version().get()), |(t, _)| super::load_contact_points(t));
    view! {
        <Title text="Contact points"/>
        <div class="page-header">
            <div>
                <h1>"Contact points"</h1>
                <p class="muted">"Where notifications go: webhooks (Alertmanager's payload), Slack, e-mail, PagerDuty, another Alertmanager, or Meridian's inbox. Every notification goes through a durable outbox and is retried until it is delivered or given up."</p>
            </div>
        </div>
        <NotificationNav current="/alerting/notifications"/>
        <FormError error fields=&[]/>
        <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                let page = match page.await {
                    Ok(page) => page,
                    Err(error) => return load_error(error),
                };
                let tenant = page.tenant.clone();
                view! {
                    <TenantSwitch tenant=tenant.clone() action="/alerting/notifications"/>
                    <div id="contact-points">
                        {page.receivers.into_iter().map(|receiver| view! { <ReceiverCard receiver tenant=tenant.clone() send/> }).collect_view()}
                    </div>
                }.into_any()
            })}
        </Transition>
    }
}

#[component]
fn ReceiverCard(receiver: ReceiverView, tenant: TenantChoice, send: ServerAction<SendTestNotification>) -> impl IntoView {
    let name = receiver.name.clone();
    view! {
        <section class="card contact-point" data-receiver=receiver.name.clone()>
            <div class="rule-group-head">
                <h2>{receiver.name.clone()}</h2>
                {tenant.can_edit.then(|| view! {
                    <ActionForm action=send attr:class="form inline">
                        <CsrfField/>
                        <input type="hidden" name="tenant" value=tenant.name.clone()/>
                        <input type="hidden" name="receiver" value=name.clone()/>
                        <button type="submit" class="button subtle send-test">"Send test notification"</button>
                    </ActionForm>
                })}
            </div>
            <table class="table">
                <thead><tr><th>"Integration"</th><th>"Sends to"</th></tr></thead>
                <tbody>
                    {receiver.integrations.iter().map(|(kind, target)| view! {
                        <tr><td><span class="tag">{kind.clone()}</span></td><td><code>{target.clone()}</code></td></tr>
                    }).collect_view()}
                </tbody>
            </table>
            <h3>"Latest deliveries"</h3>
            {if receiver.deliveries.is_empty() {
                view! { <p class="muted empty">"Nothing sent yet."</p> }.into_any()
            } else {
                view! { <Deliveries deliveries=receiver.deliveries/> }.into_any()
            }}
        </section>
    }
}

#[component]
pub fn Deliveries(deliveries: Vec<DeliveryView>) -> impl IntoView {
    view! {
        <div class="table-scroll">
            <table class="table deliveries">
                <thead><tr><th>"Queued"</th><th>"Notification"</th><th>"Delivery"</th><th>"Attempts"</th><th>"Latency"</th></tr></thead>
                <tbody>
                    {deliveries.into_iter().map(|d| {
                        let state_class = match d.state.as_str() {
                            "delivered" => "pill alert-resolved",
                            "failed" => "pill alert-firing",
                            _ => "pill alert-pending",
                        };
                        view! {
                            <tr data-state=d.state.clone()>
                                <td class="nowrap">{ms_text(d.created_ms)}</td>
                                <td><span class=format!("pill alert-{}", d.status)>{d.status.clone()}</span>" "{d.title.clone()}<br/><span class="muted">{d.kind.clone()}</span></td>
                                <td><span class=state_class>{d.state.clone()}</span>
                                    {d.last_error.clone().map(|e| view! { <br/><span class="error-text">{e}</span> })}</td>
                                <td>{d.attempts}</td>
                                <td>{d.latency_ms.map(|ms| format!("{:.1} s", ms as f64 / 1000.0)).unwrap_or_default()}</td>
                            </tr>
                        }
                    }).collect_view()}
                </tbody>
            </table>
        </div>
    }
}
