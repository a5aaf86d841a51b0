//! Notifications, as Alertmanager makes them, per tenant: its configuration, alerts and
//! silences (`repo`), the dispatcher that flushes groups into the outbox (`dispatcher`), and
//! the delivery workers that empty it (`delivery`). The semantics themselves live in
//! `crates/notify`; the alerts come from the tenant's rules (`rule_alerts`) or its
//! `/api/v2/alerts`. The pages: contact points and deliveries (`contact_points`), notification
//! policies (`policies`), silences (`silences`), templates (`templates`) and the inbox (`inbox`).

#[cfg(feature = "ssr")]
pub mod acknowledge;
#[cfg(feature = "ssr")]
pub mod delivery;
#[cfg(feature = "ssr")]
pub mod digest;
#[cfg(feature = "ssr")]
pub mod dispatcher;
#[cfg(feature = "ssr")]
pub mod email;
#[cfg(feature = "ssr")]
pub mod repo;
#[cfg(feature = "ssr")]
pub mod rule_alerts;
#[cfg(feature = "ssr")]
pub mod secrets;
#[cfg(feature = "ssr")]
mod views;
/// Wakes this replica's dispatcher when alerts arrived, and its delivery worker when messages
/// were queued, so neither waits for its next tick (other replicas find the work at theirs).
/// Signalled after the transaction that wrote the work commits.
#[cfg(feature = "ssr")]
pub mod wake {
    use std::sync::LazyLock;

    use tokio::sync::Notify;

    pub static DISPATCHER: LazyLock<Notify> = LazyLock::new(Notify::new);
    pub static DELIVERY: LazyLock<Notify> = LazyLock::new(Notify::new);
}

mod contact_points;
mod fns;
mod forms;
mod inbox;
mod routing_forms;
mod policies;
mod silences;
mod templates;

use serde::{Deserialize, Serialize};

pub use contact_points::ContactPointsRoute;
pub use fns::*;
pub use inbox::{InboxRoute, UnreadBadge};
pub use policies::PoliciesRoute;
pub use silences::{SilenceBox, SilencesRoute};
pub use templates::TemplatesRoute;

/// The tenant a notification page shows, and the others the viewer may switch to.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct TenantChoice {
    pub id: uuid::Uuid,
    pub name: String,
    pub others: Vec<String>,
    /// Whether the viewer may change this tenant's notifications.
    pub can_edit: bool,
}

/// A contact point (Alertmanager's receiver) with its integrations and recent deliveries.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ReceiverView {
    pub name: String,
    /// Each integration: its kind and where it goes, secrets masked.
    pub integrations: Vec<(String, String)>,
    pub deliveries: Vec<DeliveryView>,
}

/// One notification in the outbox and how its delivery went.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DeliveryView {
    pub created_ms: i64,
    pub receiver: String,
    pub kind: String,
    pub title: String,
    pub status: String,
    /// pending, delivered or failed.
    pub state: String,
    pub attempts: i32,
    pub last_error: Option<String>,
    /// From the alert's arrival to the receiver's answer.
    pub latency_ms: Option<i64>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ContactPointsPage {
    pub tenant: TenantChoice,
    pub receivers: Vec<ReceiverView>,
    pub digests: Vec<DigestRow>,
}

/// A scheduled digest of the tenant's configuration.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DigestRow {
    /// Its place in the configuration's `digests` (what the preview link names).
    pub index: usize,
    pub receiver: String,
    /// `weekly on Monday at 08:00`.
    pub schedule: String,
    pub time_zone: String,
    pub last_sent_ms: Option<i64>,
    /// Now when a completed period is still to be sent.
    pub next_due_ms: Option<i64>,
}

/// A digest of the period running now, rendered as it would be sent.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DigestPreview {
    pub receiver: String,
    pub schedule: String,
    pub subject: String,
    /// The e-mail's HTML part: a whole document, its values escaped.
    pub html: String,
    pub text: String,
}

/// A digest in the inbox, in the words the e-mail uses.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DigestView {
    pub period: String,
    pub fired: String,
    pub acknowledged: String,
    pub resolved: String,
    /// The noisiest rules: name, alerts fired, notifications sent.
    pub noisiest: Vec<(String, u64, u64)>,
}

/// One route of the tree, flattened in tree order.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RouteView {
    pub depth: usize,
    /// Its place in the tree (`notify::route::Route::id`: `0` is the root, `0.2` its third
    /// route); the forms name routes by it.
    pub path: String,
    pub matchers: String,
    pub receiver: String,
    pub group_by: String,
    pub timing: String,
    pub continue_matching: bool,
    pub mute: String,
}

/// An inhibition rule, time interval or escalation policy as the page lists it: the key its
/// remove form names (a name, or the rule's place) and a sentence saying what it does.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Part {
    pub key: String,
    pub text: String,
}

/// Where a label set goes.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PreviewRow {
    pub receiver: String,
    pub group_key: String,
    pub group_labels: String,
    pub timing: String,
    /// Why it would not be sent now (silenced, inhibited, muted), if so.
    pub muted: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PoliciesPage {
    pub tenant: TenantChoice,
    pub yaml: String,
    pub routes: Vec<RouteView>,
    /// The contact points' names, for the new policy's form.
    pub receivers: Vec<String>,
    pub inhibit_rules: Vec<Part>,
    pub time_intervals: Vec<Part>,
    /// Each escalation policy: what it matches and its steps.
    pub escalations: Vec<Part>,
    pub preview: Option<Result<Vec<PreviewRow>, String>>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SilenceView {
    pub id: String,
    pub matchers: String,
    pub state: String,
    pub starts_ms: i64,
    pub ends_ms: i64,
    pub created_by: String,
    pub comment: String,
    /// The tenant's alerts it mutes now.
    pub muting: usize,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SilencesPage {
    pub tenant: TenantChoice,
    pub silences: Vec<SilenceView>,
    /// The matchers the new-silence form starts with (`?matchers=`).
    pub prefill: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct InboxItem {
    pub created: chrono::DateTime<chrono::Utc>,
    pub receiver: String,
    pub status: String,
    pub title: String,
    pub alerts: Vec<InboxAlert>,
    pub unread: bool,
    /// A scheduled digest's numbers (its status is `digest`).
    pub digest: Option<DigestView>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct InboxAlert {
    pub name: String,
    pub instance: String,
    pub status: String,
    pub summary: String,
    /// Its acknowledgement link while it fires and nobody acknowledged it.
    pub acknowledge: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct InboxPage {
    pub tenant: TenantChoice,
    pub items: Vec<InboxItem>,
}

/// A time in ms as the pages show it (UTC).
pub fn ms_text(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| t.format("%Y-%m-%d %H:%M:%S UTC").to_string())
        .unwrap_or_default()
}

/// The tenant switcher the notification pages share.
#[leptos::component]
pub fn TenantSwitch(tenant: TenantChoice, action: &'static str) -> impl leptos::IntoView {
    use leptos::prelude::*;
    (!tenant.others.is_empty()).then(|| {
        view! {
            <form method="get" action=action class="card form filters">
                <label class="field"><span>"Tenant"</span>
                    <select name="tenant">
                        {tenant.others.iter().map(|t| view! { <option selected=*t == tenant.name>{t.clone()}</option> }).collect_view()}
                    </select>
                </label>
                <div class="actions"><button type="submit" class="button">"Show"</button></div>
            </form>
        }
    })
}
