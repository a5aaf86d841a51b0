//! Prometheus' own PromQL tests (v2.55.1, copied with their licence into tests/promqltest/),
//! run against this engine. The DSL is described in tests/promqltest/DSL.md. Native histograms
//! are not stored by Meridian: files, loads and cases that use them are skipped and counted.

use std::{collections::BTreeMap, path::Path};

use promql::{
    notation::{number, series_labels, series_values as values},
    Engine, Labels, MemorySource, Value,
};

const STALE: f64 = f64::from_bits(0x7ff0_0000_0000_0002);
/// Native-histogram functions: their cases are skipped.
const HISTOGRAM_FUNCTIONS: [&str; 6] = [
    "histogram_count",
    "histogram_sum",
    "histogram_avg",
    "histogram_fraction",
    "histogram_stddev",
    "histogram_stdvar",
];

/// Experimental in 2.55 (behind a feature flag) and not in promql-parser: skipped.
const EXPERIMENTAL: [&str; 2] = ["limitk", "limit_ratio"];

fn duration(text: &str) -> Result<i64, String> {
    promql::parse_duration(text)
}

/// `name{a="b"} 1 2 3` → labels and the value tokens.
fn series_line(line: &str) -> Result<(Labels, Vec<&str>), String> {
    let end = match line.find('{') {
        Some(open) if !line[..open].contains(char::is_whitespace) => {
            let mut in_quotes = false;
            let mut escaped = false;
            let mut close = None;
            for (i, c) in line.char_indices().skip(open) {
                match c {
                    _ if escaped => escaped = false,
                    '\\' => escaped = true,
                    '"' => in_quotes = !in_quotes,
                    '}' if !in_quotes => {
                        close = Some(i + 1);
                        break;
                    }
                    _ => {}
                }
            }
            close.ok_or(format!("unclosed labels in {line}"))?
        }
        _ => line.find(char::is_whitespace).unwrap_or(line.len()),
    };
    let (desc, rest) = line.split_at(end);
    Ok((series_labels(desc)?, rest.split_whitespace().collect()))
}

fn almost_equal(a: f64, b: f64) -> bool {
    if a.to_bits() == STALE.to_bits() || b.to_bits() == STALE.to_bits() {
        return a.to_bits() == b.to_bits();
    }
    if a.is_nan() && b.is_nan() {
        return true;
    }
    if a == b {
        return true;
    }
    let diff = (a - b).abs();
    if a == 0.0 || b == 0.0 || diff < f64::MIN_POSITIVE {
        return diff < 1e-6 * f64::MIN_POSITIVE;
    }
    diff / (a.abs() + b.abs()) < 1e-6
}

#[derive(Default, Clone, Copy)]
struct Tally {
    passed: usize,
    /// `eval_warn` cases whose values match: the engine gives no warnings yet, so only the
    /// values are compared for them.
    warn_values_only: usize,
    failed: usize,
    skipped: usize,
}

enum Outcome {
    Pass,
    Fail(String),
    Skip,
}

struct Case<'a> {
    header: &'a str,
    body: Vec<&'a str>,
}

/// Does the expression name one of the families `load_with_nhcb` turned into native histograms
/// (the family itself, not its `_bucket`/`_count`/`_sum` series)?
fn reads_native(expr: &str, families: &[String]) -> bool {
    families.iter().any(|family| {
        expr.match_indices(family.as_str()).any(|(i, _)| {
            let before = expr[..i].chars().last();
            let after = expr[i + family.len()..].chars().next();
            let word = |c: Option<char>| {
                c.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
            };
            !word(before) && !word(after)
        })
    })
}

fn run_eval(
    engine: &Engine,
    storage: &MemorySource,
    case: &Case,
    histograms_loaded: bool,
    native: &[String],
) -> Result<Outcome, String> {
    let header = case.header;
    let (command, rest) = header
        .split_once(char::is_whitespace)
        .unwrap_or((header, ""));
    let should_fail = command == "eval_fail";
    let ordered = command == "eval_ordered";
    let rest = rest.trim();
    let (expr_text, range) = if let Some(r) = rest.strip_prefix("instant") {
        let r = r
            .trim()
            .strip_prefix("at")
            .ok_or("instant without at")?
            .trim();
        let (at, expr) = r.split_once(char::is_whitespace).ok_or("no expression")?;
        (expr.trim(), (duration(at)?, duration(at)?, 0))
    } else if let Some(r) = rest.strip_prefix("range") {
        let r = r
            .trim()
            .strip_prefix("from")
            .ok_or("range without from")?
            .trim();
        let (from, r) = r.split_once(" to ").ok_or("range without to")?;
        let (to, r) = r.trim().split_once(" step ").ok_or("range without step")?;
        let (step, expr) = r
            .trim()
            .split_once(char::is_whitespace)
            .ok_or("no expression")?;
        (
            expr.trim(),
            (duration(from)?, duration(to.trim())?, duration(step)?),
        )
    } else {
        return Err(format!("unknown eval form: {header}"));
    };
    if histograms_loaded
        || reads_native(expr_text, native)
        || HISTOGRAM_FUNCTIONS.iter().any(|f| expr_text.contains(f))
        || EXPERIMENTAL.iter().any(|f| expr_text.contains(f))
    {
        return Ok(Outcome::Skip);
    }
    let (start, end, step) = range;
    let result = promql::parse(expr_text).and_then(|expr| {
        if step == 0 {
            engine.instant(storage, &expr, start)
        } else {
            engine.range(storage, &expr, start, end, step)
        }
    });
    let expected_message = case
        .body
        .iter()
        .find_map(|l| l.strip_prefix("expected_fail_message "))
        .map(str::trim);
    if should_fail {
        return Ok(match (result, expected_message) {
            (Err(_), None) => Outcome::Pass,
            (Err(e), Some(m)) if e == m => Outcome::Pass,
            (Err(e), Some(m)) => Outcome::Fail(format!("error {e:?}, expected {m:?}")),
            (Ok(v), _) => Outcome::Fail(format!("expected an error, got {v:?}")),
        });
    }
    let value = match result {
        Ok(v) => v,
        Err(e) => return Ok(Outcome::Fail(format!("error: {e}"))),
    };
    // Expected: a scalar, or series lines.
    let mut expected: Vec<(Labels, Vec<Option<f64>>)> = Vec::new();
    let mut scalar = None;
    for line in &case.body {
        if line.starts_with("expect") {
            continue;
        }
        if let Some(v) = number(line) {
            scalar = Some(v);
            continue;
        }
        let (labels, tokens) = series_line(line)?;
        expected.push((labels, values(&tokens)?));
    }
    let fail = |m: String| Ok(Outcome::Fail(m));
    match value {
        Value::Scalar(v) => match scalar {
            Some(want) if almost_equal(v, want) => Ok(Outcome::Pass),
            _ => fail(format!(
                "scalar {v}, expected {scalar:?} / {} series",
                expected.len()
            )),
        },
        Value::Vector(samples) => {
            if scalar.is_some() {
                return fail("got a vector, expected a scalar".into());
            }
            if samples.len() != expected.len() {
                return fail(format!(
                    "{} series, expected {}: {:?}",
                    samples.len(),
                    expected.len(),
                    samples
                        .iter()
                        .map(|s| s.labels.to_string())
                        .collect::<Vec<_>>()
                ));
            }
            for (i, s) in samples.iter().enumerate() {
                let Some(pos) = expected.iter().position(|(l, _)| *l == s.labels) else {
                    return fail(format!("unexpected series {}", s.labels));
                };
                if ordered && pos != i {
                    return fail(format!("{} at {i}, expected at {pos}", s.labels));
                }
                let want = expected[pos].1.first().copied().flatten();
                if !want.is_some_and(|w| almost_equal(s.v, w)) {
                    return fail(format!("{} = {}, expected {want:?}", s.labels, s.v));
                }
            }
            Ok(Outcome::Pass)
        }
        Value::Matrix(series) => {
            let want: BTreeMap<Labels, Vec<(i64, f64)>> = expected
                .into_iter()
                .map(|(labels, values)| {
                    let points = values
                        .into_iter()
                        .enumerate()
                        .filter_map(|(i, v)| v.map(|v| (start + i as i64 * step, v)))
                        .collect();
                    (labels, points)
                })
                .collect();
            if series.len() != want.len() {
                return fail(format!("{} series, expected {}", series.len(), want.len()));
            }
            for s in &series {
                let Some(points) = want.get(&s.labels) else {
                    return fail(format!("unexpected series {}", s.labels));
                };
                let same = points.len() == s.points.len()
                    && points
                        .iter()
                        .zip(&s.points)
                        .all(|(a, b)| a.0 == b.0 && almost_equal(a.1, b.1));
                if !same {
                    return fail(format!(
                        "{}: {:?}, expected {:?}",
                        s.labels, s.points, points
                    ));
                }
            }
            Ok(Outcome::Pass)
        }
        Value::String(s) => fail(format!("string {s:?}")),
    }
}

fn run_file(path: &Path, failures: &mut Vec<String>) -> Tally {
    let text = std::fs::read_to_string(path).unwrap();
    let lines: Vec<&str> = text
        .lines()
        .map(str::trim)
        .map(|l| if l.starts_with('#') { "" } else { l })
        .collect();
    let engine = Engine::default();
    let mut storage = MemorySource::default();
    let mut histograms_loaded = false;
    let mut native_families: Vec<String> = Vec::new();
    let mut tally = Tally::default();
    let mut i = 0;
    while i < lines.len() {
        if lines[i].is_empty() {
            i += 1;
            continue;
        }
        let header = lines[i];
        let mut body = Vec::new();
        i += 1;
        // `clear` takes no body: a command may follow on the next line.
        while i < lines.len() && !lines[i].is_empty() && header != "clear" {
            body.push(lines[i]);
            i += 1;
        }
        let case = Case { header, body };
        let name = format!("{}:{header}", path.file_name().unwrap().to_string_lossy());
        if header == "clear" {
            storage.clear();
            histograms_loaded = false;
            native_families.clear();
        } else if header.starts_with("load") {
            let interval = duration(header.split_whitespace().nth(1).unwrap_or("0")).unwrap();
            // load_with_nhcb also makes native histograms of the classic ones; the classic
            // series are loaded (and queried) all the same.
            for line in &case.body {
                if header.starts_with("load_with_nhcb") {
                    let name = line.split(['{', ' ', '\t']).next().unwrap_or_default();
                    if let Some(family) = name.strip_suffix("_bucket") {
                        native_families.push(family.to_string());
                    }
                }
                if line.contains("{{") {
                    histograms_loaded = true;
                    continue;
                }
                match series_line(line).and_then(|(labels, tokens)| Ok((labels, values(&tokens)?)))
                {
                    Ok((labels, values)) => storage.add(
                        labels,
                        values
                            .into_iter()
                            .enumerate()
                            .filter_map(|(i, v)| v.map(|v| (i as i64 * interval, v))),
                    ),
                    Err(e) => failures.push(format!("{name}: cannot load {line}: {e}")),
                }
            }
        } else if header.starts_with("eval") {
            let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                run_eval(
                    &engine,
                    &storage,
                    &case,
                    histograms_loaded,
                    &native_families,
                )
            }));
            match outcome {
                Ok(Ok(Outcome::Pass)) => {
                    tally.passed += 1;
                    if header.starts_with("eval_warn") {
                        tally.warn_values_only += 1;
                    }
                }
                Ok(Ok(Outcome::Skip)) => tally.skipped += 1,
                Ok(Ok(Outcome::Fail(why))) => {
                    tally.failed += 1;
                    failures.push(format!("{name}\n    {why}"));
                }
                Ok(Err(e)) => {
                    tally.failed += 1;
                    failures.push(format!("{name}\n    test file: {e}"));
                }
                Err(_) => {
                    tally.failed += 1;
                    failures.push(format!("{name}\n    PANIC"));
                }
            }
        }
    }
    tally
}

#[test]
fn prometheus_promql_tests() {
    let dir = match std::env::var("PROMQLTEST_DIR") {
        Ok(dir) => Path::new(&dir).to_path_buf(),
        Err(_) => Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/promqltest/v2.55.1"),
    };
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "test"))
        .collect();
    files.sort();
    let mut failures = Vec::new();
    let mut total = Tally::default();
    let mut table = format!(
        "{:<28} {:>6} {:>6} {:>7}\n",
        "file", "passed", "failed", "skipped"
    );
    for file in &files {
        let name = file.file_name().unwrap().to_string_lossy().to_string();
        let tally = if name == "native_histograms.test" {
            // Every case there is about native histograms, which Meridian does not store.
            let cases = std::fs::read_to_string(file)
                .unwrap()
                .lines()
                .filter(|l| l.trim_start().starts_with("eval"))
                .count();
            Tally {
                skipped: cases,
                ..Tally::default()
            }
        } else {
            run_file(file, &mut failures)
        };
        table += &format!(
            "{name:<28} {:>6} {:>6} {:>7}\n",
            tally.passed, tally.failed, tally.skipped
        );
        total.passed += tally.passed;
        total.failed += tally.failed;
        total.skipped += tally.skipped;
        total.warn_values_only += tally.warn_values_only;
    }
    let run = total.passed + total.failed;
    let rate = total.passed as f64 / run as f64 * 100.0;
    table += &format!(
        "{:<28} {:>6} {:>6} {:>7}   {rate:.1} % of the cases run pass\n",
        "total", total.passed, total.failed, total.skipped
    );
    table += &format!(
        "({} of the passes are eval_warn cases: values compared, the warning itself not produced)\n",
        total.warn_values_only
    );
    print!("{table}");
    // The project's test command prints this table in its summary.
    let report = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/promqltest.txt");
    let _ = std::fs::write(report, &table);
    if std::env::var("PROMQLTEST_VERBOSE").is_ok() {
        for f in &failures {
            println!("FAIL {f}");
        }
    }
    assert!(
        failures.iter().all(|f| !f.ends_with("PANIC")),
        "the engine panicked:\n{}",
        failures
            .iter()
            .filter(|f| f.ends_with("PANIC"))
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
    // The floor rises as the engine grows; it never falls.
    assert!(
        rate >= MIN_PASS_RATE,
        "{rate:.1} % pass, below {MIN_PASS_RATE} %"
    );
}

const MIN_PASS_RATE: f64 = 99.0;
