//! The backtest: an alerting rule over a past window of the tenant's data, at its group's
//! interval, through the live evaluator's state machine (`rules::backtest`). The expression is
//! evaluated as range queries (one for each stretch of at most `MAX_POINTS` evaluations), which
//! gives what an instant query at each evaluation time would.
//!
//! Recording rules are read from the store, where the evaluator wrote them; a rule's templates
//! cannot run `query` here (they show the error in its place).

use std::collections::BTreeMap;

use rules::{
    backtest::{self, Backtest},
    file::{Group, Kind, RuleDef},
    group::{pairs, RuleState},
    Labels,
};
use uuid::Uuid;

use crate::{
    error::AppError,
    query::{self, MAX_POINTS},
    ssr::AppState,
};

/// The longest window a backtest may cover.
pub const MAX_WINDOW_MS: i64 = 31 * 86_400_000;

/// Backtests `rule` (an alerting rule of `group`) over `from..=to` (ms), evaluated at
/// `from + k * step_ms`.
pub async fn run(
    state: &AppState,
    tenant: Uuid,
    group: &Group,
    rule: &RuleDef,
    (from, to, step_ms): (i64, i64, i64),
) -> Result<Backtest, AppError> {
    if rule.kind != Kind::Alert {
        return Err(AppError::invalid(
            "rule",
            "only an alerting rule can be backtested",
        ));
    }
    if step_ms < 1_000 {
        return Err(AppError::invalid(
            "interval",
            "the interval must be at least 1s",
        ));
    }
    if to < from || to - from > MAX_WINDOW_MS {
        return Err(AppError::invalid(
            "window",
            "the window must end after it starts and span at most 31 days",
        ));
    }
    let results = results(state, tenant, &rule.expr, (from, to, step_ms)).await;
    Ok(backtest::run(
        group,
        rule,
        step_ms,
        results,
        &state.rule_templates,
        &mut RuleState::default(),
        &mut |_, _| {},
    ))
}

/// One rule's results: the expression at each of `from + k * step_ms` up to `to`.
pub type Results = Vec<(i64, Result<Vec<(Labels, f64)>, String>)>;

/// The expression's result at each step, from range queries of at most `MAX_POINTS` steps.
pub async fn results(
    state: &AppState,
    tenant: Uuid,
    expr: &str,
    (from, to, step_ms): (i64, i64, i64),
) -> Results {
    let mut results = Vec::new();
    let mut start = from;
    while start <= to {
        let end = (start + (MAX_POINTS - 1) * step_ms).min(to);
        let span = (start, end, step_ms);
        let answer = query::run(&state.store, tenant, expr, span, state.query_limits).await;
        let steps = (start..=end).step_by(step_ms as usize);
        match answer {
            Ok(promql::Value::Matrix(series)) => results.extend(by_step(series, steps)),
            Ok(_) => {
                results.extend(steps.map(|t| (t, Err("the expression gives no vector".into()))))
            }
            Err(error) => {
                let message = error.to_string();
                results.extend(steps.map(|t| (t, Err(message.clone()))));
            }
        }
        start = end + step_ms;
    }
    results
}

/// A range query's series as the vector an instant query would give at each step.
fn by_step(series: Vec<promql::Series>, steps: impl Iterator<Item = i64>) -> Results {
    let mut at: BTreeMap<i64, Vec<(Labels, f64)>> = steps.map(|t| (t, Vec::new())).collect();
    for s in series {
        let labels = pairs(&s.labels);
        for (t, v) in s.points {
            if let Some(vector) = at.get_mut(&t) {
                vector.push((labels.clone(), v));
            }
        }
    }
    at.into_iter().map(|(t, v)| (t, Ok(v))).collect()
}
