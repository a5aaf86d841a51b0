//! Sloth's rules: a Sloth spec (`prometheus/v1`) turned into the Prometheus rule groups Sloth
//! generates for it, with the same recording-rule names, labels, expressions and thresholds, so
//! dashboards and alerts built on Sloth's series keep working. Per objective, three groups:
//! - the error ratio over each alert window (`slo:sli_error:ratio_rate5m` … `_rate3d`) and over
//!   the period (`slo:sli_error:ratio_rate30d`, Sloth's average of the 5-minute ratios);
//! - its metadata (`slo:objective:ratio`, `slo:error_budget:ratio`, `slo:time_period:days`,
//!   burn rates, the budget left, `sloth_slo_info`);
//! - a page and a ticket alert, each two multi-window conditions (`burn::workbook`).

use std::collections::BTreeMap;

use rules::file::{Group, Kind, Problem, RuleDef};
use serde::Deserialize;

use crate::burn::{self, Severity};

/// What Sloth takes from its command line.
#[derive(Clone, Debug, PartialEq)]
pub struct Options {
    /// The period objectives are judged over (`--default-slo-period`), in days.
    pub period_days: u32,
    /// Labels added to every recorded series (`--extra-labels`).
    pub extra_labels: BTreeMap<String, String>,
    /// `sloth_version` on `sloth_slo_info`.
    pub version: String,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            period_days: 30,
            extra_labels: BTreeMap::new(),
            version: concat!("meridian-", env!("CARGO_PKG_VERSION")).into(),
        }
    }
}

/// How an objective's errors are measured.
#[derive(Clone, Debug, PartialEq)]
pub enum Sli {
    /// Bad events over all events, each a query with `{{.window}}` where its range goes.
    Events {
        error_query: String,
        total_query: String,
    },
    /// A query that is the error ratio itself.
    Raw { error_ratio_query: String },
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Alert {
    pub disabled: bool,
    pub labels: BTreeMap<String, String>,
    pub annotations: BTreeMap<String, String>,
}

/// One objective, as Sloth reads it.
#[derive(Clone, Debug, PartialEq)]
pub struct Objective {
    pub service: String,
    pub name: String,
    /// In percent (99.9).
    pub objective: f64,
    /// The service's labels, then the objective's.
    pub labels: BTreeMap<String, String>,
    pub sli: Sli,
    /// `None`: no alerts.
    pub alert_name: Option<String>,
    pub alert_labels: BTreeMap<String, String>,
    pub alert_annotations: BTreeMap<String, String>,
    pub page: Alert,
    pub ticket: Alert,
}

impl Objective {
    pub fn id(&self) -> String {
        format!("{}-{}", self.service, self.name)
    }
}

type Map = BTreeMap<String, String>;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SpecFile {
    version: String,
    service: String,
    #[serde(default)]
    labels: Map,
    slos: Vec<SloSpec>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SloSpec {
    name: String,
    objective: f64,
    /// Accepted as Sloth accepts it; neither writes it into a rule.
    #[serde(default)]
    #[allow(dead_code)]
    description: String,
    #[serde(default)]
    labels: Map,
    sli: SliSpec,
    #[serde(default)]
    alerting: AlertingSpec,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SliSpec {
    events: Option<EventsSpec>,
    raw: Option<RawSpec>,
    plugin: Option<Map>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EventsSpec {
    error_query: String,
    total_query: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSpec {
    #[serde(rename = "errorRatioQuery")]
    error_ratio_query: String,
}

#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct AlertingSpec {
    name: Option<String>,
    #[serde(default)]
    labels: Map,
    #[serde(default)]
    annotations: Map,
    #[serde(default)]
    page_alert: AlertSpec,
    #[serde(default)]
    ticket_alert: AlertSpec,
}

#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct AlertSpec {
    #[serde(default)]
    disable: bool,
    #[serde(default)]
    labels: Map,
    #[serde(default)]
    annotations: Map,
}

fn problem(field: String, message: impl Into<String>, place: Option<(usize, usize)>) -> Problem {
    let (line, column) = place.unwrap_or((0, 0));
    Problem {
        field,
        message: message.into(),
        line,
        column,
    }
}

/// Reads a Sloth spec: its objectives, or every problem, each at its line.
pub fn parse(text: &str) -> Result<Vec<Objective>, Vec<Problem>> {
    let (spec, node): (SpecFile, _) = rules::yaml::load(text)?;
    let place = |path: &str| rules::yaml::place_in(&node, path);
    let mut problems = Vec::new();
    if spec.version != "prometheus/v1" {
        problems.push(problem(
            "version".into(),
            format!(
                "{:?} is not a Sloth spec version Meridian reads (prometheus/v1)",
                spec.version
            ),
            place("version"),
        ));
    }
    if spec.service.trim().is_empty() {
        problems.push(problem(
            "service".into(),
            "a spec needs a service",
            place("service"),
        ));
    }
    let mut objectives = Vec::new();
    for (i, slo) in spec.slos.into_iter().enumerate() {
        let path = format!("slos[{i}]");
        if slo.name.trim().is_empty() {
            problems.push(problem(
                format!("{path}.name"),
                "an SLO needs a name",
                place(&format!("{path}.name")),
            ));
        }
        if !(slo.objective > 0.0 && slo.objective <= 100.0) {
            problems.push(problem(
                format!("{path}.objective"),
                "the objective is a percentage above 0 and at most 100",
                place(&format!("{path}.objective")),
            ));
        }
        let sli = match (slo.sli.events, slo.sli.raw, slo.sli.plugin) {
            (Some(e), None, None) => Some(Sli::Events {
                error_query: e.error_query,
                total_query: e.total_query,
            }),
            (None, Some(r), None) => Some(Sli::Raw {
                error_ratio_query: r.error_ratio_query,
            }),
            (None, None, Some(_)) => {
                problems.push(problem(
                    format!("{path}.sli.plugin"),
                    "SLI plugins are Go code run by Sloth; give events or raw queries",
                    place(&format!("{path}.sli.plugin")),
                ));
                None
            }
            _ => {
                problems.push(problem(
                    format!("{path}.sli"),
                    "give exactly one of events and raw",
                    place(&format!("{path}.sli")),
                ));
                None
            }
        };
        let alerting = slo.alerting;
        let alerts_wanted = !(alerting.page_alert.disable && alerting.ticket_alert.disable);
        if alerts_wanted && alerting.name.as_deref().unwrap_or_default().is_empty() {
            problems.push(problem(
                format!("{path}.alerting.name"),
                "alerts need a name (or disable both)",
                place(&format!("{path}.alerting")),
            ));
        }
        let Some(sli) = sli else { continue };
        let mut labels = spec.labels.clone();
        labels.extend(slo.labels);
        let alert = |a: AlertSpec| Alert {
            disabled: a.disable,
            labels: a.labels,
            annotations: a.annotations,
        };
        objectives.push(Objective {
            service: spec.service.clone(),
            name: slo.name,
            objective: slo.objective,
            labels,
            sli,
            alert_name: alerting.name.filter(|_| alerts_wanted),
            alert_labels: alerting.labels,
            alert_annotations: alerting.annotations,
            page: alert(alerting.page_alert),
            ticket: alert(alerting.ticket_alert),
        });
    }
    if problems.is_empty() {
        Ok(objectives)
    } else {
        Err(problems)
    }
}

/// Sloth's duration names: `5m`, `1h`, `1d`, `30d`.
fn window_name(minutes: i64) -> String {
    if minutes % (24 * 60) == 0 {
        format!("{}d", minutes / (24 * 60))
    } else if minutes % 60 == 0 {
        format!("{}h", minutes / 60)
    } else {
        format!("{minutes}m")
    }
}

/// The query with Sloth's `{{.window}}` (spaces allowed inside the braces) set to `window`.
fn with_window(query: &str, window: &str) -> String {
    let mut out = String::new();
    let mut rest = query;
    while let Some(open) = rest.find("{{") {
        let Some(close) = rest[open..].find("}}") else {
            break;
        };
        let inside = rest[open + 2..open + close].trim();
        out.push_str(&rest[..open]);
        if inside == ".window" {
            out.push_str(window);
        } else {
            out.push_str(&rest[open..open + close + 2]);
        }
        rest = &rest[open + close + 2..];
    }
    out.push_str(rest);
    out
}

fn labels(map: BTreeMap<String, String>) -> Vec<(String, String)> {
    map.into_iter().collect()
}

fn record(name: String, expr: String, labels: Vec<(String, String)>) -> RuleDef {
    RuleDef {
        kind: Kind::Record,
        name,
        expr,
        for_ms: 0,
        keep_firing_for_ms: 0,
        labels,
        annotations: Vec::new(),
    }
}

/// The rule groups Sloth generates for `objectives`, in its order.
pub fn rules(objectives: &[Objective], options: &Options) -> Vec<Group> {
    objectives
        .iter()
        .flat_map(|o| objective_rules(o, options))
        .collect()
}

fn objective_rules(o: &Objective, options: &Options) -> Vec<Group> {
    let id = o.id();
    let ids = [
        ("sloth_id", id.clone()),
        ("sloth_service", o.service.clone()),
        ("sloth_slo", o.name.clone()),
    ];
    let selector = format!(
        "{{{}}}",
        ids.iter()
            .map(|(k, v)| format!("{k}={v:?}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let mut base = o.labels.clone();
    base.extend(options.extra_labels.clone());
    base.extend(ids.iter().map(|(k, v)| (k.to_string(), v.clone())));
    let windows = burn::workbook(options.period_days);
    let period = window_name(i64::from(options.period_days) * 24 * 60);
    let sli_name = |window: &str| format!("slo:sli_error:ratio_rate{window}");

    // The error ratio over each window the alerts use, shortest first, then over the period.
    let mut minutes: Vec<i64> = windows
        .iter()
        .flat_map(|w| [w.short.num_minutes(), w.long.num_minutes()])
        .collect();
    minutes.sort_unstable();
    minutes.dedup();
    let mut sli_rules: Vec<RuleDef> = minutes
        .into_iter()
        .map(|m| {
            let window = window_name(m);
            let expr = match &o.sli {
                Sli::Events {
                    error_query,
                    total_query,
                } => {
                    format!(
                        "({})\n/\n({})\n",
                        with_window(error_query, &window),
                        with_window(total_query, &window)
                    )
                }
                Sli::Raw { error_ratio_query } => {
                    format!("({})", with_window(error_ratio_query, &window))
                }
            };
            let mut l = base.clone();
            l.insert("sloth_window".into(), window.clone());
            record(sli_name(&window), expr, labels(l))
        })
        .collect();
    let five = format!("{}{selector}", sli_name("5m"));
    sli_rules.push(record(
        sli_name(&period),
        format!("sum_over_time({five}[{period}])\n/ ignoring (sloth_window)\ncount_over_time({five}[{period}])\n"),
        vec![("sloth_window".into(), period.clone())],
    ));

    // Go prints floats shortest, as Rust does: 99.9 / 100 is 0.9990000000000001.
    let ratio = o.objective / 100.0;
    let budget = (100.0 - o.objective) / 100.0;
    let budget_series = format!("slo:error_budget:ratio{selector}");
    let burn_of = |sli: &str| {
        format!("{sli}\n/ on(sloth_id, sloth_slo, sloth_service) group_left\n{budget_series}\n")
    };
    let mut info = base.clone();
    info.extend([
        ("sloth_mode".to_string(), "cli-gen-prom".to_string()),
        ("sloth_objective".to_string(), o.objective.to_string()),
        ("sloth_spec".to_string(), "prometheus/v1".to_string()),
        ("sloth_version".to_string(), options.version.clone()),
    ]);
    let meta_rules = vec![
        record(
            "slo:objective:ratio".into(),
            format!("vector({ratio})"),
            labels(base.clone()),
        ),
        record(
            "slo:error_budget:ratio".into(),
            format!("vector(1-{ratio})"),
            labels(base.clone()),
        ),
        record(
            "slo:time_period:days".into(),
            format!("vector({})", options.period_days),
            labels(base.clone()),
        ),
        record(
            "slo:current_burn_rate:ratio".into(),
            burn_of(&five),
            labels(base.clone()),
        ),
        record(
            "slo:period_burn_rate:ratio".into(),
            burn_of(&format!("{}{selector}", sli_name(&period))),
            labels(base.clone()),
        ),
        record(
            "slo:period_error_budget_remaining:ratio".into(),
            format!("1 - slo:period_burn_rate:ratio{selector}"),
            labels(base.clone()),
        ),
        record("sloth_slo_info".into(), "vector(1)".into(), labels(info)),
    ];

    let mut groups = vec![
        Group {
            name: format!("sloth-slo-sli-recordings-{id}"),
            rules: sli_rules,
            ..Group::default()
        },
        Group {
            name: format!("sloth-slo-meta-recordings-{id}"),
            rules: meta_rules,
            ..Group::default()
        },
    ];
    let Some(alert_name) = &o.alert_name else {
        return groups;
    };
    let condition = |w: &burn::BurnWindow| {
        let over = |m: i64| {
            format!(
                "({}{selector} > ({} * {budget}))",
                sli_name(&window_name(m)),
                w.factor
            )
        };
        format!(
            "(\n    {}\n    and ignoring (sloth_window)\n    {}\n)",
            over(w.short.num_minutes()),
            over(w.long.num_minutes())
        )
    };
    let mut alert_rules = Vec::new();
    for (severity, alert) in [(Severity::Page, &o.page), (Severity::Ticket, &o.ticket)] {
        if alert.disabled {
            continue;
        }
        let pair: Vec<String> = windows
            .iter()
            .filter(|w| w.severity == severity)
            .map(condition)
            .collect();
        let mut l = o.alert_labels.clone();
        l.extend(alert.labels.clone());
        l.insert("sloth_severity".into(), severity.as_str().into());
        let mut annotations = Map::from([
            ("summary".to_string(), "{{$labels.sloth_service}} {{$labels.sloth_slo}} SLO error budget burn rate is over expected.".to_string()),
            ("title".to_string(), format!("({}) {{{{$labels.sloth_service}}}} {{{{$labels.sloth_slo}}}} SLO error budget burn rate is too fast.", severity.as_str())),
        ]);
        annotations.extend(o.alert_annotations.clone());
        annotations.extend(alert.annotations.clone());
        alert_rules.push(RuleDef {
            kind: Kind::Alert,
            name: alert_name.clone(),
            expr: format!("{}\nor ignoring (sloth_window)\n{}\n", pair[0], pair[1]),
            for_ms: 0,
            keep_firing_for_ms: 0,
            labels: labels(l),
            annotations: labels(annotations),
        });
    }
    if !alert_rules.is_empty() {
        groups.push(Group {
            name: format!("sloth-slo-alerts-{id}"),
            rules: alert_rules,
            ..Group::default()
        });
    }
    groups
}

/// A Sloth spec as a Prometheus rule file, or its problems.
pub fn generate(spec: &str, options: &Options) -> Result<String, Vec<Problem>> {
    Ok(rules::file::to_yaml(&rules(&parse(spec)?, options)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sloth_options() -> Options {
        // As Sloth's own examples were generated: `--extra-labels cmd=examplesgen.sh`, a
        // development build.
        Options {
            period_days: 30,
            extra_labels: Map::from([("cmd".into(), "examplesgen.sh".into())]),
            version: "dev".into(),
        }
    }

    fn testdata(name: &str) -> String {
        std::fs::read_to_string(format!(
            "{}/testdata/sloth/{name}",
            env!("CARGO_MANIFEST_DIR")
        ))
        .unwrap()
    }

    /// Sloth's generated file and Meridian's, read back as rule files, are the same groups:
    /// names, rules, expressions, labels and annotations.
    fn same_as_sloth(example: &str) {
        let ours = generate(&testdata(&format!("{example}.yml")), &sloth_options()).unwrap();
        let ours = rules::file::parse(&ours).unwrap();
        let sloths = rules::file::parse(&testdata(&format!("{example}.gen.yml"))).unwrap();
        assert_eq!(ours.len(), sloths.len());
        // Per objective: 8 error ratios, 7 metadata series, a page and a ticket alert.
        assert_eq!(
            sloths.iter().map(|g| g.rules.len()).sum::<usize>(),
            17 * sloths.len() / 3,
            "Sloth's file was read whole"
        );
        for (a, b) in ours.iter().zip(&sloths) {
            assert_eq!(a.name, b.name);
            assert_eq!(a.rules.len(), b.rules.len(), "{}", a.name);
            for (x, y) in a.rules.iter().zip(&b.rules) {
                assert_eq!(x, y, "{} in {}", y.name, b.name);
            }
        }
    }

    #[test]
    fn event_objectives_give_sloths_rules() {
        same_as_sloth("home-wifi");
    }

    #[test]
    fn raw_objectives_give_sloths_rules() {
        same_as_sloth("raw-home-wifi");
    }

    #[test]
    fn the_thresholds_are_the_workbooks_numbers() {
        let spec = testdata("home-wifi.yml");
        let groups = rules(&parse(&spec).unwrap(), &sloth_options());
        let page = &groups
            .iter()
            .find(|g| g.name == "sloth-slo-alerts-home-wifi-risk-wifi-client-satisfaction")
            .unwrap()
            .rules[0];
        // 14.4 × the 0.1 % budget, and 6 × it, as numbers.
        let thresholds: Vec<f64> = page
            .expr
            .split("> (")
            .skip(1)
            .map(|t| {
                let (factor, budget) = t.split_once(" * ").unwrap();
                factor.parse::<f64>().unwrap()
                    * budget.split(')').next().unwrap().parse::<f64>().unwrap()
            })
            .collect();
        let expected = [0.0144, 0.0144, 0.006, 0.006];
        for (got, want) in thresholds.iter().zip(expected) {
            assert!((got - want).abs() < 1e-12, "{thresholds:?}");
        }
        // Over 28 days the same shares of the budget give Sloth's 28-day factors.
        let groups = rules(
            &parse(&spec).unwrap(),
            &Options {
                period_days: 28,
                ..sloth_options()
            },
        );
        let alerts = groups
            .iter()
            .find(|g| g.name.starts_with("sloth-slo-alerts"))
            .unwrap();
        assert!(
            alerts.rules[0].expr.contains("> (13.44 * 0.05)"),
            "{}",
            alerts.rules[0].expr
        );
        assert!(groups[0].rules.last().unwrap().expr.contains("[28d]"));
    }

    #[test]
    fn a_bad_spec_names_its_line() {
        let problems = parse("version: prometheus/v1\nservice: api\nslos:\n  - name: avail\n    objective: 120\n    sli:\n      events:\n        error_query: a\n        total_query: b\n    alerting:\n      page_alert:\n        disable: true\n      ticket_alert:\n        disable: true\n").unwrap_err();
        assert_eq!(
            (problems[0].field.as_str(), problems[0].line),
            ("slos[0].objective", 5),
            "{problems:?}"
        );
        let problems = parse("version: prometheus/v1\nservice: api\nslos:\n  - name: avail\n    objective: 99\n    sli:\n      plugin:\n        id: x\n    alerting:\n      name: A\n").unwrap_err();
        assert_eq!(problems[0].field, "slos[0].sli.plugin");
        let problems = parse("version: prometheus/v1\nservice: api\nslos:\n  - name: avail\n    objective: 99\n    sli:\n      events:\n        error_query: a\n        total_querry: b\n").unwrap_err();
        assert_eq!(problems[0].line, 9, "{problems:?}");
        let problems = parse("version: prometheus/v1\nservice: api\nslos:\n  - name: avail\n    objective: 99\n    sli:\n      raw:\n        errorRatioQuery: x\n").unwrap_err();
        assert_eq!(
            problems[0].field, "slos[0].alerting.name",
            "alerts without a name"
        );
    }

    #[test]
    fn the_window_goes_where_sloth_puts_it() {
        assert_eq!(
            with_window(
                "rate(x[{{.window}}]) / rate(y[{{ .window }}]) {{.other}}",
                "5m"
            ),
            "rate(x[5m]) / rate(y[5m]) {{.other}}"
        );
        assert_eq!(window_name(5), "5m");
        assert_eq!(window_name(120), "2h");
        assert_eq!(window_name(3 * 24 * 60), "3d");
    }
}
