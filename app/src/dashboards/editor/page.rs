//! The editor's pages. Each is a form that works without JavaScript; [`super::client`] adds the
//! live preview and dragging on the grid.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::{use_location, use_params_map, use_query_map};

use super::{
    client::EditorClient, dashboard_editor, dashboard_version_diff, dashboard_versions,
    preview_panel, CopyDashboard, CreateDashboard, DeleteDashboard, EditorView, PanelForm,
    RemovePanel, RestoreDashboardVersion, SaveDashboardJson, SaveDashboardLayout,
    SaveDashboardSettings, SavePanel, PANEL_TYPES,
};
use crate::{
    admin::tenants::list_tenants,
    auth::{use_current_user, RequireRole, Role},
    components::{
        forms::{use_form_error, CsrfField, FieldError, FormError},
        load_error,
    },
    dashboards::{query_pairs, query_string, REFRESH_OPTIONS},
};

/// Grafana's unit ids an editor reaches for most.
const UNITS: [(&str, &str); 16] = [
    ("short", "Short (1.2 K)"),
    ("none", "None"),
    ("percent", "Percent (0-100)"),
    ("percentunit", "Percent (0.0-1.0)"),
    ("bytes", "Bytes (IEC)"),
    ("decbytes", "Bytes (SI)"),
    ("bps", "Bits/sec"),
    ("Bps", "Bytes/sec"),
    ("s", "Seconds"),
    ("ms", "Milliseconds"),
    ("reqps", "Requests/sec"),
    ("ops", "Operations/sec"),
    ("currencyUSD", "Dollars"),
    ("currencyEUR", "Euro"),
    ("celsius", "Celsius"),
    ("dateTimeAsIso", "Date and time"),
];

const VARIABLE_KINDS: [(&str, &str); 5] = [
    ("query", "Query (label_values…)"),
    ("custom", "Custom (a, b, c)"),
    ("interval", "Interval (1m, 5m)"),
    ("constant", "Constant"),
    ("textbox", "Text box"),
];

/// Who may create dashboards: tenant editors (in their tenant) and admins.
#[component]
pub fn NewDashboardRoute() -> impl IntoView {
    view! { <RequireRole roles=&[Role::Admin, Role::TenantEditor]><NewDashboardPage/></RequireRole> }
}

/// Admins choose where a dashboard goes: a tenant, or global for an audience. Tenant editors
/// see nothing here: theirs go to their tenant.
#[component]
pub fn OwnerFields() -> impl IntoView {
    let user = use_current_user();
    let tenants = Resource::new(
        || (),
        move |_| async move {
            match user.await {
                Ok(Some(user)) if user.role == Role::Admin => {
                    list_tenants().await.unwrap_or_default()
                }
                _ => Vec::new(),
            }
        },
    );
    view! {
        <Suspense>
            {move || Suspend::new(async move {
                let tenants = tenants.await;
                (!tenants.is_empty()).then(|| view! {
                    <div class="row">
                        <label class="field"><span>"Tenant"</span>
                            <select name="tenant">
                                <option value="">"Global: across the tenants each viewer sees"</option>
                                {tenants.into_iter().filter(|t| t.active).map(|t| view! { <option value=t.id.to_string()>{t.name}</option> }).collect_view()}
                            </select></label>
                        <label class="field"><span>"A global dashboard is for"</span>
                            <select name="audience">
                                <option value="managers">"Managers and admins"</option>
                                <option value="everyone">"Everyone (tenant users see their own tenant)"</option>
                                <option value="admins">"Admins"</option>
                            </select></label>
                    </div>
                })
            })}
        </Suspense>
    }
}

#[component]
fn NewDashboardPage() -> impl IntoView {
    let create = ServerAction::<CreateDashboard>::new();
    let error = use_form_error("create_dashboard", create);
    view! {
        <Title text="New dashboard"/>
        <div class="page-header">
            <div>
                <h1>"New dashboard"</h1>
                <p class="muted">"Give it a title; you add its first panel next."</p>
            </div>
            <a class="button" href="/dashboards/import">"Import instead"</a>
        </div>
        <ActionForm action=create attr:class="card form" attr:id="new-dashboard">
            <CsrfField/>
            <label class="field"><span>"Title"</span>
                <input name="title" required maxlength="200" placeholder="Checkout service" autofocus/>
                <FieldError error field="title"/></label>
            <OwnerFields/>
            <FieldError error field="tenant"/>
            <FormError error fields=&["title", "tenant"]/>
            <div class="actions"><button type="submit" class="button primary">"Create"</button></div>
        </ActionForm>
    }
}

/// The dashboard page's edit modes (`editPanel`, `editview`), for editors of the dashboard.
#[component]
pub fn DashboardEditor() -> impl IntoView {
    let params = use_params_map();
    let location = use_location();
    let uid = move || params.read().get("uid").unwrap_or_default();
    let search = move || location.search.get().trim_start_matches('?').to_string();
    let editor = Resource::new(
        move || (uid(), search()),
        |(uid, query)| dashboard_editor(uid, query),
    );
    view! {
        <Suspense fallback=|| view! { <p class="muted">"Loading the editor…"</p> }>
            {move || Suspend::new(async move {
                match editor.await {
                    Ok(view) => view! { <EditorPage view query=search()/> }.into_any(),
                    Err(error) => load_error(error),
                }
            })}
        </Suspense>
    }
}

/// The query string without the editor's own parameters: the dashboard view (time, variables).
fn view_query(query: &str) -> String {
    let pairs: Vec<(String, String)> = query_pairs(query)
        .into_iter()
        .filter(|(k, _)| {
            !matches!(
                k.as_str(),
                "editPanel"
                    | "editview"
                    | "draft"
                    | "form"
                    | "field"
                    | "error"
                    | "from_version"
                    | "to_version"
            ) && !k.starts_with("panel[")
        })
        .collect();
    query_string(&pairs)
}

#[component]
fn EditorPage(view: EditorView, query: String) -> impl IntoView {
    let params = use_query_map();
    let mode = params.read_untracked().get("editview").unwrap_or_default();
    let editing_panel = view.panel.is_some();
    let back = match view_query(&query) {
        q if q.is_empty() => format!("/d/{}", view.uid),
        q => format!("/d/{}?{q}", view.uid),
    };
    let tab = |name: &'static str, label: &'static str| {
        let current = !editing_panel && mode == name;
        view! { <a href=format!("?editview={name}") aria-current=current.then_some("page")>{label}</a> }
    };
    let heading = match &view.panel {
        Some((Some(_), form)) => format!("Edit panel: {}", form.title),
        Some((None, _)) => "Add a panel".to_string(),
        None => format!("Edit: {}", view.title),
    };
    let locked = !view.allow_ui_updates;
    let body = match (&view.panel, mode.as_str()) {
        (Some((id, form)), _) => view! { <PanelEditor view=view.clone() id=*id form=form.clone() query=view_query(&query)/> }.into_any(),
        (None, "layout") => view! { <LayoutEditor view=view.clone()/> }.into_any(),
        (None, "json") => view! { <JsonEditor view=view.clone()/> }.into_any(),
        (None, "versions") => view! { <Versions view=view.clone()/> }.into_any(),
        (None, _) => view! { <SettingsEditor view=view.clone()/> }.into_any(),
    };
    view! {
        <Title text=heading.clone()/>
        <EditorClient/>
        <div class="page-header editor-header">
            <div>
                <h1>{heading}</h1>
                <p class="muted">{format!("{} · {} · version {}", view.title, view.owner, view.version)}</p>
            </div>
            <div class="actions">
                <a class="button" href=back id="back-to-dashboard">"Back to the dashboard"</a>
                {(!editing_panel).then(|| view! { <a class="button primary" href="?editPanel=new" id="add-panel">"Add panel"</a> })}
            </div>
        </div>
        <nav class="sub-nav" aria-label="Dashboard settings">
            {tab("settings", "Settings")}
            {tab("layout", "Layout")}
            {tab("json", "JSON model")}
            {tab("versions", "Versions")}
        </nav>
        {view.provisioned.clone().map(|from| view! {
            <p class="callout provisioned" id="provisioned-note">
                {match from.strip_prefix("file:") {
                    Some(file) => format!("Provisioned from the file {file}."),
                    None => "A built-in dashboard, provisioned by Meridian.".to_string(),
                }}
                {if locked { " Changes here cannot be saved over it (the file would overwrite them): save a copy in Settings." } else { " Changes saved here last until the file changes." }}
            </p>
        })}
        {body}
    }
}

/// The hidden fields every save carries: the session's CSRF token, the dashboard, and the
/// version the form was loaded with (a save over a newer one is a conflict).
#[component]
fn SaveFields(uid: String, version: i32) -> impl IntoView {
    view! {
        <CsrfField/>
        <input type="hidden" name="uid" value=uid/>
        <input type="hidden" name="version" value=version/>
    }
}

#[component]
fn MessageField() -> impl IntoView {
    view! {
        <label class="field"><span>"Describe the change (optional)"</span>
            <input name="message" maxlength="500" placeholder="What and why, for the history"/></label>
    }
}

#[component]
fn PanelEditor(view: EditorView, id: Option<u32>, form: PanelForm, query: String) -> impl IntoView {
    let save = ServerAction::<SavePanel>::new();
    let remove = ServerAction::<RemovePanel>::new();
    let error = use_form_error("save_panel", save);
    let remove_error = use_form_error("remove_panel", remove);
    let preview = {
        let (uid, query, form) = (view.uid.clone(), query.clone(), form.clone());
        Resource::new(
            || (),
            move |_| preview_panel(uid.clone(), query.clone(), id, form.clone(), None),
        )
    };
    let f = form.clone();
    let remove_uid = view.uid.clone();
    let form_class = format!("card form editor-form kind-{}", f.kind);
    let mut targets = f.targets.clone();
    targets.push(Default::default());
    let mut thresholds = f.thresholds.clone();
    thresholds.push(Default::default());
    let mut mappings = f.mappings.clone();
    mappings.push(Default::default());
    let text_input =
        move |name: &'static str, label: &'static str, value: String, placeholder: &'static str| {
            view! {
                <label class="field"><span>{label}</span>
                    <input name=format!("panel[{name}]") value=value placeholder=placeholder/>
                    <FieldError error field=name/></label>
            }
        };
    view! {
        <div class="panel-editor">
            <section class="editor-preview">
                <div class=format!("panel panel-{}", f.kind) id="panel-preview-frame">
                    <header class="panel-header"><h2 class="panel-title">{f.title.clone()}</h2><span class="muted small">"Preview"</span></header>
                    <Suspense fallback=|| view! { <div class="panel-body" id="panel-preview"><p class="muted">"Drawing…"</p></div> }>
                        {move || Suspend::new(async move {
                            let (html, errors) = match preview.await {
                                Ok(p) => (p.html, p.errors),
                                Err(e) => (String::new(), vec![(String::new(), e.to_string())]),
                            };
                            view! {
                                <div class="panel-body" id="panel-preview" inner_html=html></div>
                                <ul class="preview-errors" id="preview-errors" role="status">
                                    {errors.into_iter().map(|(field, message)| view! { <li data-field=field>{message}</li> }).collect_view()}
                                </ul>
                            }
                        })}
                    </Suspense>
                </div>
            </section>
            <ActionForm action=save attr:class=form_class attr:id="panel-editor">
                <SaveFields uid=view.uid.clone() version=view.version/>
                {id.map(|id| view! { <input type="hidden" name="panel_id" value=id/> })}
                <input type="hidden" name="query" value=query.clone()/>
                <fieldset>
                    <legend>"Panel"</legend>
                    <div class="row">
                        <label class="field"><span>"Visualization"</span>
                            <select name="panel[kind]" id="panel-kind">
                                {(!PANEL_TYPES.iter().any(|(k, _)| *k == f.kind)).then(|| view! { <option value=f.kind.clone() selected>{format!("{} (not drawn)", f.kind)}</option> })}
                                {PANEL_TYPES.iter().map(|(kind, label)| view! { <option value=*kind selected=f.kind == *kind>{*label}</option> }).collect_view()}
                            </select><FieldError error field="kind"/></label>
                        {text_input("title", "Title", f.title.clone(), "Requests per second")}
                    </div>
                    {text_input("description", "Description", f.description.clone(), "Shown when hovering the title")}
                </fieldset>
                <fieldset class="queries for-data">
                    <legend>"Queries"</legend>
                    {targets.into_iter().enumerate().map(|(i, t)| {
                        let field = format!("targets[{i}][expr]");
                        view! {
                            <div class="query-row" data-query=i>
                                <label class="field"><span>{format!("Query {}", (b'A' + (i % 26) as u8) as char)}</span>
                                    <textarea class="mono" name=format!("panel[targets][{i}][expr]") rows="2" spellcheck="false"
                                        placeholder="sum by (job) (rate(http_requests_total[$__rate_interval]))">{t.expr.clone()}</textarea>
                                    <FieldError error field=field/></label>
                                <label class="field legend-format"><span>"Legend"</span>
                                    <input name=format!("panel[targets][{i}][legend]") value=t.legend.clone() placeholder="{{job}}"/></label>
                            </div>
                        }
                    }).collect_view()}
                    <p class="muted small">"Clear a query to remove it; the empty row adds one."</p>
                </fieldset>
                <fieldset class="for-data">
                    <legend>"Standard options"</legend>
                    <div class="row">
                        <label class="field"><span>"Unit"</span>
                            <input name="panel[unit]" value=f.unit.clone() list="units" placeholder="short"/>
                            <datalist id="units">{UNITS.iter().map(|(id, label)| view! { <option value=*id>{*label}</option> }).collect_view()}</datalist></label>
                        {text_input("decimals", "Decimals", f.decimals.clone(), "auto")}
                        {text_input("min", "Min", f.min.clone(), "auto")}
                        {text_input("max", "Max", f.max.clone(), "auto")}
                    </div>
                </fieldset>
                <fieldset class="for-data">
                    <legend>"Thresholds"</legend>
                    <label class="field"><span>"Mode"</span>
                        <select name="panel[threshold_mode]">
                            <option value="absolute" selected=f.threshold_mode != "percentage">"Absolute"</option>
                            <option value="percentage" selected=f.threshold_mode == "percentage">"Percentage of min..max"</option>
                        </select></label>
                    {thresholds.into_iter().enumerate().map(|(i, t)| view! {
                        <div class="row compact-row">
                            <label class="field"><span>"Colour"</span><input name=format!("panel[thresholds][{i}][color]") value=t.color placeholder="red"/>
                                <FieldError error field=format!("thresholds[{i}][color]")/></label>
                            <label class="field"><span>{if i == 0 { "From (empty: base)" } else { "From" }}</span><input name=format!("panel[thresholds][{i}][value]") value=t.value placeholder=if i == 0 { "base" } else { "80" }/>
                                <FieldError error field=format!("thresholds[{i}][value]")/></label>
                        </div>
                    }).collect_view()}
                </fieldset>
                <fieldset class="for-data">
                    <legend>"Value mappings"</legend>
                    {mappings.into_iter().enumerate().map(|(i, m)| view! {
                        <div class="row compact-row">
                            <label class="field"><span>"Value, range (10..20) or null"</span><input name=format!("panel[mappings][{i}][value]") value=m.value placeholder="1"/>
                                <FieldError error field=format!("mappings[{i}][value]")/></label>
                            <label class="field"><span>"Shows as"</span><input name=format!("panel[mappings][{i}][text]") value=m.text placeholder="Up"/>
                                <FieldError error field=format!("mappings[{i}][text]")/></label>
                            <label class="field"><span>"Colour"</span><input name=format!("panel[mappings][{i}][color]") value=m.color placeholder="green"/></label>
                        </div>
                    }).collect_view()}
                </fieldset>
                <fieldset class="for-graph">
                    <legend>"Graph and legend"</legend>
                    <div class="row">
                        <label class="field"><span>"Stacking"</span>
                            <select name="panel[stacking]">
                                {[("none", "Off"), ("normal", "Normal"), ("percent", "100%")].into_iter().map(|(v, l)| view! { <option value=v selected=f.stacking == v>{l}</option> }).collect_view()}
                            </select></label>
                        <label class="field"><span>"Legend"</span>
                            <select name="panel[legend]">
                                {[("list", "List"), ("table", "Table"), ("hidden", "Hidden")].into_iter().map(|(v, l)| view! { <option value=v selected=f.legend == v>{l}</option> }).collect_view()}
                            </select></label>
                        <label class="field"><span>"Placement"</span>
                            <select name="panel[legend_placement]">
                                {[("bottom", "Bottom"), ("right", "Right")].into_iter().map(|(v, l)| view! { <option value=v selected=f.legend_placement == v>{l}</option> }).collect_view()}
                            </select></label>
                    </div>
                    {text_input("legend_calcs", "Legend values", f.legend_calcs.clone(), "min, max, mean, lastNotNull")}
                </fieldset>
                <fieldset class="for-text">
                    <legend>"Text"</legend>
                    <label class="field"><span>"Markdown"</span>
                        <textarea name="panel[content]" rows="3">{f.content.clone()}</textarea></label>
                </fieldset>
                <fieldset>
                    <legend>"Place on the 24-column grid"</legend>
                    <div class="row grid-fields">
                        {[("x", "Column (0-23)", f.x.clone()), ("y", "Row", f.y.clone()), ("w", "Width (1-24)", f.w.clone()), ("h", "Height (rows)", f.h.clone())].into_iter().map(|(name, label, value)| view! {
                            <label class="field"><span>{label}</span><input type="number" name=format!("panel[{name}]") value=value min="0"/>
                                <FieldError error field=name/></label>
                        }).collect_view()}
                    </div>
                </fieldset>
                <MessageField/>
                <FormError error fields=&[]/>
                <div class="actions">
                    <button type="submit" class="button primary" name="intent" value="save" id="save-panel">"Save"</button>
                    <noscript><button type="submit" class="button" name="intent" value="preview">"Preview"</button></noscript>
                    <a class="button subtle" href=format!("/d/{}", view.uid)>"Discard"</a>
                </div>
            </ActionForm>
            {id.map(|id| view! {
                <ActionForm action=remove attr:class="form inline remove-panel" attr:id="remove-panel">
                    <SaveFields uid=remove_uid version=view.version/>
                    <input type="hidden" name="panel_id" value=id/>
                    <FormError error=remove_error fields=&[]/>
                    <button type="submit" class="button danger">"Remove this panel"</button>
                </ActionForm>
            })}
        </div>
    }
}

#[component]
fn SettingsEditor(view: EditorView) -> impl IntoView {
    let save = ServerAction::<SaveDashboardSettings>::new();
    let copy = ServerAction::<CopyDashboard>::new();
    let delete = ServerAction::<DeleteDashboard>::new();
    let error = use_form_error("save_dashboard_settings", save);
    let copy_error = use_form_error("copy_dashboard", copy);
    let delete_error = use_form_error("delete_dashboard", delete);
    let s = view.settings.clone();
    let mut variables = s.variables.clone();
    variables.push(Default::default());
    let input =
        move |name: &'static str, label: &'static str, value: String, placeholder: &'static str| {
            view! {
                <label class="field"><span>{label}</span>
                    <input name=format!("settings[{name}]") value=value placeholder=placeholder/>
                    <FieldError error field=name/></label>
            }
        };
    let refresh = s.refresh.clone();
    let (copy_uid, delete_uid) = (view.uid.clone(), view.uid.clone());
    let copy_title = format!("Copy of {}", view.title);
    let delete_label = format!(
        " Yes, delete “{}” and its {} versions",
        view.title, view.version
    );
    view! {
        <ActionForm action=save attr:class="card form" attr:id="settings-form">
            <SaveFields uid=view.uid.clone() version=view.version/>
            {input("title", "Title", s.title.clone(), "")}
            {input("description", "Description", s.description.clone(), "")}
            {input("tags", "Tags (comma-separated)", s.tags.clone(), "sla, payments")}
            <div class="row">
                {input("from", "Default time from", s.from.clone(), "now-6h")}
                {input("to", "to", s.to.clone(), "now")}
                <label class="field"><span>"Auto-refresh"</span>
                    <select name="settings[refresh]">
                        <option value="" selected=refresh.is_empty()>"Off"</option>
                        {REFRESH_OPTIONS.iter().map(|r| view! { <option value=*r selected=refresh == *r>{*r}</option> }).collect_view()}
                        {(!refresh.is_empty() && !REFRESH_OPTIONS.contains(&refresh.as_str())).then(|| view! { <option value=refresh.clone() selected>{refresh.clone()}</option> })}
                    </select><FieldError error field="refresh"/></label>
                {input("timezone", "Time zone", s.timezone.clone(), "browser, utc or Europe/Berlin")}
            </div>
            <fieldset>
                <legend>"Variables"</legend>
                <table class="table variables-table">
                    <thead><tr><th>"Name"</th><th>"Type"</th><th>"Label"</th><th>"Values from"</th><th>"Multi"</th><th>"All"</th></tr></thead>
                    <tbody>
                        {variables.into_iter().enumerate().map(|(i, v)| {
                            let name = move |f: &str| format!("settings[variables][{i}][{f}]");
                            view! {
                                <tr>
                                    <td><input name=name("name") value=v.name.clone() placeholder="job" aria-label="Name"/>
                                        <FieldError error field=format!("variables[{i}][name]")/></td>
                                    <td><select name=name("kind") aria-label="Type">
                                        {VARIABLE_KINDS.iter().map(|(k, l)| view! { <option value=*k selected=v.kind == *k>{*l}</option> }).collect_view()}
                                    </select><FieldError error field=format!("variables[{i}][kind]")/></td>
                                    <td><input name=name("label") value=v.label.clone() aria-label="Label"/></td>
                                    <td><input class="mono" name=name("query") value=v.query.clone() placeholder="label_values(up, job)" aria-label="Values from"/>
                                        <FieldError error field=format!("variables[{i}][query]")/></td>
                                    <td><input type="checkbox" name=name("multi") value="on" checked=v.multi.is_some() aria-label="Multi-value"/></td>
                                    <td><input type="checkbox" name=name("include_all") value="on" checked=v.include_all.is_some() aria-label="Include All"/></td>
                                </tr>
                            }
                        }).collect_view()}
                    </tbody>
                </table>
                <p class="muted small">"Clear a name to remove the variable; the empty row adds one."</p>
            </fieldset>
            <MessageField/>
            <FormError error fields=&["title", "description", "tags", "from", "to", "refresh", "timezone"]/>
            <div class="actions"><button type="submit" class="button primary" id="save-settings">"Save dashboard"</button></div>
        </ActionForm>
        <div class="row editor-secondary">
            <ActionForm action=copy attr:class="card form" attr:id="copy-form">
                <h2>"Save as a copy"</h2>
                <CsrfField/>
                <input type="hidden" name="uid" value=copy_uid/>
                <label class="field"><span>"Title of the copy"</span>
                    <input name="title" value=copy_title/></label>
                <FormError error=copy_error fields=&[]/>
                <div class="actions"><button type="submit" class="button">"Save copy"</button></div>
            </ActionForm>
            <ActionForm action=delete attr:class="card form danger-zone" attr:id="delete-form">
                <h2>"Delete this dashboard"</h2>
                <CsrfField/>
                <input type="hidden" name="uid" value=delete_uid/>
                <label class="field checkbox"><input type="checkbox" name="confirm" value="on" required/>
                    {delete_label}</label>
                <FieldError error=delete_error field="confirm"/>
                <FormError error=delete_error fields=&["confirm"]/>
                <div class="actions"><button type="submit" class="button danger">"Delete dashboard"</button></div>
            </ActionForm>
        </div>
    }
}

#[component]
fn LayoutEditor(view: EditorView) -> impl IntoView {
    let save = ServerAction::<SaveDashboardLayout>::new();
    let error = use_form_error("save_dashboard_layout", save);
    let rows = view.panels.iter().map(|p| p.y + p.h).max().unwrap_or(1);
    view! {
        <ActionForm action=save attr:class="card form" attr:id="layout-form">
            <SaveFields uid=view.uid.clone() version=view.version/>
            <p class="muted">"Drag a panel to move it and its corner to resize it; or change the numbers. The grid has 24 columns."</p>
            <div class="layout-grid" id="layout-grid" style=format!("--rows:{}", rows + 4) aria-hidden="true">
                {view.panels.iter().map(|p| view! {
                    <div class=format!("layout-box layout-{}", p.kind) data-id=p.id
                        style=format!("grid-column:{} / span {};grid-row:{} / span {}", p.x + 1, p.w, p.y + 1, p.h)>
                        <span class="layout-title">{if p.title.is_empty() { format!("Panel {}", p.id) } else { p.title.clone() }}</span>
                        <span class="resize-handle"></span>
                    </div>
                }).collect_view()}
            </div>
            <table class="table layout-table">
                <thead><tr><th>"Panel"</th><th>"Column"</th><th>"Row"</th><th>"Width"</th><th>"Height"</th></tr></thead>
                <tbody>
                    {view.panels.iter().enumerate().map(|(i, p)| {
                        let name = move |f: &str| format!("panels[{i}][{f}]");
                        view! {
                            <tr data-id=p.id>
                                <td><input type="hidden" name=name("id") value=p.id/>{if p.title.is_empty() { format!("Panel {}", p.id) } else { p.title.clone() }}
                                    <span class="muted small">{format!(" {}", p.kind)}</span></td>
                                {[("x", p.x, 0, 23), ("y", p.y, 0, 10000), ("w", p.w, 1, 24), ("h", p.h, 1, 100)].into_iter().map(|(f, value, min, max)| view! {
                                    <td><input type="number" name=name(f) value=value min=min max=max data-dim=f aria-label=f/>
                                        <FieldError error field=format!("panels[{i}][{f}]")/></td>
                                }).collect_view()}
                            </tr>
                        }
                    }).collect_view()}
                </tbody>
            </table>
            <MessageField/>
            <FormError error fields=&[]/>
            <div class="actions"><button type="submit" class="button primary" id="save-layout">"Save layout"</button></div>
        </ActionForm>
    }
}

#[component]
fn JsonEditor(view: EditorView) -> impl IntoView {
    let save = ServerAction::<SaveDashboardJson>::new();
    let error = use_form_error("save_dashboard_json", save);
    view! {
        <ActionForm action=save attr:class="card form" attr:id="json-form">
            <SaveFields uid=view.uid.clone() version=view.version/>
            <p class="muted">"Grafana's JSON model of this dashboard. Its uid stays the dashboard's."</p>
            <label class="field"><span>"JSON model"</span>
                <textarea class="mono json-model" name="json" rows="28" spellcheck="false">{view.json.clone()}</textarea>
                <FieldError error field="json"/></label>
            <MessageField/>
            <FormError error fields=&["json"]/>
            <div class="actions"><button type="submit" class="button primary">"Save JSON"</button></div>
        </ActionForm>
    }
}

#[component]
fn Versions(view: EditorView) -> impl IntoView {
    let query = use_query_map();
    let uid = view.uid.clone();
    let versions = Resource::new(|| (), {
        let uid = uid.clone();
        move |_| dashboard_versions(uid.clone())
    });
    let chosen = move || {
        let q = query.read();
        let number = |k: &str| q.get(k).and_then(|v| v.parse::<i32>().ok());
        (number("from_version"), number("to_version"))
    };
    let current = view.version;
    let (from, to) = match chosen() {
        (Some(from), Some(to)) => (from, to),
        _ => (current - 1, current),
    };
    let diff = Resource::new(|| (), {
        let uid = uid.clone();
        move |_| {
            let uid = uid.clone();
            async move {
                if from < 1 {
                    return Ok(None);
                }
                dashboard_version_diff(uid, from, to).await.map(Some)
            }
        }
    });
    let restore = ServerAction::<RestoreDashboardVersion>::new();
    let error = use_form_error("restore_dashboard_version", restore);
    view! {
        <Suspense fallback=|| view! { <p class="muted">"Loading the history…"</p> }>
            {move || {
                let uid = uid.clone();
                Suspend::new(async move {
                    let list = match versions.await {
                        Ok(list) => list,
                        Err(error) => return load_error(error),
                    };
                    let numbers: Vec<i32> = list.iter().map(|v| v.version).collect();
                    let select = |name: &'static str, selected: i32| view! {
                        <select name=name>{numbers.iter().map(|n| view! { <option value=*n selected=*n == selected>{format!("version {n}")}</option> }).collect_view()}</select>
                    };
                    view! {
                        <form method="get" class="card form inline" id="compare-form">
                            <input type="hidden" name="editview" value="versions"/>
                            <label class="field"><span>"Compare"</span>{select("from_version", from)}</label>
                            <label class="field"><span>"with"</span>{select("to_version", to)}</label>
                            <div class="actions"><button type="submit" class="button">"Compare"</button></div>
                        </form>
                        <FormError error fields=&[]/>
                        <table class="table" id="versions">
                            <thead><tr><th class="num">"Version"</th><th>"Saved"</th><th>"By"</th><th>"Message"</th><th></th></tr></thead>
                            <tbody>
                                {list.into_iter().map(|v| { let uid = uid.clone(); view! {
                                    <tr data-version=v.version>
                                        <td class="num">{v.version}</td>
                                        <td class="muted">{v.at.clone()}</td>
                                        <td>{v.author.clone()}</td>
                                        <td>{v.message.clone()}</td>
                                        <td>{if v.version == current {
                                            view! { <span class="tag">"current"</span> }.into_any()
                                        } else {
                                            view! {
                                                <ActionForm action=restore attr:class="form inline compact">
                                                    <SaveFields uid=uid.clone() version=current/>
                                                    <input type="hidden" name="restore" value=v.version/>
                                                    <button type="submit" class="button small" data-restore=v.version>"Restore"</button>
                                                </ActionForm>
                                            }.into_any()
                                        }}</td>
                                    </tr>
                                }}).collect_view()}
                            </tbody>
                        </table>
                    }.into_any()
                })
            }}
        </Suspense>
        <Suspense>
            {move || Suspend::new(async move {
                match diff.await {
                    Ok(Some(diff)) => view! { <DiffView diff/> }.into_any(),
                    Ok(None) => view! { <p class="muted">"Only one version so far."</p> }.into_any(),
                    Err(error) => load_error(error),
                }
            })}
        </Suspense>
    }
}

#[component]
fn DiffView(diff: super::VersionDiff) -> impl IntoView {
    view! {
        <section class="card version-diff" id="version-diff">
            <h2>{format!("Version {} → version {}", diff.from, diff.to)}</h2>
            {if diff.summary.is_empty() {
                view! { <p class="muted">"No differences."</p> }.into_any()
            } else {
                view! { <ul class="diff-summary">{diff.summary.iter().map(|s| view! { <li>{s.clone()}</li> }).collect_view()}</ul> }.into_any()
            }}
            {(!diff.lines.is_empty()).then(|| view! {
                <details class="json-diff" open=diff.lines.len() < 200>
                    <summary>"JSON diff"</summary>
                    <pre class="mono">{diff.lines.iter().map(|(sign, line)| {
                        let class = match sign { '+' => "added", '-' => "removed", '…' => "gap", _ => "same" };
                        view! { <span class=class>{format!("{sign} {line}\n")}</span> }
                    }).collect_view()}</pre>
                </details>
            })}
        </section>
    }
}

/// Whether the page's URL asks for an edit mode.
pub fn page_editing(query: &str) -> bool {
    query
        .trim_start_matches('?')
        .split('&')
        .any(|p| p.starts_with("editPanel=") || p.starts_with("editview="))
}
