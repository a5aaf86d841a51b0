//! Alerting and recording rules: groups per tenant (`repo`), the evaluator every replica runs
//! (`evaluator`), and Prometheus' rules and alerts APIs' answers (`api`). The rule semantics
//! themselves live in `crates/rules`.

pub mod api;
pub mod backfill;
pub mod backtest;
pub mod evaluator;
pub mod repo;
