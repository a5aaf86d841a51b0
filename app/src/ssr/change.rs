//! The one way a repository changes a record: open the scope's transaction, lock and read the
//! record as it was, let the caller change it, read it again, append the audit entry with both
//! versions, commit. The change and its audit entry commit or roll back together.

use std::future::Future;

use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use super::{
    audit::{self, AuditEntry},
    scope::{Scope, ScopedTx},
};
use crate::error::AppError;

/// A record whose changes are audited: how to read it and how the trail names it.
pub trait Audited: serde::Serialize + Clone + Send + Sized {
    /// The audit entry's `target_type`, e.g. `scrape_job`.
    const TARGET: &'static str;
    fn id(&self) -> Uuid;
    /// The tenant the entry belongs to; `None` for installation-wide records.
    fn tenant(&self) -> Option<Uuid>;
    /// Reads the record in `tx`, locked until it ends when `lock`; `NotFound` when the scope
    /// does not see it.
    fn fetch(
        tx: &mut ScopedTx<'_>,
        id: Uuid,
        lock: bool,
    ) -> impl Future<Output = Result<Self, AppError>> + Send;
}

/// A change in progress: the transaction, and the record as it was (none for a creation).
pub struct Change<'s, R: Audited> {
    tx: ScopedTx<'s>,
    before: Option<R>,
}

impl<'s, R: Audited> Change<'s, R> {
    /// Starts creating a record.
    pub async fn create(scope: &'s Scope, pool: &PgPool) -> Result<Change<'s, R>, AppError> {
        Ok(Change {
            tx: scope.begin(pool).await?,
            before: None,
        })
    }

    /// Starts changing the record `id`: answers the change and the record as it is, locked.
    pub async fn edit(
        scope: &'s Scope,
        pool: &PgPool,
        id: Uuid,
    ) -> Result<(Change<'s, R>, R), AppError> {
        let mut tx = scope.begin(pool).await?;
        let before = R::fetch(&mut tx, id, true).await?;
        Ok((
            Change {
                tx,
                before: Some(before.clone()),
            },
            before,
        ))
    }

    /// Makes a creation an edit of `before`, which the caller read (and locked) in this change's
    /// transaction.
    pub fn editing(mut self, before: R) -> Change<'s, R> {
        self.before = Some(before);
        self
    }

    pub fn tx(&mut self) -> &mut ScopedTx<'s> {
        &mut self.tx
    }

    pub fn conn(&mut self) -> &mut PgConnection {
        self.tx.conn()
    }

    pub fn scope(&self) -> &Scope {
        self.tx.scope()
    }

    /// Ends a creation or an edit: reads the record `id` again, audits `action` with the
    /// record before (if any) and after, commits, and answers the record.
    pub async fn commit(mut self, action: &'static str, id: Uuid) -> Result<R, AppError> {
        let after = R::fetch(&mut self.tx, id, false).await?;
        // A record that leaves a tenant stays in that tenant's trail.
        let tenant = after
            .tenant()
            .or_else(|| self.before.as_ref().and_then(R::tenant));
        let mut entry = AuditEntry::new(action, R::TARGET, id)
            .tenant(tenant)
            .after(&after);
        if let Some(before) = &self.before {
            entry = entry.before(before);
        }
        self.finish(entry).await?;
        Ok(after)
    }

    /// Ends a deletion: audits `action` with the record as it was, commits, answers it.
    pub async fn commit_deletion(self, action: &'static str) -> Result<R, AppError> {
        let before = self.before.clone().ok_or(AppError::NotFound)?;
        let entry = AuditEntry::new(action, R::TARGET, before.id())
            .tenant(before.tenant())
            .before(&before);
        self.finish(entry).await?;
        Ok(before)
    }

    async fn finish(mut self, entry: AuditEntry) -> Result<(), AppError> {
        audit::record(&mut self.tx, entry).await?;
        self.tx.commit().await?;
        Ok(())
    }
}
