//! `/inbox`: the notifications Meridian's built-in inbox kept for the tenant, newest first,
//! unread ones marked, scheduled digests with their numbers; and the header's badge with the
//! viewer's unread count.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use super::{contact_points::NotificationNav, DigestView, InboxItem, TenantSwitch};
use crate::{auth::RequireRole, components::load_error};

#[component]
pub fn InboxRoute() -> impl IntoView {
    view! { <RequireRole><Inbox/></RequireRole> }
}

#[component]
fn Inbox() -> impl IntoView {
    let query = use_query_map();
    let tenant = Memo::new(move |_| query.read().get("tenant").unwrap_or_default());
    let page = Resource::new(move || tenant.get(), super::load_inbox);
    view! {
        <Title text="Inbox"/>
        <div class="page-header">
            <div>
                <h1>"Inbox"</h1>
                <p class="muted">"Notifications routed to Meridian's inbox contact points, as the on-call person would have received them."</p>
            </div>
        </div>
        <NotificationNav current="/inbox"/>
        <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                let page = match page.await {
                    Ok(page) => page,
                    Err(error) => return load_error(error),
                };
                view! {
                    <TenantSwitch tenant=page.tenant.clone() action="/inbox"/>
                    {page.items.is_empty().then(|| view! { <p class="muted empty">"No notifications yet."</p> })}
                    <ul class="inbox" id="inbox">
                        {page.items.into_iter().map(|item| view! { <InboxEntry item/> }).collect_view()}
                    </ul>
                }.into_any()
            })}
        </Transition>
    }
}

#[component]
fn InboxEntry(item: InboxItem) -> impl IntoView {
    view! {
        <li class="card inbox-item" class:unread=item.unread data-status=item.status.clone()>
            <div class="rule-group-head">
                <span class=format!("pill alert-{}", item.status)>{item.status.clone()}</span>
                <strong>{item.title.clone()}</strong>
                <span class="muted">{format!("{} · to {}", super::ms_text(item.created.timestamp_millis()), item.receiver)}</span>
                {item.unread.then(|| view! { <span class="tag">"new"</span> })}
            </div>
            {item.digest.map(|digest| view! { <DigestEntry digest/> })}
            <ul class="inbox-alerts">
                {item.alerts.into_iter().map(|a| view! {
                    <li><span class=format!("pill alert-{}", a.status)>{a.status.clone()}</span>" "<strong>{a.name.clone()}</strong>
                        {(!a.instance.is_empty()).then(|| format!(" on {}", a.instance))}
                        {(!a.summary.is_empty()).then(|| view! { <span class="muted">{format!(" — {}", a.summary)}</span> })}
                        {a.acknowledge.clone().map(|href| view! { " "<a class="button subtle ack-link" href=href>"Acknowledge"</a> })}</li>
                }).collect_view()}
            </ul>
        </li>
    }
}

/// A scheduled digest: its period, its numbers and the noisiest rules.
#[component]
fn DigestEntry(digest: DigestView) -> impl IntoView {
    view! {
        <div class="inbox-digest">
            <p class="muted">{digest.period}</p>
            <ul>
                <li>{digest.fired}</li>
                <li>{digest.acknowledged}</li>
                <li>{digest.resolved}</li>
            </ul>
            {(!digest.noisiest.is_empty()).then(|| view! {
                <table class="table">
                    <thead><tr><th>"Noisiest rules"</th><th>"Alerts fired"</th><th>"Notifications"</th></tr></thead>
                    <tbody>
                        {digest.noisiest.into_iter().map(|(rule, fired, notified)| view! {
                            <tr><td>{rule}</td><td>{fired}</td><td>{notified}</td></tr>
                        }).collect_view()}
                    </tbody>
                </table>
            })}
        </div>
    }
}

/// "Inbox" in the header, with the viewer's unread count.
#[component]
pub fn UnreadBadge() -> impl IntoView {
    let unread = Resource::new(|| (), |_| super::unread_notifications());
    view! {
        <a href="/inbox" class="inbox-link">"Inbox"
            <Suspense>
                {move || Suspend::new(async move {
                    unread.await.ok().filter(|n| *n > 0).map(|n| view! {
                        <span class="badge" id="unread-count" aria-label=format!("{n} unread")>{if n > 99 { "99+".to_string() } else { n.to_string() }}</span>
                    })
                })}
            </Suspense>
        </a>
    }
}
