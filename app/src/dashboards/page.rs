//! The dashboards list (`/dashboards`) and a dashboard's page (`/d/{uid}`), drawn on the server.
//! Every control is a link or a GET form: the island in [`super::live`] intercepts them to redraw
//! without a reload, and without JavaScript they simply load the page they point at.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::{use_location, use_params_map, use_query_map};

use super::{
    editor::DashboardEditor, list_dashboards, live::LiveDashboard, load_dashboard, query_pairs,
    query_string, DashboardSummary, DashboardView, PanelView, VariableView, ALL, REFRESH_OPTIONS,
};
use crate::{
    auth::{use_current_user, RequireRole, Role},
    components::load_error,
};

#[component]
pub fn DashboardsRoute() -> impl IntoView {
    view! { <RequireRole><DashboardsPage/></RequireRole> }
}

#[component]
pub fn DashboardRoute() -> impl IntoView {
    let location = use_location();
    // Grafana's URLs: `?editPanel=…` and `?editview=…` open the editor on the dashboard's page.
    let editing = move || super::editor::page_editing(&location.search.get());
    view! {
        <RequireRole>
            {move || if editing() { view! { <DashboardEditor/> }.into_any() } else { view! { <DashboardPage/> }.into_any() }}
        </RequireRole>
    }
}

#[component]
fn DashboardsPage() -> impl IntoView {
    let query = use_query_map();
    let search = move || query.read().get("query").unwrap_or_default();
    let tag = move || query.read().get("tag").unwrap_or_default();
    let list = Resource::new(
        move || (search(), tag()),
        |(search, tag)| list_dashboards(search, tag),
    );
    let user = use_current_user();
    // Admins learn here which dashboard files did not load, and why.
    let problems = Resource::new(
        || (),
        move |_| async move {
            match user.await {
                Ok(Some(user)) if user.role == Role::Admin => {
                    super::editor::dashboard_file_problems()
                        .await
                        .unwrap_or_default()
                }
                _ => Vec::new(),
            }
        },
    );
    view! {
        <Title text="Dashboards"/>
        <div class="page-header">
            <div>
                <h1>"Dashboards"</h1>
                <p class="muted">"Your tenants' dashboards and the ones shared across them."</p>
            </div>
            <Suspense>
                {move || Suspend::new(async move {
                    let editor = matches!(user.await, Ok(Some(user)) if matches!(user.role, Role::Admin | Role::TenantEditor));
                    editor.then(|| view! {
                        <div class="actions">
                            <a class="button" href="/dashboards/import" id="import-dashboard">"Import"</a>
                            <a class="button primary" href="/dashboard/new" id="new-dashboard">"New dashboard"</a>
                        </div>
                    })
                })}
            </Suspense>
        </div>
        <Suspense>
            {move || Suspend::new(async move {
                let problems = problems.await;
                (!problems.is_empty()).then(|| view! {
                    <div class="callout callout-error" id="file-problems" role="alert">
                        <strong>"Dashboard files that did not load:"</strong>
                        <ul>{problems.into_iter().map(|(path, reason)| view! { <li><code>{path}</code>": "{reason}</li> }).collect_view()}</ul>
                    </div>
                })
            })}
        </Suspense>
        <form method="get" action="/dashboards" class="card form inline" id="dashboard-search">
            <label class="field"><span>"Search by title"</span>
                <input name="query" type="search" placeholder="Executive" value=search/></label>
            <label class="field"><span>"Tag"</span><input name="tag" placeholder="sla" value=tag/></label>
            <div class="actions"><button type="submit" class="button">"Search"</button></div>
        </form>
        <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match list.await {
                    Ok(list) if list.is_empty() => view! {
                        <p class="card muted empty">"No dashboard matches."</p>
                    }.into_any(),
                    Ok(list) => view! { <DashboardTable list/> }.into_any(),
                    Err(error) => load_error(error),
                }
            })}
        </Suspense>
    }
}

#[component]
fn DashboardTable(list: Vec<DashboardSummary>) -> impl IntoView {
    view! {
        <table class="table" id="dashboards">
            <thead><tr><th>"Title"</th><th>"Tags"</th><th>"Shows"</th><th class="num">"Panels"</th><th>"Updated"</th></tr></thead>
            <tbody>
                {list.into_iter().map(|d| {
                    let owner = match &d.tenant {
                        Some(tenant) => tenant.clone(),
                        None => "All your tenants".to_string(),
                    };
                    view! {
                        <tr data-uid=d.uid.clone()>
                            <td><a href=format!("/d/{}", d.uid)>{d.title.clone()}</a>
                                {d.provisioned.then(|| view! { <span class="tag" title="Provisioned by Meridian">"provisioned"</span> })}</td>
                            <td>{d.tags.iter().map(|t| view! {
                                <a class="chip" href=format!("/dashboards?tag={}", crate::url::encode(t))>{t.clone()}</a>
                            }).collect_view()}</td>
                            <td>{owner}</td>
                            <td class="num">{d.panels}</td>
                            <td class="muted">{d.updated_at.clone()}</td>
                        </tr>
                    }
                }).collect_view()}
            </tbody>
        </table>
    }
}

#[component]
fn DashboardPage() -> impl IntoView {
    let params = use_params_map();
    let location = use_location();
    let uid = move || params.read().get("uid").unwrap_or_default();
    let search = move || location.search.get().trim_start_matches('?').to_string();
    let view = Resource::new(
        move || (uid(), search()),
        |(uid, query)| load_dashboard(uid, query, None),
    );
    view! {
        <Suspense fallback=|| view! { <p class="muted">"Loading the dashboard…"</p> }>
            {move || Suspend::new(async move {
                match view.await {
                    Ok(view) => {
                        let title = view.title.clone();
                        let uid = view.uid.clone();
                        view! {
                            <Title text=title/>
                            <LiveDashboard uid>
                                <DashboardBody view/>
                            </LiveDashboard>
                        }.into_any()
                    }
                    Err(error) => load_error(error),
                }
            })}
        </Suspense>
    }
}

/// The query string with `key` set to `value` (or removed when `None`).
fn with_param(query: &str, key: &str, value: Option<&str>) -> String {
    let mut pairs: Vec<(String, String)> = query_pairs(query)
        .into_iter()
        .filter(|(k, _)| k != key)
        .collect();
    if let Some(value) = value {
        pairs.push((key.to_string(), value.to_string()));
    }
    query_string(&pairs)
}

/// Hidden fields that carry the rest of the view through a GET form.
fn hidden_fields(query: &str, except: &[&str]) -> impl IntoView {
    query_pairs(query)
        .into_iter()
        .filter(|(k, _)| {
            !except
                .iter()
                .any(|e| k == e || (e.ends_with('-') && k.starts_with(e)))
        })
        .map(|(k, v)| view! { <input type="hidden" name=k value=v/> })
        .collect_view()
}

/// Everything inside the dashboard page: header, time and refresh pickers, variables, panels.
/// Also rendered to a string when the island redraws the page.
#[component]
pub fn DashboardBody(view: DashboardView) -> impl IntoView {
    let query = view.query.clone();
    let span = view.time.to_ms - view.time.from_ms;
    let zoom_out = with_param(
        &with_param(
            &query,
            "from",
            Some(&(view.time.from_ms - span / 2).to_string()),
        ),
        "to",
        Some(&(view.time.to_ms + span / 2).to_string()),
    );
    let presets = viz_presets();
    let kiosk_link = format!("?{}&kiosk", query);
    let class = if view.kiosk {
        "dashboard kiosk"
    } else {
        "dashboard"
    };
    let alone = view.view_panel.is_some();
    let back = format!("?{query}");
    view! {
        <div class=class id="dashboard" data-uid=view.uid.clone() data-query=query.clone()
            data-refresh=view.refresh.clone() data-from=view.time.from_ms data-to=view.time.to_ms
            data-width=view.width data-elapsed-ms=format!("{:.0}", view.elapsed_ms)>
            <header class="dash-bar">
                <div class="dash-title">
                    <h1>{view.title.clone()}</h1>
                    <span class="dash-owner" title="The tenants this dashboard shows">{view.owner.clone()}</span>
                    {view.tags.iter().map(|t| view! { <a class="chip" href=format!("/dashboards?tag={}", crate::url::encode(t))>{t.clone()}</a> }).collect_view()}
                </div>
                <div class="dash-controls">
                    <details class="picker time-picker">
                        <summary class="button" id="time-range" title=format!("{} to {} ({})", view.time.from_local, view.time.to_local, view.time.zone_name)>
                            <Icon path=CLOCK/>{view.time.label.clone()}
                        </summary>
                        <div class="picker-menu">
                            <form method="get" class="range-form" data-live id="range-form">
                                {hidden_fields(&query, &["from", "to", "viewPanel"])}
                                <label class="field"><span>"From"</span><input name="from" value=view.time.from.clone() placeholder="now-6h"/></label>
                                <label class="field"><span>"To"</span><input name="to" value=view.time.to.clone() placeholder="now"/></label>
                                <p class="muted small">{format!("Times like now-6h, now/d, or 2026-12-01 08:00 ({})", view.time.zone_name)}</p>
                                <button type="submit" class="button primary">"Apply time range"</button>
                            </form>
                            <ul class="presets">
                                {presets.into_iter().map(|(from, label)| {
                                    let href = format!("?{}", with_param(&with_param(&query, "from", Some(from)), "to", Some("now")));
                                    let current = view.time.from == from && view.time.to == "now";
                                    view! { <li><a href=href data-nav aria-current=current.then_some("true")>{label}</a></li> }
                                }).collect_view()}
                            </ul>
                        </div>
                    </details>
                    <a class="button icon-button" href=format!("?{zoom_out}") data-nav title="Zoom out (time range × 2)" id="zoom-out" aria-label="Zoom out"><Icon path=ZOOM_OUT/></a>
                    <form method="get" class="refresh-form" data-live id="refresh-form">
                        {hidden_fields(&query, &["refresh", "timezone"])}
                        <select name="refresh" data-autosubmit aria-label="Auto-refresh" title="Auto-refresh">
                            <option value="" selected=view.refresh.is_empty()>"Off"</option>
                            {REFRESH_OPTIONS.iter().map(|r| view! { <option value=*r selected=view.refresh == *r>{*r}</option> }).collect_view()}
                        </select>
                        <select name="timezone" data-autosubmit aria-label="Time zone" title="Time zone">
                            {zone_options(&view.time.zone).into_iter().map(|(value, label, selected)| view! {
                                <option value=value selected=selected>{label}</option>
                            }).collect_view()}
                        </select>
                        <noscript><button type="submit" class="button">"Apply"</button></noscript>
                    </form>
                    <a class="button icon-button" href=back.clone() data-nav title="Refresh now" id="refresh-now" aria-label="Refresh now"><Icon path=REFRESH/></a>
                    <a class="button icon-button" href=kiosk_link title="Kiosk mode (wall screen)" aria-label="Kiosk mode"><Icon path=KIOSK/></a>
                    {view.editable.then(|| view! {
                        <a class="button" href=format!("?{}", with_param(&query, "editPanel", Some("new"))) id="dash-add-panel">"Add panel"</a>
                        <a class="button" href=format!("?{}", with_param(&query, "editview", Some("settings"))) id="dash-edit" title="Settings, layout, JSON model and versions">"Edit"</a>
                    })}
                </div>
            </header>
            <Variables variables=view.variables.clone() query=query.clone()/>
            {(!view.notices.is_empty()).then(|| view! {
                <ul class="notices" role="status">{view.notices.iter().map(|n| view! { <li>{n.clone()}</li> }).collect_view()}</ul>
            })}
            {alone.then(|| view! { <p class="back"><a href=back.clone() data-nav>"← Back to the dashboard"</a></p> })}
            <div class=if alone { "dash-grid alone" } else { "dash-grid" }>
                {view.panels.into_iter().map(|panel| view! { <Panel panel uid=view.uid.clone() query=query.clone() alone editable=view.editable/> }).collect_view()}
            </div>
        </div>
    }
}

const CLOCK: &str = "M8 1.5a6.5 6.5 0 1 0 0 13 6.5 6.5 0 0 0 0-13zM8 4v4l2.5 1.5";
const ZOOM_OUT: &str = "M7 2.5a4.5 4.5 0 1 0 0 9 4.5 4.5 0 0 0 0-9zM10.3 10.3 14 14M5 7h4";
const REFRESH: &str = "M13.5 8A5.5 5.5 0 1 1 11.9 4.1M12 1.5v3h-3";
const KIOSK: &str = "M2 6V2h4M10 2h4v4M14 10v4h-4M6 14H2v-4";

/// A 16 px line icon.
#[component]
fn Icon(path: &'static str) -> impl IntoView {
    view! {
        <svg class="icon" viewBox="0 0 16 16" width="16" height="16" aria-hidden="true" fill="none"
            stroke="currentColor" stroke-width="1.5" stroke-linecap="round" stroke-linejoin="round">
            <path d=path/>
        </svg>
    }
}

/// Grafana's relative presets.
fn viz_presets() -> Vec<(&'static str, &'static str)> {
    #[cfg(feature = "ssr")]
    return viz::time::presets().to_vec();
    #[cfg(not(feature = "ssr"))]
    Vec::new()
}

/// The zones the picker offers: the browser's, UTC, a few common ones, and the current one.
fn zone_options(current: &str) -> Vec<(String, String, bool)> {
    let mut zones: Vec<(String, String)> = vec![
        ("browser".into(), "Browser time".into()),
        ("utc".into(), "UTC".into()),
    ];
    for zone in [
        "Europe/Berlin",
        "Europe/London",
        "America/New_York",
        "America/Los_Angeles",
        "Asia/Tokyo",
        "Asia/Kolkata",
        "Australia/Sydney",
    ] {
        zones.push((zone.into(), zone.into()));
    }
    let current = if current.is_empty() {
        "browser"
    } else {
        current
    };
    if !zones.iter().any(|(z, _)| z.eq_ignore_ascii_case(current)) {
        zones.push((current.to_string(), current.to_string()));
    }
    zones
        .into_iter()
        .map(|(value, label)| {
            let selected = value.eq_ignore_ascii_case(current);
            (value, label, selected)
        })
        .collect()
}

#[component]
fn Variables(variables: Vec<VariableView>, query: String) -> impl IntoView {
    let shown: Vec<VariableView> = variables.into_iter().filter(|v| !v.hidden).collect();
    if shown.is_empty() {
        return None;
    }
    Some(view! {
        <form method="get" class="dash-vars" data-live id="variables">
            {hidden_fields(&query, &["var-"])}
            {shown.into_iter().map(|v| {
                let name = format!("var-{}", v.name);
                let control = if v.textbox {
                    view! { <input name=name value=v.selected.first().cloned().unwrap_or_default()/> }.into_any()
                } else if v.multi {
                    view! { <MultiValue variable=v.clone() name/> }.into_any()
                } else {
                    let all = v.include_all.then(|| view! {
                        <option value=ALL selected=v.selected.iter().any(|s| s == ALL)>"All"</option>
                    });
                    view! {
                        <select name=name data-autosubmit>
                            {all}
                            {v.options.iter().map(|(text, value)| {
                                let selected = v.selected.contains(value);
                                view! { <option value=value.clone() selected=selected>{text.clone()}</option> }
                            }).collect_view()}
                        </select>
                    }.into_any()
                };
                view! {
                    <label class="variable" data-variable=v.name.clone()>
                        <span class="variable-label">{v.label.clone()}</span>
                        {control}
                        {v.error.clone().map(|e| view! { <span class="field-error">{e}</span> })}
                    </label>
                }
            }).collect_view()}
            <noscript><button type="submit" class="button subtle">"Apply"</button></noscript>
        </form>
    })
}

/// A multi-value variable as Grafana shows it: a drop-down of check boxes (a GET form's fields,
/// so it works without JavaScript too).
#[component]
fn MultiValue(variable: VariableView, name: String) -> impl IntoView {
    let all = variable.selected.iter().any(|s| s == ALL);
    let summary = if all {
        "All".to_string()
    } else {
        let texts: Vec<String> = variable
            .options
            .iter()
            .filter(|(_, value)| variable.selected.contains(value))
            .map(|(text, _)| text.clone())
            .collect();
        match texts.len() {
            0 => "None".to_string(),
            1..=2 => texts.join(" + "),
            n => format!("{} + {} more", texts[0], n - 1),
        }
    };
    let choice = |text: String, value: String, checked: bool| {
        view! { <label class="check"><input type="checkbox" name=name.clone() value=value checked=checked/>{text}</label> }
    };
    view! {
        <details class="picker var-picker">
            <summary class="button">{summary}<span class="caret" aria-hidden="true">"▾"</span></summary>
            <div class="picker-menu var-menu">
                {variable.include_all.then(|| choice("All".into(), ALL.into(), all))}
                {variable.options.iter().map(|(text, value)| {
                    choice(text.clone(), value.clone(), !all && variable.selected.contains(value))
                }).collect_view()}
                <button type="submit" class="button primary">"Apply"</button>
            </div>
        </details>
    }
}

#[component]
fn Panel(
    panel: PanelView,
    uid: String,
    query: String,
    alone: bool,
    editable: bool,
) -> impl IntoView {
    let grid = if alone {
        "grid-column:1 / -1".to_string()
    } else {
        format!(
            "grid-column:{} / span {};grid-row:{} / span {};--hpx:{}px",
            panel.x.min(23) + 1,
            panel.w,
            panel.y + 1,
            panel.h,
            panel.h * 38 - 8
        )
    };
    let csv = format!("/d/{uid}/panel/{}/data.csv?{query}", panel.id);
    let svg = format!("/d/{uid}/panel/{}/chart.svg?{query}", panel.id);
    let view_link = format!(
        "?{}",
        with_param(&query, "viewPanel", Some(&panel.id.to_string()))
    );
    let edit_link = format!(
        "?{}",
        with_param(&query, "editPanel", Some(&panel.id.to_string()))
    );
    let has_chart = panel.time;
    view! {
        <section class=format!("panel panel-{}", panel.kind) id=format!("panel-{}", panel.id)
            data-panel=panel.id data-time=has_chart.then_some("") style=grid>
            <header class="panel-header">
                <h2 class="panel-title" title=panel.description.clone()>{panel.title.clone()}</h2>
                <nav class="panel-menu" aria-label="Panel">
                    {(!alone).then(|| view! { <a href=view_link data-nav title="View this panel alone">"View"</a> })}
                    {editable.then(|| view! { <a href=edit_link title="Edit this panel" class="edit-panel">"Edit"</a> })}
                    <a href=csv download title="This panel's data as CSV">"CSV"</a>
                    {has_chart.then(|| view! { <a href=svg download title="This panel's chart as SVG">"SVG"</a> })}
                </nav>
            </header>
            <div class="panel-body" inner_html=panel.html></div>
            {(!panel.notes.is_empty()).then(|| view! {
                <p class="panel-unsupported" title=panel.notes.join("\n")>{panel.notes.join("; ")}</p>
            })}
        </section>
    }
}
