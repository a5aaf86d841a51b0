//! Rule unit tests in the `promtool test rules` format (Prometheus 2.42's
//! cmd/promtool/unittest.go), run against this crate's evaluation: each test loads its
//! `input_series` step by step (a sample is there from its own time on), evaluates every group
//! of the rule files at every `evaluation_interval` from 0 to the last `eval_time`, compares
//! the firing alerts at each `alert_rule_test`'s time and, at the end, each `promql_expr_test`.
//! A rule that fails to evaluate fails its test at once, as in promtool.

use std::{
    collections::{BTreeMap, HashMap},
    path::{Path, PathBuf},
};

use marked_yaml::LoaderOptions;
use promql::{notation, Engine, MemorySource};
use serde::Deserialize;

use crate::{
    alert::State,
    file::{self, Group, Kind},
    group::{as_vector, eval_rule, pairs, Env, RuleState},
    sorted, Labels,
};

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct TestFile {
    #[serde(default)]
    rule_files: Vec<String>,
    evaluation_interval: Option<String>,
    #[serde(default)]
    group_eval_order: Vec<String>,
    #[serde(default)]
    tests: Vec<TestGroup>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct TestGroup {
    interval: Option<String>,
    #[serde(default)]
    input_series: Vec<InputSeries>,
    #[serde(default)]
    alert_rule_test: Vec<AlertTest>,
    #[serde(default)]
    promql_expr_test: Vec<ExprTest>,
    #[serde(default)]
    external_labels: BTreeMap<String, String>,
    #[serde(default)]
    external_url: String,
    #[serde(default)]
    name: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct InputSeries {
    series: String,
    values: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AlertTest {
    eval_time: Option<String>,
    #[serde(default)]
    alertname: String,
    #[serde(default)]
    exp_alerts: Vec<ExpAlert>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct ExpAlert {
    #[serde(default)]
    exp_labels: BTreeMap<String, String>,
    #[serde(default)]
    exp_annotations: BTreeMap<String, String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ExprTest {
    expr: String,
    eval_time: Option<String>,
    #[serde(default)]
    exp_samples: Vec<ExpSample>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ExpSample {
    #[serde(default)]
    labels: String,
    value: String,
}

/// One test file's outcome: no errors is promtool's `SUCCESS`.
#[derive(Debug)]
pub struct Outcome {
    pub file: String,
    pub errors: Vec<String>,
}

impl Outcome {
    pub fn passed(&self) -> bool {
        self.errors.is_empty()
    }
}

/// Runs every file, as `promtool test rules FILE…` does; the text to print and whether all
/// passed.
pub fn run_files(files: &[PathBuf]) -> (String, bool) {
    let mut out = String::new();
    let mut all = true;
    for path in files {
        let outcome = run_file(path);
        out.push_str(&format!("Unit Testing:  {}\n", outcome.file));
        if outcome.passed() {
            out.push_str("  SUCCESS\n");
        } else {
            all = false;
            out.push_str("  FAILED:\n");
            for e in &outcome.errors {
                out.push_str(e);
                out.push_str("\n\n");
            }
        }
        out.push('\n');
    }
    (out, all)
}

pub fn run_file(path: &Path) -> Outcome {
    let file = path.display().to_string();
    let errors = match std::fs::read_to_string(path) {
        Ok(text) => run_text(&text, path.parent().unwrap_or(Path::new("."))),
        Err(e) => vec![format!("{file}: {e}")],
    };
    Outcome { file, errors }
}

fn duration(text: &Option<String>, field: &str) -> Result<i64, String> {
    match text {
        None => Ok(0),
        Some(t) => file::parse_duration(t).map_err(|e| format!("{field}: {e}")),
    }
}

/// The errors of one test file's tests (none when all pass); rule files are found from `dir`.
pub fn run_text(text: &str, dir: &Path) -> Vec<String> {
    let options = LoaderOptions::default().error_on_duplicate_keys(true);
    let spec: TestFile = if text.trim().is_empty() {
        TestFile::default()
    } else {
        match marked_yaml::from_yaml_with_options(0, text, options) {
            Ok(spec) => spec,
            Err(e) => return vec![e.to_string()],
        }
    };
    let interval = match duration(&spec.evaluation_interval, "evaluation_interval") {
        Ok(0) => 60_000,
        Ok(ms) => ms,
        Err(e) => return vec![e],
    };
    let mut order = HashMap::new();
    for (i, name) in spec.group_eval_order.iter().enumerate() {
        if order.insert(name.clone(), i).is_some() {
            return vec![format!("group name repeated in evaluation order: {name}")];
        }
    }
    let mut groups: Vec<Group> = Vec::new();
    for pattern in &spec.rule_files {
        for path in glob(dir, pattern) {
            let text = match std::fs::read_to_string(&path) {
                Ok(t) => t,
                Err(e) => return vec![format!("{}: {e}", path.display())],
            };
            match file::parse(&text) {
                Ok(found) => groups.extend(found),
                Err(problems) => {
                    return problems
                        .iter()
                        .map(|p| format!("{}: {p}", path.display()))
                        .collect()
                }
            }
        }
    }
    // Groups named in group_eval_order go in that order, before the others (a stable sort
    // keeps the others in file order).
    groups.sort_by_key(|g| order.get(&g.name).copied().unwrap_or(0));
    let mut errors = Vec::new();
    for test in &spec.tests {
        errors.extend(run_test(test, &groups, interval));
    }
    errors
}

/// The files a `rule_files` entry names, relative to the test file; `*` and `?` match within
/// the last path element, as Go's `filepath.Glob` does.
fn glob(dir: &Path, pattern: &str) -> Vec<PathBuf> {
    let full = if Path::new(pattern).is_absolute() {
        PathBuf::from(pattern)
    } else {
        dir.join(pattern)
    };
    let name = full
        .file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_default();
    if !name.contains(['*', '?', '[']) {
        return vec![full];
    }
    let parent = full.parent().unwrap_or(Path::new("."));
    let regex = format!(
        "^{}$",
        regex::escape(&name)
            .replace("\\*", "[^/]*")
            .replace("\\?", "[^/]")
    );
    let Ok(re) = regex::Regex::new(&regex) else {
        return Vec::new();
    };
    let mut found: Vec<PathBuf> = std::fs::read_dir(parent)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .is_some_and(|n| re.is_match(&n.to_string_lossy()))
        })
        .collect();
    found.sort();
    found
}

/// Go's `time.Duration.String` of `ms`: `0s`, `1m0s`, `1h2m3.5s`, `500ms`.
pub fn go_duration(ms: i64) -> String {
    if ms == 0 {
        return "0s".into();
    }
    let sign = if ms < 0 { "-" } else { "" };
    let ms = ms.unsigned_abs();
    if ms < 1000 {
        return format!("{sign}{ms}ms");
    }
    let (h, m, s, frac) = (ms / 3_600_000, ms / 60_000 % 60, ms / 1000 % 60, ms % 1000);
    let seconds = if frac == 0 {
        format!("{s}s")
    } else {
        format!("{s}.{}s", format!("{frac:03}").trim_end_matches('0'))
    };
    if h > 0 {
        format!("{sign}{h}h{m}m{seconds}")
    } else if m > 0 {
        format!("{sign}{m}m{seconds}")
    } else {
        format!("{sign}{seconds}")
    }
}

/// Prometheus' `labels.Labels.String`: `{a="1", b="2"}`.
fn show(labels: &Labels) -> String {
    let inner: Vec<String> = labels.iter().map(|(k, v)| format!("{k}={v:?}")).collect();
    format!("{{{}}}", inner.join(", "))
}

type AlertSet = Vec<(Labels, Labels)>;

fn show_alerts(alerts: &AlertSet) -> String {
    if alerts.is_empty() {
        return "[]".into();
    }
    let items: Vec<String> = alerts
        .iter()
        .enumerate()
        .map(|(i, (labels, annotations))| {
            format!(
                "{i}:\n              Labels:{}\n              Annotations:{}",
                show(labels),
                show(annotations)
            )
        })
        .collect();
    format!(
        "[\n            {}\n            ]",
        items.join(",\n            ")
    )
}

/// Go's `strconv.FormatFloat(v, 'E', -1, 64)`, as promtool prints sample values: `1.5E+00`.
fn go_e(v: f64) -> String {
    if !v.is_finite() {
        return crate::template::go_g(v, 1);
    }
    let text = format!("{v:E}");
    let (mantissa, exp) = text.split_once('E').unwrap_or((&text, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let sign = if exp < 0 { '-' } else { '+' };
    format!("{mantissa}E{sign}{:02}", exp.abs())
}

fn show_samples(samples: &[(Labels, f64)]) -> String {
    if samples.is_empty() {
        return "nil".into();
    }
    let items: Vec<String> = samples
        .iter()
        .map(|(l, v)| format!("{} {}", show(l), go_e(*v)))
        .collect();
    items.join(", ")
}

fn run_test(test: &TestGroup, groups: &[Group], interval: i64) -> Vec<String> {
    let test_interval = match duration(&test.interval, "interval") {
        Ok(0) => interval,
        Ok(ms) => ms,
        Err(e) => return vec![e],
    };
    // The input, as (time, labels, value), in time order.
    let mut input: Vec<(i64, promql::Labels, f64)> = Vec::new();
    for s in &test.input_series {
        let labels = match notation::series_labels(&s.series) {
            Ok(l) => l,
            Err(e) => return vec![format!("series {:?}: {e}", s.series)],
        };
        let tokens: Vec<&str> = s.values.split_whitespace().collect();
        let values = match notation::series_values(&tokens) {
            Ok(v) => v,
            Err(e) => return vec![format!("series {:?}: {e}", s.series)],
        };
        for (i, v) in values.into_iter().enumerate() {
            if let Some(v) = v {
                input.push((i as i64 * test_interval, labels.clone(), v));
            }
        }
    }
    input.sort_by_key(|(t, _, _)| *t);

    let mut alert_times: Vec<i64> = Vec::new();
    let mut alert_tests: BTreeMap<i64, Vec<&AlertTest>> = BTreeMap::new();
    for a in &test.alert_rule_test {
        let t = match duration(&a.eval_time, "eval_time") {
            Ok(t) => t,
            Err(e) => return vec![e],
        };
        if a.alertname.is_empty() {
            let within = if test.name.is_empty() {
                String::new()
            } else {
                format!(" (in TestGroup {})", test.name)
            };
            return vec![format!(
                "an item under alert_rule_test misses required attribute alertname at eval_time {}{within}",
                file::format_duration(t)
            )];
        }
        alert_times.push(t);
        alert_tests.entry(t).or_default().push(a);
    }
    alert_times.sort();
    alert_times.dedup();
    let mut expr_times = Vec::new();
    for e in &test.promql_expr_test {
        match duration(&e.eval_time, "eval_time") {
            Ok(t) => expr_times.push(t),
            Err(e) => return vec![e],
        }
    }
    let max_time = alert_times
        .iter()
        .chain(&expr_times)
        .copied()
        .max()
        .unwrap_or(0);

    let engine = Engine {
        subquery_step_ms: interval,
        threads: 1,
        ..Engine::default()
    };
    let env = Env {
        external_labels: test.external_labels.clone().into_iter().collect(),
        external_url: test.external_url.clone(),
        query: None,
    };
    let mut memory = MemorySource::default();
    let mut states: Vec<Vec<RuleState>> = groups
        .iter()
        .map(|g| vec![RuleState::default(); g.rules.len()])
        .collect();
    let mut parsed = Vec::new();
    for g in groups {
        let mut exprs = Vec::new();
        for r in &g.rules {
            exprs.push(promql::parse(&r.expr));
        }
        parsed.push(exprs);
    }
    let mut errors = Vec::new();
    let mut loaded = 0;
    let mut next_alert = 0;
    let mut ts = 0;
    while ts <= max_time {
        while loaded < input.len() && input[loaded].0 <= ts {
            let (t, labels, v) = &input[loaded];
            memory.add(labels.clone(), [(*t, *v)]);
            loaded += 1;
        }
        let mut eval_errors = Vec::new();
        for (g, group) in groups.iter().enumerate() {
            let at = ts - group.query_offset_ms.unwrap_or(0);
            for (r, rule) in group.rules.iter().enumerate() {
                let result = match &parsed[g][r] {
                    Ok(expr) => engine.instant(&memory, expr, at).and_then(as_vector),
                    Err(e) => Err(e.clone()),
                };
                let state = &mut states[g][r];
                let samples = eval_rule(group, rule, state, ts, result, &env);
                for s in samples {
                    let labels = promql::Labels::new(s.labels);
                    memory.add(labels, [(ts, s.value)]);
                }
                if let Some(e) = &state.last_error {
                    eval_errors.push(format!(
                        "    rule: {}, time: {}, err: {e}",
                        rule.name,
                        go_duration(ts)
                    ));
                }
            }
        }
        if !eval_errors.is_empty() {
            errors.extend(eval_errors);
            return errors;
        }
        // Alert tests whose time falls in [ts, ts + interval) compare with this evaluation.
        while next_alert < alert_times.len()
            && ts <= alert_times[next_alert]
            && alert_times[next_alert] < ts + interval
        {
            let t = alert_times[next_alert];
            for case in &alert_tests[&t] {
                let mut got: AlertSet = Vec::new();
                for (g, group) in groups.iter().enumerate() {
                    for (r, rule) in group.rules.iter().enumerate() {
                        if rule.kind != Kind::Alert || rule.name != case.alertname {
                            continue;
                        }
                        got.extend(
                            states[g][r]
                                .alerts
                                .current()
                                .filter(|a| a.state == State::Firing)
                                .map(|a| (a.labels.clone(), sorted(a.annotations.clone()))),
                        );
                    }
                }
                let mut expected: AlertSet = case
                    .exp_alerts
                    .iter()
                    .map(|a| {
                        let mut labels = a.exp_labels.clone();
                        labels.insert("alertname".into(), case.alertname.clone());
                        (
                            labels.into_iter().collect(),
                            a.exp_annotations.clone().into_iter().collect(),
                        )
                    })
                    .collect();
                got.sort();
                expected.sort();
                if got != expected {
                    let name = if test.name.is_empty() {
                        String::new()
                    } else {
                        format!("    name: {},\n", test.name)
                    };
                    errors.push(format!(
                        "{name}    alertname: {}, time: {}, \n        exp:{}, \n        got:{}",
                        case.alertname,
                        file::format_duration(t),
                        show_alerts(&expected),
                        show_alerts(&got)
                    ));
                }
            }
            next_alert += 1;
        }
        ts += interval;
    }

    'cases: for (case, t) in test.promql_expr_test.iter().zip(expr_times) {
        let at = file::format_duration(t);
        let got = promql::parse(&case.expr)
            .and_then(|expr| engine.instant(&memory, &expr, t))
            .and_then(as_vector);
        let mut got = match got {
            Ok(got) => got,
            Err(e) => {
                errors.push(format!("    expr: {:?}, time: {at}, err: {e}", case.expr));
                continue;
            }
        };
        let mut expected = Vec::new();
        for s in &case.exp_samples {
            let labels = if s.labels.trim().is_empty() {
                Ok(Vec::new())
            } else {
                notation::series_labels(&s.labels).map(|l| pairs(&l))
            };
            let value = notation::number(s.value.trim())
                .ok_or_else(|| format!("value {:?} is not a number", s.value));
            match (labels, value) {
                (Ok(labels), Ok(value)) => expected.push((labels, value)),
                (Err(e), _) | (_, Err(e)) => {
                    errors.push(format!(
                        "    expr: {:?}, time: {at}, err: labels {:?}: {e}",
                        case.expr, s.labels
                    ));
                    continue 'cases;
                }
            }
        }
        let by_labels = |a: &(Labels, f64), b: &(Labels, f64)| a.0.cmp(&b.0);
        expected.sort_by(by_labels);
        got.sort_by(by_labels);
        let same = expected.len() == got.len()
            && expected
                .iter()
                .zip(&got)
                .all(|(e, g)| e.0 == g.0 && (e.1 == g.1 || e.1.is_nan() && g.1.is_nan()));
        if !same {
            errors.push(format!(
                "    expr: {:?}, time: {at},\n        exp: {}\n        got: {}",
                case.expr,
                show_samples(&expected),
                show_samples(&got)
            ));
        }
    }
    errors
}

#[cfg(test)]
mod tests;
