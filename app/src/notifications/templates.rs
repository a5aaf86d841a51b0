//! `/alerting/templates` (Grafana's address for notification templates): the tenant's template
//! files (`{{ define "…" }}` blocks in Alertmanager's template language, which contact points'
//! titles and texts call), an editor for one file, and a preview of a title and a text rendered
//! with the file as typed, against a sample alert or one of the tenant's real alerts, before
//! anything is saved.
//!
//! As in the rule editor, the preview is an address of the page (the form's values in the
//! query), so it works without JavaScript; the form posts to `template_form`, which saves,
//! deletes, or sends the browser to the preview.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;
use serde::{Deserialize, Serialize};

use super::{contact_points::NotificationNav, TenantChoice, TenantSwitch};
use crate::{
    auth::RequireRole,
    components::{forms::CsrfField, load_error},
    error::AppError,
};

/// The `alert` value that previews against a made-up alert.
const SAMPLE: &str = "sample";

/// The editor's fields, as typed.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct TemplateFields {
    pub tenant: String,
    /// The template file's name.
    pub file: String,
    pub content: String,
    /// The title and text the preview renders (as a contact point's fields would call them).
    pub title: String,
    pub text: String,
    /// A fingerprint of one of the tenant's alerts, or `sample`.
    pub alert: String,
}

impl TemplateFields {
    #[cfg(feature = "ssr")]
    fn to_query(&self) -> String {
        crate::url::query([
            ("tenant", self.tenant.as_str()),
            ("file", self.file.as_str()),
            ("content", self.content.as_str()),
            ("title", self.title.as_str()),
            ("text", self.text.as_str()),
            ("alert", self.alert.as_str()),
        ])
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TemplateFileView {
    pub name: String,
    /// The templates the file defines.
    pub defines: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TemplatePreview {
    /// Which alert it was rendered against.
    pub against: String,
    pub title: String,
    pub text: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TemplatesPage {
    pub tenant: TenantChoice,
    pub files: Vec<TemplateFileView>,
    pub form: TemplateFields,
    /// The tenant's alerts to preview against: fingerprint and a readable name.
    pub alerts: Vec<(String, String)>,
    pub preview: Option<Result<TemplatePreview, String>>,
}

#[server(prefix = "/rpc", endpoint = "load_templates")]
pub async fn load_templates(
    #[server(flatten)] form: TemplateFields,
    #[server(default)] intent: String,
) -> Result<TemplatesPage, AppError> {
    use crate::ssr::server_fns::{app_state, current_scope, finish};
    let result = async {
        let (scope, state) = (current_scope().await?, app_state()?);
        server::page(&scope, &state, form, intent == "preview").await
    }
    .await;
    finish("load_templates", result)
}

/// The editor's buttons: `save` stores the file in the tenant's configuration (checked whole
/// first, audited), `delete` removes it, `preview` answers the page's address with the form's
/// values. A plain form post is redirected there (on an error, back with the error beside its
/// field).
#[server(prefix = "/rpc", endpoint = "template_form")]
pub async fn submit_template(
    csrf: String,
    #[server(default)] intent: String,
    #[server(flatten)] form: TemplateFields,
) -> Result<String, AppError> {
    use crate::ssr::server_fns::{app_state, back_to_form, finish, is_plain_form_post, mutation_scope};
    let result = async {
        let scope = mutation_scope(&csrf).await?;
        let pool = &app_state()?.pool;
        let saved = |form: &TemplateFields| format!("/alerting/templates?{}", crate::url::query([("tenant", form.tenant.as_str()), ("file", form.file.as_str())]));
        match intent.as_str() {
            "save" => server::save(&scope, pool, &form, false).await.map(|_| saved(&form)),
            "delete" => server::save(&scope, pool, &form, true).await.map(|_| saved(&TemplateFields { file: String::new(), ..form.clone() })),
            "preview" => Ok(format!("/alerting/templates?{}&intent=preview#template-preview", form.to_query())),
            other => Err(AppError::invalid("intent", format!("{other:?} is not preview, save or delete"))),
        }
    }
    .await;
    if is_plain_form_post() {
        let location = match &result {
            Ok(path) => path.clone(),
            Err(error) => {
                let editor = format!("/alerting/templates?{}&intent=preview", form.to_query());
                back_to_form(&editor, "template_form", error).unwrap_or(editor)
            }
        };
        leptos_axum::redirect(&location);
        return Ok(location);
    }
    finish("template_form", result)
}

#[component]
pub fn TemplatesRoute() -> impl IntoView {
    view! { <RequireRole><Templates/></RequireRole> }
}

#[component]
fn Templates() -> impl IntoView {
    let query = use_query_map();
    let page = Resource::new(
        move || query.get(),
        |q| {
            let get = |k: &str| q.get(k).unwrap_or_default();
            let form = TemplateFields {
                tenant: get("tenant"),
                file: get("file"),
                content: get("content"),
                title: get("title"),
                text: get("text"),
                alert: get("alert"),
            };
            load_templates(form, get("intent"))
        },
    );
    let error = Memo::new(move |_| {
        let q = query.read();
        (q.get("form").as_deref() == Some("template_form")).then(|| (q.get("field").unwrap_or_default(), q.get("error").unwrap_or_default()))
    });
    view! {
        <Title text="Notification templates"/>
        <div class="page-header">
            <div>
                <h1>"Notification templates"</h1>
                <p class="muted">"Alertmanager's template language: a file defines named templates ("<code>"{{ define \"team.title\" }}…{{ end }}"</code>"), and a contact point's title or text calls them ("<code>"{{ template \"team.title\" . }}"</code>"). A definition with the name of one of Alertmanager's defaults ("<code>"__subject"</code>", "<code>"slack.default.text"</code>"…) replaces it."</p>
            </div>
        </div>
        <NotificationNav current="/alerting/templates"/>
        <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match page.await {
                    Ok(page) => view! { <TemplatesView page error=error.get_untracked()/> }.into_any(),
                    Err(error) => load_error(error),
                }
            })}
        </Transition>
    }
}

#[component]
fn TemplatesView(page: TemplatesPage, error: Option<(String, String)>) -> impl IntoView {
    let TemplatesPage { tenant, files, form, alerts, preview } = page;
    let err = move |field: &str| {
        error
            .as_ref()
            .filter(|(f, _)| f == field || (field.is_empty() && !["file", "content"].contains(&f.as_str())))
            .map(|(_, m)| view! { <pre class="field-error" role="alert">{m.clone()}</pre> })
    };
    let link = {
        let tenant = tenant.name.clone();
        move |file: &str| format!("/alerting/templates?{}", crate::url::query([("tenant", tenant.as_str()), ("file", file)]))
    };
    let new_href = link("");
    let editing = form.file.clone();
    let stored = files.iter().any(|f| f.name == editing);
    view! {
        <TenantSwitch tenant=tenant.clone() action="/alerting/templates"/>
        {err("")}
        <div class="rule-editor">
        <div>
        <section class="card" id="template-files">
            <h2>"Template files"</h2>
            {files.is_empty().then(|| view! { <p class="muted">"No template files yet: contact points use Alertmanager's default templates."</p> })}
            <ul class="plain-list">
                {files.into_iter().map(|f| {
                    let here = f.name == editing;
                    view! {
                        <li data-file=f.name.clone()>
                            <a href=link(&f.name) aria-current=here.then_some("page")><strong>{f.name.clone()}</strong></a>
                            <span class="muted">{format!(" defines {}", f.defines.join(", "))}</span>
                        </li>
                    }
                }).collect_view()}
            </ul>
            {tenant.can_edit.then(|| view! { <p><a href=new_href class="button">"New template file"</a></p> })}
        </section>
        <form method="post" action="/rpc/template_form" class="card form" id="template-form">
            <CsrfField/>
            <input type="hidden" name="tenant" value=tenant.name.clone()/>
            <label class="field"><span>"File name"</span>
                <input name="file" value=form.file.clone() placeholder="team.tmpl" required pattern="[A-Za-z0-9_.\\-]+"/>{err("file")}</label>
            <label class="field"><span>"Definitions"</span>
                <textarea name="content" rows="12" spellcheck="false" class="code" placeholder="{{ define \"team.title\" }}[{{ .Status | toUpper }}] {{ .CommonLabels.alertname }}{{ end }}">{form.content.clone()}</textarea>{err("content")}</label>
            <h3>"Preview"</h3>
            <div class="form-row">
                <label class="field grow"><span>"Title"</span><input name="title" class="code" value=form.title.clone()/></label>
            </div>
            <label class="field"><span>"Text"</span><textarea name="text" rows="3" class="code" spellcheck="false">{form.text.clone()}</textarea></label>
            <label class="field"><span>"Against"</span>
                <select name="alert">
                    <option value=SAMPLE selected=form.alert == SAMPLE || form.alert.is_empty()>"A sample alert"</option>
                    {alerts.into_iter().map(|(fp, name)| {
                        let selected = form.alert == fp;
                        view! { <option value=fp selected=selected>{name}</option> }
                    }).collect_view()}
                </select></label>
            <div class="actions">
                <button type="submit" name="intent" value="preview" class="button" id="preview-template">"Preview"</button>
                {tenant.can_edit.then(|| view! {
                    <button type="submit" name="intent" value="save" class="button primary" id="save-template">"Save"</button>
                    {stored.then(|| view! {
                        <button type="submit" name="intent" value="delete" class="button danger" formnovalidate=true>"Delete"</button>
                    })}
                })}
            </div>
        </form>
        </div>
        <div class="rule-results">
            {preview.map(|p| view! {
                <section class="card" id="template-preview">
                    <h2>"Preview"</h2>
                    {match p {
                        Ok(p) => view! {
                            <p class="muted">{format!("Rendered against {}", p.against)}</p>
                            <h3>"Title"</h3>
                            <pre class="code" id="preview-title">{p.title}</pre>
                            <h3>"Text"</h3>
                            <pre class="code" id="preview-text">{p.text}</pre>
                        }.into_any(),
                        Err(e) => view! { <pre class="callout callout-error" role="alert">{e}</pre> }.into_any(),
                    }}
                </section>
            })}
        </div>
        </div>
    }
}

#[cfg(feature = "ssr")]
mod server {
    use std::collections::BTreeMap;

    use notify::{
        alert::{fingerprint_hex, Alert},
        config::Config,
        template::{self, Templates},
        webhook::{Message, Notified},
        Labels,
    };
    use sqlx::PgPool;

    use super::*;
    use crate::ssr::{scope::Scope, AppState};

    /// What the preview renders when nothing else is typed: Alertmanager's subject and alert
    /// list.
    const DEFAULT_TITLE: &str = r#"{{ template "__subject" . }}"#;
    const DEFAULT_TEXT: &str = r#"{{ template "__text_alert_list" .Alerts }}"#;

    pub async fn page(scope: &Scope, state: &AppState, mut form: TemplateFields, preview: bool) -> Result<TemplatesPage, AppError> {
        let (id, tenant) = super::super::views::choose_tenant(scope, &state.pool, &form.tenant).await?;
        form.tenant = tenant.name.clone();
        let mut tx = scope.begin(&state.pool).await?;
        let (config, _) = super::super::repo::config(tx.conn(), id).await?;
        let stored = super::super::repo::alerts(tx.conn(), id).await?;
        drop(tx);
        let files = &config.file.template_files;
        if !preview {
            // Opening a file: its stored text, and a preview of the defaults' title and text.
            form.content = files.get(&form.file).cloned().unwrap_or_default();
        }
        if form.title.trim().is_empty() && form.text.trim().is_empty() {
            form.title = DEFAULT_TITLE.to_string();
            form.text = DEFAULT_TEXT.to_string();
        }
        let mut alerts: Vec<(bool, String, String)> = stored
            .iter()
            .map(|(fp, s)| {
                let firing = s.alert.ends_at > super::super::repo::now_ms();
                let name = describe(&s.alert.labels, firing);
                (!firing, name, fingerprint_hex(*fp))
            })
            .collect();
        alerts.sort();
        let chosen = stored.iter().find(|(fp, _)| fingerprint_hex(**fp) == form.alert).map(|(_, s)| s.alert.clone());
        let against = match &chosen {
            Some(a) => describe(&a.labels, a.ends_at > super::super::repo::now_ms()),
            None => "a sample alert".to_string(),
        };
        let alert = chosen.unwrap_or_else(|| sample(&state.rule_templates.external_url));
        let rendered = render(files, &form, alert, &state.rule_templates.external_url).map(|(title, text)| TemplatePreview { against, title, text });
        Ok(TemplatesPage {
            tenant,
            files: files.iter().map(|(name, text)| TemplateFileView { name: name.clone(), defines: defines(text) }).collect(),
            form,
            alerts: alerts.into_iter().take(200).map(|(_, name, fp)| (fp, name)).collect(),
            preview: Some(rendered),
        })
    }

    /// The title and text rendered with the stored files, the edited one as typed.
    fn render(files: &BTreeMap<String, String>, form: &TemplateFields, alert: Alert, external_url: &str) -> Result<(String, String), String> {
        let mut files = files.clone();
        if !form.file.trim().is_empty() {
            files.insert(form.file.trim().to_string(), form.content.clone());
        }
        let templates = Templates::new(&files).map_err(|(file, e)| format!("{file}: {e}"))?;
        let group_labels: Labels = alert.labels.iter().filter(|(k, _)| *k == "alertname").map(|(k, v)| (k.clone(), v.clone())).collect();
        let message = Message {
            receiver: "preview".into(),
            group_key: format!("{{}}:{}", notify::route::label_set_string(&group_labels)),
            group_labels,
            alerts: vec![Notified { resolved: alert.ends_at <= super::super::repo::now_ms(), alert }],
            external_url: external_url.to_string(),
        };
        let data = template::data(&message, false);
        let title = templates.render(&form.title, &data).map_err(|e| format!("title: {e}"))?;
        let text = templates.render(&form.text, &data).map_err(|e| format!("text: {e}"))?;
        Ok((title, text))
    }

    fn describe(labels: &Labels, firing: bool) -> String {
        let name = labels.get("alertname").cloned().unwrap_or_default();
        let place = labels.get("instance").or(labels.get("service")).map(|i| format!(" on {i}")).unwrap_or_default();
        format!("{name}{place} ({})", if firing { "firing" } else { "resolved" })
    }

    fn sample(external_url: &str) -> Alert {
        let now = super::super::repo::now_ms();
        let pairs = |p: &[(&str, &str)]| p.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect::<Labels>();
        Alert {
            labels: pairs(&[("alertname", "HighErrorRatio"), ("instance", "api-1"), ("job", "api"), ("service", "checkout"), ("severity", "critical")]),
            annotations: pairs(&[
                ("summary", "5.3% of requests to checkout fail"),
                ("description", "The error ratio has been over 5% for 2 minutes."),
            ]),
            starts_at: now - 10 * 60_000,
            ends_at: now + 5 * 60_000,
            generator_url: format!("{}/alerts", external_url.trim_end_matches('/')),
            updated_at: now,
            timeout: true,
        }
    }

    /// The names a file's `{{ define }}`s give, in their order.
    fn defines(text: &str) -> Vec<String> {
        let re = regex::Regex::new(r#"\{\{-?\s*define\s+"([^"]+)""#).expect("a valid pattern");
        re.captures_iter(text).map(|c| c[1].to_string()).collect()
    }

    /// Stores (or, with `delete`, removes) the form's file in the tenant's configuration.
    pub async fn save(scope: &Scope, pool: &PgPool, form: &TemplateFields, delete: bool) -> Result<(), AppError> {
        let (id, _) = super::super::views::choose_tenant(scope, pool, &form.tenant).await?;
        let name = form.file.trim();
        if name.is_empty() || name.len() > 100 || !name.chars().all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c)) {
            return Err(AppError::invalid("file", "a file name is letters, digits, '_', '.' and '-' (at most 100)"));
        }
        if !delete && form.content.trim().is_empty() {
            return Err(AppError::invalid("content", "the file is empty (Delete removes a file)"));
        }
        super::super::repo::change(scope, pool, id, |stored| {
            let mut file = stored.file.clone();
            if delete {
                if file.template_files.remove(name).is_none() {
                    return Err(AppError::NotFound);
                }
            } else {
                file.template_files.insert(name.to_string(), form.content.clone());
            }
            // Checked whole: the files parse, and every contact point's fields still do.
            Config::from_file(file.clone()).map_err(|problems| {
                let text = problems.iter().map(|p| format!("{}: {}", p.field, p.message)).collect::<Vec<_>>().join("\n");
                AppError::invalid("content", text)
            })?;
            Ok(file)
        })
        .await
        .map(|_| ())
    }
}
