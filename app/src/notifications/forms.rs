//! Forms that change a tenant's notification configuration without writing YAML: a new
//! contact point (one integration of any kind), a new notification policy (a route under the
//! root), and removing either. Each builds the change on the stored file, which is then checked
//! whole as an import is (an error is shown beside the form's field) and saved with its audit
//! entry.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use super::TenantChoice;
use crate::{
    components::forms::{use_form_error, CsrfField, FieldError, FormError},
    error::AppError,
};

/// The contact point form's fields, as typed; which apply depends on `kind`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ContactPointFields {
    pub tenant: String,
    pub name: String,
    /// `webhook`, `slack`, `email`, `pagerduty`, `alertmanager` or `inbox`.
    pub kind: String,
    /// The webhook's, Slack's incoming webhook's or the other Alertmanager's URL.
    pub url: String,
    pub channel: String,
    /// E-mail: the addresses, the SMTP server (`host:port`) and the sender.
    pub to: String,
    pub smarthost: String,
    pub from: String,
    /// `on` when the SMTP connection must be encrypted (STARTTLS), as Alertmanager's default.
    pub require_tls: String,
    pub routing_key: String,
    /// Slack's title and text, an e-mail's subject: templates (empty: Alertmanager's default).
    pub title: String,
    pub text: String,
    /// `on` when resolved alerts are sent too.
    pub send_resolved: String,
}

/// The policy form's fields, as typed.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct RouteFields {
    pub tenant: String,
    /// Alertmanager's matchers, comma-separated (`severity="critical", team=~"db|api"`).
    pub matchers: String,
    pub receiver: String,
    /// Label names, comma-separated; `...` groups by every label; empty inherits.
    pub group_by: String,
    pub group_wait: String,
    pub group_interval: String,
    pub repeat_interval: String,
    pub continue_matching: String,
    /// `first` or `last` among the root's routes.
    pub position: String,
}

/// The fields an error can be shown beside (the rest are shown above the button).
const CONTACT_POINT_FIELDS: [&str; 10] = ["name", "kind", "url", "channel", "to", "smarthost", "from", "routing_key", "title", "text"];
const ROUTE_FIELDS: [&str; 6] = ["matchers", "receiver", "group_by", "group_wait", "group_interval", "repeat_interval"];

pub const KINDS: [(&str, &str); 6] = [
    ("inbox", "Meridian inbox"),
    ("webhook", "Webhook"),
    ("slack", "Slack"),
    ("email", "E-mail"),
    ("pagerduty", "PagerDuty"),
    ("alertmanager", "Alertmanager"),
];

#[server(prefix = "/rpc", endpoint = "add_contact_point")]
pub async fn add_contact_point(csrf: String, #[server(flatten)] fields: ContactPointFields) -> Result<(), AppError> {
    use crate::ssr::server_fns::{app_state, finish, mutation_scope};
    let result = async {
        let scope = mutation_scope(&csrf).await?;
        server::add_contact_point(&scope, &app_state()?.pool, &fields).await
    }
    .await;
    finish("add_contact_point", result)
}

#[server(prefix = "/rpc", endpoint = "add_route")]
pub async fn add_route(csrf: String, #[server(flatten)] fields: RouteFields) -> Result<(), AppError> {
    use crate::ssr::server_fns::{app_state, finish, mutation_scope};
    let result = async {
        let scope = mutation_scope(&csrf).await?;
        server::add_route(&scope, &app_state()?.pool, &fields).await
    }
    .await;
    finish("add_route", result)
}

/// Removes a contact point (refused while a route, an escalation or a digest uses it) or,
/// with `route` set, the root's route at that place.
#[server(prefix = "/rpc", endpoint = "remove_notification_part")]
pub async fn remove_notification_part(
    csrf: String,
    tenant: String,
    #[server(default)] contact_point: String,
    #[server(default)] route: String,
) -> Result<(), AppError> {
    use crate::ssr::server_fns::{app_state, finish, mutation_scope};
    let result = async {
        let scope = mutation_scope(&csrf).await?;
        server::remove(&scope, &app_state()?.pool, &tenant, &contact_point, &route).await
    }
    .await;
    finish("remove_notification_part", result)
}

#[component]
pub fn NewContactPoint(tenant: TenantChoice) -> impl IntoView {
    let add = ServerAction::<AddContactPoint>::new();
    let error = use_form_error("add_contact_point", add);
    view! {
        <section class="card" id="new-contact-point">
            <h2>"New contact point"</h2>
            <ActionForm action=add attr:class="form">
                <CsrfField/>
                <input type="hidden" name="tenant" value=tenant.name.clone()/>
                <div class="form-row">
                    <label class="field grow"><span>"Name"</span><input name="name" required placeholder="db-team"/><FieldError error field="name"/></label>
                    <label class="field"><span>"Integration"</span>
                        <select name="kind">{KINDS.into_iter().map(|(v, t)| view! { <option value=v>{t}</option> }).collect_view()}</select></label>
                </div>
                <fieldset class="form-row">
                    <legend class="muted">"Webhook, Slack or Alertmanager"</legend>
                    <label class="field grow"><span>"URL"</span><input name="url" type="url" placeholder="https://hooks.slack.com/services/…"/><FieldError error field="url"/></label>
                    <label class="field"><span>"Slack channel"</span><input name="channel" placeholder="#ops"/></label>
                </fieldset>
                <fieldset class="form-row">
                    <legend class="muted">"E-mail"</legend>
                    <label class="field grow"><span>"To"</span><input name="to" placeholder="oncall@example.com"/><FieldError error field="to"/></label>
                    <label class="field"><span>"SMTP server"</span><input name="smarthost" placeholder="smtp.example.com:587"/><FieldError error field="smarthost"/></label>
                    <label class="field"><span>"From"</span><input name="from" placeholder="meridian@example.com"/><FieldError error field="from"/></label>
                    <label class="check"><input type="checkbox" name="require_tls" value="on" checked=true/>" Require TLS"</label>
                </fieldset>
                <fieldset class="form-row">
                    <legend class="muted">"PagerDuty"</legend>
                    <label class="field grow"><span>"Routing key"</span><input name="routing_key" autocomplete="off"/><FieldError error field="routing_key"/></label>
                </fieldset>
                <fieldset class="form-row">
                    <legend class="muted">"Slack title and text, e-mail subject (templates; empty: the defaults)"</legend>
                    <label class="field grow"><span>"Title"</span><input name="title" class="code" placeholder="{{ template \"team.title\" . }}"/><FieldError error field="title"/></label>
                    <label class="field grow"><span>"Text"</span><input name="text" class="code"/><FieldError error field="text"/></label>
                </fieldset>
                <label class="check"><input type="checkbox" name="send_resolved" value="on" checked=true/>" Send resolved"</label>
                <FormError error fields=&CONTACT_POINT_FIELDS/>
                <div class="actions"><button type="submit" class="button primary" id="add-contact-point">"Add contact point"</button></div>
            </ActionForm>
        </section>
    }
}

#[component]
pub fn NewRoute(tenant: TenantChoice, receivers: Vec<String>) -> impl IntoView {
    let add = ServerAction::<AddRoute>::new();
    let error = use_form_error("add_route", add);
    view! {
        <section class="card" id="new-route">
            <h2>"New notification policy"</h2>
            <ActionForm action=add attr:class="form">
                <CsrfField/>
                <input type="hidden" name="tenant" value=tenant.name.clone()/>
                <div class="form-row">
                    <label class="field grow"><span>"Matching labels"</span>
                        <input name="matchers" class="code" required placeholder="severity=\"critical\", team=~\"db|api\""/><FieldError error field="matchers"/></label>
                    <label class="field"><span>"Contact point"</span>
                        <select name="receiver">{receivers.into_iter().map(|r| view! { <option value=r.clone()>{r.clone()}</option> }).collect_view()}</select>
                        <FieldError error field="receiver"/></label>
                </div>
                <div class="form-row">
                    <label class="field grow"><span>"Group by"</span><input name="group_by" placeholder="alertname, service (empty: inherited)"/><FieldError error field="group_by"/></label>
                    <label class="field"><span>"Group wait"</span><input name="group_wait" placeholder="30s"/><FieldError error field="group_wait"/></label>
                    <label class="field"><span>"Group interval"</span><input name="group_interval" placeholder="5m"/><FieldError error field="group_interval"/></label>
                    <label class="field"><span>"Repeat interval"</span><input name="repeat_interval" placeholder="4h"/><FieldError error field="repeat_interval"/></label>
                </div>
                <div class="form-row">
                    <label class="field"><span>"Place"</span>
                        <select name="position"><option value="first">"First (before the others)"</option><option value="last">"Last"</option></select></label>
                    <label class="check"><input type="checkbox" name="continue_matching" value="on"/>" Continue matching the next policies"</label>
                </div>
                <FormError error fields=&ROUTE_FIELDS/>
                <div class="actions"><button type="submit" class="button primary" id="add-route">"Add policy"</button></div>
            </ActionForm>
        </section>
    }
}

/// A small form removing a contact point or the root's policy at `route`.
#[component]
pub fn RemoveButton(tenant: String, #[prop(optional)] contact_point: String, #[prop(optional)] route: String) -> impl IntoView {
    let remove = ServerAction::<RemoveNotificationPart>::new();
    view! {
        <ActionForm action=remove attr:class="form inline">
            <CsrfField/>
            <input type="hidden" name="tenant" value=tenant/>
            <input type="hidden" name="contact_point" value=contact_point/>
            <input type="hidden" name="route" value=route/>
            <button type="submit" class="button subtle danger remove">"Remove"</button>
        </ActionForm>
    }
}

#[cfg(feature = "ssr")]
mod server {
    use notify::config::{AlertmanagerDef, Config, ConfigFile, EmailDef, InboxDef, PagerDutyDef, ReceiverDef, RouteDef, SlackDef, WebhookDef};
    use rules::file::Problem;
    use sqlx::PgPool;

    use super::*;
    use crate::ssr::scope::Scope;

    fn opt(text: &str) -> Option<String> {
        Some(text.trim().to_string()).filter(|t| !t.is_empty())
    }

    /// The form field a problem of the checked file belongs to (its path's last name).
    fn field_of(problem: &Problem, known: &[&str]) -> String {
        let last = problem.field.rsplit('.').next().unwrap_or_default();
        let last = match last {
            "api_url" => "url",
            "match" | "matchers" => "matchers",
            other => other,
        };
        let last = last.split('[').next().unwrap_or_default();
        if known.contains(&last) {
            last.to_string()
        } else {
            String::new()
        }
    }

    /// Checks the changed file whole; the first problem goes beside its field.
    fn checked(file: ConfigFile, known: &[&str]) -> Result<ConfigFile, AppError> {
        match Config::from_file(file.clone()) {
            Ok(_) => Ok(file),
            Err(problems) => {
                let first = &problems[0];
                let field = field_of(first, known);
                let message = if field.is_empty() { format!("{}: {}", first.field, first.message) } else { first.message.clone() };
                Err(AppError::invalid(&field, message))
            }
        }
    }

    pub async fn add_contact_point(scope: &Scope, pool: &PgPool, f: &ContactPointFields) -> Result<(), AppError> {
        let (id, _) = super::super::views::choose_tenant(scope, pool, &f.tenant).await?;
        let name = f.name.trim();
        if name.is_empty() {
            return Err(AppError::invalid("name", "a contact point needs a name"));
        }
        let send_resolved = Some(f.send_resolved == "on");
        let mut receiver = ReceiverDef { name: name.to_string(), ..ReceiverDef::default() };
        let need = |value: &str, field: &str, what: &str| {
            if value.trim().is_empty() {
                Err(AppError::invalid(field, format!("{what} is required for this integration")))
            } else {
                Ok(())
            }
        };
        match f.kind.as_str() {
            "inbox" => receiver.inbox_configs.push(InboxDef { send_resolved }),
            "webhook" => {
                need(&f.url, "url", "a URL")?;
                receiver.webhook_configs.push(WebhookDef { send_resolved, url: f.url.trim().into(), max_alerts: None });
            }
            "slack" => {
                need(&f.url, "url", "the incoming webhook's URL")?;
                receiver.slack_configs.push(SlackDef {
                    send_resolved,
                    api_url: opt(&f.url),
                    channel: opt(&f.channel),
                    title: opt(&f.title),
                    text: opt(&f.text),
                    ..SlackDef::default()
                });
            }
            "email" => {
                need(&f.to, "to", "an address")?;
                need(&f.smarthost, "smarthost", "an SMTP server")?;
                need(&f.from, "from", "a sender")?;
                let mut headers = std::collections::BTreeMap::new();
                if let Some(subject) = opt(&f.title) {
                    headers.insert("Subject".to_string(), subject);
                }
                receiver.email_configs.push(EmailDef {
                    send_resolved,
                    to: f.to.trim().into(),
                    smarthost: opt(&f.smarthost),
                    from: opt(&f.from),
                    require_tls: Some(f.require_tls == "on"),
                    text: opt(&f.text),
                    headers,
                    ..EmailDef::default()
                });
            }
            "pagerduty" => {
                need(&f.routing_key, "routing_key", "a routing key")?;
                receiver.pagerduty_configs.push(PagerDutyDef {
                    send_resolved,
                    routing_key: opt(&f.routing_key),
                    url: opt(&f.url),
                    description: opt(&f.title),
                    ..PagerDutyDef::default()
                });
            }
            "alertmanager" => {
                need(&f.url, "url", "the Alertmanager's URL")?;
                receiver.alertmanager_configs.push(AlertmanagerDef { send_resolved, url: f.url.trim().into() });
            }
            other => return Err(AppError::invalid("kind", format!("{other:?} is not an integration Meridian has"))),
        }
        super::super::repo::change(scope, pool, id, |stored| {
            let mut file = stored.file.clone();
            if file.receivers.iter().any(|r| r.name == name) {
                return Err(AppError::invalid("name", format!("a contact point named {name:?} exists")));
            }
            file.receivers.push(receiver);
            checked(file, &CONTACT_POINT_FIELDS)
        })
        .await
        .map(|_| ())
    }

    pub async fn add_route(scope: &Scope, pool: &PgPool, f: &RouteFields) -> Result<(), AppError> {
        let (id, _) = super::super::views::choose_tenant(scope, pool, &f.tenant).await?;
        if f.matchers.trim().is_empty() {
            return Err(AppError::invalid("matchers", "a policy matches at least one label (the root policy takes the rest)"));
        }
        let list = |text: &str| -> Vec<String> { text.split(',').map(|s| s.trim().to_string()).filter(|s| !s.is_empty()).collect() };
        let route = RouteDef {
            receiver: opt(&f.receiver),
            matchers: vec![f.matchers.trim().to_string()],
            group_by: opt(&f.group_by).map(|g| list(&g)),
            group_wait: opt(&f.group_wait),
            group_interval: opt(&f.group_interval),
            repeat_interval: opt(&f.repeat_interval),
            continue_matching: f.continue_matching == "on",
            ..RouteDef::default()
        };
        super::super::repo::change(scope, pool, id, |stored| {
            let mut file = stored.file.clone();
            let root = file.route.get_or_insert_with(RouteDef::default);
            if f.position == "last" {
                root.routes.push(route);
            } else {
                root.routes.insert(0, route);
            }
            checked(file, &ROUTE_FIELDS)
        })
        .await
        .map(|_| ())
    }

    pub async fn remove(scope: &Scope, pool: &PgPool, tenant: &str, contact_point: &str, route: &str) -> Result<(), AppError> {
        let (id, _) = super::super::views::choose_tenant(scope, pool, tenant).await?;
        super::super::repo::change(scope, pool, id, |stored| {
            let mut file = stored.file.clone();
            if !route.is_empty() {
                let at: usize = route.parse().map_err(|_| AppError::invalid("route", "not a policy's place"))?;
                let routes = &mut file.route.as_mut().ok_or(AppError::NotFound)?.routes;
                if at >= routes.len() {
                    return Err(AppError::NotFound);
                }
                routes.remove(at);
            } else {
                let before = file.receivers.len();
                file.receivers.retain(|r| r.name != contact_point);
                if file.receivers.len() == before {
                    return Err(AppError::NotFound);
                }
            }
            // A contact point still in use makes the file fail its check, which says where.
            checked(file, &[])
        })
        .await
        .map(|_| ())
    }
}
