//! The audit trail: who changed what, when, from where — filterable, with each change shown as
//! a diff, exportable as CSV. Tenant users see their own tenant's entries; admins everything.

mod api;
#[cfg(feature = "ssr")]
pub mod repo;

use std::collections::BTreeSet;

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

use crate::{auth::RequireRole, components::load_error, error::AppError};
pub use api::*;

pub const PAGE_SIZE: i64 = 50;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AuditEvent {
    pub id: i64,
    pub occurred_at: DateTime<Utc>,
    pub actor_type: String,
    pub actor_label: String,
    pub tenant_id: Option<Uuid>,
    pub tenant_name: Option<String>,
    pub action: String,
    pub target_type: String,
    pub target_id: String,
    pub before: Option<Value>,
    pub after: Option<Value>,
    pub ip: Option<String>,
    pub user_agent: String,
    pub correlation_id: String,
}

/// The audit page's filters, as query parameters.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct AuditFilter {
    pub from: Option<String>,
    pub to: Option<String>,
    pub actor: Option<String>,
    pub action: Option<String>,
    pub tenant: Option<String>,
    pub target: Option<String>,
    pub before_id: Option<i64>,
}

impl AuditFilter {
    pub fn to_query(&self) -> String {
        let before_id = self.before_id.map(|id| id.to_string());
        crate::url::query([
            ("from", self.from.as_deref()),
            ("to", self.to.as_deref()),
            ("actor", self.actor.as_deref()),
            ("action", self.action.as_deref()),
            ("tenant", self.tenant.as_deref()),
            ("target", self.target.as_deref()),
            ("before_id", before_id.as_deref()),
        ])
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AuditPage {
    pub events: Vec<AuditEvent>,
    /// Pass as `before_id` for the next (older) page.
    pub next_before_id: Option<i64>,
}

/// `YYYY-MM-DD` or `YYYY-MM-DDTHH:MM[:SS]`, in UTC; empty is no bound.
pub fn parse_time(field: &str, text: &str) -> Result<Option<DateTime<Utc>>, AppError> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    if let Ok(day) = NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        return Ok(day.and_hms_opt(0, 0, 0).map(|t| t.and_utc()));
    }
    for format in ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S"] {
        if let Ok(time) = NaiveDateTime::parse_from_str(text, format) {
            return Ok(Some(time.and_utc()));
        }
    }
    DateTime::parse_from_rfc3339(text)
        .map(|t| Some(t.with_timezone(&Utc)))
        .map_err(|_| AppError::invalid(field, "must be a time like 2026-11-21T14:30 (UTC)"))
}

/// One line of a diff: a key whose value changed, appeared or went away.
#[derive(Clone, Debug, PartialEq)]
pub struct Change {
    pub key: String,
    pub before: Option<String>,
    pub after: Option<String>,
}

/// The keys that differ between two JSON objects (or the values themselves, when not objects).
pub fn diff(before: Option<&Value>, after: Option<&Value>) -> Vec<Change> {
    let show = |v: &Value| match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    match (before, after) {
        (Some(Value::Object(b)), Some(Value::Object(a))) => {
            let keys: BTreeSet<&String> = b.keys().chain(a.keys()).collect();
            keys.into_iter()
                .filter(|k| b.get(*k) != a.get(*k))
                .map(|k| Change {
                    key: k.clone(),
                    before: b.get(k).map(show),
                    after: a.get(k).map(show),
                })
                .collect()
        }
        (None, Some(Value::Object(a))) => a
            .iter()
            .map(|(k, v)| Change {
                key: k.clone(),
                before: None,
                after: Some(show(v)),
            })
            .collect(),
        (Some(Value::Object(b)), None) => b
            .iter()
            .map(|(k, v)| Change {
                key: k.clone(),
                before: Some(show(v)),
                after: None,
            })
            .collect(),
        (None, None) => Vec::new(),
        (b, a) => vec![Change {
            key: String::new(),
            before: b.map(show),
            after: a.map(show),
        }],
    }
}

#[component]
pub fn AuditRoute() -> impl IntoView {
    view! { <RequireRole><AuditTrail/></RequireRole> }
}

#[component]
fn AuditTrail() -> impl IntoView {
    let query = use_query_map();
    let filter = Memo::new(move |_| {
        let q = query.read();
        AuditFilter {
            from: q.get("from"),
            to: q.get("to"),
            actor: q.get("actor"),
            action: q.get("action"),
            tenant: q.get("tenant"),
            target: q.get("target"),
            before_id: q.get("before_id").and_then(|v| v.parse().ok()),
        }
    });
    let page = Resource::new(move || filter.get(), list_audit_events);
    let value = move |get: fn(&AuditFilter) -> Option<String>| {
        move || get(&filter.get()).unwrap_or_default()
    };

    view! {
        <Title text="Audit trail"/>
        <div class="page-header">
            <div>
                <h1>"Audit trail"</h1>
                <p class="muted">"Every change and every sign-in, newest first. Entries are hash-chained: any later edit is detected."</p>
            </div>
            <div class="toolbar">
                <a class="button subtle" id="export-csv" rel="external"
                    href=move || { let mut f = filter.get(); f.before_id = None; format!("/audit/export.csv?{}", f.to_query()) }>
                    "Export CSV"
                </a>
            </div>
        </div>
        <form method="get" action="/audit" class="card form filters" id="audit-filters">
            <label class="field"><span>"From (UTC)"</span><input type="datetime-local" name="from" value=value(|f| f.from.clone())/></label>
            <label class="field"><span>"To (UTC)"</span><input type="datetime-local" name="to" value=value(|f| f.to.clone())/></label>
            <label class="field"><span>"Actor"</span><input name="actor" placeholder="email or token" value=value(|f| f.actor.clone())/></label>
            <label class="field"><span>"Action"</span><input name="action" placeholder="tenant. or user.create" value=value(|f| f.action.clone())/></label>
            <label class="field"><span>"Tenant"</span><input name="tenant" value=value(|f| f.tenant.clone())/></label>
            <label class="field"><span>"Target"</span><input name="target" placeholder="id or type" value=value(|f| f.target.clone())/></label>
            <div class="actions">
                <button type="submit" class="button primary">"Filter"</button>
                <a class="button subtle" href="/audit">"Clear"</a>
            </div>
        </form>
        <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                let page = match page.await {
                    Ok(page) => page,
                    Err(AppError::Invalid { field, message }) => {
                        return view! { <p class="callout callout-error" role="alert">{format!("{field}: {message}")}</p> }.into_any()
                    }
                    Err(error) => return load_error(error),
                };
                let older = page.next_before_id.map(|id| {
                    let mut f = filter.get_untracked();
                    f.before_id = Some(id);
                    format!("/audit?{}", f.to_query())
                });
                view! {
                    {page.events.is_empty().then(|| view! { <p class="muted empty">"No entries match."</p> })}
                    <ol class="audit-list" id="audit-events">
                        {page.events.into_iter().map(|event| view! { <AuditRow event/> }).collect_view()}
                    </ol>
                    {older.map(|href| view! { <p class="pager"><a class="button subtle" href=href>"Older entries →"</a></p> })}
                }.into_any()
            })}
        </Transition>
    }
}

#[component]
fn AuditRow(event: AuditEvent) -> impl IntoView {
    let changes = diff(event.before.as_ref(), event.after.as_ref());
    let target = if event.target_type.is_empty() {
        String::new()
    } else {
        format!("{} {}", event.target_type, event.target_id)
    };
    view! {
        <li class="audit-event" data-action=event.action.clone() data-id=event.id>
            <details>
                <summary>
                    <span class="time">{event.occurred_at.format("%Y-%m-%d %H:%M:%S UTC").to_string()}</span>
                    <span class="action"><code>{event.action.clone()}</code></span>
                    <span class="actor">{format!("{} ({})", event.actor_label, event.actor_type)}</span>
                    <span class="tenant muted">{event.tenant_name.clone().unwrap_or_else(|| "installation".into())}</span>
                    <span class="target muted">{target}</span>
                </summary>
                <div class="audit-detail">
                    {(!changes.is_empty()).then(|| view! {
                        <table class="diff">
                            <thead><tr><th>"Field"</th><th>"Before"</th><th>"After"</th></tr></thead>
                            <tbody>
                                {changes.into_iter().map(|c| view! {
                                    <tr>
                                        <td><code>{c.key}</code></td>
                                        <td class="removed">{c.before.unwrap_or_default()}</td>
                                        <td class="added">{c.after.unwrap_or_default()}</td>
                                    </tr>
                                }).collect_view()}
                            </tbody>
                        </table>
                    })}
                    <dl class="facts small">
                        <div><dt>"Entry"</dt><dd>{format!("#{}", event.id)}</dd></div>
                        <div><dt>"Address"</dt><dd>{event.ip.clone().unwrap_or_else(|| "—".into())}</dd></div>
                        <div><dt>"Correlation id"</dt><dd class="mono">{event.correlation_id.clone()}</dd></div>
                        <div><dt>"User agent"</dt><dd class="muted">{event.user_agent.clone()}</dd></div>
                    </dl>
                </div>
            </details>
        </li>
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn diff_shows_only_what_changed() {
        let before = json!({"name": "acme", "active": true, "users": 3});
        let after = json!({"name": "acme-corp", "active": true, "tokens": 1});
        let changes = diff(Some(&before), Some(&after));
        assert_eq!(
            changes,
            vec![
                Change {
                    key: "name".into(),
                    before: Some("acme".into()),
                    after: Some("acme-corp".into())
                },
                Change {
                    key: "tokens".into(),
                    before: None,
                    after: Some("1".into())
                },
                Change {
                    key: "users".into(),
                    before: Some("3".into()),
                    after: None
                },
            ]
        );
        assert_eq!(diff(None, Some(&json!({"a": 1}))).len(), 1);
        assert!(diff(None, None).is_empty());
    }

    #[test]
    fn times_parse_as_utc_and_name_the_field() {
        assert_eq!(
            parse_time("from", "2026-11-21")
                .unwrap()
                .unwrap()
                .to_rfc3339(),
            "2026-11-21T00:00:00+00:00"
        );
        assert_eq!(
            parse_time("from", "2026-11-21T14:30")
                .unwrap()
                .unwrap()
                .to_rfc3339(),
            "2026-11-21T14:30:00+00:00"
        );
        assert_eq!(parse_time("to", "").unwrap(), None);
        assert!(parse_time("to", "yesterday")
            .unwrap_err()
            .for_field("to")
            .is_some());
    }

    #[test]
    fn filters_round_trip_through_the_query() {
        let filter = AuditFilter {
            actor: Some("ada@x.io".into()),
            action: Some("tenant.".into()),
            before_id: Some(7),
            ..Default::default()
        };
        assert_eq!(
            filter.to_query(),
            "actor=ada%40x.io&action=tenant.&before_id=7"
        );
    }
}
