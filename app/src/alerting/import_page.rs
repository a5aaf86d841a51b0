//! `/alerting/import`: an upload form for a Prometheus rule file (a file, or YAML pasted), and the
//! report of the last import: which groups it created, replaced or left as they were. The form
//! posts to `/alerting/upload` (server/src/web/rule_import.rs) and works without JavaScript;
//! `POST /api/v1/rules` does the same for scripts.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use super::{take_rule_import_result, Imported};
use crate::{
    auth::{RequireRole, Role},
    components::forms::CsrfField,
};

#[component]
pub fn RuleImportRoute() -> impl IntoView {
    view! { <RequireRole roles=&[Role::Admin, Role::TenantEditor]><RuleImportPage/></RequireRole> }
}

#[component]
fn RuleImportPage() -> impl IntoView {
    let query = use_query_map();
    let error = move || query.read().get("error");
    let tenant = query.read_untracked().get("tenant").unwrap_or_default();
    let result = Resource::new(|| (), |_| take_rule_import_result());
    view! {
        <Title text="Import a rule file"/>
        <div class="page-header">
            <div>
                <h1>"Import a Prometheus rule file"</h1>
                <p class="muted">"The groups of the file replace the tenant's groups of the same name or join them; the others stay as they are. The whole file is checked first: an error names its line, and nothing is written."</p>
            </div>
            <a class="button" href="/alerting/list">"Alert rules"</a>
        </div>
        <Suspense>
            {move || Suspend::new(async move {
                result.await.ok().flatten().map(|(tenant, imported)| view! { <Report tenant imported/> })
            })}
        </Suspense>
        {move || error().map(|message| view! { <p class="callout callout-error" role="alert" id="import-error">{message}</p> })}
        <form method="post" action="/alerting/upload" enctype="multipart/form-data" class="card form" id="rule-import-form">
            <CsrfField/>
            <label class="field"><span>"Tenant"</span>
                <input name="tenant" value=tenant placeholder="your own, unless you are an admin"/></label>
            <label class="field"><span>"Rule file (YAML)"</span>
                <input type="file" name="file" accept=".yml,.yaml,application/yaml,text/yaml"/></label>
            <label class="field"><span>"…or paste it"</span>
                <textarea name="yaml" rows="10" spellcheck="false" placeholder="groups:\n  - name: api\n    rules:\n      - alert: HighErrorRatio\n        expr: …"></textarea></label>
            <label class="field"><span>"Change message"</span>
                <input name="message" placeholder="imported rule file"/></label>
            <div class="actions"><button type="submit" class="button primary">"Import"</button></div>
        </form>
    }
}

#[component]
fn Report(tenant: String, imported: Imported) -> impl IntoView {
    let list = format!("/alerting/list?tenant={}", crate::url::encode(&tenant));
    let line = |what: &'static str, groups: Vec<String>| {
        (!groups.is_empty()).then(|| {
            view! { <li data-outcome=what><strong>{what}</strong>": "{groups.join(", ")}</li> }
        })
    };
    view! {
        <section class="card import-report" id="rule-import-report">
            <h2>"Imported into "<a href=list>{tenant.clone()}</a></h2>
            <ul class="report-notes">
                {line("created", imported.created)}
                {line("replaced", imported.updated)}
                {line("unchanged", imported.unchanged)}
            </ul>
        </section>
    }
}
