//! Evaluation of a parsed expression at one time (instant) or at every step (range), with
//! Prometheus 2.x semantics: 5 m lookback, staleness markers, closed range windows, `offset`,
//! `@`, subqueries aligned to their step.

use std::{
    cell::Cell,
    collections::{BTreeMap, HashMap},
    sync::atomic::{AtomicUsize, Ordering},
    time::Instant,
};

use promql_parser::{
    label::Matcher,
    parser::{
        AggregateExpr, AtModifier, BinaryExpr, Call, Expr, LabelModifier, Offset, SubqueryExpr,
        VectorMatchCardinality, VectorSelector,
    },
};

use crate::{
    functions,
    value::{is_stale, Labels, Sample, Series, Value, METRIC_NAME},
};

/// Where series come from: the store, or memory in tests. Shared by the threads of a range
/// query.
pub trait Source: Sync {
    /// Every series matching all `matchers`, with its samples in `[start, end]` (ms).
    fn select(&self, matchers: &[Matcher], start: i64, end: i64) -> Vec<Series>;
}

#[derive(Clone, Debug)]
pub struct Engine {
    pub lookback_ms: i64,
    /// The step of a subquery that names none (`[5m:]`).
    pub subquery_step_ms: i64,
    /// Evaluation gives up with [`TIMED_OUT`] once this has passed (checked at every step of
    /// a range query or subquery).
    pub deadline: Option<Instant>,
    /// Samples a query may hold at once: those its selectors read for one step plus the
    /// result points gathered so far, as Prometheus counts them (`--query.max-samples`).
    pub max_samples: usize,
    /// Threads a range query's steps are spread over.
    pub threads: usize,
}

impl Default for Engine {
    fn default() -> Self {
        Engine {
            lookback_ms: 5 * 60_000,
            subquery_step_ms: 60_000,
            deadline: None,
            max_samples: 50_000_000,
            threads: std::thread::available_parallelism().map_or(1, |n| n.get()),
        }
    }
}

pub type EvalResult<T> = Result<T, String>;

/// Prometheus' message when a query runs past its timeout.
pub const TIMED_OUT: &str = "query timed out in query execution";

/// Prometheus' message when a query would hold more than its samples limit.
pub const TOO_MANY_SAMPLES: &str =
    "query processing would load too many samples into memory in query execution";

impl Engine {
    fn check_deadline(&self) -> EvalResult<()> {
        match self.deadline {
            Some(deadline) if Instant::now() >= deadline => Err(TIMED_OUT.into()),
            _ => Ok(()),
        }
    }
}

impl Engine {
    pub fn instant(&self, source: &dyn Source, expr: &Expr, t: i64) -> EvalResult<Value> {
        let ctx = Ctx {
            engine: self,
            source,
            start: t,
            end: t,
            held: Cell::new(0),
        };
        ctx.eval(expr, t)
    }

    /// A range query: the expression at every step from `start` to `end`, as a matrix sorted
    /// by labels (a scalar expression gives one series without labels). Steps do not depend
    /// on each other, so runs of consecutive steps are evaluated on [`Engine::threads`]
    /// threads; the answer, its errors and the samples limit are those of one thread going
    /// step by step.
    pub fn range(
        &self,
        source: &dyn Source,
        expr: &Expr,
        start: i64,
        end: i64,
        step: i64,
    ) -> EvalResult<Value> {
        if step <= 0 {
            return Err("zero or negative query resolution step widths are not accepted".into());
        }
        let steps = if end < start {
            0
        } else {
            ((end - start) / step + 1) as usize
        };
        let threads = self
            .threads
            .clamp(1, steps.div_ceil(MIN_STEPS_A_THREAD).max(1));
        let first_failed = AtomicUsize::new(usize::MAX);
        let slice = |k: usize| {
            let steps = (k * steps / threads)..((k + 1) * steps / threads);
            self.range_slice(source, expr, (start, end, step), steps, &first_failed)
        };
        let slices: Vec<Slice> = if threads == 1 {
            vec![slice(0)]
        } else {
            std::thread::scope(|scope| {
                let handles: Vec<_> = (1..threads)
                    .map(|k| scope.spawn(move || slice(k)))
                    .collect();
                let mut slices = vec![slice(0)];
                slices.extend(handles.into_iter().map(|h| match h.join() {
                    Ok(slice) => slice,
                    Err(panic) => std::panic::resume_unwind(panic),
                }));
                slices
            })
        };
        // The samples limit as one thread would have applied it: at each step, the result
        // points of all earlier steps plus what this step's selectors read.
        let mut points = 0;
        let mut series: HashMap<Labels, Vec<(i64, f64)>> = HashMap::new();
        for slice in slices {
            for step in slice.steps {
                if points + step.read > self.max_samples {
                    return Err(TOO_MANY_SAMPLES.into());
                }
                points += step.points;
            }
            if let Some(error) = slice.error {
                return Err(error);
            }
            if series.is_empty() {
                series = slice.series;
            } else {
                for (labels, later) in slice.series {
                    series.entry(labels).or_default().extend(later);
                }
            }
        }
        let mut series: Vec<Series> = series
            .into_iter()
            .map(|(labels, points)| Series { labels, points })
            .collect();
        series.sort_by(|a, b| a.labels.cmp(&b.labels));
        Ok(Value::Matrix(series))
    }

    /// Evaluates the steps numbered `steps` of a range query. Stops at its first error, or
    /// once another slice failed at an earlier step (whose error then is the answer).
    fn range_slice(
        &self,
        source: &dyn Source,
        expr: &Expr,
        (start, end, step): (i64, i64, i64),
        steps: std::ops::Range<usize>,
        first_failed: &AtomicUsize,
    ) -> Slice {
        let ctx = Ctx {
            engine: self,
            source,
            start,
            end,
            held: Cell::new(0),
        };
        // Hashed while collecting (a label set hashes once), sorted once at the end.
        let mut slice = Slice::default();
        // Result points of this slice's earlier steps: at most those of all earlier steps, so
        // exceeding the limit here means exceeding it on one thread too.
        let mut points = 0;
        for i in steps {
            if first_failed.load(Ordering::Relaxed) < i {
                break;
            }
            let t = start + i as i64 * step;
            ctx.held.set(points);
            let value = self.check_deadline().and_then(|()| ctx.eval(expr, t));
            let read = ctx.held.get() - points;
            let value = match value {
                Ok(Value::Scalar(v)) => Ok(vec![Sample {
                    labels: Labels::default(),
                    t,
                    v,
                }]),
                Ok(Value::Vector(samples)) => Ok(samples),
                Ok(other) => Err(format!(
                    "invalid expression type \"{}\" for range query, must be Scalar or instant Vector",
                    kind_name(&other)
                )),
                Err(e) => Err(e),
            };
            match value {
                Ok(samples) => {
                    points += samples.len();
                    slice.steps.push(StepCount {
                        read,
                        points: samples.len(),
                    });
                    for s in samples {
                        slice.series.entry(s.labels).or_default().push((t, s.v));
                    }
                }
                Err(error) => {
                    // What the selectors read before the error still counts against the limit.
                    slice.steps.push(StepCount { read, points: 0 });
                    slice.error = Some(error);
                    first_failed.fetch_min(i, Ordering::Relaxed);
                    break;
                }
            }
        }
        slice
    }
}

/// Steps a thread of a range query takes at least: fewer are not worth a thread.
const MIN_STEPS_A_THREAD: usize = 16;

/// What a run of consecutive steps of a range query gave.
#[derive(Default)]
struct Slice {
    series: HashMap<Labels, Vec<(i64, f64)>>,
    steps: Vec<StepCount>,
    error: Option<String>,
}

/// Samples a step's selectors read, and the result points it gave.
struct StepCount {
    read: usize,
    points: usize,
}

fn kind_name(value: &Value) -> &'static str {
    match value {
        Value::Scalar(_) => "scalar",
        Value::String(_) => "string",
        Value::Vector(_) => "vector",
        Value::Matrix(_) => "range vector",
    }
}

pub(crate) struct Ctx<'a> {
    pub engine: &'a Engine,
    source: &'a dyn Source,
    /// The query's start and end, for `@ start()` and `@ end()`.
    start: i64,
    end: i64,
    /// Samples held now: read by selectors in this step, plus a range query's result so far.
    held: Cell<usize>,
}

impl Ctx<'_> {
    fn hold(&self, samples: usize) -> EvalResult<()> {
        let held = self.held.get() + samples;
        self.held.set(held);
        if held > self.engine.max_samples {
            return Err(TOO_MANY_SAMPLES.into());
        }
        Ok(())
    }
}

fn offset_ms(offset: &Option<Offset>) -> i64 {
    match offset {
        Some(Offset::Pos(d)) => d.as_millis() as i64,
        Some(Offset::Neg(d)) => -(d.as_millis() as i64),
        None => 0,
    }
}

fn system_time_ms(at: &std::time::SystemTime) -> i64 {
    match at.duration_since(std::time::UNIX_EPOCH) {
        Ok(d) => d.as_millis() as i64,
        Err(e) => -(e.duration().as_millis() as i64),
    }
}

impl Ctx<'_> {
    /// The time a selector or subquery reads at: `@` replaces the evaluation time, then the
    /// offset moves it back.
    fn effective_time(&self, t: i64, at: &Option<AtModifier>, offset: &Option<Offset>) -> i64 {
        let base = match at {
            Some(AtModifier::Start) => self.start,
            Some(AtModifier::End) => self.end,
            Some(AtModifier::At(time)) => system_time_ms(time),
            None => t,
        };
        base - offset_ms(offset)
    }

    fn matchers(vs: &VectorSelector) -> Vec<Matcher> {
        let mut matchers = vs.matchers.matchers.clone();
        if let Some(name) = &vs.name {
            matchers.push(Matcher::new(
                promql_parser::label::MatchOp::Equal,
                METRIC_NAME,
                name,
            ));
        }
        matchers
    }

    /// Samples of each matching series in `[from, to]`, staleness markers included.
    fn fetch(&self, vs: &VectorSelector, from: i64, to: i64) -> Vec<Series> {
        let matchers = Self::matchers(vs);
        if vs.matchers.or_matchers.is_empty() {
            return self.source.select(&matchers, from, to);
        }
        let mut all: BTreeMap<Labels, Series> = BTreeMap::new();
        for alternative in &vs.matchers.or_matchers {
            let mut matchers = alternative.clone();
            if let Some(name) = &vs.name {
                matchers.push(Matcher::new(
                    promql_parser::label::MatchOp::Equal,
                    METRIC_NAME,
                    name,
                ));
            }
            for s in self.source.select(&matchers, from, to) {
                all.insert(s.labels.clone(), s);
            }
        }
        all.into_values().collect()
    }

    /// An instant vector selector: each series' latest sample within the lookback window, unless
    /// that sample is a staleness marker.
    fn vector_selector(&self, vs: &VectorSelector, t: i64) -> EvalResult<Vec<Sample>> {
        let t = self.effective_time(t, &vs.at, &vs.offset);
        let from = t - self.engine.lookback_ms;
        let samples: Vec<Sample> = self
            .fetch(vs, from, t)
            .into_iter()
            .filter_map(|s| {
                let (ts, v) = *s
                    .points
                    .iter()
                    .rev()
                    .find(|(ts, _)| *ts <= t && *ts >= from)?;
                (!is_stale(v)).then_some(Sample {
                    labels: s.labels,
                    t: ts,
                    v,
                })
            })
            .collect();
        self.hold(samples.len())?;
        Ok(samples)
    }

    /// A range selector: each series' samples in `[t - range, t]` without staleness markers.
    fn matrix_selector(
        &self,
        vs: &VectorSelector,
        range: i64,
        t: i64,
    ) -> EvalResult<(Vec<Series>, i64)> {
        let t = self.effective_time(t, &vs.at, &vs.offset);
        let series: Vec<Series> = self
            .fetch(vs, t - range, t)
            .into_iter()
            .map(|mut s| {
                s.points
                    .retain(|(ts, v)| *ts >= t - range && *ts <= t && !is_stale(*v));
                s
            })
            .filter(|s| !s.points.is_empty())
            .collect();
        self.hold(series.iter().map(|s| s.points.len()).sum())?;
        Ok((series, t))
    }

    fn subquery(&self, sq: &SubqueryExpr, t: i64) -> EvalResult<(Vec<Series>, i64)> {
        let t = self.effective_time(t, &sq.at, &sq.offset);
        let range = sq.range.as_millis() as i64;
        let step = sq
            .step
            .map(|s| s.as_millis() as i64)
            .unwrap_or(self.engine.subquery_step_ms);
        // Rust's `/` truncates toward zero like Go's, which this alignment relies on.
        let mut first = step * ((t - range) / step);
        if first < t - range {
            first += step;
        }
        let mut series: BTreeMap<Labels, Vec<(i64, f64)>> = BTreeMap::new();
        let mut at = first;
        while at <= t {
            self.engine.check_deadline()?;
            match self.eval(&sq.expr, at)? {
                Value::Vector(samples) => {
                    for s in samples {
                        series.entry(s.labels).or_default().push((at, s.v));
                    }
                }
                Value::Scalar(v) => series.entry(Labels::default()).or_default().push((at, v)),
                other => return Err(format!("subquery of a {}", kind_name(&other))),
            }
            at += step;
        }
        Ok((
            series
                .into_iter()
                .map(|(labels, points)| Series { labels, points })
                .collect(),
            t,
        ))
    }

    /// A range-vector argument (selector or subquery): its series, the window's end and length.
    pub(crate) fn range_arg(&self, expr: &Expr, t: i64) -> EvalResult<(Vec<Series>, i64, i64)> {
        match expr {
            Expr::MatrixSelector(ms) => {
                let range = ms.range.as_millis() as i64;
                let (series, end) = self.matrix_selector(&ms.vs, range, t)?;
                Ok((series, end, range))
            }
            Expr::Subquery(sq) => {
                let (series, end) = self.subquery(sq, t)?;
                Ok((series, end, sq.range.as_millis() as i64))
            }
            Expr::Paren(p) => self.range_arg(&p.expr, t),
            other => Err(format!("expected a range vector, got {other}")),
        }
    }

    pub(crate) fn eval(&self, expr: &Expr, t: i64) -> EvalResult<Value> {
        match expr {
            Expr::NumberLiteral(n) => Ok(Value::Scalar(n.val)),
            Expr::StringLiteral(s) => Ok(Value::String(s.val.clone())),
            Expr::Paren(p) => self.eval(&p.expr, t),
            Expr::Unary(u) => match self.eval(&u.expr, t)? {
                Value::Scalar(v) => Ok(Value::Scalar(-v)),
                Value::Vector(samples) => {
                    let negated: Vec<Sample> = samples
                        .into_iter()
                        .map(|s| Sample {
                            labels: s.labels.without_name(),
                            t: s.t,
                            v: -s.v,
                        })
                        .collect();
                    crate::functions::unique(negated).map(Value::Vector)
                }
                other => Err(format!("unary minus on a {}", kind_name(&other))),
            },
            Expr::VectorSelector(vs) => Ok(Value::Vector(self.vector_selector(vs, t)?)),
            Expr::MatrixSelector(_) | Expr::Subquery(_) => {
                let (series, _, _) = self.range_arg(expr, t)?;
                Ok(Value::Matrix(series))
            }
            Expr::Call(call) => self.call(call, t),
            Expr::Aggregate(agg) => self.aggregate(agg, t),
            Expr::Binary(b) => self.binary(b, t),
            Expr::Extension(_) => Err("extension expressions are not supported".into()),
        }
    }

    /// Evaluates to a vector (stamping every sample with `t`, as results carry the evaluation
    /// time) or fails with what it got.
    pub(crate) fn vector(&self, expr: &Expr, t: i64) -> EvalResult<Vec<Sample>> {
        match self.eval(expr, t)? {
            Value::Vector(v) => Ok(v),
            other => Err(format!(
                "expected an instant vector, got a {}",
                kind_name(&other)
            )),
        }
    }

    pub(crate) fn scalar(&self, expr: &Expr, t: i64) -> EvalResult<f64> {
        match self.eval(expr, t)? {
            Value::Scalar(v) => Ok(v),
            other => Err(format!("expected a scalar, got a {}", kind_name(&other))),
        }
    }

    pub(crate) fn string(&self, expr: &Expr, t: i64) -> EvalResult<String> {
        match self.eval(expr, t)? {
            Value::String(s) => Ok(s),
            other => Err(format!("expected a string, got a {}", kind_name(&other))),
        }
    }

    fn call(&self, call: &Call, t: i64) -> EvalResult<Value> {
        functions::call(self, call.func.name, &call.args.args, t)
    }

    fn aggregate(&self, agg: &AggregateExpr, t: i64) -> EvalResult<Value> {
        let op = agg.op.to_string().to_lowercase();
        let samples = self.vector(&agg.expr, t)?;
        let param = match &agg.param {
            Some(p) if op == "count_values" => Param::Text(self.string(p, t)?),
            Some(p) => Param::Number(self.scalar(p, t)?),
            None => Param::None,
        };
        crate::aggregate::aggregate(&op, samples, param, agg.modifier.as_ref(), t)
            .map(Value::Vector)
    }

    fn binary(&self, b: &BinaryExpr, t: i64) -> EvalResult<Value> {
        let op = b.op.to_string().to_lowercase();
        let lhs = self.eval(&b.lhs, t)?;
        let rhs = self.eval(&b.rhs, t)?;
        let return_bool = b.modifier.as_ref().is_some_and(|m| m.return_bool);
        let comparison = is_comparison(&op);
        match (lhs, rhs) {
            (Value::Scalar(l), Value::Scalar(r)) => {
                let v = arith(&op, l, r)?;
                Ok(Value::Scalar(if comparison { bool_value(v) } else { v }))
            }
            (Value::Vector(l), Value::Scalar(r)) => Ok(Value::Vector(vector_scalar(
                &op,
                l,
                r,
                false,
                return_bool,
            )?)),
            (Value::Scalar(l), Value::Vector(r)) => Ok(Value::Vector(vector_scalar(
                &op,
                r,
                l,
                true,
                return_bool,
            )?)),
            (Value::Vector(l), Value::Vector(r)) => {
                crate::binary::vector_vector(&op, l, r, b.modifier.as_ref()).map(Value::Vector)
            }
            (l, r) => Err(format!(
                "binary expression must contain only scalar and instant vector types, got {} and {}",
                kind_name(&l),
                kind_name(&r)
            )),
        }
    }
}

pub(crate) enum Param {
    None,
    Number(f64),
    Text(String),
}

pub(crate) fn is_comparison(op: &str) -> bool {
    matches!(op, "==" | "!=" | ">" | "<" | ">=" | "<=")
}

/// A comparison's truth as a value (NaN for false), or the arithmetic result.
pub(crate) fn arith(op: &str, l: f64, r: f64) -> EvalResult<f64> {
    let truth = |b: bool| if b { 1.0 } else { f64::NAN };
    Ok(match op {
        "+" => l + r,
        "-" => l - r,
        "*" => l * r,
        "/" => l / r,
        "%" => l % r,
        "^" => l.powf(r),
        "atan2" => l.atan2(r),
        "==" => truth(l == r),
        "!=" => truth(l != r),
        ">" => truth(l > r),
        "<" => truth(l < r),
        ">=" => truth(l >= r),
        "<=" => truth(l <= r),
        other => {
            return Err(format!(
                "operator \"{other}\" not allowed for scalar operations"
            ))
        }
    })
}

fn bool_value(v: f64) -> f64 {
    if v.is_nan() {
        0.0
    } else {
        1.0
    }
}

fn vector_scalar(
    op: &str,
    samples: Vec<Sample>,
    scalar: f64,
    scalar_left: bool,
    return_bool: bool,
) -> EvalResult<Vec<Sample>> {
    let comparison = is_comparison(op);
    let mut out = Vec::with_capacity(samples.len());
    for s in samples {
        let (l, r) = if scalar_left {
            (scalar, s.v)
        } else {
            (s.v, scalar)
        };
        let v = arith(op, l, r)?;
        if comparison {
            if return_bool {
                out.push(Sample {
                    labels: s.labels.without_name(),
                    t: s.t,
                    v: bool_value(v),
                });
            } else if !v.is_nan() {
                // A filter keeps the vector's sample as it was (and its name).
                out.push(s);
            }
        } else {
            out.push(Sample {
                labels: s.labels.without_name(),
                t: s.t,
                v,
            });
        }
    }
    Ok(out)
}

/// The labels that identify a sample for matching: `on` keeps the listed ones, `ignoring` (or
/// no modifier) drops the listed ones and the metric name.
pub(crate) fn signature(labels: &Labels, matching: Option<&LabelModifier>) -> Labels {
    match matching {
        Some(LabelModifier::Include(names)) => {
            let names: Vec<&str> = names.labels.iter().map(String::as_str).collect();
            labels.keep(&names)
        }
        Some(LabelModifier::Exclude(names)) => {
            let mut names: Vec<&str> = names.labels.iter().map(String::as_str).collect();
            names.push(METRIC_NAME);
            labels.without(&names)
        }
        None => labels.without_name(),
    }
}

pub(crate) fn group_labels(card: &VectorMatchCardinality) -> Vec<String> {
    card.labels().map(|l| l.labels.clone()).unwrap_or_default()
}

/// Samples grouped by a key, in first-seen order.
pub(crate) fn group_by<K: std::hash::Hash + Eq + Clone>(
    samples: Vec<Sample>,
    key: impl Fn(&Sample) -> K,
) -> Vec<(K, Vec<Sample>)> {
    let mut index: HashMap<K, usize> = HashMap::with_capacity(samples.len());
    let mut groups: Vec<(K, Vec<Sample>)> = Vec::new();
    for s in samples {
        let k = key(&s);
        match index.get(&k) {
            Some(&i) => groups[i].1.push(s),
            None => {
                index.insert(k.clone(), groups.len());
                groups.push((k, vec![s]));
            }
        }
    }
    groups
}

/// Parses with Prometheus' error text: `1:8: parse error: unexpected ")"`.
pub fn parse(query: &str) -> EvalResult<Expr> {
    crate::syntax::parse(query).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::MemorySource;

    #[test]
    fn evaluation_stops_at_its_deadline() {
        let mut source = MemorySource::default();
        source.add(
            Labels::new(vec![(METRIC_NAME.into(), "up".into())]),
            vec![(0, 1.0)],
        );
        let expr = parse("max_over_time(up[10m:1s])").unwrap();
        let engine = Engine {
            deadline: Some(Instant::now()),
            ..Engine::default()
        };
        let timed_out = Some(TIMED_OUT.to_string());
        assert_eq!(
            engine.range(&source, &expr, 0, 60_000, 1000).err(),
            timed_out
        );
        assert_eq!(engine.instant(&source, &expr, 0).err(), timed_out);
        let unhurried = Engine::default();
        assert!(unhurried.range(&source, &expr, 0, 60_000, 1000).is_ok());
    }

    fn labels(pairs: &[(&str, &str)]) -> Labels {
        Labels::new(
            pairs
                .iter()
                .map(|(n, v)| (n.to_string(), v.to_string()))
                .collect(),
        )
    }

    /// A range query on several threads answers what one thread answers: values, the first
    /// error in step order, and the samples limit counted over all earlier steps.
    #[test]
    fn range_queries_on_threads_answer_as_on_one() {
        let mut source = MemorySource::default();
        for i in 0..20 {
            let name = i.to_string();
            source.add(
                labels(&[
                    (METRIC_NAME, "c"),
                    ("i", &name),
                    ("g", &(i % 3).to_string()),
                ]),
                (0..400).map(|s| (s * 15_000, (s * (i + 1)) as f64)),
            );
        }
        // From 3000 s on, two series of `m` match `n` on `x`: an error in the later steps only.
        let every = |from: i64| (from / 15_000..400).map(|s| (s * 15_000, 1.0));
        source.add(
            labels(&[(METRIC_NAME, "m"), ("x", "1"), ("y", "a")]),
            every(0),
        );
        source.add(
            labels(&[(METRIC_NAME, "m"), ("x", "1"), ("y", "b")]),
            every(3_000_000),
        );
        source.add(labels(&[(METRIC_NAME, "n"), ("x", "1")]), every(0));
        let one = Engine {
            threads: 1,
            ..Engine::default()
        };
        let run = |engine: &Engine, query: &str, max_samples: usize| {
            let engine = Engine {
                max_samples,
                ..engine.clone()
            };
            let expr = parse(query).unwrap();
            engine.range(&source, &expr, 0, 5_985_000, 15_000)
        };
        let queries = [
            "sum by (g) (rate(c[1m]))",
            "c",
            "time()",
            "m > on(x) group_left n",
            "n + on(x) m",
        ];
        for threads in [2, 3, 7] {
            let many = Engine {
                threads,
                ..Engine::default()
            };
            for query in queries {
                for max_samples in [50_000_000, 20 * 400, 2_000, 100] {
                    let expected = run(&one, query, max_samples);
                    let actual = run(&many, query, max_samples);
                    assert_eq!(
                        format!("{actual:?}"),
                        format!("{expected:?}"),
                        "{query} on {threads} threads, at most {max_samples} samples"
                    );
                }
            }
        }
        // The cases above include answers, the samples limit and a later step's error.
        let ok = run(&one, queries[0], 50_000_000);
        assert!(matches!(ok, Ok(Value::Matrix(ref m)) if m.len() == 3 && m[0].points.len() == 399));
        assert_eq!(run(&one, "c", 2_000).err(), Some(TOO_MANY_SAMPLES.into()));
        assert!(run(&one, queries[4], 50_000_000).is_err());
    }
}
