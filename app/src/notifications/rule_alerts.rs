//! The alerts of the tenants' own rules, handed to their notifiers as Prometheus hands alerts
//! to its Alertmanager, in the transaction that saves the evaluation.

use std::collections::BTreeMap;

use sqlx::PgConnection;
use uuid::Uuid;

use super::repo;

/// Prometheus re-sends a firing alert to its Alertmanager this often.
const RESEND_DELAY_MS: i64 = 60_000;

/// An alert of a tenant's rule after an evaluation at `ts`.
pub struct RuleAlert<'a> {
    pub tenant: Uuid,
    pub interval_ms: i64,
    pub ts: i64,
    pub alert: &'a rules::alert::Alert,
}

/// What Prometheus would send its Alertmanager after this evaluation, if anything: a firing
/// alert when it starts firing and then once a minute (its end a few intervals ahead, so it
/// resolves by itself if evaluation stops), a resolved one when it resolves.
fn as_sent(r: &RuleAlert, env: &rules::group::Env) -> Option<notify::alert::Alert> {
    let fired = r.alert.fired_at?;
    let ends_at = match (r.alert.state, r.alert.resolved_at) {
        (_, Some(resolved)) if resolved == r.ts => resolved,
        (rules::alert::State::Firing, None) => {
            let (since, before) = (r.ts - fired, r.ts - r.interval_ms - fired);
            let due = fired == r.ts || since / RESEND_DELAY_MS > before.max(-1) / RESEND_DELAY_MS;
            if !due {
                return None;
            }
            r.ts + 4 * RESEND_DELAY_MS.max(r.interval_ms)
        }
        _ => return None,
    };
    let mut labels: notify::Labels = env.external_labels.iter().cloned().collect();
    labels.extend(r.alert.labels.iter().cloned());
    Some(notify::alert::Alert {
        labels,
        annotations: r.alert.annotations.iter().cloned().collect(),
        starts_at: fired,
        ends_at,
        generator_url: format!("{}/alerts", env.external_url.trim_end_matches('/')),
        updated_at: r.ts,
        timeout: false,
    })
}

/// Hands the alerts of an evaluation to the tenants' notifiers, in the transaction that saves
/// the evaluation: an alert that fired is routed, or the evaluation is not saved.
pub async fn from_rules(
    conn: &mut PgConnection,
    env: &rules::group::Env,
    alerts: Vec<RuleAlert<'_>>,
) -> Result<(), sqlx::Error> {
    let mut by_tenant: BTreeMap<Uuid, Vec<notify::alert::Alert>> = BTreeMap::new();
    for r in alerts {
        if let Some(sent) = as_sent(&r, env) {
            by_tenant.entry(r.tenant).or_default().push(sent);
        }
    }
    let now = repo::now_ms();
    for (tenant, alerts) in by_tenant {
        match repo::config(conn, tenant).await {
            Ok((config, _)) => repo::receive(conn, tenant, &config, alerts, now).await?,
            Err(error) => {
                tracing::warn!(%tenant, error = %error, "A tenant's notification configuration does not load.")
            }
        }
    }
    Ok(())
}
