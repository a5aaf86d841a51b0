//! Forms for the routing half of a tenant's notification configuration, so that none of it
//! needs YAML: a notification policy at any depth of the tree (with the time intervals that mute
//! or activate it), an inhibition rule, a time interval and an escalation policy. Each builds
//! its part into the stored file, which `forms::server::change_config` checks whole and saves
//! with its audit entry.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use super::{RouteView, TenantChoice};
use crate::{
    components::forms::{use_form_error, CsrfField, FieldError, FormError},
    error::AppError,
};

/// The policy form's fields, as typed.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct RouteFields {
    pub tenant: String,
    /// The route it goes under, by its place (`0` is the root policy, `0.1` its second route).
    pub parent: String,
    /// Alertmanager's matchers, comma-separated (`severity="critical", team=~"db|api"`).
    pub matchers: String,
    pub receiver: String,
    /// Label names, comma-separated; `...` groups by every label; empty inherits.
    pub group_by: String,
    pub group_wait: String,
    pub group_interval: String,
    pub repeat_interval: String,
    /// A time interval's name, or empty.
    pub mute_time_interval: String,
    pub active_time_interval: String,
    pub continue_matching: String,
    /// `first` or `last` among the parent's routes.
    pub position: String,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct InhibitFields {
    pub tenant: String,
    /// Matchers, comma-separated, as the route form's.
    pub source_matchers: String,
    pub target_matchers: String,
    /// Label names, comma-separated.
    pub equal: String,
}

/// A time interval of one range (Alertmanager's file allows several, the YAML editor too).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct TimeIntervalFields {
    pub tenant: String,
    pub name: String,
    /// Alertmanager's own syntax, comma-separated: `monday:friday, sunday`.
    pub weekdays: String,
    /// `09:00-17:00, 18:00-20:00`.
    pub times: String,
    /// `1:7, -1`.
    pub days_of_month: String,
    /// `january:march, december`.
    pub months: String,
    /// An IANA time zone; empty is UTC.
    pub location: String,
}

/// An escalation policy of up to three steps; a step without a delay is left out.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct EscalationFields {
    pub tenant: String,
    pub name: String,
    pub matchers: String,
    pub after_1: String,
    pub receiver_1: String,
    pub after_2: String,
    pub receiver_2: String,
    pub after_3: String,
    pub receiver_3: String,
}

/// The fields an error can be shown beside (the rest are shown above the button).
const ROUTE_FIELDS: [&str; 9] = [
    "parent",
    "matchers",
    "receiver",
    "group_by",
    "group_wait",
    "group_interval",
    "repeat_interval",
    "mute_time_interval",
    "active_time_interval",
];
const INHIBIT_FIELDS: [&str; 3] = ["source_matchers", "target_matchers", "equal"];
const TIME_INTERVAL_FIELDS: [&str; 6] = ["name", "weekdays", "times", "days_of_month", "months", "location"];
const ESCALATION_FIELDS: [&str; 8] = ["name", "matchers", "after_1", "receiver_1", "after_2", "receiver_2", "after_3", "receiver_3"];

#[server(prefix = "/rpc", endpoint = "add_route")]
pub async fn add_route(csrf: String, #[server(flatten)] fields: RouteFields) -> Result<(), AppError> {
    use super::forms::server::change_config;
    change_config("add_route", &csrf, &fields.tenant, &ROUTE_FIELDS, |file| server::add_route(file, &fields)).await
}

#[server(prefix = "/rpc", endpoint = "add_inhibit_rule")]
pub async fn add_inhibit_rule(csrf: String, #[server(flatten)] fields: InhibitFields) -> Result<(), AppError> {
    use super::forms::server::change_config;
    change_config("add_inhibit_rule", &csrf, &fields.tenant, &INHIBIT_FIELDS, |file| server::add_inhibit_rule(file, &fields)).await
}

#[server(prefix = "/rpc", endpoint = "add_time_interval")]
pub async fn add_time_interval(csrf: String, #[server(flatten)] fields: TimeIntervalFields) -> Result<(), AppError> {
    use super::forms::server::change_config;
    change_config("add_time_interval", &csrf, &fields.tenant, &TIME_INTERVAL_FIELDS, |file| server::add_time_interval(file, &fields)).await
}

#[server(prefix = "/rpc", endpoint = "add_escalation")]
pub async fn add_escalation(csrf: String, #[server(flatten)] fields: EscalationFields) -> Result<(), AppError> {
    use super::forms::server::change_config;
    change_config("add_escalation", &csrf, &fields.tenant, &ESCALATION_FIELDS, |file| server::add_escalation(file, &fields)).await
}

/// An `<option>` for each of `names`.
fn options(names: &[String]) -> impl IntoView {
    names.iter().map(|n| view! { <option value=n.clone()>{n.clone()}</option> }).collect_view()
}

#[component]
pub fn NewRoute(tenant: TenantChoice, receivers: Vec<String>, routes: Vec<RouteView>, time_intervals: Vec<String>) -> impl IntoView {
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
                        <select name="receiver">{options(&receivers)}</select>
                        <FieldError error field="receiver"/></label>
                </div>
                <div class="form-row">
                    <label class="field grow"><span>"Group by"</span><input name="group_by" placeholder="alertname, service (empty: inherited)"/><FieldError error field="group_by"/></label>
                    <label class="field"><span>"Group wait"</span><input name="group_wait" placeholder="30s"/><FieldError error field="group_wait"/></label>
                    <label class="field"><span>"Group interval"</span><input name="group_interval" placeholder="5m"/><FieldError error field="group_interval"/></label>
                    <label class="field"><span>"Repeat interval"</span><input name="repeat_interval" placeholder="4h"/><FieldError error field="repeat_interval"/></label>
                </div>
                <div class="form-row">
                    <label class="field"><span>"Muted during"</span>
                        <select name="mute_time_interval"><option value="">"never"</option>{options(&time_intervals)}</select><FieldError error field="mute_time_interval"/></label>
                    <label class="field"><span>"Active only during"</span>
                        <select name="active_time_interval"><option value="">"always"</option>{options(&time_intervals)}</select><FieldError error field="active_time_interval"/></label>
                </div>
                <div class="form-row">
                    <label class="field grow"><span>"Under"</span>
                        <select name="parent">
                            {routes.into_iter().map(|r| {
                                let text = if r.depth == 0 {
                                    format!("the root policy (→ {})", r.receiver)
                                } else {
                                    format!("{}{} → {}", "  ".repeat(r.depth), r.matchers, r.receiver)
                                };
                                view! { <option value=r.path.clone()>{text}</option> }
                            }).collect_view()}
                        </select><FieldError error field="parent"/></label>
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

/// A closed box under a list, opened to add to it (works without JavaScript). It stays open
/// while its form shows an error.
#[component]
fn AddBox(id: &'static str, summary: &'static str, error: Signal<Option<AppError>>, children: Children) -> impl IntoView {
    view! {
        <details class="add-box" id=id open=move || error.get().is_some()>
            <summary class="button subtle">{summary}</summary>
            {children()}
        </details>
    }
}

#[component]
pub fn NewInhibitRule(tenant: TenantChoice) -> impl IntoView {
    let add = ServerAction::<AddInhibitRule>::new();
    let error = use_form_error("add_inhibit_rule", add);
    view! {
        <AddBox id="new-inhibit-rule" summary="New inhibition rule" error>
            <ActionForm action=add attr:class="form">
                <CsrfField/>
                <input type="hidden" name="tenant" value=tenant.name.clone()/>
                <div class="form-row">
                    <label class="field grow"><span>"While an alert matches"</span>
                        <input name="source_matchers" class="code" required placeholder="severity=\"critical\""/><FieldError error field="source_matchers"/></label>
                    <label class="field grow"><span>"mute alerts matching"</span>
                        <input name="target_matchers" class="code" required placeholder="severity=\"warning\""/><FieldError error field="target_matchers"/></label>
                    <label class="field"><span>"with the same"</span>
                        <input name="equal" placeholder="service, instance"/><FieldError error field="equal"/></label>
                </div>
                <FormError error fields=&INHIBIT_FIELDS/>
                <div class="actions"><button type="submit" class="button primary" id="add-inhibit-rule">"Add inhibition rule"</button></div>
            </ActionForm>
        </AddBox>
    }
}

#[component]
pub fn NewTimeInterval(tenant: TenantChoice) -> impl IntoView {
    let add = ServerAction::<AddTimeInterval>::new();
    let error = use_form_error("add_time_interval", add);
    view! {
        <AddBox id="new-time-interval" summary="New time interval" error>
            <ActionForm action=add attr:class="form">
                <CsrfField/>
                <input type="hidden" name="tenant" value=tenant.name.clone()/>
                <div class="form-row">
                    <label class="field"><span>"Name"</span><input name="name" required placeholder="office-hours"/><FieldError error field="name"/></label>
                    <label class="field"><span>"Weekdays"</span><input name="weekdays" placeholder="monday:friday"/><FieldError error field="weekdays"/></label>
                    <label class="field"><span>"Times of day"</span><input name="times" placeholder="09:00-17:00"/><FieldError error field="times"/></label>
                </div>
                <div class="form-row">
                    <label class="field"><span>"Days of the month"</span><input name="days_of_month" placeholder="1:7, -1"/><FieldError error field="days_of_month"/></label>
                    <label class="field"><span>"Months"</span><input name="months" placeholder="december"/><FieldError error field="months"/></label>
                    <label class="field"><span>"Time zone"</span><input name="location" placeholder="Europe/Berlin (empty: UTC)"/><FieldError error field="location"/></label>
                </div>
                <FormError error fields=&TIME_INTERVAL_FIELDS/>
                <div class="actions"><button type="submit" class="button primary" id="add-time-interval">"Add time interval"</button></div>
            </ActionForm>
        </AddBox>
    }
}

#[component]
pub fn NewEscalation(tenant: TenantChoice, receivers: Vec<String>) -> impl IntoView {
    let add = ServerAction::<AddEscalation>::new();
    let error = use_form_error("add_escalation", add);
    let step = move |n: usize, receivers: &[String]| {
        let (after, receiver) = (format!("after_{n}"), format!("receiver_{n}"));
        view! {
            <div class="form-row">
                <label class="field"><span>{format!("Step {n}: unacknowledged after")}</span>
                    <input name=after.clone() placeholder=if n == 1 { "15m" } else { "" } required={n == 1}/>
                    <FieldError error field=ESCALATION_FIELDS[2 * n]/></label>
                <label class="field grow"><span>"notify"</span>
                    <select name=receiver.clone()>{options(&receivers)}</select>
                    <FieldError error field=ESCALATION_FIELDS[2 * n + 1]/></label>
            </div>
        }
    };
    view! {
        <AddBox id="new-escalation" summary="New escalation policy" error>
            <ActionForm action=add attr:class="form">
                <CsrfField/>
                <input type="hidden" name="tenant" value=tenant.name.clone()/>
                <div class="form-row">
                    <label class="field"><span>"Name"</span><input name="name" required placeholder="critical-on-call"/><FieldError error field="name"/></label>
                    <label class="field grow"><span>"For alerts matching"</span>
                        <input name="matchers" class="code" placeholder="severity=\"critical\" (empty: every alert)"/><FieldError error field="matchers"/></label>
                </div>
                {step(1, &receivers)}
                {step(2, &receivers)}
                {step(3, &receivers)}
                <FormError error fields=&ESCALATION_FIELDS/>
                <div class="actions"><button type="submit" class="button primary" id="add-escalation">"Add escalation policy"</button></div>
            </ActionForm>
        </AddBox>
    }
}

#[cfg(feature = "ssr")]
mod server {
    use notify::config::{ConfigFile, EscalationDef, EscalationStepDef, InhibitDef, RouteDef, TimeIntervalDef, TimeRangeDef, TimeSpecDef};

    use super::*;
    use crate::notifications::forms::server::{list, opt, route_at};

    pub fn add_route(file: &mut ConfigFile, f: &RouteFields) -> Result<(), AppError> {
        if f.matchers.trim().is_empty() {
            return Err(AppError::invalid("matchers", "a policy matches at least one label (the root policy takes the rest)"));
        }
        let route = RouteDef {
            receiver: opt(&f.receiver),
            matchers: vec![f.matchers.trim().to_string()],
            group_by: opt(&f.group_by).map(|g| list(&g)),
            group_wait: opt(&f.group_wait),
            group_interval: opt(&f.group_interval),
            repeat_interval: opt(&f.repeat_interval),
            mute_time_intervals: opt(&f.mute_time_interval).into_iter().collect(),
            active_time_intervals: opt(&f.active_time_interval).into_iter().collect(),
            continue_matching: f.continue_matching == "on",
            ..RouteDef::default()
        };
        let parent = if f.parent.is_empty() { "0" } else { f.parent.as_str() };
        let parent = route_at(file, parent).map_err(|_| AppError::invalid("parent", "that policy is gone: reload the page"))?;
        if f.position == "last" {
            parent.routes.push(route);
        } else {
            parent.routes.insert(0, route);
        }
        Ok(())
    }

    pub fn add_inhibit_rule(file: &mut ConfigFile, f: &InhibitFields) -> Result<(), AppError> {
        // Without matchers a side would match every alert: every alert would mute every other.
        for (text, field) in [(&f.source_matchers, "source_matchers"), (&f.target_matchers, "target_matchers")] {
            if text.trim().is_empty() {
                return Err(AppError::invalid(field, "give at least one matcher"));
            }
        }
        file.inhibit_rules.push(InhibitDef {
            source_matchers: vec![f.source_matchers.trim().to_string()],
            target_matchers: vec![f.target_matchers.trim().to_string()],
            equal: list(&f.equal),
            ..InhibitDef::default()
        });
        Ok(())
    }

    pub fn add_time_interval(file: &mut ConfigFile, f: &TimeIntervalFields) -> Result<(), AppError> {
        let name = f.name.trim();
        if name.is_empty() {
            return Err(AppError::invalid("name", "a time interval needs a name"));
        }
        let times = list(&f.times)
            .iter()
            .map(|range| match range.split_once('-') {
                Some((start, end)) => Ok(TimeRangeDef { start_time: start.trim().into(), end_time: end.trim().into() }),
                None => Err(AppError::invalid("times", format!("{range:?}: give a range of times as 09:00-17:00"))),
            })
            .collect::<Result<Vec<_>, _>>()?;
        let spec = TimeSpecDef {
            times,
            weekdays: list(&f.weekdays),
            days_of_month: list(&f.days_of_month),
            months: list(&f.months),
            years: Vec::new(),
            location: opt(&f.location),
        };
        // An interval saying nothing is always: as a mute, it would silence the route for good.
        if spec.times.is_empty() && spec.weekdays.is_empty() && spec.days_of_month.is_empty() && spec.months.is_empty() {
            return Err(AppError::invalid("weekdays", "say when: weekdays, times of day, days of the month or months"));
        }
        file.time_intervals.push(TimeIntervalDef { name: name.to_string(), time_intervals: vec![spec] });
        Ok(())
    }

    pub fn add_escalation(file: &mut ConfigFile, f: &EscalationFields) -> Result<(), AppError> {
        let name = f.name.trim();
        if name.is_empty() {
            return Err(AppError::invalid("name", "an escalation policy needs a name"));
        }
        let steps: Vec<EscalationStepDef> = [(&f.after_1, &f.receiver_1), (&f.after_2, &f.receiver_2), (&f.after_3, &f.receiver_3)]
            .into_iter()
            .filter(|(after, _)| !after.trim().is_empty())
            .map(|(after, receiver)| EscalationStepDef { after: after.trim().into(), receiver: receiver.trim().into() })
            .collect();
        if steps.is_empty() {
            return Err(AppError::invalid("after_1", "say after how long the first step is notified"));
        }
        file.escalation_policies.push(EscalationDef {
            name: name.to_string(),
            matchers: opt(&f.matchers).into_iter().collect(),
            steps,
        });
        Ok(())
    }
}

#[cfg(all(test, feature = "ssr"))]
mod tests {
    use notify::config::{self, ConfigFile};

    use super::*;
    use crate::notifications::forms::server::{checked, remove};

    const BASE: &str = "route:
  receiver: team
  routes:
    - matchers: ['team=\"db\"']
      receiver: db
receivers:
  - name: team
  - name: db
  - name: lead
";

    fn base() -> ConfigFile {
        config::parse(BASE).unwrap().file
    }

    /// The field of the form an error is shown beside, and its message.
    fn refused(result: Result<ConfigFile, AppError>) -> (String, String) {
        match result {
            Err(AppError::Invalid { field, message }) => (field, message),
            other => panic!("not refused: {other:?}"),
        }
    }

    fn with(file: &ConfigFile, change: impl FnOnce(&mut ConfigFile) -> Result<(), AppError>, known: &[&str]) -> Result<ConfigFile, AppError> {
        let mut file = file.clone();
        change(&mut file)?;
        checked(file, known)
    }

    fn office_hours() -> TimeIntervalFields {
        TimeIntervalFields {
            name: "office-hours".into(),
            weekdays: "monday:friday".into(),
            times: "09:00-17:00".into(),
            location: "Europe/Berlin".into(),
            ..TimeIntervalFields::default()
        }
    }

    #[test]
    fn a_policy_goes_under_a_nested_route_and_is_muted_by_a_time_interval() {
        let file = with(&base(), |f| server::add_time_interval(f, &office_hours()), &TIME_INTERVAL_FIELDS).unwrap();
        let fields = RouteFields {
            parent: "0.0".into(),
            matchers: "severity=\"critical\"".into(),
            receiver: "lead".into(),
            mute_time_interval: "office-hours".into(),
            group_wait: "10s".into(),
            position: "last".into(),
            ..RouteFields::default()
        };
        let file = with(&file, |f| server::add_route(f, &fields), &ROUTE_FIELDS).unwrap();
        let compiled = config::Config::from_file(file.clone()).unwrap();
        let child = &compiled.route.routes[0].routes[0];
        assert_eq!(child.receiver, "lead");
        assert_eq!(child.mute_time_intervals, ["office-hours"]);
        assert_eq!(child.group_wait_ms, 10_000);
        // A route that is gone, and an interval nobody defined, are named by their fields.
        let gone = RouteFields { parent: "0.3".into(), ..fields.clone() };
        assert_eq!(refused(with(&file, |f| server::add_route(f, &gone), &ROUTE_FIELDS)).0, "parent");
        let unknown = RouteFields { active_time_interval: "weekends".into(), ..fields.clone() };
        let (field, message) = refused(with(&file, |f| server::add_route(f, &unknown), &ROUTE_FIELDS));
        assert_eq!(field, "active_time_interval", "{message}");
        assert!(message.contains("weekends"), "{message}");
        let bad = RouteFields { matchers: "severity=~\"(\"".into(), ..fields };
        assert_eq!(refused(with(&file, |f| server::add_route(f, &bad), &ROUTE_FIELDS)).0, "matchers");
        // Removing the nested route leaves its parent; the interval is then free to go.
        let file = with(&file, |f| remove(f, "time_interval", "office-hours"), &[]);
        assert!(refused(file).1.contains("office-hours"), "an interval in use stays");
    }

    #[test]
    fn routes_are_removed_by_their_place() {
        let fields = RouteFields { parent: "0.0".into(), matchers: "severity=\"critical\"".into(), receiver: "lead".into(), ..RouteFields::default() };
        let file = with(&base(), |f| server::add_route(f, &fields), &ROUTE_FIELDS).unwrap();
        let file = with(&file, |f| remove(f, "route", "0.0.0"), &[]).unwrap();
        assert_eq!(file.route.as_ref().unwrap().routes.len(), 1);
        assert!(file.route.as_ref().unwrap().routes[0].routes.is_empty());
        for key in ["0.0.0", "0.5", "0", "", "1.0", "x"] {
            assert!(matches!(with(&file, |f| remove(f, "route", key), &[]), Err(AppError::NotFound)), "{key}");
        }
        let file = with(&file, |f| remove(f, "route", "0.0"), &[]).unwrap();
        assert!(file.route.unwrap().routes.is_empty());
    }

    #[test]
    fn an_inhibition_rule_needs_both_sides_and_valid_labels() {
        let fields = InhibitFields {
            source_matchers: "severity=\"critical\"".into(),
            target_matchers: "severity=\"warning\"".into(),
            equal: "service, instance".into(),
            ..InhibitFields::default()
        };
        let file = with(&base(), |f| server::add_inhibit_rule(f, &fields), &INHIBIT_FIELDS).unwrap();
        let compiled = config::Config::from_file(file.clone()).unwrap();
        assert_eq!(compiled.inhibit_rules[0].equal, ["service", "instance"]);
        let one_sided = InhibitFields { target_matchers: " ".into(), ..fields.clone() };
        assert_eq!(refused(with(&file, |f| server::add_inhibit_rule(f, &one_sided), &INHIBIT_FIELDS)).0, "target_matchers");
        let bad_label = InhibitFields { equal: "service, 1nstance".into(), ..fields.clone() };
        assert_eq!(refused(with(&file, |f| server::add_inhibit_rule(f, &bad_label), &INHIBIT_FIELDS)).0, "equal");
        let bad_matcher = InhibitFields { source_matchers: "severity=~\"(\"".into(), ..fields };
        assert_eq!(refused(with(&file, |f| server::add_inhibit_rule(f, &bad_matcher), &INHIBIT_FIELDS)).0, "source_matchers");
        let file = with(&file, |f| remove(f, "inhibit_rule", "0"), &[]).unwrap();
        assert!(file.inhibit_rules.is_empty());
        assert!(matches!(with(&file, |f| remove(f, "inhibit_rule", "0"), &[]), Err(AppError::NotFound)));
    }

    #[test]
    fn a_time_interval_is_checked_field_by_field() {
        let file = with(&base(), |f| server::add_time_interval(f, &office_hours()), &TIME_INTERVAL_FIELDS).unwrap();
        assert_eq!(config::Config::from_file(file.clone()).unwrap().time_intervals["office-hours"].len(), 1);
        let cases = [
            (TimeIntervalFields { weekdays: "funday".into(), ..office_hours() }, "weekdays"),
            (TimeIntervalFields { times: "9 to 5".into(), ..office_hours() }, "times"),
            (TimeIntervalFields { times: "09:00-25:00".into(), ..office_hours() }, "times"),
            (TimeIntervalFields { months: "smarch".into(), ..office_hours() }, "months"),
            (TimeIntervalFields { days_of_month: "0".into(), ..office_hours() }, "days_of_month"),
            (TimeIntervalFields { location: "Mars/Olympus".into(), ..office_hours() }, "location"),
            (TimeIntervalFields { name: "other".into(), weekdays: String::new(), times: String::new(), ..office_hours() }, "weekdays"),
            (office_hours(), "name"),
        ];
        for (fields, field) in cases {
            let (got, message) = refused(with(&file, |f| server::add_time_interval(f, &fields), &TIME_INTERVAL_FIELDS));
            assert_eq!(got, field, "{fields:?}: {message}");
        }
    }

    #[test]
    fn an_escalation_policy_takes_steps_in_order_to_known_contact_points() {
        let fields = EscalationFields {
            name: "critical".into(),
            matchers: "severity=\"critical\"".into(),
            after_1: "15m".into(),
            receiver_1: "lead".into(),
            after_2: "45m".into(),
            receiver_2: "db".into(),
            ..EscalationFields::default()
        };
        let file = with(&base(), |f| server::add_escalation(f, &fields), &ESCALATION_FIELDS).unwrap();
        let compiled = config::Config::from_file(file.clone()).unwrap();
        assert_eq!(compiled.escalations[0].steps, [(900_000, "lead".to_string()), (2_700_000, "db".to_string())]);
        let second = EscalationFields { name: "second".into(), ..fields.clone() };
        let cases = [
            (EscalationFields { after_2: "10m".into(), ..second.clone() }, "after_2"),
            (EscalationFields { after_1: "soon".into(), ..second.clone() }, "after_1"),
            (EscalationFields { receiver_1: "nobody".into(), ..second.clone() }, "receiver_1"),
            (EscalationFields { after_1: String::new(), after_2: String::new(), ..second.clone() }, "after_1"),
            (EscalationFields { matchers: "severity=~\"(\"".into(), ..second.clone() }, "matchers"),
            (fields.clone(), "name"),
        ];
        for (fields, field) in cases {
            let (got, message) = refused(with(&file, |f| server::add_escalation(f, &fields), &ESCALATION_FIELDS));
            assert_eq!(got, field, "{fields:?}: {message}");
        }
        // A contact point an escalation uses is not removed from under it.
        let (_, message) = refused(with(&file, |f| remove(f, "contact_point", "lead"), &[]));
        assert!(message.contains("escalation"), "{message}");
        let file = with(&file, |f| remove(f, "escalation", "critical"), &[]).unwrap();
        assert!(with(&file, |f| remove(f, "contact_point", "lead"), &[]).is_ok());
    }
}
