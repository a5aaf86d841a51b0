//! `/alerting/notifications` (Grafana's address for contact points): each of the tenant's
//! receivers with where its integrations send (secrets masked), "Send test notification", and
//! its latest deliveries with their attempts, latency and errors.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use super::{ms_text, DeliveryView, DigestPreview, DigestRow, ReceiverView, SendTestNotification, TenantChoice, TenantSwitch};
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

/// The links between the notification pages, and the error of a remove button posted without
/// JavaScript (with it, the error shows beside the button).
#[component]
pub fn NotificationNav(current: &'static str) -> impl IntoView {
    let remove = ServerAction::<super::forms::RemoveNotificationPart>::new();
    let error = use_form_error("remove_notification_part", remove);
    let pages = [
        ("/alerting/notifications", "Contact points"),
        ("/alerting/routes", "Notification policies"),
        ("/alerting/silences", "Silences"),
        ("/alerting/templates", "Templates"),
        ("/inbox", "Inbox"),
    ];
    view! {
        <nav class="tabs" aria-label="Notifications">
            {pages.into_iter().map(|(href, text)| {
                let here = href == current;
                view! { <a href=href class:active=here aria-current=here.then_some("page")>{text}</a> }
            }).collect_view()}
        </nav>
        <FormError error fields=&[]/>
    }
}

#[component]
fn ContactPoints() -> impl IntoView {
    let query = use_query_map();
    let tenant = Memo::new(move |_| query.read().get("tenant").unwrap_or_default());
    let send = ServerAction::<SendTestNotification>::new();
    let error = use_form_error("send_test_notification", send);
    let page = Resource::new(move || (tenant.get(), send.version().get()), |(t, _)| super::load_contact_points(t));
    // `?digest=N`: the preview of the tenant's Nth digest, rendered on the server (no script).
    let digest = Memo::new(move |_| query.read().get("digest").unwrap_or_default());
    let preview = Resource::new(
        move || (tenant.get(), digest.get()),
        |(t, d)| async move {
            if d.is_empty() {
                None
            } else {
                Some(super::load_digest_preview(t, d).await)
            }
        },
    );
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
                    <Digests digests=page.digests tenant=tenant.name.clone()/>
                    {tenant.can_edit.then(|| view! { <super::forms::NewContactPoint tenant=tenant.clone()/> })}
                }.into_any()
            })}
        </Transition>
        <Transition fallback=|| ()>
            {move || Suspend::new(async move {
                match preview.await {
                    None => ().into_any(),
                    Some(Ok(preview)) => view! { <DigestPreviewCard preview tenant=tenant.get()/> }.into_any(),
                    Some(Err(error)) => load_error(error),
                }
            })}
        </Transition>
    }
}

#[component]
fn ReceiverCard(receiver: ReceiverView, tenant: TenantChoice, send: ServerAction<SendTestNotification>) -> impl IntoView {
    let name = receiver.name.clone();
    let (remove_tenant, remove_name) = (tenant.name.clone(), receiver.name.clone());
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
                    <super::forms::RemoveButton tenant=remove_tenant.clone() part="contact_point" key=remove_name.clone()/>
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

/// The tenant's scheduled digests (`digests:` in the configuration), each with a preview.
#[component]
fn Digests(digests: Vec<DigestRow>, tenant: String) -> impl IntoView {
    view! {
        <section class="card digests" id="digests">
            <h2>"Digests"</h2>
            <p class="muted">"A summary of the tenant's alerting, daily or weekly: alerts fired by severity, time to acknowledge and to resolve, the noisiest rules. A new digest sends the last completed period at once."</p>
            {if digests.is_empty() {
                view! { <p class="muted empty">"No digests. Add one under " <code>"digests:"</code> " in the notification policies' configuration, e.g. " <code>"{receiver: team, every: weekly, weekday: monday, at: \"08:00\", time_zone: Europe/Berlin}"</code>"."</p> }.into_any()
            } else {
                view! {
                    <div class="table-scroll">
                        <table class="table">
                            <thead><tr><th>"Contact point"</th><th>"Schedule"</th><th>"Time zone"</th><th>"Last sent"</th><th>"Next due"</th><th></th></tr></thead>
                            <tbody>
                                {digests.into_iter().map(|d| {
                                    let href = format!("/alerting/notifications?tenant={}&digest={}#digest-preview", crate::url::encode(&tenant), d.index);
                                    view! {
                                        <tr data-receiver=d.receiver.clone()>
                                            <td>{d.receiver.clone()}</td>
                                            <td>{d.schedule.clone()}</td>
                                            <td>{d.time_zone.clone()}</td>
                                            <td class="nowrap">{d.last_sent_ms.map(ms_text).unwrap_or_else(|| "never".into())}</td>
                                            <td class="nowrap">{d.next_due_ms.map(ms_text).unwrap_or_default()}</td>
                                            <td><a class="button subtle digest-preview-link" href=href>"Preview"</a></td>
                                        </tr>
                                    }
                                }).collect_view()}
                            </tbody>
                        </table>
                    </div>
                }.into_any()
            }}
        </section>
    }
}

/// A digest of the running period as its e-mail would show it; the HTML in a sandboxed frame,
/// so its own styles stay its own and nothing in it can run.
#[component]
fn DigestPreviewCard(preview: DigestPreview, tenant: String) -> impl IntoView {
    let close = format!("/alerting/notifications?tenant={}", crate::url::encode(&tenant));
    view! {
        <section class="card digest-preview" id="digest-preview">
            <div class="rule-group-head">
                <h2>"Digest preview"</h2>
                <a class="button subtle" href=close>"Close"</a>
            </div>
            <p><strong>{preview.subject.clone()}</strong></p>
            <p class="muted">{format!("To {}, {}. The period running now, so far.", preview.receiver, preview.schedule)}</p>
            <iframe title="The digest as e-mailed" sandbox="" srcdoc=preview.html
                style="width:100%;min-height:720px;border:1px solid #e9e9e9;background:#fff;"></iframe>
            <details>
                <summary>"Plain text"</summary>
                <pre class="digest-text">{preview.text}</pre>
            </details>
        </section>
    }
}
