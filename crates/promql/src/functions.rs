//! PromQL's float functions, as Prometheus 2.55 computes them.

use chrono::{Datelike, Timelike};
use promql_parser::{
    label::MatchOp,
    parser::{Expr, VectorSelector},
};

use crate::{
    aggregate::compare,
    eval::{Ctx, EvalResult},
    value::{Labels, Sample, Series, Value, METRIC_NAME},
};

type Args = [Box<Expr>];

pub(crate) fn call(ctx: &Ctx, name: &str, args: &Args, t: i64) -> EvalResult<Value> {
    match evaluate(ctx, name, args, t)? {
        Value::Vector(samples) => unique(samples).map(Value::Vector),
        other => Ok(other),
    }
}

fn evaluate(ctx: &Ctx, name: &str, args: &Args, t: i64) -> EvalResult<Value> {
    let arg = |i: usize| -> EvalResult<&Expr> {
        args.get(i)
            .map(|a| a.as_ref())
            .ok_or_else(|| format!("function {name} is missing argument {}", i + 1))
    };
    let vector = Value::Vector;
    match name {
        // Range-vector functions.
        "rate" | "increase" | "delta" => {
            let (series, end, range) = ctx.range_arg(arg(0)?, t)?;
            Ok(vector(over_series(series, t, |points| {
                extrapolated_rate(points, end - range, end, name != "delta", name == "rate")
            })))
        }
        "irate" | "idelta" => {
            let (series, _, _) = ctx.range_arg(arg(0)?, t)?;
            Ok(vector(over_series(series, t, |p| {
                instant_value(p, name == "irate")
            })))
        }
        "deriv" => {
            let (series, _, _) = ctx.range_arg(arg(0)?, t)?;
            Ok(vector(over_series(series, t, |p| {
                (p.len() >= 2).then(|| linear_regression(p, p[0].0).0)
            })))
        }
        "predict_linear" => {
            let (series, _, _) = ctx.range_arg(arg(0)?, t)?;
            let duration = ctx.scalar(arg(1)?, t)?;
            Ok(vector(over_series(series, t, |p| {
                (p.len() >= 2).then(|| {
                    let (slope, intercept) = linear_regression(p, t);
                    slope * duration + intercept
                })
            })))
        }
        "holt_winters" => {
            let (series, _, _) = ctx.range_arg(arg(0)?, t)?;
            let sf = ctx.scalar(arg(1)?, t)?;
            let tf = ctx.scalar(arg(2)?, t)?;
            if sf <= 0.0 || sf >= 1.0 {
                return Err(format!(
                    "invalid smoothing factor. Expected: 0 < sf < 1, got: {sf}"
                ));
            }
            if tf <= 0.0 || tf >= 1.0 {
                return Err(format!(
                    "invalid trend factor. Expected: 0 < tf < 1, got: {tf}"
                ));
            }
            Ok(vector(over_series(series, t, |p| holt_winters(p, sf, tf))))
        }
        "resets" | "changes" => {
            let (series, _, _) = ctx.range_arg(arg(0)?, t)?;
            Ok(vector(over_series(series, t, |p| {
                let n = p
                    .windows(2)
                    .filter(|w| {
                        let (prev, cur) = (w[0].1, w[1].1);
                        if name == "resets" {
                            cur < prev
                        } else {
                            !(cur == prev || (cur.is_nan() && prev.is_nan()))
                        }
                    })
                    .count();
                Some(n as f64)
            })))
        }
        "avg_over_time" | "sum_over_time" | "count_over_time" | "min_over_time"
        | "max_over_time" | "stddev_over_time" | "stdvar_over_time" | "present_over_time"
        | "last_over_time" | "mad_over_time" => {
            let (series, _, _) = ctx.range_arg(arg(0)?, t)?;
            let keep_name = name == "last_over_time";
            let mut out = Vec::new();
            for s in series {
                let values: Vec<f64> = s.points.iter().map(|p| p.1).collect();
                let v = match name {
                    "avg_over_time" => mean(&values),
                    "sum_over_time" => kahan_sum(&values),
                    "count_over_time" => values.len() as f64,
                    "min_over_time" => values.iter().copied().fold(values[0], |m, v| {
                        if v < m || m.is_nan() {
                            v
                        } else {
                            m
                        }
                    }),
                    "max_over_time" => values.iter().copied().fold(values[0], |m, v| {
                        if v > m || m.is_nan() {
                            v
                        } else {
                            m
                        }
                    }),
                    "stddev_over_time" => variance(&values).sqrt(),
                    "stdvar_over_time" => variance(&values),
                    "present_over_time" => 1.0,
                    "mad_over_time" => {
                        let median = quantile(0.5, values.clone());
                        quantile(0.5, values.iter().map(|v| (v - median).abs()).collect())
                    }
                    _ => *values.last().expect("series have points"),
                };
                let labels = if keep_name {
                    s.labels
                } else {
                    s.labels.without_name()
                };
                out.push(Sample { labels, t, v });
            }
            Ok(vector(out))
        }
        "quantile_over_time" => {
            let q = ctx.scalar(arg(0)?, t)?;
            let (series, _, _) = ctx.range_arg(arg(1)?, t)?;
            Ok(vector(over_series(series, t, |p| {
                Some(quantile(q, p.iter().map(|x| x.1).collect()))
            })))
        }
        "absent_over_time" => {
            let (series, _, _) = ctx.range_arg(arg(0)?, t)?;
            if !series.is_empty() {
                return Ok(vector(Vec::new()));
            }
            Ok(vector(vec![Sample {
                labels: absent_labels(arg(0)?),
                t,
                v: 1.0,
            }]))
        }
        "absent" => {
            let samples = ctx.vector(arg(0)?, t)?;
            if !samples.is_empty() {
                return Ok(vector(Vec::new()));
            }
            Ok(vector(vec![Sample {
                labels: absent_labels(arg(0)?),
                t,
                v: 1.0,
            }]))
        }
        // Scalars and conversions.
        "time" => Ok(Value::Scalar(t as f64 / 1000.0)),
        "pi" => Ok(Value::Scalar(std::f64::consts::PI)),
        "vector" => Ok(vector(vec![Sample {
            labels: Labels::default(),
            t,
            v: ctx.scalar(arg(0)?, t)?,
        }])),
        "scalar" => {
            let samples = ctx.vector(arg(0)?, t)?;
            Ok(Value::Scalar(if samples.len() == 1 {
                samples[0].v
            } else {
                f64::NAN
            }))
        }
        "timestamp" => {
            let direct = matches!(unparen(arg(0)?), Expr::VectorSelector(_));
            let samples = ctx.vector(arg(0)?, t)?;
            Ok(vector(
                samples
                    .into_iter()
                    .map(|s| Sample {
                        labels: s.labels.without_name(),
                        t,
                        v: if direct { s.t } else { t } as f64 / 1000.0,
                    })
                    .collect(),
            ))
        }
        "sort" | "sort_desc" => {
            let mut samples = ctx.vector(arg(0)?, t)?;
            samples.sort_by(|a, b| {
                let order = match (a.v.is_nan(), b.v.is_nan()) {
                    (true, true) => std::cmp::Ordering::Equal,
                    (true, false) => return std::cmp::Ordering::Greater,
                    (false, true) => return std::cmp::Ordering::Less,
                    _ => a.v.partial_cmp(&b.v).unwrap_or(std::cmp::Ordering::Equal),
                };
                if name == "sort" {
                    order
                } else {
                    order.reverse()
                }
            });
            Ok(vector(samples))
        }
        "sort_by_label" | "sort_by_label_desc" => {
            let mut samples = ctx.vector(arg(0)?, t)?;
            let mut names = Vec::new();
            for a in &args[1..] {
                names.push(ctx.string(a, t)?);
            }
            samples.sort_by(|x, y| {
                let order = names
                    .iter()
                    .map(|n| {
                        natural_cmp(
                            x.labels.get(n).unwrap_or_default(),
                            y.labels.get(n).unwrap_or_default(),
                        )
                    })
                    .find(|o| *o != std::cmp::Ordering::Equal)
                    .unwrap_or_else(|| x.labels.cmp(&y.labels));
                if name == "sort_by_label" {
                    order
                } else {
                    order.reverse()
                }
            });
            Ok(vector(samples))
        }
        "label_replace" => {
            let samples = ctx.vector(arg(0)?, t)?;
            let dst = ctx.string(arg(1)?, t)?;
            let replacement = ctx.string(arg(2)?, t)?;
            let src = ctx.string(arg(3)?, t)?;
            let pattern = ctx.string(arg(4)?, t)?;
            let regex = regex::Regex::new(&format!("^(?s:{pattern})$")).map_err(|e| {
                format!("invalid regular expression in label_replace(): {pattern}: {e}")
            })?;
            if !valid_label_name(&dst) {
                return Err(format!(
                    "invalid destination label name in label_replace(): {dst}"
                ));
            }
            let out: Vec<Sample> = samples
                .into_iter()
                .map(|mut s| {
                    let value = s.labels.get(&src).unwrap_or_default().to_string();
                    if let Some(caps) = regex.captures(&value) {
                        let mut result = String::new();
                        caps.expand(&replacement, &mut result);
                        s.labels.set(&dst, &result);
                    }
                    s
                })
                .collect();
            unique(out).map(vector)
        }
        "label_join" => {
            let samples = ctx.vector(arg(0)?, t)?;
            let dst = ctx.string(arg(1)?, t)?;
            let separator = ctx.string(arg(2)?, t)?;
            let mut sources = Vec::new();
            for a in &args[3..] {
                sources.push(ctx.string(a, t)?);
            }
            if !valid_label_name(&dst) {
                return Err(format!(
                    "invalid destination label name in label_join(): {dst}"
                ));
            }
            let out: Vec<Sample> = samples
                .into_iter()
                .map(|mut s| {
                    let joined: Vec<&str> = sources
                        .iter()
                        .map(|n| s.labels.get(n).unwrap_or_default())
                        .collect();
                    let joined = joined.join(&separator);
                    s.labels.set(&dst, &joined);
                    s
                })
                .collect();
            unique(out).map(vector)
        }
        "histogram_quantile" => {
            let q = ctx.scalar(arg(0)?, t)?;
            let samples = ctx.vector(arg(1)?, t)?;
            Ok(vector(histogram_quantile(q, samples, t)))
        }
        "clamp" => {
            let samples = ctx.vector(arg(0)?, t)?;
            let (min, max) = (ctx.scalar(arg(1)?, t)?, ctx.scalar(arg(2)?, t)?);
            if max < min {
                return Ok(vector(Vec::new()));
            }
            Ok(vector(map_values(samples, |v| go_max(min, go_min(max, v)))))
        }
        "clamp_min" | "clamp_max" => {
            let samples = ctx.vector(arg(0)?, t)?;
            let bound = ctx.scalar(arg(1)?, t)?;
            let max = name == "clamp_min";
            Ok(vector(map_values(samples, |v| {
                if max {
                    go_max(v, bound)
                } else {
                    go_min(v, bound)
                }
            })))
        }
        "round" => {
            let samples = ctx.vector(arg(0)?, t)?;
            let to_nearest = match args.get(1) {
                Some(a) => ctx.scalar(a, t)?,
                None => 1.0,
            };
            let inverse = 1.0 / to_nearest;
            Ok(vector(map_values(samples, |v| {
                (v * inverse + 0.5).floor() / inverse
            })))
        }
        "days_in_month" | "day_of_month" | "day_of_week" | "day_of_year" | "hour" | "minute"
        | "month" | "year" => {
            let samples = match args.first() {
                Some(a) => ctx.vector(a, t)?,
                None => vec![Sample {
                    labels: Labels::default(),
                    t,
                    v: t as f64 / 1000.0,
                }],
            };
            Ok(vector(map_values(samples, |v| date_part(name, v))))
        }
        _ => match math(name) {
            Some(f) => Ok(vector(map_values(ctx.vector(arg(0)?, t)?, f))),
            None => Err(format!("function \"{name}\" is not supported")),
        },
    }
}

fn unparen(expr: &Expr) -> &Expr {
    match expr {
        Expr::Paren(p) => unparen(&p.expr),
        other => other,
    }
}

fn math(name: &str) -> Option<fn(f64) -> f64> {
    Some(match name {
        "abs" => f64::abs,
        "ceil" => f64::ceil,
        "floor" => f64::floor,
        "exp" => f64::exp,
        "ln" => f64::ln,
        "log2" => f64::log2,
        "log10" => f64::log10,
        "sqrt" => f64::sqrt,
        "sgn" => |v: f64| {
            if v > 0.0 {
                1.0
            } else if v < 0.0 {
                -1.0
            } else {
                v
            }
        },
        "acos" => f64::acos,
        "acosh" => f64::acosh,
        "asin" => f64::asin,
        "asinh" => f64::asinh,
        "atan" => f64::atan,
        "atanh" => f64::atanh,
        "cos" => f64::cos,
        "cosh" => f64::cosh,
        "sin" => f64::sin,
        "sinh" => f64::sinh,
        "tan" => f64::tan,
        "tanh" => f64::tanh,
        "deg" => f64::to_degrees,
        "rad" => f64::to_radians,
        _ => return None,
    })
}

/// Go's math.Max/Min: NaN wins (Rust's f64::max ignores it).
fn go_max(a: f64, b: f64) -> f64 {
    if a.is_nan() || b.is_nan() {
        f64::NAN
    } else {
        a.max(b)
    }
}
fn go_min(a: f64, b: f64) -> f64 {
    if a.is_nan() || b.is_nan() {
        f64::NAN
    } else {
        a.min(b)
    }
}

fn map_values(samples: Vec<Sample>, f: impl Fn(f64) -> f64) -> Vec<Sample> {
    samples
        .into_iter()
        .map(|s| Sample {
            labels: s.labels.without_name(),
            t: s.t,
            v: f(s.v),
        })
        .collect()
}

/// Natural order: runs of digits compare as numbers ("a2" < "a10"), as sort_by_label does.
fn natural_cmp(a: &str, b: &str) -> std::cmp::Ordering {
    let (mut a, mut b) = (a, b);
    loop {
        match (a.chars().next(), b.chars().next()) {
            (None, None) => return std::cmp::Ordering::Equal,
            (None, _) => return std::cmp::Ordering::Less,
            (_, None) => return std::cmp::Ordering::Greater,
            (Some(x), Some(y)) if x.is_ascii_digit() && y.is_ascii_digit() => {
                let na = a.find(|c: char| !c.is_ascii_digit()).unwrap_or(a.len());
                let nb = b.find(|c: char| !c.is_ascii_digit()).unwrap_or(b.len());
                let (da, db) = (
                    a[..na].trim_start_matches('0'),
                    b[..nb].trim_start_matches('0'),
                );
                let order = da.len().cmp(&db.len()).then_with(|| da.cmp(db));
                if order != std::cmp::Ordering::Equal {
                    return order;
                }
                (a, b) = (&a[na..], &b[nb..]);
            }
            (Some(x), Some(y)) => {
                if x != y {
                    return x.cmp(&y);
                }
                (a, b) = (&a[x.len_utf8()..], &b[y.len_utf8()..]);
            }
        }
    }
}

/// One output sample a series that gives a value; the metric name is dropped.
fn over_series(
    series: Vec<Series>,
    t: i64,
    f: impl Fn(&[(i64, f64)]) -> Option<f64>,
) -> Vec<Sample> {
    series
        .into_iter()
        .filter_map(|s| {
            f(&s.points).map(|v| Sample {
                labels: s.labels.without_name(),
                t,
                v,
            })
        })
        .collect()
}

pub(crate) fn unique(samples: Vec<Sample>) -> EvalResult<Vec<Sample>> {
    let mut seen = std::collections::HashSet::with_capacity(samples.len());
    for s in &samples {
        if !seen.insert(&s.labels) {
            return Err("vector cannot contain metrics with the same labelset".into());
        }
    }
    Ok(samples)
}

pub(crate) fn valid_label_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .chars()
            .enumerate()
            .all(|(i, c)| c == '_' || c.is_ascii_alphabetic() || (i > 0 && c.is_ascii_digit()))
}

/// The labels `absent()` answers with: the selector's equality matchers (not the name).
fn absent_labels(expr: &Expr) -> Labels {
    let vs: Option<&VectorSelector> = match unparen(expr) {
        Expr::VectorSelector(vs) => Some(vs),
        Expr::MatrixSelector(ms) => Some(&ms.vs),
        _ => None,
    };
    let Some(vs) = vs else {
        return Labels::default();
    };
    let mut pairs: Vec<(String, String)> = Vec::new();
    let mut repeated: Vec<String> = Vec::new();
    let matchers = &vs.matchers.matchers;
    for m in matchers {
        if matchers.iter().filter(|o| o.name == m.name).count() > 1 {
            repeated.push(m.name.clone());
        }
        if m.name != METRIC_NAME && matches!(m.op, MatchOp::Equal) {
            pairs.push((m.name.clone(), m.value.clone()));
        }
    }
    pairs.retain(|(n, _)| !repeated.contains(n));
    Labels::new(pairs)
}

/// Prometheus' Kahan-compensated sum (kahanSumInc over the values).
pub(crate) fn kahan_sum(values: &[f64]) -> f64 {
    let (sum, c) = values
        .iter()
        .fold((0.0, 0.0), |(sum, c), &v| kahan_inc(v, sum, c));
    sum + c
}

/// Prometheus' average: a Kahan sum while it stays finite, then an incremental mean, so that
/// values near the largest float do not overflow.
pub(crate) fn mean(values: &[f64]) -> f64 {
    let (mut sum, mut c) = (values[0], 0.0);
    let (mut mean, mut mean_c, mut incremental) = (0.0, 0.0, false);
    for (i, &v) in values.iter().enumerate().skip(1) {
        let count = (i + 1) as f64;
        if !incremental {
            let (next, next_c) = kahan_inc(v, sum, c);
            if !next.is_infinite() {
                (sum, c) = (next, next_c);
                continue;
            }
            incremental = true;
            mean = sum / (count - 1.0);
            mean_c = c / (count - 1.0);
        }
        if mean.is_infinite() {
            if v.is_infinite() && (mean > 0.0) == (v > 0.0) {
                continue;
            }
            if !v.is_infinite() && !v.is_nan() {
                continue;
            }
        }
        let q = (count - 1.0) / count;
        (mean, mean_c) = kahan_inc(v / count, q * mean, q * mean_c);
    }
    if incremental {
        mean + mean_c
    } else {
        (sum + c) / values.len() as f64
    }
}

fn kahan_inc(v: f64, sum: f64, c: f64) -> (f64, f64) {
    let t = sum + v;
    let c = if t.is_infinite() {
        0.0
    } else if sum.abs() >= v.abs() {
        c + ((sum - t) + v)
    } else {
        c + ((v - t) + sum)
    };
    (t, c)
}

pub(crate) fn variance(values: &[f64]) -> f64 {
    let (mut count, mut mean, mut aux) = (0.0, 0.0, 0.0);
    for &v in values {
        count += 1.0;
        let delta = v - mean;
        mean += delta / count;
        aux += delta * (v - mean);
    }
    aux / count
}

/// Prometheus' quantile: linear interpolation between the closest ranks.
pub(crate) fn quantile(q: f64, mut values: Vec<f64>) -> f64 {
    if values.is_empty() || q.is_nan() {
        return f64::NAN;
    }
    if q < 0.0 {
        return f64::NEG_INFINITY;
    }
    if q > 1.0 {
        return f64::INFINITY;
    }
    values.sort_by(|a, b| compare(*a, *b));
    let n = values.len() as f64;
    let rank = q * (n - 1.0);
    let lower = rank.floor().max(0.0);
    let upper = (lower + 1.0).min(n - 1.0);
    let weight = rank - rank.floor();
    values[lower as usize] * (1.0 - weight) + values[upper as usize] * weight
}

/// rate, increase, delta: the change over the window, extrapolated to its edges unless the
/// series starts or ends well inside it (Prometheus' extrapolatedRate).
fn extrapolated_rate(
    points: &[(i64, f64)],
    range_start: i64,
    range_end: i64,
    counter: bool,
    rate: bool,
) -> Option<f64> {
    if points.len() < 2 {
        return None;
    }
    let (first, last) = (points[0], points[points.len() - 1]);
    let mut result = last.1 - first.1;
    if counter {
        for w in points.windows(2) {
            if w[1].1 < w[0].1 {
                result += w[0].1;
            }
        }
    }
    let mut to_start = (first.0 - range_start) as f64 / 1000.0;
    let mut to_end = (range_end - last.0) as f64 / 1000.0;
    let sampled = (last.0 - first.0) as f64 / 1000.0;
    let average = sampled / (points.len() - 1) as f64;
    let threshold = average * 1.1;
    if to_start >= threshold {
        to_start = average / 2.0;
    }
    // A counter cannot go below zero: extrapolate back no further than where it would be 0.
    if counter && result > 0.0 && first.1 >= 0.0 {
        let to_zero = sampled * (first.1 / result);
        if to_zero < to_start {
            to_start = to_zero;
        }
    }
    if to_end >= threshold {
        to_end = average / 2.0;
    }
    let interval = sampled + to_start + to_end;
    result *= interval / sampled;
    if rate {
        result /= (range_end - range_start) as f64 / 1000.0;
    }
    Some(result)
}

fn instant_value(points: &[(i64, f64)], rate: bool) -> Option<f64> {
    if points.len() < 2 {
        return None;
    }
    let (prev, last) = (points[points.len() - 2], points[points.len() - 1]);
    let mut result = if rate && last.1 < prev.1 {
        last.1
    } else {
        last.1 - prev.1
    };
    let interval = last.0 - prev.0;
    if interval == 0 {
        return None;
    }
    if rate {
        result /= interval as f64 / 1000.0;
    }
    Some(result)
}

/// Least squares over (seconds since `intercept_time`, value): slope and intercept.
fn linear_regression(points: &[(i64, f64)], intercept_time: i64) -> (f64, f64) {
    let (mut n, mut sx, mut sy, mut sxy, mut sx2) = (0.0, 0.0, 0.0, 0.0, 0.0);
    let first = points[0].1;
    let constant = points.iter().all(|p| p.1 == first);
    for &(ts, v) in points {
        let x = (ts - intercept_time) as f64 / 1000.0;
        n += 1.0;
        sx += x;
        sy += v;
        sxy += x * v;
        sx2 += x * x;
    }
    if constant && first.is_finite() {
        return (0.0, first);
    }
    let cov = sxy - sx * sy / n;
    let var = sx2 - sx * sx / n;
    let slope = cov / var;
    (slope, sy / n - slope * sx / n)
}

fn holt_winters(points: &[(i64, f64)], sf: f64, tf: f64) -> Option<f64> {
    if points.len() < 2 {
        return None;
    }
    let (mut s0, mut s1) = (0.0, points[0].1);
    let mut b = points[1].1 - points[0].1;
    for (i, p) in points.iter().enumerate().skip(1) {
        let x = sf * p.1;
        if i > 1 {
            b = tf * (s1 - s0) + (1.0 - tf) * b;
        }
        let y = (1.0 - sf) * (s1 + b);
        s0 = s1;
        s1 = x + y;
    }
    Some(s1)
}

fn date_part(name: &str, seconds: f64) -> f64 {
    let Some(time) = chrono::DateTime::from_timestamp(seconds as i64, 0) else {
        return f64::NAN;
    };
    match name {
        "days_in_month" => {
            let (y, m) = (time.year(), time.month());
            let next = if m == 12 {
                chrono::NaiveDate::from_ymd_opt(y + 1, 1, 1)
            } else {
                chrono::NaiveDate::from_ymd_opt(y, m + 1, 1)
            };
            next.and_then(|n| n.pred_opt())
                .map(|d| d.day() as f64)
                .unwrap_or(f64::NAN)
        }
        "day_of_month" => time.day() as f64,
        "day_of_week" => time.weekday().num_days_from_sunday() as f64,
        "day_of_year" => time.ordinal() as f64,
        "hour" => time.hour() as f64,
        "minute" => time.minute() as f64,
        "month" => time.month() as f64,
        _ => time.year() as f64,
    }
}

/// Quantiles from classic `le` buckets, per series group without `le`.
fn histogram_quantile(q: f64, samples: Vec<Sample>, t: i64) -> Vec<Sample> {
    let mut groups: Vec<(Labels, Vec<(f64, f64)>)> = Vec::new();
    for s in samples {
        let Some(le) = s.labels.get("le").and_then(parse_le) else {
            continue;
        };
        let key = s.labels.without(&["le", METRIC_NAME]);
        match groups.iter_mut().find(|(k, _)| *k == key) {
            Some((_, buckets)) => buckets.push((le, s.v)),
            None => groups.push((key, vec![(le, s.v)])),
        }
    }
    groups
        .into_iter()
        .map(|(labels, buckets)| Sample {
            labels,
            t,
            v: bucket_quantile(q, buckets),
        })
        .collect()
}

fn parse_le(text: &str) -> Option<f64> {
    match text {
        "+Inf" | "Inf" | "+inf" | "inf" => Some(f64::INFINITY),
        "-Inf" | "-inf" => Some(f64::NEG_INFINITY),
        "NaN" => Some(f64::NAN),
        _ => text.parse().ok(),
    }
}

fn bucket_quantile(q: f64, mut buckets: Vec<(f64, f64)>) -> f64 {
    if q.is_nan() {
        return f64::NAN;
    }
    if q < 0.0 {
        return f64::NEG_INFINITY;
    }
    if q > 1.0 {
        return f64::INFINITY;
    }
    buckets.sort_by(|a, b| compare(a.0, b.0));
    if buckets.last().is_none_or(|b| b.0 != f64::INFINITY) {
        return f64::NAN;
    }
    // Buckets with the same bound are summed; counts are forced monotonic.
    let mut merged: Vec<(f64, f64)> = Vec::new();
    for (le, count) in buckets {
        match merged.last_mut() {
            Some(last) if last.0 == le => last.1 += count,
            _ => merged.push((le, count)),
        }
    }
    let mut max = f64::NEG_INFINITY;
    for b in merged.iter_mut() {
        if b.1 < max {
            b.1 = max;
        } else {
            max = b.1;
        }
    }
    if merged.len() < 2 {
        return f64::NAN;
    }
    let observations = merged[merged.len() - 1].1;
    if observations == 0.0 {
        return f64::NAN;
    }
    let mut rank = q * observations;
    let b = merged
        .iter()
        .position(|x| x.1 >= rank)
        .unwrap_or(merged.len() - 1);
    if b == merged.len() - 1 {
        return merged[merged.len() - 2].0;
    }
    if b == 0 && merged[0].0 <= 0.0 {
        return merged[0].0;
    }
    let (mut start, end, mut count) = (0.0, merged[b].0, merged[b].1);
    if b > 0 {
        start = merged[b - 1].0;
        count -= merged[b - 1].1;
        rank -= merged[b - 1].1;
    }
    start + (end - start) * (rank / count)
}
