//! Parsing and evaluation never panic, whatever the input: random byte strings, and random
//! expressions built from PromQL's grammar (well-typed or not), evaluated as instant and range
//! queries over a small data set with counters, gauges, histogram buckets, NaN, ±Inf and
//! staleness markers. `PROPTEST_CASES` sets the number of cases (the test command runs the
//! default; the longer runs set it higher).

use promql::{parse, Engine, Labels, MemorySource};
use proptest::prelude::*;

fn source() -> MemorySource {
    let mut source = MemorySource::default();
    let series = |pairs: &[(&str, &str)]| {
        Labels::new(
            pairs
                .iter()
                .map(|(n, v)| (n.to_string(), v.to_string()))
                .collect(),
        )
    };
    let stale = f64::from_bits(0x7ff0_0000_0000_0002);
    for (i, job) in ["api", "db"].iter().enumerate() {
        let counter: Vec<(i64, f64)> = (0..40)
            .map(|k| {
                (
                    k * 15_000,
                    if k == 20 {
                        3.0
                    } else {
                        (k * (i as i64 + 1)) as f64
                    },
                )
            })
            .collect();
        source.add(
            series(&[("__name__", "requests_total"), ("job", job)]),
            counter,
        );
        let gauge: Vec<(i64, f64)> = (0..40)
            .map(|k| {
                let v = match k {
                    7 => f64::NAN,
                    8 => f64::INFINITY,
                    9 => f64::NEG_INFINITY,
                    25 => stale,
                    _ => (k as f64).sin() * 10.0,
                };
                (k * 15_000, v)
            })
            .collect();
        source.add(series(&[("__name__", "temperature"), ("job", job)]), gauge);
        for le in ["0.1", "1", "+Inf"] {
            let bucket: Vec<(i64, f64)> = (0..40).map(|k| (k * 15_000, k as f64)).collect();
            source.add(
                series(&[("__name__", "latency_bucket"), ("job", job), ("le", le)]),
                bucket,
            );
        }
    }
    source
}

fn leaf() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("requests_total".to_string()),
        Just("temperature{job=\"api\"}".to_string()),
        Just("latency_bucket".to_string()),
        Just("{job=~\"a.*|d.*\"}".to_string()),
        Just("{__name__!=\"\"}".to_string()),
        Just("nothing_here".to_string()),
        (-1e3f64..1e3).prop_map(|v| format!("{v}")),
        prop_oneof![
            Just("NaN"),
            Just("Inf"),
            Just("-Inf"),
            Just("0"),
            Just("1e308")
        ]
        .prop_map(String::from),
        Just("\"text\"".to_string()),
    ]
}

fn duration() -> impl Strategy<Value = &'static str> {
    prop_oneof![Just("1s"), Just("15s"), Just("1m"), Just("5m"), Just("1h")]
}

fn selector() -> impl Strategy<Value = &'static str> {
    prop_oneof![
        Just("requests_total"),
        Just("temperature{job=\"api\"}"),
        Just("latency_bucket"),
        Just("{job=~\"a.*|d.*\"}"),
        Just("nothing_here"),
    ]
}

/// A range vector: a selector with a range, or a subquery of any expression.
fn range_vector(inner: BoxedStrategy<String>) -> impl Strategy<Value = String> {
    prop_oneof![
        (selector(), duration()).prop_map(|(s, d)| format!("{s}[{d}]")),
        (selector(), duration(), duration()).prop_map(|(s, d, o)| format!("{s}[{d}] offset {o}")),
        // Short subqueries: nested ones multiply their steps.
        (
            inner,
            prop_oneof![Just("1m"), Just("5m")],
            prop_oneof![Just("15s"), Just("1m")]
        )
            .prop_map(|(e, range, step)| format!("({e})[{range}:{step}]")),
    ]
}

/// Mostly well-typed expressions (so evaluation runs), with some that are not (so its error
/// paths do).
fn expression() -> impl Strategy<Value = String> {
    leaf().prop_recursive(5, 48, 3, |inner| {
        let over_time = prop_oneof![
            Just("rate"), Just("irate"), Just("increase"), Just("delta"), Just("idelta"),
            Just("deriv"), Just("resets"), Just("changes"), Just("avg_over_time"),
            Just("min_over_time"), Just("sum_over_time"), Just("count_over_time"),
            Just("stddev_over_time"), Just("last_over_time"), Just("present_over_time"),
            Just("absent_over_time"),
        ];
        let on_vector = prop_oneof![
            Just("abs"), Just("ln"), Just("exp"), Just("sqrt"), Just("ceil"), Just("sgn"),
            Just("timestamp"), Just("sort_desc"), Just("absent"), Just("day_of_week"),
            Just("hour"), Just("deg"), Just("acosh"),
        ];
        let any_function = prop_oneof![
            Just("rate"), Just("histogram_quantile"), Just("label_replace"), Just("clamp"),
            Just("round"), Just("scalar"), Just("vector"), Just("time"), Just("count_values"),
            Just("holt_winters"), Just("predict_linear"),
        ];
        let aggregate = prop_oneof![
            Just("sum"), Just("avg"), Just("min"), Just("max"), Just("count"), Just("group"),
            Just("stddev"), Just("stdvar"),
        ];
        let parametric = prop_oneof![
            Just("topk(2, "), Just("bottomk(1, "), Just("quantile(0.9, "),
            Just("count_values(\"value\", "), Just("topk(-1, "), Just("quantile(NaN, "),
        ];
        let operator = prop_oneof![
            Just("+"), Just("-"), Just("*"), Just("/"), Just("%"), Just("^"), Just("=="),
            Just("!="), Just("> bool"), Just("<="), Just("and"), Just("or"), Just("unless"),
            Just("atan2"),
        ];
        let matching = prop_oneof![
            Just(""), Just("on(job)"), Just("ignoring(le)"), Just("on(job) group_left"),
            Just("ignoring(job) group_right(le)"), Just("on()"),
        ];
        let boxed = inner.clone().boxed();
        prop_oneof![
            4 => (over_time, range_vector(boxed.clone())).prop_map(|(f, r)| format!("{f}({r})")),
            3 => (on_vector, inner.clone()).prop_map(|(f, e)| format!("{f}({e})")),
            2 => (aggregate, inner.clone(), prop::bool::ANY).prop_map(|(a, e, by)| {
                let grouping = if by { "by (job)" } else { "without (le)" };
                format!("{a} {grouping} ({e})")
            }),
            1 => (parametric, inner.clone()).prop_map(|(p, e)| format!("{p}{e})")),
            4 => (inner.clone(), operator, matching, inner.clone())
                .prop_map(|(l, op, m, r)| format!("({l}) {op} {m} ({r})")),
            1 => inner.clone().prop_map(|e| format!("histogram_quantile(0.9, rate(latency_bucket[5m]) * ({e}))")),
            1 => inner.clone().prop_map(|e| format!("label_replace({e}, \"x\", \"$1\", \"job\", \"(.)\")")),
            1 => inner.clone().prop_map(|e| format!("clamp({e}, -1, 1)")),
            1 => inner.clone().prop_map(|e| format!("round({e}, 0.5)")),
            1 => (selector(), duration()).prop_map(|(s, d)| format!("predict_linear({s}[{d}], 60)")),
            1 => (selector(), duration()).prop_map(|(s, d)| format!("holt_winters({s}[{d}], 0.5, 0.5)")),
            1 => (selector(), duration()).prop_map(|(s, d)| format!("quantile_over_time(0.5, {s}[{d}])")),
            1 => inner.clone().prop_map(|e| format!("scalar({e})")),
            1 => inner.clone().prop_map(|e| format!("({e}) @ 300")),
            1 => (inner.clone(), duration()).prop_map(|(e, d)| format!("{e} offset -{d}")),
            1 => inner.clone().prop_map(|e| format!("-({e})")),
            // Whatever the types: the error paths.
            1 => (any_function, prop::collection::vec(inner.clone(), 0..4))
                .prop_map(|(f, args)| format!("{f}({})", args.join(", "))),
            1 => (inner.clone(), duration()).prop_map(|(e, d)| format!("({e})[{d}]")),
        ]
    })
}

/// Parses and evaluates `query`; a parse error must point inside the text.
fn evaluate(query: &str) {
    let expr = match promql::syntax::parse(query) {
        Ok(expr) => expr,
        Err(error) => {
            if let Some(offset) = error.offset {
                assert!(query.is_char_boundary(offset), "{query:?}: {error}");
            }
            return;
        }
    };
    let source = source();
    let engine = Engine::default();
    let _ = engine.instant(&source, &expr, 300_000);
    let _ = engine.range(&source, &expr, 0, 600_000, 30_000);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(
        std::env::var("PROPTEST_CASES").ok().and_then(|n| n.parse().ok()).unwrap_or(3000)
    ))]

    #[test]
    fn arbitrary_text_never_panics(query in "\\PC{0,60}") {
        evaluate(&query);
    }

    #[test]
    fn grammatical_expressions_never_panic(query in expression()) {
        evaluate(&query);
    }
}

/// The grammar must reach the evaluator: a fair share of its expressions parse, and some
/// evaluate without error, or the test above would only exercise the parser's error paths.
#[test]
fn the_grammar_reaches_the_evaluator() {
    use proptest::strategy::ValueTree;
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    let (source, engine) = (source(), Engine::default());
    let (mut parsed, mut evaluated) = (0, 0);
    for _ in 0..2000 {
        let query = expression().new_tree(&mut runner).unwrap().current();
        if let Ok(expr) = parse(&query) {
            parsed += 1;
            if engine.range(&source, &expr, 0, 600_000, 30_000).is_ok() {
                evaluated += 1;
            }
        }
    }
    println!("of 2000 expressions {parsed} parse and {evaluated} evaluate");
    assert!(
        parsed >= 800 && evaluated >= 500,
        "{parsed} parse, {evaluated} evaluate"
    );
}
