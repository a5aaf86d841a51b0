//! Alert list panels (Grafana's `alertlist`): the firing and pending alerts of the dashboard's
//! tenants, firing first, each linking to its page, with its summary, how long it has been
//! active and who acknowledged it.

use viz::model::Panel;

use super::{state, svg::esc, Frame};
use crate::{
    alerting::{span_text, AlertRow},
    dashboards::run::PanelData,
};

/// The states `options.stateFilter` keeps (Grafana's `firing`, `pending`; both when unset).
fn wanted(panel: &Panel, alert: &AlertRow) -> bool {
    let Some(filter) = panel.options.get("stateFilter").and_then(|f| f.as_object()) else {
        return true;
    };
    let on = |key: &str| filter.get(key).and_then(|v| v.as_bool()).unwrap_or(false);
    if !on("firing") && !on("pending") {
        return true;
    }
    on(alert.state.as_str())
}

pub fn render(panel: &Panel, data: &PanelData, _frame: &Frame) -> String {
    let alerts: Vec<&AlertRow> = data.alerts.iter().filter(|a| wanted(panel, a)).collect();
    if alerts.is_empty() {
        return state("panel-state-ok", "No alerts firing or pending.");
    }
    // Alerts are now's, whatever range the dashboard shows.
    let now = chrono::Utc::now();
    let mut out = String::from(r#"<ul class="alert-list">"#);
    for alert in alerts {
        let name = alert.labels.get("alertname").unwrap_or(&alert.rule_name);
        let summary = alert
            .annotations
            .get("summary")
            .map(String::as_str)
            .unwrap_or("");
        let ack = alert.ack.as_ref().map_or(String::new(), |a| {
            format!(
                r#" <span class="ack" title="{}">✓ {}</span>"#,
                esc(&a.comment),
                esc(&a.by)
            )
        });
        out.push_str(&format!(
            r#"<li class="alert-item alert-item-{state}" data-state="{state}"><span class="pill alert-{state}">{state}</span> <a href="/alerts/{id}"><strong>{name}</strong></a> <span class="muted">{tenant} · {since}</span>{ack}<br/><span class="alert-summary">{summary}</span></li>"#,
            state = esc(&alert.state),
            id = alert.id,
            name = esc(name),
            tenant = esc(&alert.tenant_name),
            since = span_text(alert.active_at, now.max(alert.active_at)),
            summary = esc(summary),
        ));
    }
    out.push_str("</ul>");
    out
}
