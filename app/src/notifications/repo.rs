//! Where a tenant's notification state lives: its Alertmanager configuration (validated whole
//! before it is written, audited), its alerts (merged and routed into the dispatcher's groups
//! in the transaction that receives them), its silences (audited).

use std::{
    collections::{BTreeMap, HashMap},
    sync::{Arc, LazyLock, Mutex},
};

use notify::{
    alert::Alert,
    config::{self, Config, ConfigFile},
    dispatch::{destinations, Group},
    matcher,
    silence::Silence,
    Labels,
};
use serde_json::{json, Value};
use sqlx::{PgConnection, PgPool, Row};
use uuid::Uuid;

use crate::{
    alerting::repo::invalid,
    error::AppError,
    ssr::{
        audit::{self, AuditEntry},
        scope::Scope,
    },
};

/// What a tenant that never configured notifications gets: every alert to its inbox, grouped by
/// alert name, with Alertmanager's timing.
pub const DEFAULT_CONFIG: &str = "route:
  receiver: inbox
  group_by: [alertname]
receivers:
  - name: inbox
    inbox_configs: [{}]
";

pub fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// Compiled configurations by tenant and version: compiling (regular expressions) is not done
/// again for every alert and flush.
static COMPILED: LazyLock<Mutex<HashMap<Uuid, (i32, Arc<Config>)>>> =
    LazyLock::new(|| Mutex::new(HashMap::new()));

fn default_config() -> Arc<Config> {
    static DEFAULT: LazyLock<Arc<Config>> = LazyLock::new(|| {
        Arc::new(config::parse(DEFAULT_CONFIG).expect("the default configuration is valid"))
    });
    DEFAULT.clone()
}

/// The tenant's configuration (the default when it has none) and its version (0 for the
/// default).
pub async fn config(conn: &mut PgConnection, tenant: Uuid) -> Result<(Arc<Config>, i32), AppError> {
    let row: Option<(i32, Value)> =
        sqlx::query_as("select version, config from notify_config where tenant_id = $1")
            .bind(tenant)
            .fetch_optional(conn)
            .await?;
    let Some((version, value)) = row else {
        return Ok((default_config(), 0));
    };
    if let Some((v, compiled)) = COMPILED.lock().unwrap().get(&tenant) {
        if *v == version {
            return Ok((compiled.clone(), version));
        }
    }
    let mut file: ConfigFile = serde_json::from_value(value).map_err(|_| AppError::Internal)?;
    super::secrets::open_file(&mut file)?;
    let compiled = Arc::new(Config::from_file(file).map_err(|p| invalid(&p))?);
    COMPILED
        .lock()
        .unwrap()
        .insert(tenant, (version, compiled.clone()));
    Ok((compiled, version))
}

/// The tenant's configuration as Alertmanager's YAML, its secrets written `<secret>`.
pub async fn export(scope: &Scope, pool: &PgPool, tenant: Uuid) -> Result<String, AppError> {
    if !scope.sees_tenant(tenant) {
        return Err(AppError::NotFound);
    }
    let mut tx = scope.begin(pool).await?;
    let (config, _) = config(tx.conn(), tenant).await?;
    Ok(shown_yaml(&config))
}

/// A configuration as the pages and APIs show it: secrets masked.
pub fn shown_yaml(config: &Config) -> String {
    config::to_yaml(&super::secrets::masked(&config.file))
}

/// Replaces the tenant's configuration with `text` (Alertmanager's YAML): checked whole first
/// (an error names its line), then written with its audit entry. Answers the new version.
pub async fn import(scope: &Scope, pool: &PgPool, tenant: Uuid, text: &str) -> Result<i32, AppError> {
    scope.require_editor(tenant)?;
    let parsed = config::parse(text).map_err(|p| invalid(&p))?;
    change(scope, pool, tenant, |_| Ok(parsed.file)).await
}

/// Replaces the tenant's configuration with the file `make` makes of the stored one (which it
/// has checked), with its audit entry, in one transaction. Answers the new version.
pub async fn change(
    scope: &Scope,
    pool: &PgPool,
    tenant: Uuid,
    make: impl FnOnce(&Config) -> Result<ConfigFile, AppError>,
) -> Result<i32, AppError> {
    scope.require_editor(tenant)?;
    let mut tx = scope.begin(pool).await?;
    // `<secret>` keeps the stored secret of its place.
    let (stored, version) = config(tx.conn(), tenant).await?;
    let mut file = make(&stored)?;
    super::secrets::carry_over(&mut file, (version > 0).then_some(&stored.file))?;
    super::secrets::seal_file(&mut file)?;
    let value = serde_json::to_value(&file).map_err(|_| AppError::Internal)?;
    let before: Option<Value> =
        sqlx::query_scalar("select config from notify_config where tenant_id = $1 for update")
            .bind(tenant)
            .fetch_optional(tx.conn())
            .await?;
    let version: i32 = sqlx::query_scalar(
        "insert into notify_config (tenant_id, config, updated_by) values ($1, $2, $3)
         on conflict (tenant_id) do update
            set config = excluded.config, version = notify_config.version + 1,
                updated_by = excluded.updated_by, updated_at = now()
         returning version",
    )
    .bind(tenant)
    .bind(&value)
    .bind(scope.actor.label())
    .fetch_one(tx.conn())
    .await?;
    let mut entry = AuditEntry::new("notifications.configure", "notify_config", tenant)
        .tenant(Some(tenant))
        .after(&value);
    if let Some(before) = before {
        entry = entry.before(before);
    }
    audit::record(&mut tx, entry).await?;
    tx.commit().await?;
    Ok(version)
}

/// Gives the tenant `text` as its configuration unless it has one (an edit is never undone).
pub async fn provision(scope: &Scope, pool: &PgPool, tenant: Uuid, text: &str) -> Result<(), AppError> {
    let mut tx = scope.begin(pool).await?;
    let exists: bool = sqlx::query_scalar("select exists (select 1 from notify_config where tenant_id = $1)")
        .bind(tenant)
        .fetch_one(tx.conn())
        .await?;
    drop(tx);
    if exists {
        return Ok(());
    }
    import(scope, pool, tenant, text).await.map(|_| ())
}

fn labels_of(value: &Value) -> Labels {
    serde_json::from_value(value.clone()).unwrap_or_default()
}

fn alert_of(row: &sqlx::postgres::PgRow) -> Alert {
    Alert {
        labels: labels_of(&row.get("labels")),
        annotations: labels_of(&row.get("annotations")),
        starts_at: row.get("starts_ms"),
        ends_at: row.get("ends_ms"),
        generator_url: row.get("generator_url"),
        updated_at: row.get("updated_ms"),
        timeout: row.get("timeout"),
    }
}

const ALERT_COLUMNS: &str = "labels, annotations, starts_ms, ends_ms, generator_url, updated_ms, timeout,
     received_ms, acknowledged_by";

/// An alert as the tenant's notifier keeps it.
#[derive(Clone, Debug)]
pub struct Stored {
    pub alert: Alert,
    /// When Meridian first heard it firing (this life).
    pub received_ms: i64,
    pub acknowledged_by: Option<String>,
}

/// The tenant's alerts by fingerprint.
pub async fn alerts(conn: &mut PgConnection, tenant: Uuid) -> Result<BTreeMap<u64, Stored>, sqlx::Error> {
    let rows = sqlx::query(&format!(
        "select {ALERT_COLUMNS} from notify_alert where tenant_id = $1"
    ))
    .bind(tenant)
    .fetch_all(conn)
    .await?;
    Ok(rows
        .iter()
        .map(|row| {
            let alert = alert_of(row);
            let stored = Stored {
                received_ms: row.get("received_ms"),
                acknowledged_by: row.get("acknowledged_by"),
                alert,
            };
            (stored.alert.fingerprint(), stored)
        })
        .collect())
}

/// The parts of a tenant's alerts the dispatcher's world needs: the alerts, and which are
/// acknowledged.
pub fn world_parts(stored: &BTreeMap<u64, Stored>) -> (BTreeMap<u64, Alert>, std::collections::BTreeSet<u64>) {
    let alerts = stored.iter().map(|(fp, s)| (*fp, s.alert.clone())).collect();
    let acknowledged = stored
        .iter()
        .filter(|(_, s)| s.acknowledged_by.is_some())
        .map(|(fp, _)| *fp)
        .collect();
    (alerts, acknowledged)
}

/// Receives alerts for the tenant at `now` (from its API or its rules): each is merged with the
/// copy kept, written, and put into the group of every route it matches, all in `conn`'s
/// transaction, so an alert is never kept without being routed.
pub async fn receive(
    conn: &mut PgConnection,
    tenant: Uuid,
    config: &Config,
    incoming: Vec<Alert>,
    now: i64,
) -> Result<(), sqlx::Error> {
    for alert in incoming {
        let fp = alert.fingerprint() as i64;
        let existing = sqlx::query(&format!(
            "select {ALERT_COLUMNS} from notify_alert
              where tenant_id = $1 and fingerprint = $2 for update"
        ))
        .bind(tenant)
        .bind(fp)
        .fetch_optional(&mut *conn)
        .await?;
        let old = existing.as_ref().map(alert_of);
        let stored = Alert::stored(old.as_ref(), alert);
        // Firing since when Meridian first heard of it (a new life starts the clock again).
        let received = match (&existing, &old) {
            (Some(row), Some(old)) if !old.resolved_at(now) || stored.resolved_at(now) => {
                row.get::<i64, _>("received_ms")
            }
            _ => now,
        };
        sqlx::query(
            "insert into notify_alert (tenant_id, fingerprint, labels, annotations, starts_ms,
                                       ends_ms, updated_ms, generator_url, timeout, received_ms)
             values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
             on conflict (tenant_id, fingerprint) do update
                set labels = excluded.labels, annotations = excluded.annotations,
                    starts_ms = excluded.starts_ms, ends_ms = excluded.ends_ms,
                    updated_ms = excluded.updated_ms, generator_url = excluded.generator_url,
                    timeout = excluded.timeout, received_ms = excluded.received_ms,
                    -- A new life of the alert needs a new acknowledgement.
                    acknowledged_by = case when notify_alert.received_ms = excluded.received_ms
                                           then notify_alert.acknowledged_by end,
                    acknowledged_at = case when notify_alert.received_ms = excluded.received_ms
                                           then notify_alert.acknowledged_at end",
        )
        .bind(tenant)
        .bind(fp)
        .bind(json!(stored.labels))
        .bind(json!(stored.annotations))
        .bind(stored.starts_at)
        .bind(stored.ends_at)
        .bind(stored.updated_at)
        .bind(&stored.generator_url)
        .bind(stored.timeout)
        .bind(received)
        .execute(&mut *conn)
        .await?;
        for destination in destinations(&config.route, &stored.labels) {
            let fresh = Group::new(&destination, now);
            sqlx::query(
                "insert into notify_group (tenant_id, route_id, receiver, group_key, labels, next_flush_ms)
                 values ($1, $2, $3, $4, $5, $6) on conflict do nothing",
            )
            .bind(tenant)
            .bind(&fresh.route_id)
            .bind(&fresh.receiver)
            .bind(&fresh.key)
            .bind(json!(fresh.labels))
            .bind(fresh.next_flush)
            .execute(&mut *conn)
            .await?;
            let row = sqlx::query(
                "select id, next_flush_ms, has_flushed, members from notify_group
                  where tenant_id = $1 and route_id = $2 and group_key = $3 for update",
            )
            .bind(tenant)
            .bind(&fresh.route_id)
            .bind(&fresh.key)
            .fetch_one(&mut *conn)
            .await?;
            let mut group = Group {
                next_flush: row.get("next_flush_ms"),
                has_flushed: row.get("has_flushed"),
                members: members_of(&row.get("members")),
                ..fresh
            };
            group.insert(&stored, destination.route, now);
            sqlx::query("update notify_group set next_flush_ms = $2, members = $3 where id = $1")
                .bind(row.get::<Uuid, _>("id"))
                .bind(group.next_flush)
                .bind(members_json(&group.members))
                .execute(&mut *conn)
                .await?;
        }
    }
    Ok(())
}

/// A group's members as stored: fingerprints (as the text of the bigint in `notify_alert`,
/// JSON keys) → updated_ms.
pub fn members_of(value: &Value) -> BTreeMap<u64, i64> {
    value
        .as_object()
        .into_iter()
        .flatten()
        .filter_map(|(k, v)| Some((k.parse::<i64>().ok()? as u64, v.as_i64()?)))
        .collect()
}

pub fn members_json(members: &BTreeMap<u64, i64>) -> Value {
    Value::Object(
        members
            .iter()
            .map(|(fp, at)| ((*fp as i64).to_string(), json!(at)))
            .collect(),
    )
}

// Silences.

fn silence_of(row: &sqlx::postgres::PgRow) -> Silence {
    let matchers: Vec<String> = serde_json::from_value(row.get("matchers")).unwrap_or_default();
    Silence {
        id: row.get::<Uuid, _>("id").to_string(),
        matchers: matchers.iter().filter_map(|m| matcher::parse(m).ok()).collect(),
        starts_at: row.get("starts_ms"),
        ends_at: row.get("ends_ms"),
        updated_at: row.get("updated_ms"),
        created_by: row.get("created_by"),
        comment: row.get("comment"),
    }
}

const SILENCE_COLUMNS: &str = "id, matchers, starts_ms, ends_ms, updated_ms, created_by, comment";

pub async fn silences(conn: &mut PgConnection, tenant: Uuid) -> Result<Vec<Silence>, sqlx::Error> {
    let rows = sqlx::query(&format!(
        "select {SILENCE_COLUMNS} from notify_silence where tenant_id = $1 order by starts_ms desc"
    ))
    .bind(tenant)
    .fetch_all(conn)
    .await?;
    Ok(rows.iter().map(silence_of).collect())
}

/// The silences a scope may see of the tenant.
pub async fn list_silences(scope: &Scope, pool: &PgPool, tenant: Uuid) -> Result<Vec<Silence>, AppError> {
    let mut tx = scope.begin(pool).await?;
    Ok(silences(tx.conn(), tenant).await?)
}

/// The tenant's silence `id` (locked until the transaction ends when `lock`); another
/// tenant's, or an id that is none, is not found.
async fn find_silence(conn: &mut PgConnection, tenant: Uuid, id: &str, lock: bool) -> Result<Silence, AppError> {
    let id: Uuid = id.parse().map_err(|_| AppError::NotFound)?;
    let lock = if lock { " for update" } else { "" };
    let row = sqlx::query(&format!(
        "select {SILENCE_COLUMNS} from notify_silence where tenant_id = $1 and id = $2{lock}"
    ))
    .bind(tenant)
    .bind(id)
    .fetch_optional(conn)
    .await?;
    row.as_ref().map(silence_of).ok_or(AppError::NotFound)
}

/// One silence.
pub async fn silence(scope: &Scope, pool: &PgPool, tenant: Uuid, id: &str) -> Result<Silence, AppError> {
    let mut tx = scope.begin(pool).await?;
    find_silence(tx.conn(), tenant, id, false).await
}

/// Creates a silence, or changes the one `new.id` names (Alertmanager's rules: a change it
/// cannot make in place expires the old one and creates a new one). Answers the id.
pub async fn save_silence(
    scope: &Scope,
    pool: &PgPool,
    tenant: Uuid,
    mut new: Silence,
) -> Result<String, AppError> {
    scope.require_editor(tenant)?;
    let now = now_ms();
    new.updated_at = now;
    new.validate(now)
        .map_err(|e| AppError::invalid("silence", e))?;
    let mut tx = scope.begin(pool).await?;
    let mut before = None;
    if !new.id.is_empty() {
        let mut old = find_silence(tx.conn(), tenant, &new.id, true).await?;
        if old.can_update_to(&new, now) {
            before = Some(old);
        } else {
            // Expire the old one (if it is not already) and make a new one.
            if old.expire(now).is_ok() {
                write_silence(tx.conn(), tenant, &old).await?;
                audit::record(
                    &mut tx,
                    AuditEntry::new("silence.expire", "silence", &old.id)
                        .tenant(Some(tenant))
                        .after(silence_json(&old, now)),
                )
                .await?;
            }
            new.id = String::new();
        }
    }
    if new.id.is_empty() {
        new.id = Uuid::new_v4().to_string();
    }
    write_silence(tx.conn(), tenant, &new).await?;
    let action = if before.is_some() { "silence.update" } else { "silence.create" };
    let mut entry = AuditEntry::new(action, "silence", &new.id)
        .tenant(Some(tenant))
        .after(silence_json(&new, now));
    if let Some(before) = before {
        entry = entry.before(silence_json(&before, now));
    }
    audit::record(&mut tx, entry).await?;
    tx.commit().await?;
    Ok(new.id)
}

/// Expires a silence now (Alertmanager's `DELETE /api/v2/silence/{id}`).
pub async fn expire_silence(scope: &Scope, pool: &PgPool, tenant: Uuid, id: &str) -> Result<(), AppError> {
    scope.require_editor(tenant)?;
    let now = now_ms();
    let mut tx = scope.begin(pool).await?;
    let mut silence = find_silence(tx.conn(), tenant, id, true).await?;
    let before = silence_json(&silence, now);
    silence
        .expire(now)
        .map_err(|e| AppError::invalid("silence", e))?;
    write_silence(tx.conn(), tenant, &silence).await?;
    audit::record(
        &mut tx,
        AuditEntry::new("silence.expire", "silence", &silence.id)
            .tenant(Some(tenant))
            .before(before)
            .after(silence_json(&silence, now)),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

async fn write_silence(conn: &mut PgConnection, tenant: Uuid, s: &Silence) -> Result<(), sqlx::Error> {
    let matchers: Vec<String> = s.matchers.iter().map(ToString::to_string).collect();
    sqlx::query(
        "insert into notify_silence (id, tenant_id, matchers, starts_ms, ends_ms, updated_ms, created_by, comment)
         values ($1, $2, $3, $4, $5, $6, $7, $8)
         on conflict (id) do update
            set matchers = excluded.matchers, starts_ms = excluded.starts_ms, ends_ms = excluded.ends_ms,
                updated_ms = excluded.updated_ms, created_by = excluded.created_by, comment = excluded.comment",
    )
    .bind(s.id.parse::<Uuid>().unwrap_or_default())
    .bind(tenant)
    .bind(json!(matchers))
    .bind(s.starts_at)
    .bind(s.ends_at)
    .bind(s.updated_at)
    .bind(&s.created_by)
    .bind(&s.comment)
    .execute(conn)
    .await?;
    Ok(())
}

/// A silence as Alertmanager's API v2 shows it (`gettableSilence`).
pub fn silence_json(s: &Silence, now: i64) -> Value {
    json!({
        "id": s.id,
        "status": {"state": s.state(now).as_str()},
        "updatedAt": api_time(s.updated_at),
        "comment": s.comment,
        "createdBy": s.created_by,
        "endsAt": api_time(s.ends_at),
        "matchers": s.matchers.iter().map(|m| json!({
            "isEqual": m.op.is_equal(),
            "isRegex": m.op.is_regex(),
            "name": m.name,
            "value": m.value,
        })).collect::<Vec<_>>(),
        "startsAt": api_time(s.starts_at),
    })
}

/// A time as Alertmanager's API writes it (`strfmt.DateTime`: milliseconds, UTC).
pub fn api_time(ms: i64) -> String {
    use chrono::TimeZone;
    chrono::Utc
        .timestamp_millis_opt(ms)
        .single()
        .map(|t| t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string())
        .unwrap_or_default()
}
