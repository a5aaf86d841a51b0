//! `/dashboards/import`: an upload form for a Grafana dashboard (a file, or JSON pasted), and the
//! report of the last import: what it became and what it could not carry over, panel by panel.
//! The form posts to `/dashboards/upload` (server/src/web/dashboard_import.rs) and works without
//! JavaScript.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use super::editor::OwnerFields;
use super::{take_import_result, ImportResult};
use crate::{
    auth::{RequireRole, Role},
    components::forms::CsrfField,
};

#[component]
pub fn DashboardImportRoute() -> impl IntoView {
    view! { <RequireRole roles=&[Role::Admin, Role::TenantEditor]><DashboardImportPage/></RequireRole> }
}

#[component]
fn DashboardImportPage() -> impl IntoView {
    let query = use_query_map();
    let error = move || query.read().get("error");
    let result = Resource::new(|| (), |_| take_import_result());
    view! {
        <Title text="Import a dashboard"/>
        <div class="page-header">
            <div>
                <h1>"Import a Grafana dashboard"</h1>
                <p class="muted">"Any classic Grafana JSON: rows[] layouts, panels[] with rows, graph and singlestat panels, data source inputs. What Meridian does not draw is kept and listed in the report."</p>
            </div>
            <a class="button" href="/dashboards">"All dashboards"</a>
        </div>
        <Suspense>
            {move || Suspend::new(async move {
                result.await.ok().flatten().map(|imported| view! { <Report imported/> })
            })}
        </Suspense>
        {move || error().map(|message| view! { <p class="callout callout-error" role="alert" id="import-error">{message}</p> })}
        <form method="post" action="/dashboards/upload" enctype="multipart/form-data" class="card form" id="import-form">
            <CsrfField/>
            <label class="field"><span>"Dashboard JSON file"</span>
                <input type="file" name="file" accept=".json,application/json"/></label>
            <label class="field"><span>"…or paste its JSON"</span>
                <textarea name="json" rows="8" spellcheck="false" placeholder="{\"title\": \"…\", \"panels\": […]}"></textarea></label>
            <OwnerFields/>
            <label class="field checkbox"><input type="checkbox" name="overwrite" value="on"/>" Replace the dashboard with the same uid"</label>
            <div class="actions"><button type="submit" class="button primary">"Import"</button></div>
        </form>
    }
}

#[component]
fn Report(imported: ImportResult) -> impl IntoView {
    let clean = imported.notes.is_empty() && imported.panel_notes.is_empty();
    view! {
        <section class="card import-report" id="import-report">
            <h2>"Imported: "<a href=imported.url.clone()>{imported.title.clone()}</a></h2>
            <p class="muted">{format!("{} panels · uid {} · version {}", imported.panels, imported.uid, imported.version)}</p>
            {clean.then(|| view! { <p class="callout callout-ok">"Everything was carried over."</p> })}
            {(!imported.notes.is_empty()).then(|| view! {
                <ul class="report-notes">{imported.notes.iter().map(|n| view! { <li>{n.clone()}</li> }).collect_view()}</ul>
            })}
            {(!imported.panel_notes.is_empty()).then(|| view! {
                <table class="table report-panels">
                    <thead><tr><th>"Panel"</th><th>"Not carried over"</th></tr></thead>
                    <tbody>
                        {imported.panel_notes.iter().map(|(id, title, notes)| view! {
                            <tr data-panel=*id>
                                <td><a href=format!("{}?viewPanel={id}", imported.url)>{if title.is_empty() { format!("Panel {id}") } else { title.clone() }}</a></td>
                                <td><ul>{notes.iter().map(|n| view! { <li>{n.clone()}</li> }).collect_view()}</ul></td>
                            </tr>
                        }).collect_view()}
                    </tbody>
                </table>
            })}
        </section>
    }
}
