//! Writing and verifying the audit trail. Rows are appended inside the transaction of the change
//! they describe; the database links each to the previous one (see the migration), and
//! `verify_chain` recomputes every link.

use futures::TryStreamExt;
use serde_json::Value;
use sha2::{Digest, Sha256};
use sqlx::{PgPool, Row};
use uuid::Uuid;

use super::scope::{Admin, Scope, ScopedTx};

/// One change, as it goes into the trail.
pub struct AuditEntry {
    /// `noun.verb`, e.g. `tenant.rename`, `auth.login_failed`.
    pub action: &'static str,
    pub tenant: Option<Uuid>,
    pub target_type: &'static str,
    pub target_id: String,
    pub before: Option<Value>,
    pub after: Option<Value>,
}

impl AuditEntry {
    pub fn new(
        action: &'static str,
        target_type: &'static str,
        target_id: impl ToString,
    ) -> AuditEntry {
        AuditEntry {
            action,
            tenant: None,
            target_type,
            target_id: target_id.to_string(),
            before: None,
            after: None,
        }
    }

    pub fn tenant(mut self, tenant: Option<Uuid>) -> AuditEntry {
        self.tenant = tenant;
        self
    }

    pub fn before(mut self, value: impl serde::Serialize) -> AuditEntry {
        self.before = serde_json::to_value(value).ok();
        self
    }

    pub fn after(mut self, value: impl serde::Serialize) -> AuditEntry {
        self.after = serde_json::to_value(value).ok();
        self
    }
}

/// Appends `entry` in the caller's transaction, with the transaction's actor and request.
pub async fn record(tx: &mut ScopedTx<'_>, entry: AuditEntry) -> Result<(), sqlx::Error> {
    let scope = tx.scope().clone();
    record_by(tx, &scope, entry).await
}

/// Appends `entry` in the caller's transaction on behalf of `scope`'s actor.
pub async fn record_by(
    tx: &mut ScopedTx<'_>,
    scope: &Scope,
    entry: AuditEntry,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "insert into audit_event (actor_type, actor_id, actor_label, tenant_id, action, target_type, target_id,
                                  before, after, ip, user_agent, correlation_id)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
    )
    .bind(scope.actor.kind())
    .bind(scope.actor.id())
    .bind(scope.actor.label())
    .bind(entry.tenant)
    .bind(entry.action)
    .bind(entry.target_type)
    .bind(entry.target_id)
    .bind(entry.before)
    .bind(entry.after)
    .bind(scope.request.ip.map(sqlx::types::ipnetwork::IpNetwork::from))
    .bind(&scope.request.user_agent)
    .bind(&scope.request.correlation_id)
    .execute(tx.conn())
    .await?;
    Ok(())
}

#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct ChainReport {
    pub intact: bool,
    pub checked: i64,
    /// The first entry whose link does not hold, and why.
    pub first_broken: Option<BrokenLink>,
}

#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct BrokenLink {
    pub id: i64,
    pub reason: String,
}

/// Walks the whole trail in order, as an admin: it reads every row through the pool's own
/// connection (the tables' owner), which row-level security does not restrict.
pub async fn verify_chain(_admin: &Admin<'_>, pool: &PgPool) -> Result<ChainReport, sqlx::Error> {
    let mut rows = sqlx::query(
        "select id, prev_hash, hash, audit_event_canonical(e) as canonical from audit_event e order by id",
    )
    .fetch(pool);
    let mut expected_id = 1i64;
    let mut previous_hash = vec![0u8; 32];
    let mut checked = 0i64;
    let broken = |id: i64, reason: String, checked: i64| ChainReport {
        intact: false,
        checked,
        first_broken: Some(BrokenLink { id, reason }),
    };
    while let Some(row) = rows.try_next().await? {
        let id: i64 = row.get("id");
        let prev_hash: Vec<u8> = row.get("prev_hash");
        let hash: Vec<u8> = row.get("hash");
        let canonical: String = row.get("canonical");
        if id != expected_id {
            return Ok(broken(
                expected_id,
                format!("entry {expected_id} is missing (the next one is {id})"),
                checked,
            ));
        }
        if prev_hash != previous_hash {
            return Ok(broken(
                id,
                format!("entry {id} does not link to entry {}", id - 1),
                checked,
            ));
        }
        if Sha256::digest(canonical.as_bytes()).as_slice() != hash.as_slice() {
            return Ok(broken(
                id,
                format!("entry {id} was changed after it was written"),
                checked,
            ));
        }
        previous_hash = hash;
        expected_id += 1;
        checked += 1;
    }
    drop(rows);
    let (last_id, last_hash): (i64, Vec<u8>) =
        sqlx::query_as("select last_id, last_hash from audit_chain_head")
            .fetch_one(pool)
            .await?;
    if last_id != checked || last_hash != previous_hash {
        return Ok(broken(
            checked + 1,
            format!("entries after {checked} were removed (the chain ends at {last_id})"),
            checked,
        ));
    }
    Ok(ChainReport {
        intact: true,
        checked,
        first_broken: None,
    })
}
