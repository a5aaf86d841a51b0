//! PromQL over a tenant's data in the metric store, or over its external data source
//! ([`remote`]). In the store: every selector of the expression is read
//! once for the whole time span the query can touch (the store is async, the engine is not),
//! then `crates/promql` evaluates over those series in memory.

pub mod remote;

use std::time::{Instant, SystemTime};

use crate::ssr::{AppState, QueryLimits};
use promql::{Engine, Labels, MemorySource, Value};
use promql_parser::{
    label::{MatchOp, Matcher},
    parser::{value::ValueType, AtModifier, Expr, Offset, VectorSelector},
};
use store::Store;
use uuid::Uuid;

#[derive(Clone, Debug, thiserror::Error)]
pub enum QueryError {
    /// The expression or a parameter is wrong (Prometheus' `bad_data`).
    #[error("{0}")]
    BadData(String),
    /// Evaluation failed (Prometheus' `execution`).
    #[error("{0}")]
    Execution(String),
    /// The query ran past its timeout (Prometheus' `timeout`).
    #[error("{}", promql::TIMED_OUT)]
    Timeout,
    #[error("reading the store: {0}")]
    Store(String),
    /// The tenant's external data source failed or gave something else than an answer.
    #[error("{0}")]
    Remote(String),
}

/// `name{a="1", b="2"}`, as Prometheus shows a series.
pub fn show_labels(labels: &Labels) -> String {
    let name = labels.get("__name__").unwrap_or_default();
    let rest: Vec<String> = labels
        .iter()
        .filter(|(n, _)| *n != "__name__")
        .map(|(n, v)| format!("{n}={v:?}"))
        .collect();
    if rest.is_empty() && !name.is_empty() {
        name.to_string()
    } else {
        format!("{name}{{{}}}", rest.join(", "))
    }
}

/// As Prometheus, a range query may have at most this many points a series.
pub const MAX_POINTS: i64 = 11_000;

/// Loading reads a query's whole span before evaluating (Prometheus streams it step by step),
/// so the samples it may load are bounded separately, at this multiple of the samples the
/// evaluation may hold at once: 200 M samples, about 3.2 GB, with the default limit.
const LOADED_PER_HELD: usize = 4;

/// A selector and the span of sample times it needs.
struct Read {
    selector: VectorSelector,
    from: i64,
    to: i64,
}

fn ms(offset: &Option<Offset>) -> i64 {
    match offset {
        Some(Offset::Pos(d)) => d.as_millis() as i64,
        Some(Offset::Neg(d)) => -(d.as_millis() as i64),
        None => 0,
    }
}

fn at_ms(at: &Option<AtModifier>, start: i64, end: i64) -> Option<i64> {
    match at {
        Some(AtModifier::Start) => Some(start),
        Some(AtModifier::End) => Some(end),
        Some(AtModifier::At(time)) => Some(match time.duration_since(SystemTime::UNIX_EPOCH) {
            Ok(d) => d.as_millis() as i64,
            Err(e) => -(e.duration().as_millis() as i64),
        }),
        None => None,
    }
}

/// Walks the expression: `lo..=hi` are the times it is evaluated at.
fn reads(expr: &Expr, lo: i64, hi: i64, query: (i64, i64), lookback: i64, out: &mut Vec<Read>) {
    let shift = |at: &Option<AtModifier>, offset: &Option<Offset>| match at_ms(at, query.0, query.1)
    {
        Some(t) => (t - ms(offset), t - ms(offset)),
        None => (lo - ms(offset), hi - ms(offset)),
    };
    match expr {
        Expr::VectorSelector(vs) => {
            let (from, to) = shift(&vs.at, &vs.offset);
            out.push(Read {
                selector: vs.clone(),
                from: from - lookback,
                to,
            });
        }
        Expr::MatrixSelector(m) => {
            let (from, to) = shift(&m.vs.at, &m.vs.offset);
            out.push(Read {
                selector: m.vs.clone(),
                from: from - m.range.as_millis() as i64,
                to,
            });
        }
        Expr::Subquery(sq) => {
            let (from, to) = shift(&sq.at, &sq.offset);
            reads(
                &sq.expr,
                from - sq.range.as_millis() as i64,
                to,
                query,
                lookback,
                out,
            );
        }
        Expr::Aggregate(a) => {
            reads(&a.expr, lo, hi, query, lookback, out);
            if let Some(p) = &a.param {
                reads(p, lo, hi, query, lookback, out);
            }
        }
        Expr::Unary(u) => reads(&u.expr, lo, hi, query, lookback, out),
        Expr::Binary(b) => {
            reads(&b.lhs, lo, hi, query, lookback, out);
            reads(&b.rhs, lo, hi, query, lookback, out);
        }
        Expr::Paren(p) => reads(&p.expr, lo, hi, query, lookback, out),
        Expr::Call(c) => {
            for arg in &c.args.args {
                reads(arg, lo, hi, query, lookback, out);
            }
        }
        Expr::NumberLiteral(_) | Expr::StringLiteral(_) | Expr::Extension(_) => {}
    }
}

fn store_matchers(
    matchers: &[Matcher],
    name: &Option<String>,
) -> Result<Vec<store::Matcher>, QueryError> {
    let mut out = Vec::with_capacity(matchers.len() + 1);
    if let Some(name) = name {
        out.push(store::Matcher::equal("__name__", name));
    }
    for m in matchers {
        out.push(match &m.op {
            MatchOp::Equal => store::Matcher::equal(&m.name, &m.value),
            MatchOp::NotEqual => store::Matcher::not_equal(&m.name, &m.value),
            MatchOp::Re(_) => store::Matcher::regex(&m.name, &m.value)
                .map_err(|e| QueryError::BadData(e.to_string()))?,
            MatchOp::NotRe(_) => store::Matcher::not_regex(&m.name, &m.value)
                .map_err(|e| QueryError::BadData(e.to_string()))?,
        });
    }
    Ok(out)
}

/// The alternatives of a selector (`a{x="1" or y="2"}` has two), each as store matchers.
fn alternatives(selector: &VectorSelector) -> Result<Vec<Vec<store::Matcher>>, QueryError> {
    let alternatives = if selector.matchers.or_matchers.is_empty() {
        std::slice::from_ref(&selector.matchers.matchers)
    } else {
        &selector.matchers.or_matchers[..]
    };
    alternatives
        .iter()
        .map(|matchers| store_matchers(matchers, &selector.name))
        .collect()
}

/// A series selector as the series and label APIs take it (`match[]`): its alternatives.
pub fn series_selector(text: &str) -> Result<Vec<Vec<store::Matcher>>, QueryError> {
    match promql::parse(text).map_err(QueryError::BadData)? {
        Expr::VectorSelector(selector) => alternatives(&selector),
        _ => Err(QueryError::BadData(format!(
            "{text:?} is not a series selector"
        ))),
    }
}

/// Reads what the expressions need from `tenant`'s series, still compressed: every distinct
/// selector once, over the span that all of them need together (so a series two selectors share
/// is read alike and kept once).
async fn load(
    store: &Store,
    tenant: Uuid,
    parsed: &[Result<Expr, QueryError>],
    queries: &[(String, (i64, i64, i64))],
    engine: &Engine,
) -> Result<Vec<store::Series>, QueryError> {
    let mut wanted = Vec::new();
    for (expr, (_, (start, end, _))) in parsed.iter().zip(queries) {
        if let Ok(expr) = expr {
            reads(
                expr,
                *start,
                *end,
                (*start, *end),
                engine.lookback_ms,
                &mut wanted,
            );
        }
    }
    let (Some(from), Some(to)) = (
        wanted.iter().map(|r| r.from).min(),
        wanted.iter().map(|r| r.to).max(),
    ) else {
        return Ok(Vec::new());
    };
    let mut selectors: Vec<Vec<store::Matcher>> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for read in &wanted {
        for matchers in alternatives(&read.selector)? {
            if seen.insert(format!("{matchers:?}")) {
                selectors.push(matchers);
            }
        }
    }
    let mut loaded: Vec<store::Series> = Vec::new();
    let mut ids = std::collections::HashSet::new();
    for matchers in selectors {
        let series = store
            .select(tenant, &matchers, from, to)
            .await
            .map_err(|e| QueryError::Store(e.to_string()))?;
        loaded.extend(series.into_iter().filter(|s| ids.insert(s.id)));
    }
    Ok(loaded)
}

/// Decodes loaded series into memory, on `threads` threads, at most `max_samples` samples
/// (else Prometheus' "too many samples" error).
fn decode(
    loaded: Vec<store::Series>,
    threads: usize,
    max_samples: usize,
) -> Result<MemorySource, QueryError> {
    let too_many = || QueryError::Execution(promql::TOO_MANY_SAMPLES.into());
    let part = loaded.len().div_ceil(threads.max(1)).max(1);
    let decoded: Vec<Option<Vec<(Labels, Vec<(i64, f64)>)>>> = std::thread::scope(|scope| {
        let handles: Vec<_> = loaded
            .chunks(part)
            .map(|series| {
                scope.spawn(move || {
                    let mut samples = 0usize;
                    let mut decoded = Vec::with_capacity(series.len());
                    for s in series {
                        let mut points = Vec::with_capacity(s.samples_estimate());
                        points.extend(s.samples());
                        samples += points.len();
                        if samples > max_samples {
                            return None;
                        }
                        let labels = Labels::new(
                            s.labels
                                .iter()
                                .map(|(n, v)| (n.to_string(), v.to_string()))
                                .collect(),
                        );
                        decoded.push((labels, points));
                    }
                    Some(decoded)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
            })
            .collect()
    });
    let mut memory = MemorySource::default();
    let mut samples = 0usize;
    for part in decoded {
        for (labels, points) in part.ok_or_else(too_many)? {
            samples += points.len();
            if samples > max_samples {
                return Err(too_many());
            }
            memory.add(labels, points);
        }
    }
    Ok(memory)
}

/// An instant query (`step` = 0) or a range query over the tenant's data, within `limits`.
pub async fn run(
    store: &Store,
    tenant: Uuid,
    query: &str,
    span: (i64, i64, i64),
    limits: QueryLimits,
) -> Result<Value, QueryError> {
    let mut answers = run_batch(store, tenant, &[(query.to_string(), span)], limits).await;
    answers
        .pop()
        .unwrap_or(Err(QueryError::Execution("no answer".into())))
}

fn evaluate_one(
    engine: &Engine,
    memory: &MemorySource,
    expr: &Result<Expr, QueryError>,
    (start, end, step): (i64, i64, i64),
) -> Result<Value, QueryError> {
    let expr = expr.as_ref().map_err(Clone::clone)?;
    let value = if step == 0 {
        engine.instant(memory, expr, start)
    } else {
        engine.range(memory, expr, start, end, step)
    };
    value.map_err(|message| {
        if message == promql::TIMED_OUT {
            QueryError::Timeout
        } else {
            QueryError::Execution(message)
        }
    })
}

type Parsed = Result<Expr, QueryError>;
/// A query's (start, end, step) in milliseconds; step 0 is an instant query at `start`.
type Span = (i64, i64, i64);

/// Parses `query`, or takes the expression parsed from the same text before: rules ask their
/// expressions every interval and dashboards on every refresh, and compiling a regex matcher
/// costs more than evaluating most queries. The text's parse never changes; the memory is
/// bounded by emptying it when full.
fn parse_remembered(query: &str) -> Result<Expr, String> {
    const REMEMBERED: usize = 10_000;
    static PARSED: std::sync::LazyLock<std::sync::Mutex<std::collections::HashMap<String, Expr>>> =
        std::sync::LazyLock::new(Default::default);
    if let Some(expr) = PARSED.lock().unwrap().get(query) {
        return Ok(expr.clone());
    }
    let expr = promql::parse(query)?;
    let mut parsed = PARSED.lock().unwrap();
    if parsed.len() >= REMEMBERED {
        parsed.clear();
    }
    parsed.insert(query.to_string(), expr.clone());
    Ok(expr)
}

/// The expression of a query, refused before any data is read when it cannot be one: as
/// Prometheus, a range query of anything but a scalar or an instant vector is a bad request.
fn parse_for(query: &str, step: i64) -> Result<Expr, QueryError> {
    let expr = parse_remembered(query).map_err(QueryError::BadData)?;
    let kind = expr.value_type();
    if step != 0 && matches!(kind, ValueType::Matrix | ValueType::String) {
        let name = if kind == ValueType::Matrix {
            "range vector"
        } else {
            "string"
        };
        return Err(QueryError::BadData(format!(
            "invalid expression type \"{name}\" for range query, must be Scalar or instant Vector"
        )));
    }
    Ok(expr)
}

/// Several queries over `tenant`'s store at once, as a dashboard page asks them: every selector
/// is read once, over the span all of them need, and decoded once; then each query is evaluated
/// over the shared series, one after another (a range query spreads its steps over the cores).
/// Answers one result a query, in order.
pub async fn run_batch(
    store: &Store,
    tenant: Uuid,
    queries: &[(String, (i64, i64, i64))],
    limits: QueryLimits,
) -> Vec<Result<Value, QueryError>> {
    let deadline = Instant::now() + limits.timeout;
    let engine = Engine {
        deadline: Some(deadline),
        max_samples: limits.max_samples,
        ..Engine::default()
    };
    let parsed: Vec<Result<Expr, QueryError>> = queries
        .iter()
        .map(|(query, (_, _, step))| parse_for(query, *step))
        .collect();
    let began = Instant::now();
    let loaded = tokio::time::timeout_at(
        deadline.into(),
        load(store, tenant, &parsed, queries, &engine),
    )
    .await
    .map_err(|_| QueryError::Timeout)
    .and_then(|loaded| loaded);
    let loaded = match loaded {
        Ok(loaded) => loaded,
        Err(error) => return queries.iter().map(|_| Err(error.clone())).collect(),
    };
    let read = began.elapsed();
    let spans: Vec<(i64, i64, i64)> = queries.iter().map(|(_, span)| *span).collect();
    // Decoding and evaluation are CPU work: off the async workers.
    let evaluated = tokio::task::spawn_blocking(move || {
        let began = Instant::now();
        let memory = match decode(
            loaded,
            engine.threads,
            limits.max_samples.saturating_mul(LOADED_PER_HELD),
        ) {
            Ok(memory) => memory,
            Err(error) => return spans.iter().map(|_| Err(error.clone())).collect(),
        };
        let decoded = began.elapsed();
        let began = Instant::now();
        // Several queries take a core each; one alone spreads its steps over the cores.
        let workers = engine.threads.clamp(1, parsed.len().max(1));
        let each = Engine {
            threads: if workers > 1 { 1 } else { engine.threads },
            ..engine.clone()
        };
        let jobs: Vec<(usize, (Parsed, Span))> =
            parsed.into_iter().zip(spans).enumerate().collect();
        let next = std::sync::atomic::AtomicUsize::new(0);
        let mut answers: Vec<(usize, Result<Value, QueryError>)> = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..workers)
                .map(|_| {
                    scope.spawn(|| {
                        let mut done = Vec::new();
                        loop {
                            let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                            let Some((index, (expr, span))) = jobs.get(i) else {
                                break;
                            };
                            done.push((*index, evaluate_one(&each, &memory, expr, *span)));
                        }
                        done
                    })
                })
                .collect();
            handles
                .into_iter()
                .flat_map(|h| {
                    h.join()
                        .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
                })
                .collect()
        });
        answers.sort_by_key(|(i, _)| *i);
        let answers: Vec<Result<Value, QueryError>> = answers.into_iter().map(|(_, a)| a).collect();
        tracing::debug!(
            queries = answers.len(),
            read_ms = read.as_secs_f64() * 1000.0,
            decode_ms = decoded.as_secs_f64() * 1000.0,
            evaluate_ms = began.elapsed().as_secs_f64() * 1000.0,
            "Query evaluated."
        );
        answers
    })
    .await;
    evaluated.unwrap_or_else(|e| {
        let error = QueryError::Execution(e.to_string());
        queries.iter().map(|_| Err(error.clone())).collect()
    })
}

/// A query over `tenant`'s data wherever it lives: its external data source, else the store.
pub async fn evaluate(
    state: &AppState,
    tenant: Uuid,
    query: &str,
    span: (i64, i64, i64),
) -> Result<Value, QueryError> {
    let mut answers = evaluate_batch(state, tenant, &[(query.to_string(), span)]).await;
    answers
        .pop()
        .unwrap_or(Err(QueryError::Execution("no answer".into())))
}

/// Several queries over `tenant`'s data wherever it lives, one answer each, in order: an
/// external data source gets them all at once, the store reads what they share once
/// ([`run_batch`]).
pub async fn evaluate_batch(
    state: &AppState,
    tenant: Uuid,
    queries: &[(String, (i64, i64, i64))],
) -> Vec<Result<Value, QueryError>> {
    let began = Instant::now();
    let answers = match remote::remote_for(&state.pool, tenant).await {
        Err(error) => queries.iter().map(|_| Err(error.clone())).collect(),
        Ok(Some(remote)) => {
            let timeout = state.query_limits.timeout;
            futures::future::join_all(
                queries
                    .iter()
                    .map(|(query, span)| remote.query(query, *span, timeout)),
            )
            .await
        }
        Ok(None) => run_batch(&state.store, tenant, queries, state.query_limits).await,
    };
    let kind = match queries {
        [(_, (_, _, 0))] => "instant",
        [_] => "range",
        _ => "batch",
    };
    metrics::histogram!("meridian_query_duration_seconds", "kind" => kind)
        .record(began.elapsed().as_secs_f64());
    answers
}

/// The values of `label` on `tenant`'s series that match `selector` (every series when `None`)
/// and have samples in `[start, end]`, sorted, wherever the tenant's data lives: what Grafana's
/// `label_values(…)` variables list.
pub async fn label_values(
    state: &AppState,
    tenant: Uuid,
    selector: Option<&str>,
    label: &str,
    (start, end): (i64, i64),
) -> Result<Vec<String>, QueryError> {
    if let Some(remote) = remote::remote_for(&state.pool, tenant).await? {
        let seconds = |ms: i64| format!("{}", ms as f64 / 1000.0);
        let mut params = vec![
            ("start".to_string(), seconds(start)),
            ("end".into(), seconds(end)),
        ];
        if let Some(selector) = selector {
            params.push(("match[]".into(), selector.to_string()));
        }
        let path = format!("/api/v1/label/{}/values", crate::url::encode(label));
        let answer = remote
            .forward(&path, &params, false, state.query_limits.timeout)
            .await?;
        #[derive(serde::Deserialize)]
        struct Values {
            data: Vec<String>,
        }
        return serde_json::from_slice::<Values>(&answer.body)
            .map(|v| v.data)
            .map_err(|e| QueryError::Remote(format!("data source {}: {e}", remote.url)));
    }
    let selectors = match selector {
        Some(text) => series_selector(text)?,
        None => vec![Vec::new()],
    };
    let mut found = std::collections::BTreeSet::new();
    for matchers in selectors {
        let series = state
            .store
            .series(tenant, &matchers, start, end)
            .await
            .map_err(|e| QueryError::Store(e.to_string()))?;
        found.extend(
            series
                .iter()
                .filter_map(|labels| labels.get(label).map(str::to_string)),
        );
    }
    Ok(found.into_iter().collect())
}
