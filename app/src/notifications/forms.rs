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

/// The fields an error can be shown beside (the rest are shown above the button).
const CONTACT_POINT_FIELDS: [&str; 10] = ["name", "kind", "url", "channel", "to", "smarthost", "from", "routing_key", "title", "text"];

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
    server::change_config("add_contact_point", &csrf, &fields.tenant, &CONTACT_POINT_FIELDS, |file| server::add_contact_point(file, &fields)).await
}

#[cfg(feature = "ssr")]
/// What the remove form can remove: a contact point (refused while a route, an escalation or a
/// digest uses it), a route with the routes under it, an inhibition rule, a time interval
/// (refused while a route uses it) or an escalation policy.
pub const PARTS: [&str; 5] = ["contact_point", "route", "inhibit_rule", "time_interval", "escalation"];

/// Removes the `part` named by `key`: a name, or the place of a route (`0.2`) or an inhibition
/// rule (`1`).
#[server(prefix = "/rpc", endpoint = "remove_notification_part")]
pub async fn remove_notification_part(csrf: String, tenant: String, part: String, key: String) -> Result<(), AppError> {
    server::change_config("remove_notification_part", &csrf, &tenant, &[], |file| server::remove(file, &part, &key)).await
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

/// A small form removing one part of the configuration (see `PARTS`).
#[component]
pub fn RemoveButton(tenant: String, part: &'static str, key: String) -> impl IntoView {
    let remove = ServerAction::<RemoveNotificationPart>::new();
    // Its own slot, which the form enhancer fills (a part in use, say); without JavaScript the
    // error comes back in the page's address and shows once, under the tabs.
    let error = Signal::derive(move || remove.value().get().and_then(Result::err));
    view! {
        <ActionForm action=remove attr:class="form inline">
            <CsrfField/>
            <input type="hidden" name="tenant" value=tenant/>
            <input type="hidden" name="part" value=part/>
            <input type="hidden" name="key" value=key/>
            <FormError error fields=&[]/>
            <button type="submit" class="button subtle danger remove">"Remove"</button>
        </ActionForm>
    }
}

#[cfg(feature = "ssr")]
pub(super) mod server {
    use notify::config::{AlertmanagerDef, Config, ConfigFile, EmailDef, InboxDef, PagerDutyDef, ReceiverDef, RouteDef, SlackDef, WebhookDef};
    use rules::file::Problem;

    use super::*;

    /// Runs a form that changes the tenant's notification configuration: `make` changes the
    /// stored file, which is then checked whole as an import is (the first problem goes beside
    /// the form's field among `known`) and saved with its audit entry in one transaction.
    pub async fn change_config(
        form: &str,
        csrf: &str,
        tenant: &str,
        known: &[&str],
        make: impl FnOnce(&mut ConfigFile) -> Result<(), AppError>,
    ) -> Result<(), AppError> {
        use crate::ssr::server_fns::{app_state, finish, mutation_scope};
        let result = async {
            let scope = mutation_scope(csrf).await?;
            let pool = app_state()?.pool;
            let (id, _) = super::super::views::choose_tenant(&scope, &pool, tenant).await?;
            super::super::repo::change(&scope, &pool, id, |stored| {
                let mut file = stored.file.clone();
                make(&mut file)?;
                checked(file, known)
            })
            .await
        }
        .await;
        finish(form, result.map(|_| ()))
    }

    pub fn opt(text: &str) -> Option<String> {
        Some(text.trim().to_string()).filter(|t| !t.is_empty())
    }

    /// A comma-separated list, without empty items.
    pub fn list(text: &str) -> Vec<String> {
        text.split(',').map(|s| s.trim().to_string()).filter(|s| !s.is_empty()).collect()
    }

    /// The form field a problem of the checked file belongs to: its path's last name, the
    /// names Alertmanager's file and the forms use differently translated, and an escalation's
    /// step numbered from 1 (`steps[1].after` is the form's `after_2`).
    fn field_of(problem: &Problem, known: &[&str]) -> String {
        let mut names = problem.field.rsplit('.');
        let last = names.next().unwrap_or_default();
        let last = last.split('[').next().unwrap_or_default();
        let field = match last {
            "api_url" => "url".to_string(),
            "match" => "matchers".to_string(),
            "start_time" | "end_time" => "times".to_string(),
            "mute_time_intervals" => "mute_time_interval".to_string(),
            "active_time_intervals" => "active_time_interval".to_string(),
            other => match names.next().and_then(|n| n.strip_prefix("steps[")?.strip_suffix(']')?.parse::<usize>().ok()) {
                Some(step) => format!("{other}_{}", step + 1),
                None => other.to_string(),
            },
        };
        if known.contains(&field.as_str()) {
            field
        } else {
            String::new()
        }
    }

    /// Checks the changed file whole; the first problem goes beside its field.
    pub fn checked(file: ConfigFile, known: &[&str]) -> Result<ConfigFile, AppError> {
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

    pub fn add_contact_point(file: &mut ConfigFile, f: &ContactPointFields) -> Result<(), AppError> {
        let name = f.name.trim();
        if name.is_empty() {
            return Err(AppError::invalid("name", "a contact point needs a name"));
        }
        if file.receivers.iter().any(|r| r.name == name) {
            return Err(AppError::invalid("name", format!("a contact point named {name:?} exists")));
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
        file.receivers.push(receiver);
        Ok(())
    }

    /// The route at `path` (`0` is the root, `0.2` its third route), as `Route::id` names it.
    pub fn route_at<'a>(file: &'a mut ConfigFile, path: &str) -> Result<&'a mut RouteDef, AppError> {
        let mut steps = path.split('.');
        if steps.next() != Some("0") {
            return Err(AppError::NotFound);
        }
        let mut at = file.route.get_or_insert_with(RouteDef::default);
        for step in steps {
            let i: usize = step.parse().map_err(|_| AppError::NotFound)?;
            at = at.routes.get_mut(i).ok_or(AppError::NotFound)?;
        }
        Ok(at)
    }

    /// Removes the part; a contact point or time interval still in use makes the file fail its
    /// check, which says where.
    pub fn remove(file: &mut ConfigFile, part: &str, key: &str) -> Result<(), AppError> {
        fn remove_where<T>(items: &mut Vec<T>, keep: impl Fn(&T) -> bool) -> Result<(), AppError> {
            let before = items.len();
            items.retain(keep);
            if items.len() == before {
                Err(AppError::NotFound)
            } else {
                Ok(())
            }
        }
        /// Removes the item at the place `at` names (`"2"`).
        fn remove_at<T>(items: &mut Vec<T>, at: &str) -> Result<(), AppError> {
            match at.parse::<usize>() {
                Ok(at) if at < items.len() => {
                    items.remove(at);
                    Ok(())
                }
                _ => Err(AppError::NotFound),
            }
        }
        match part {
            "contact_point" => remove_where(&mut file.receivers, |r| r.name != key),
            "route" => {
                let (parent, last) = key.rsplit_once('.').ok_or(AppError::NotFound)?;
                remove_at(&mut route_at(file, parent)?.routes, last)
            }
            "inhibit_rule" => remove_at(&mut file.inhibit_rules, key),
            "time_interval" => remove_where(&mut file.time_intervals, |t| t.name != key)
                .or_else(|_| remove_where(&mut file.mute_time_intervals, |t| t.name != key)),
            "escalation" => remove_where(&mut file.escalation_policies, |p| p.name != key),
            other => Err(AppError::invalid("part", format!("{other:?} is not one of {}", PARTS.join(", ")))),
        }
    }
}
