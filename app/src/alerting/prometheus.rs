//! The `data` of Prometheus' `GET /api/v1/rules` and `GET /api/v1/alerts` for a tenant, in
//! Prometheus' JSON shapes, so Grafana and other clients list Meridian's rules and alerts.

use std::collections::HashMap;

use chrono::{SecondsFormat, TimeZone, Utc};
use rules::{
    alert::Alert,
    file::{Group, Kind},
    group::{rule_labels, RuleState},
};
use serde_json::{json, Value};
use sqlx::PgPool;
use uuid::Uuid;

use super::evaluator::rule_keys;
use crate::{error::AppError, ssr::scope::Scope};

/// What `GET /api/v1/rules` may narrow the answer to (Prometheus' parameters).
#[derive(Clone, Debug, Default)]
pub struct Filter {
    /// `alert` or `record`; empty for both.
    pub kind: String,
    pub rule_names: Vec<String>,
    pub group_names: Vec<String>,
}

struct Loaded {
    group: Group,
    interval_ms: i64,
    rules: HashMap<String, RuleState>,
    last_eval_ms: Option<i64>,
    last_duration_ms: Option<f64>,
}

async fn load(scope: &Scope, pool: &PgPool, tenant: Uuid) -> Result<Vec<Loaded>, AppError> {
    scope.require_read()?;
    if !scope.sees_tenant(tenant) {
        return Err(AppError::NotFound);
    }
    let mut tx = scope.begin(pool).await?;
    let rows: Vec<(Value, i64, Option<Value>, Option<i64>, Option<f64>)> = sqlx::query_as(
        "select g.definition, g.interval_ms, s.rules, s.last_eval_ms, s.last_duration_ms
           from rule_group g left join rule_group_state s on s.group_id = g.id
          where g.tenant_id = $1 order by g.name",
    )
    .bind(tenant)
    .fetch_all(tx.conn())
    .await?;
    tx.commit().await?;
    Ok(rows
        .into_iter()
        .filter_map(
            |(definition, interval_ms, rules, last_eval_ms, last_duration_ms)| {
                Some(Loaded {
                    group: serde_json::from_value(definition).ok()?,
                    interval_ms,
                    rules: rules
                        .and_then(|r| serde_json::from_value(r).ok())
                        .unwrap_or_default(),
                    last_eval_ms,
                    last_duration_ms,
                })
            },
        )
        .collect())
}

fn rfc3339(ms: i64) -> String {
    Utc.timestamp_millis_opt(ms)
        .single()
        .unwrap_or_default()
        .to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

/// Prometheus' zero time, for what never happened.
const NEVER: &str = "0001-01-01T00:00:00Z";

fn pairs(labels: &rules::Labels) -> Value {
    Value::Object(
        labels
            .iter()
            .map(|(k, v)| (k.clone(), Value::String(v.clone())))
            .collect(),
    )
}

/// A sample value as Prometheus' alerts API writes it (`strconv.FormatFloat(v, 'e', -1, 64)`).
fn value_text(v: f64) -> String {
    if v.is_nan() {
        return "NaN".into();
    }
    if v.is_infinite() {
        return if v > 0.0 { "+Inf" } else { "-Inf" }.into();
    }
    let text = format!("{v:e}");
    let (mantissa, exp) = text.split_once('e').unwrap_or((&text, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let sign = if exp < 0 { '-' } else { '+' };
    format!("{mantissa}e{sign}{:02}", exp.abs())
}

fn alert_json(alert: &Alert) -> Value {
    let mut out = json!({
        "labels": pairs(&alert.labels),
        "annotations": pairs(&alert.annotations),
        "state": alert.state.as_str(),
        "activeAt": rfc3339(alert.active_at),
        "value": value_text(alert.value),
    });
    if let Some(since) = alert.keep_firing_since {
        out["keepFiringSince"] = Value::String(rfc3339(since));
    }
    out
}

/// `{"groups": [...]}` for the tenant.
pub async fn rules(
    scope: &Scope,
    pool: &PgPool,
    tenant: Uuid,
    filter: &Filter,
) -> Result<Value, AppError> {
    let mut groups = Vec::new();
    for loaded in load(scope, pool, tenant).await? {
        let group = &loaded.group;
        if !filter.group_names.is_empty() && !filter.group_names.contains(&group.name) {
            continue;
        }
        let mut out_rules = Vec::new();
        for (rule, key) in group.rules.iter().zip(rule_keys(group)) {
            let wanted_kind = match filter.kind.as_str() {
                "alert" => rule.kind == Kind::Alert,
                "record" => rule.kind == Kind::Record,
                _ => true,
            };
            if !wanted_kind
                || (!filter.rule_names.is_empty() && !filter.rule_names.contains(&rule.name))
            {
                continue;
            }
            let state = loaded.rules.get(&key).cloned().unwrap_or_default();
            let (rule_state, health) = super::repo::rule_status(rule.kind, &state);
            let mut out = json!({
                "name": rule.name,
                "query": rule.expr,
                "labels": pairs(&rule_labels(group, rule)),
                "health": health,
                "lastError": state.last_error.clone().unwrap_or_default(),
                "evaluationTime": 0.0,
                "lastEvaluation": state.last_eval_ms.map_or(NEVER.to_string(), rfc3339),
            });
            if rule.kind == Kind::Alert {
                let alerts: Vec<&Alert> = state.alerts.current().collect();
                out["type"] = json!("alerting");
                out["state"] = json!(rule_state);
                out["duration"] = json!(rule.for_ms as f64 / 1000.0);
                out["keepFiringFor"] = json!(rule.keep_firing_for_ms as f64 / 1000.0);
                out["annotations"] = pairs(&rule.annotations);
                out["alerts"] = Value::Array(alerts.into_iter().map(alert_json).collect());
            } else {
                out["type"] = json!("recording");
            }
            out_rules.push(out);
        }
        if out_rules.is_empty() && (!filter.rule_names.is_empty() || !filter.kind.is_empty()) {
            continue;
        }
        groups.push(json!({
            "name": group.name,
            "file": "meridian",
            "rules": out_rules,
            "interval": loaded.interval_ms as f64 / 1000.0,
            "limit": group.limit,
            "evaluationTime": loaded.last_duration_ms.unwrap_or(0.0) / 1000.0,
            "lastEvaluation": loaded.last_eval_ms.map_or(NEVER.to_string(), rfc3339),
        }));
    }
    Ok(json!({ "groups": groups }))
}

/// `{"alerts": [...]}`: the tenant's pending and firing alerts.
pub async fn alerts(scope: &Scope, pool: &PgPool, tenant: Uuid) -> Result<Value, AppError> {
    let mut alerts = Vec::new();
    for loaded in load(scope, pool, tenant).await? {
        for state in loaded.rules.values() {
            alerts.extend(state.alerts.current().map(alert_json));
        }
    }
    Ok(json!({ "alerts": alerts }))
}

/// The tenant's groups as a Prometheus rule file.
pub async fn rule_file(scope: &Scope, pool: &PgPool, tenant: Uuid) -> Result<String, AppError> {
    let groups: Vec<Group> = super::repo::list(scope, pool, tenant)
        .await?
        .into_iter()
        .map(|g| g.group)
        .collect();
    Ok(rules::file::to_yaml(&groups))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_as_prometheus_writes_them() {
        assert_eq!(value_text(1.0), "1e+00");
        assert_eq!(value_text(0.25), "2.5e-01");
        assert_eq!(value_text(1234.5), "1.2345e+03");
        assert_eq!(value_text(f64::NAN), "NaN");
    }
}
