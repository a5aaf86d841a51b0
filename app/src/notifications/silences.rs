//! `/alerting/silences`: the tenant's silences (active, pending, expired) with how many alerts
//! each mutes now, a form for a new one (the alert page's "Silence" fills its matchers), and
//! "Expire" for those still running.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use super::{contact_points::NotificationNav, ms_text, CreateSilence, ExpireSilence, SilenceView, TenantSwitch};
use crate::{
    auth::RequireRole,
    components::{
        forms::{use_form_error, CsrfField, FieldError, FormError},
        load_error,
    },
};

#[component]
pub fn SilencesRoute() -> impl IntoView {
    view! { <RequireRole><Silences/></RequireRole> }
}

#[component]
fn Silences() -> impl IntoView {
    let query = use_query_map();
    let tenant = Memo::new(move |_| query.read().get("tenant").unwrap_or_default());
    let matchers = Memo::new(move |_| query.read().get("matchers").unwrap_or_default());
    let create = ServerAction::<CreateSilence>::new();
    let expire = ServerAction::<ExpireSilence>::new();
    let create_error = use_form_error("create_silence", create);
    let expire_error = use_form_error("expire_silence", expire);
    let page = Resource::new(
        move || (tenant.get(), matchers.get(), create.version().get(), expire.version().get()),
        |(t, m, _, _)| super::load_silences(t, m),
    );
    view! {
        <Title text="Silences"/>
        <div class="page-header">
            <div>
                <h1>"Silences"</h1>
                <p class="muted">"A silence mutes the notifications of every alert its matchers match, from its start to its end; it expires by itself. The alerts stay visible, marked silenced."</p>
            </div>
        </div>
        <NotificationNav current="/alerting/silences"/>
        <FormError error=expire_error fields=&[]/>
        <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                let page = match page.await {
                    Ok(page) => page,
                    Err(error) => return load_error(error),
                };
                let tenant = page.tenant.clone();
                let tenant_name = tenant.name.clone();
                let can_edit = tenant.can_edit;
                view! {
                    <TenantSwitch tenant=tenant.clone() action="/alerting/silences"/>
                    {can_edit.then(|| view! {
                        <section class="card" id="new-silence">
                            <h2>"New silence"</h2>
                            <ActionForm action=create attr:class="form">
                                <CsrfField/>
                                <input type="hidden" name="tenant" value=tenant.name.clone()/>
                                <label class="field"><span>"Matchers"</span>
                                    <input name="matchers" value=page.prefill.clone() placeholder="alertname=\"HighErrorRatio\", instance=~\"api-.*\"" required/></label>
                                <FieldError error=create_error field="matchers"/>
                                <label class="field"><span>"Duration (hours)"</span>
                                    <input name="hours" value="2" inputmode="decimal"/></label>
                                <FieldError error=create_error field="hours"/>
                                <label class="field"><span>"Comment"</span>
                                    <input name="comment" placeholder="Deploying the new load balancer" required/></label>
                                <FieldError error=create_error field="comment"/>
                                <FormError error=create_error fields=&["matchers", "hours", "comment"]/>
                                <div class="actions"><button type="submit" class="button primary" id="create-silence">"Silence"</button></div>
                            </ActionForm>
                        </section>
                    })}
                    {if page.silences.is_empty() {
                        view! { <p class="muted empty">"No silences."</p> }.into_any()
                    } else {
                        view! { <SilenceTable silences=page.silences tenant=tenant_name.clone() can_edit expire/> }.into_any()
                    }}
                }.into_any()
            })}
        </Transition>
    }
}

#[component]
fn SilenceTable(silences: Vec<SilenceView>, tenant: String, can_edit: bool, expire: ServerAction<ExpireSilence>) -> impl IntoView {
    view! {
        <div class="table-scroll card">
            <table class="table" id="silences">
                <thead><tr><th>"State"</th><th>"Matchers"</th><th>"Mutes"</th><th>"From – until"</th><th>"By"</th><th></th></tr></thead>
                <tbody>
                    {silences.into_iter().map(|s| {
                        let class = match s.state.as_str() {
                            "active" => "pill alert-pending",
                            "pending" => "pill alert-cleared",
                            _ => "pill alert-resolved",
                        };
                        let running = s.state != "expired";
                        let (id, tenant) = (s.id.clone(), tenant.clone());
                        view! {
                            <tr data-silence=s.id.clone() data-state=s.state.clone()>
                                <td><span class=class>{s.state.clone()}</span></td>
                                <td><code>{s.matchers.clone()}</code></td>
                                <td>{format!("{} alert(s)", s.muting)}</td>
                                <td class="nowrap">{ms_text(s.starts_ms)}<br/>{ms_text(s.ends_ms)}</td>
                                <td>{s.created_by.clone()}<br/><span class="muted">{s.comment.clone()}</span></td>
                                <td>{(can_edit && running).then(|| view! {
                                    <ActionForm action=expire attr:class="form inline">
                                        <CsrfField/>
                                        <input type="hidden" name="tenant" value=tenant.clone()/>
                                        <input type="hidden" name="id" value=id.clone()/>
                                        <button type="submit" class="button subtle expire">"Expire"</button>
                                    </ActionForm>
                                })}</td>
                            </tr>
                        }
                    }).collect_view()}
                </tbody>
            </table>
        </div>
    }
}

/// An alert's labels as matchers that match exactly it.
pub fn matchers_for(labels: &std::collections::BTreeMap<String, String>) -> String {
    labels
        .iter()
        .map(|(k, v)| format!("{k}=\"{}\"", v.replace('\\', "\\\\").replace('"', "\\\"")))
        .collect::<Vec<_>>()
        .join(", ")
}

/// On an alert's page: the silences muting it, or "Silence" in one click (two hours, its own
/// labels), with a link to a silence of one's own making.
#[component]
pub fn SilenceBox(
    tenant: String,
    labels: std::collections::BTreeMap<String, String>,
    silenced_by: Vec<(String, chrono::DateTime<chrono::Utc>, String, String)>,
    can_edit: bool,
) -> impl IntoView {
    let create = ServerAction::<CreateSilence>::new();
    let error = use_form_error("create_silence", create);
    let matchers = matchers_for(&labels);
    let custom = format!(
        "/alerting/silences?tenant={}&matchers={}",
        crate::url::encode(&tenant),
        crate::url::encode(&matchers)
    );
    let silenced = !silenced_by.is_empty();
    view! {
        <div class="card silence-box" id="silence">
            {silenced.then(|| view! {
                <p><strong>"Silenced: "</strong>"its notifications are muted."</p>
                <ul>
                    {silenced_by.into_iter().map(|(m, until, by, comment)| view! {
                        <li><code>{m}</code>{format!(" until {} by {by}", crate::alerting::time_text(until))}
                            {(!comment.is_empty()).then(|| view! { <span class="muted">{format!(" — {comment}")}</span> })}</li>
                    }).collect_view()}
                </ul>
            })}
            {(can_edit && !silenced).then(|| view! {
                <ActionForm action=create attr:class="form inline">
                    <CsrfField/>
                    <input type="hidden" name="tenant" value=tenant.clone()/>
                    <input type="hidden" name="matchers" value=matchers.clone()/>
                    <input type="hidden" name="hours" value="2"/>
                    <input type="hidden" name="comment" value="Silenced from the alert's page"/>
                    <button type="submit" class="button" id="silence-alert">"Silence for 2 hours"</button>
                    " "<a href=custom.clone()>"Other silence…"</a>
                </ActionForm>
                <FormError error fields=&[]/>
            })}
        </div>
    }
}
