//! Running a dashboard's stored queries for one viewer, in the viewer's scope only: the time
//! span and step (Grafana's maxDataPoints: about one point per pixel), the tenants a query runs
//! in (a tenant dashboard's own; for a global one each selected tenant the viewer sees, in
//! parallel, every series labelled with its `tenant`), and the answers as named series.

use std::collections::BTreeMap;

use futures::future::join_all;
use promql::{Labels, Value};
use uuid::Uuid;
use viz::{
    model::{Panel, Target},
    time::{self, Tz},
};

use super::interpolate::{self, Values};
use crate::{
    query::{self, QueryError},
    ssr::AppState,
};

/// The URL's query parameters, in order; a key may repeat (`var-x=a&var-x=b`).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Request {
    pub pairs: Vec<(String, String)>,
}

impl Request {
    pub fn parse(query: &str) -> Request {
        let pairs = query
            .trim_start_matches('?')
            .split('&')
            .filter(|p| !p.is_empty())
            .map(|pair| {
                let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
                (crate::url::decode(k), crate::url::decode(v))
            })
            .collect();
        Request { pairs }
    }

    /// The last non-empty value of `key`.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.pairs
            .iter()
            .rev()
            .find(|(k, v)| k == key && !v.is_empty())
            .map(|(_, v)| v.as_str())
    }

    pub fn all(&self, key: &str) -> Vec<&str> {
        self.pairs
            .iter()
            .filter(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
            .collect()
    }

    pub fn has(&self, key: &str) -> bool {
        self.pairs.iter().any(|(k, _)| k == key)
    }
}

/// The dashboard's time span, resolved.
#[derive(Clone, Debug)]
pub struct Span {
    pub from: i64,
    pub to: i64,
    pub tz: Tz,
}

/// A named series of a panel: what the renderers draw.
#[derive(Clone, Debug)]
pub struct SeriesData {
    pub name: String,
    pub labels: Labels,
    pub ref_id: String,
    pub points: Vec<(i64, f64)>,
}

/// What a panel's queries answered.
#[derive(Clone, Debug, Default)]
pub struct PanelData {
    pub series: Vec<SeriesData>,
    /// An alert list panel's alerts.
    pub alerts: Vec<crate::alerting::AlertRow>,
    /// One message a failing query (and, on global dashboards, tenant).
    pub errors: Vec<String>,
    pub start: i64,
    pub end: i64,
    pub step: i64,
}

/// Where a dashboard's queries run.
#[derive(Clone, Debug)]
pub struct Tenants {
    /// Targets without a data source of their own run in each of these.
    pub selected: Vec<(Uuid, String)>,
    /// Every tenant the viewer sees: a target naming one (`datasource.uid`) runs there.
    pub visible: Vec<(Uuid, String)>,
    /// Global dashboards label every series with its tenant.
    pub global: bool,
}

/// How the default scrape interval of Prometheus data sources enters `$__rate_interval`.
const SCRAPE_INTERVAL_MS: i64 = 15_000;

/// Steps Grafana rounds its query interval to.
const NICE_STEPS_MS: [i64; 22] = [
    1_000,
    2_000,
    5_000,
    10_000,
    15_000,
    20_000,
    30_000,
    60_000,
    120_000,
    300_000,
    600_000,
    900_000,
    1_200_000,
    1_800_000,
    3_600_000,
    7_200_000,
    10_800_000,
    21_600_000,
    43_200_000,
    86_400_000,
    604_800_000,
    2_592_000_000,
];

/// The step of a range query over `span` drawn `points` pixels wide, at least `min_ms`.
pub fn step_for(span: &Span, points: u32, min_ms: i64) -> i64 {
    let raw = (span.to - span.from).max(1) / points.max(1) as i64;
    let nice = NICE_STEPS_MS
        .iter()
        .copied()
        .find(|s| *s >= raw)
        .unwrap_or(raw.max(1_000));
    nice.max(min_ms).max(1_000)
}

/// The built-in variables of a panel's queries: `$__interval`, `$__rate_interval`, `$__range`….
pub fn builtins(span: &Span, step: i64) -> Values {
    let range = (span.to - span.from).max(0);
    let rate = (step + SCRAPE_INTERVAL_MS).max(4 * SCRAPE_INTERVAL_MS);
    let seconds = |ms: i64| format!("{}s", (ms as f64 / 1000.0).round() as i64);
    [
        ("__interval", time::duration_text(step)),
        ("__interval_ms", step.to_string()),
        ("__rate_interval", time::duration_text(rate)),
        ("__range", seconds(range)),
        ("__range_s", (range / 1000).to_string()),
        ("__range_ms", range.to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), interpolate::Value::single(v)))
    .collect()
}

/// `{{label}}` in a legend format, as Grafana fills it; empty (or `__auto`): the series itself.
pub fn legend(format: &str, labels: &Labels) -> String {
    if format.is_empty() || format == "__auto" {
        return crate::query::show_labels(labels);
    }
    let mut out = String::new();
    let mut rest = format;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        match rest[start + 2..].find("}}") {
            Some(end) => {
                let name = rest[start + 2..start + 2 + end].trim();
                out.push_str(labels.get(name).unwrap_or(""));
                rest = &rest[start + 2 + end + 2..];
            }
            None => {
                out.push_str(&rest[start..]);
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}

/// The tenant a global dashboard's target names as its data source (`{"uid": "system"}`), if
/// any; Grafana's own data source references (`${datasource}`, `-- Mixed --`) name none.
fn named<'p>(tenants: &Tenants, panel: &'p Panel, target: &'p Target) -> Option<&'p str> {
    target
        .datasource
        .as_ref()
        .or(panel.datasource.as_ref())
        .and_then(|ds| ds.get("uid").and_then(|u| u.as_str()).or(ds.as_str()))
        .filter(|uid| !uid.is_empty() && !uid.starts_with('$') && !uid.starts_with("-- "))
        .filter(|uid| tenants.global && *uid != "meridian")
}

fn named_source(tenants: &Tenants, panel: &Panel, target: &Target) -> bool {
    named(tenants, panel, target).is_some()
}

/// The tenants a target runs in: the one its data source names (if the viewer sees it), else
/// the dashboard's.
fn target_tenants<'t>(
    tenants: &'t Tenants,
    panel: &Panel,
    target: &Target,
) -> Vec<&'t (Uuid, String)> {
    match named(tenants, panel, target) {
        Some(name) => tenants.visible.iter().filter(|(_, n)| n == name).collect(),
        None => tenants.selected.iter().collect(),
    }
}

/// A query error as a panel shows it: syntax errors with their position.
fn describe(error: QueryError, expr: &str) -> String {
    if let Err(syntax) = promql::syntax::parse(expr) {
        return syntax.to_string();
    }
    error.to_string()
}

/// What one tenant answered to one planned query, as the panel's series and errors. Across the
/// selected tenants each series is labelled with its tenant (whatever `tenant` label the data
/// had); a target reading one named tenant keeps its labels.
fn take_answer(
    data: &mut PanelData,
    (tenants, panel, planned): (&Tenants, &Panel, &Planned<'_>),
    (name, several): (&str, bool),
    answer: Result<Value, QueryError>,
) {
    let target = planned.target;
    match answer {
        Ok(value) => {
            let per_tenant = tenants.global && !named_source(tenants, panel, target);
            for (mut labels, points) in value_series(value, planned.span.1) {
                if per_tenant {
                    labels.set("tenant", name);
                }
                let mut shown = legend(&target.legend_format, &labels);
                if per_tenant && several && !target.legend_format.contains("tenant") {
                    shown = format!("{name} · {shown}");
                }
                data.series.push(SeriesData {
                    name: shown,
                    labels,
                    ref_id: target.ref_id.clone(),
                    points,
                });
            }
        }
        Err(QueryError::Store(message)) => {
            tracing::error!(error = %message, "A dashboard query could not read the store.");
            data.errors
                .push("the metric store could not be read; it has been logged".into());
        }
        Err(error) => {
            let expr = planned.expr.as_deref().unwrap_or_default();
            let message = describe(error, expr);
            data.errors.push(if several {
                format!("{name}: {message}")
            } else {
                message
            });
        }
    }
}

/// Runs the panels' queries together: each tenant gets every query that runs in it as one
/// batch (so a selector several panels share is read once for the page), all tenants at once.
/// Answers each panel's data, in order.
pub async fn run_panels(
    state: &AppState,
    tenants: &Tenants,
    panels: &[(&Panel, u32)],
    values: &Values,
    span: &Span,
) -> Vec<PanelData> {
    let plans: Vec<(i64, Vec<Planned>)> = panels
        .iter()
        .map(|(panel, width)| plan(panel, values, span, *width))
        .collect();
    let mut data: Vec<PanelData> = plans
        .iter()
        .map(|(step, _)| PanelData {
            start: span.from,
            end: span.to,
            step: *step,
            ..PanelData::default()
        })
        .collect();
    // (panel, query, tenant's place among the query's tenants) of each batch's queries.
    let mut batches: BTreeMap<Uuid, Vec<(usize, usize, usize)>> = BTreeMap::new();
    for (p, (panel, _)) in panels.iter().enumerate() {
        for (q, planned) in plans[p].1.iter().enumerate() {
            if let Err(error) = &planned.expr {
                data[p].errors.push(error.clone());
                continue;
            }
            let run_in = target_tenants(tenants, panel, planned.target);
            if run_in.is_empty() {
                data[p]
                    .errors
                    .push("no tenant in your scope to run this query in".into());
            }
            for (place, (id, _)) in run_in.iter().enumerate() {
                batches.entry(*id).or_default().push((p, q, place));
            }
        }
    }
    let answers = join_all(batches.iter().map(|(tenant, jobs)| {
        let queries: Vec<(String, (i64, i64, i64))> = jobs
            .iter()
            .map(|(p, q, _)| {
                let planned = &plans[*p].1[*q];
                (planned.expr.clone().unwrap_or_default(), planned.span)
            })
            .collect();
        async move { query::evaluate_batch(state, *tenant, &queries).await }
    }))
    .await;
    // Answers go to their panels in the order of the panel's queries and their tenants, so a
    // panel's series come in the same order on every refresh.
    let mut placed: BTreeMap<(usize, usize, usize), Result<Value, QueryError>> = BTreeMap::new();
    for (jobs, results) in batches.values().zip(answers) {
        for (job, result) in jobs.iter().zip(results) {
            placed.insert(*job, result);
        }
    }
    for ((p, q, place), answer) in placed {
        let (panel, planned) = (panels[p].0, &plans[p].1[q]);
        let run_in = target_tenants(tenants, panel, planned.target);
        let name = run_in.get(place).map_or("", |(_, n)| n.as_str());
        take_answer(
            &mut data[p],
            (tenants, panel, planned),
            (name, run_in.len() > 1),
            answer,
        );
    }
    data
}

/// An answer as labelled point lists (a scalar is one unlabelled series).
fn value_series(value: Value, at: i64) -> Vec<(Labels, Vec<(i64, f64)>)> {
    match value {
        Value::Matrix(series) => series.into_iter().map(|s| (s.labels, s.points)).collect(),
        Value::Vector(samples) => samples
            .into_iter()
            .map(|s| (s.labels, vec![(s.t, s.v)]))
            .collect(),
        Value::Scalar(v) => vec![(Labels::new(vec![]), vec![(at, v)])],
        Value::String(_) => Vec::new(),
    }
}

/// Whether the panel's targets run as PromQL (text, rows and alert lists have none).
pub fn runs_queries(panel: &Panel) -> bool {
    !matches!(panel.kind.as_str(), "text" | "row" | "alertlist")
}

/// Whether a panel type asks for the latest values (one instant query) rather than a range.
pub fn instant(panel: &Panel, target: &Target) -> bool {
    panel.kind == "table" || target.instant || target.format == "table"
}

/// One query of a panel as it will run: the target, its expression with the variables put in
/// (or why they could not be), and its span (step 0: an instant query at the end).
pub struct Planned<'p> {
    pub target: &'p Target,
    pub expr: Result<String, String>,
    pub span: (i64, i64, i64),
}

/// The queries of `panel` drawn `width_px` wide: Grafana's step (about a point a pixel, at least
/// the panel's minimum interval), the span aligned to it, the built-in variables.
pub fn plan<'p>(
    panel: &'p Panel,
    values: &Values,
    span: &Span,
    width_px: u32,
) -> (i64, Vec<Planned<'p>>) {
    let min_step = promql::parse_duration(panel.interval.trim_start_matches('>'))
        .unwrap_or(SCRAPE_INTERVAL_MS);
    let step = step_for(span, panel.max_data_points.unwrap_or(width_px), min_step);
    // Aligned to the step, so a refresh draws the same points; the end rounds up, so the latest
    // samples are in (a point just after `to` is drawn at the plot's edge).
    let (start, end) = (
        (span.from / step) * step,
        (span.to + step - 1) / step * step,
    );
    let mut with_builtins = builtins(span, step);
    with_builtins.extend(values.iter().map(|(k, v)| (k.clone(), v.clone())));
    let planned = panel
        .targets
        .iter()
        .filter(|t| !t.hide && !t.expr.trim().is_empty())
        .map(|target| Planned {
            target,
            expr: interpolate::interpolate(&target.expr, &with_builtins),
            span: if instant(panel, target) {
                (span.to, span.to, 0)
            } else {
                (start, end, step)
            },
        })
        .collect();
    (step, planned)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_step_is_about_one_point_a_pixel_on_round_values() {
        let span = |hours: i64| Span {
            from: 0,
            to: hours * 3_600_000,
            tz: Tz::UTC,
        };
        assert_eq!(step_for(&span(6), 1000, 15_000), 30_000);
        assert_eq!(
            step_for(&span(1), 1000, 15_000),
            15_000,
            "never below the minimum"
        );
        assert_eq!(step_for(&span(24 * 7), 800, 15_000), 900_000);
        assert_eq!(step_for(&span(0), 800, 0), 1_000);
    }

    #[test]
    fn legends_fill_labels() {
        let labels = Labels::new(vec![
            ("__name__".into(), "up".into()),
            ("job".into(), "api".into()),
        ]);
        assert_eq!(legend("{{job}} / {{ missing }}x", &labels), "api / x");
        assert_eq!(legend("", &labels), r#"up{job="api"}"#);
        assert_eq!(legend("{{job", &labels), "{{job");
    }

    #[test]
    fn builtins_follow_grafana() {
        let span = Span {
            from: 0,
            to: 6 * 3_600_000,
            tz: Tz::UTC,
        };
        let b = builtins(&span, 30_000);
        assert_eq!(b["__interval"].values, ["30s"]);
        assert_eq!(b["__rate_interval"].values, ["1m"]);
        assert_eq!(b["__range"].values, ["21600s"]);
        assert_eq!(b["__range_s"].values, ["21600"]);
    }

    #[test]
    fn requests_read_repeated_and_encoded_keys() {
        let r = Request::parse("?from=now-1h&var-job=a&var-job=b%20c&kiosk&to=");
        assert_eq!(r.get("from"), Some("now-1h"));
        assert_eq!(r.all("var-job"), ["a", "b c"]);
        assert!(r.has("kiosk"));
        assert_eq!(r.get("to"), None);
    }
}
