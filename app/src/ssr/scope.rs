//! The tenant scope: who acts, in which role, over which tenants. Built only from a session or a
//! token, it is the first argument of every repository function, and every database transaction
//! it opens carries it to PostgreSQL, where row-level security enforces it a second time.

use sqlx::{PgConnection, PgPool, Postgres, Transaction};
use uuid::Uuid;

use super::request::RequestMeta;
use crate::{auth::Role, error::AppError};

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Actor {
    User { id: Uuid, email: String },
    Token { id: Uuid, prefix: String },
    System,
    Anonymous { label: String },
}

impl Actor {
    pub fn kind(&self) -> &'static str {
        match self {
            Actor::User { .. } => "user",
            Actor::Token { .. } => "token",
            Actor::System => "system",
            Actor::Anonymous { .. } => "anonymous",
        }
    }

    pub fn id(&self) -> Option<String> {
        match self {
            Actor::User { id, .. } | Actor::Token { id, .. } => Some(id.to_string()),
            Actor::System | Actor::Anonymous { .. } => None,
        }
    }

    pub fn label(&self) -> String {
        match self {
            Actor::User { email, .. } => email.clone(),
            Actor::Token { prefix, .. } => prefix.clone(),
            Actor::System => "system".to_string(),
            Actor::Anonymous { label } => label.clone(),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TenantAccess {
    All,
    Only(Vec<Uuid>),
}

/// Why [`Scope::chosen_tenant`] found no tenant.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TenantChoice {
    /// The caller sees several tenants and named none.
    Missing,
    NotAnId,
    /// A tenant the caller does not see (or none at all): answered as not found.
    NotVisible,
}

/// What an API token may do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TokenScope {
    Ingest,
    Read,
    Write,
}

impl TokenScope {
    pub const ALL: [TokenScope; 3] = [TokenScope::Ingest, TokenScope::Read, TokenScope::Write];

    pub fn as_str(self) -> &'static str {
        match self {
            TokenScope::Ingest => "ingest",
            TokenScope::Read => "read",
            TokenScope::Write => "write",
        }
    }

    pub fn parse(name: &str) -> Option<TokenScope> {
        TokenScope::ALL.into_iter().find(|s| s.as_str() == name)
    }
}

#[derive(Clone, Debug)]
pub struct Scope {
    pub actor: Actor,
    /// The user's role; `None` for API tokens, which carry `token_scopes` instead.
    pub role: Option<Role>,
    pub token_scopes: Vec<TokenScope>,
    pub tenants: TenantAccess,
    /// The tenant of a tenant user or token.
    pub home_tenant: Option<Uuid>,
    pub request: RequestMeta,
}

/// Proof that the scope may administer the installation: the only way to reach the repository
/// functions that change tenants, users and tokens.
#[must_use]
pub struct Admin<'a>(&'a Scope);

impl Admin<'_> {
    pub fn scope(&self) -> &Scope {
        self.0
    }
}

impl Scope {
    /// The installation acting on its own behalf (CLI, background jobs, login before the user is known).
    pub fn system(request: RequestMeta) -> Scope {
        Scope {
            actor: Actor::System,
            role: None,
            token_scopes: Vec::new(),
            tenants: TenantAccess::All,
            home_tenant: None,
            request,
        }
    }

    pub fn sees_tenant(&self, tenant: Uuid) -> bool {
        match &self.tenants {
            TenantAccess::All => true,
            TenantAccess::Only(ids) => ids.contains(&tenant),
        }
    }

    /// The tenant a read is about: the caller's own, or (for callers who see several) the one
    /// they name, which must be one they see. Callers word the refusal in their own protocol.
    pub fn chosen_tenant(&self, chosen: Option<&str>) -> Result<Uuid, TenantChoice> {
        if let Some(home) = self.home_tenant {
            return Ok(home);
        }
        let text = chosen.unwrap_or_default().trim();
        if text.is_empty() {
            return Err(TenantChoice::Missing);
        }
        match text.parse::<Uuid>() {
            Ok(id) if self.sees_tenant(id) => Ok(id),
            Ok(_) => Err(TenantChoice::NotVisible),
            Err(_) => Err(TenantChoice::NotAnId),
        }
    }

    pub fn require_admin(&self) -> Result<Admin<'_>, AppError> {
        match (&self.actor, self.role) {
            (Actor::System, _) | (_, Some(Role::Admin)) => Ok(Admin(self)),
            _ => Err(AppError::Forbidden),
        }
    }

    /// A signed-in user (any role) or a token with `read`.
    pub fn require_read(&self) -> Result<(), AppError> {
        match (&self.actor, self.role) {
            (Actor::User { .. }, Some(_)) | (Actor::System, _) => Ok(()),
            (Actor::Token { .. }, _) if self.token_scopes.contains(&TokenScope::Read) => Ok(()),
            _ => Err(AppError::Forbidden),
        }
    }

    /// A tenant's token with `ingest`: answers the tenant the samples belong to. The tenant
    /// comes from the credential only, never from the request.
    pub fn require_ingest(&self) -> Result<Uuid, AppError> {
        match (&self.actor, self.home_tenant) {
            (Actor::Token { .. }, Some(tenant))
                if self.token_scopes.contains(&TokenScope::Ingest) =>
            {
                Ok(tenant)
            }
            _ => Err(AppError::Forbidden),
        }
    }

    /// May this scope change a tenant's configuration (scrape jobs, later rules and dashboards)?
    /// Admins may change any; a tenant editor or a token with `write` only its own tenant.
    pub fn require_editor(&self, tenant: Uuid) -> Result<(), AppError> {
        let own = self.home_tenant == Some(tenant);
        match (&self.actor, self.role) {
            (Actor::System, _) | (_, Some(Role::Admin)) => Ok(()),
            (Actor::User { .. }, Some(Role::TenantEditor)) if own => Ok(()),
            (Actor::Token { .. }, _) if own && self.token_scopes.contains(&TokenScope::Write) => {
                Ok(())
            }
            _ if !self.sees_tenant(tenant) => Err(AppError::NotFound),
            _ => Err(AppError::Forbidden),
        }
    }

    /// The tenant a new configuration item goes to. A tenant editor or token always gets its own
    /// tenant (naming another answers 404, as that tenant does not exist for it); only an admin
    /// chooses, and must.
    pub fn tenant_to_edit(&self, requested: Option<Uuid>) -> Result<Uuid, AppError> {
        let tenant = match (self.home_tenant, requested) {
            (Some(home), None) => home,
            (_, Some(tenant)) => tenant,
            (None, None) if self.require_admin().is_ok() => {
                return Err(AppError::invalid("tenant", "choose a tenant"))
            }
            (None, None) => return Err(AppError::Forbidden),
        };
        self.require_editor(tenant)?;
        Ok(tenant)
    }

    /// Opens a transaction that acts as `meridian_app` and sees only this scope's tenants.
    pub async fn begin(&self, pool: &PgPool) -> Result<ScopedTx<'_>, sqlx::Error> {
        let mut tx = pool.begin().await?;
        // set_config(…, true) is SET LOCAL: it ends with the transaction, so a pooled
        // connection never carries one request's role or tenants into the next.
        let (all, ids) = match &self.tenants {
            TenantAccess::All => ("on", String::new()),
            TenantAccess::Only(ids) => (
                "",
                format!(
                    "{{{}}}",
                    ids.iter()
                        .map(Uuid::to_string)
                        .collect::<Vec<_>>()
                        .join(",")
                ),
            ),
        };
        // The role decides which global dashboards a scope sees (their policy reads it).
        let role = match (&self.actor, self.role) {
            (Actor::System, _) => "system",
            (_, Some(role)) => role.as_str(),
            (Actor::Token { .. }, None) => "token",
            _ => "",
        };
        sqlx::query(
            "select set_config('role', 'meridian_app', true), set_config('meridian.all_tenants', $1, true),
                    set_config('meridian.tenant_ids', $2, true), set_config('meridian.role', $3, true)",
        )
        .bind(all)
        .bind(ids)
        .bind(role)
        .execute(&mut *tx)
        .await?;
        Ok(ScopedTx { tx, scope: self })
    }
}

/// A transaction bound to a scope. Mutations and their audit entries go through one of these,
/// so they commit or roll back together.
pub struct ScopedTx<'s> {
    tx: Transaction<'static, Postgres>,
    scope: &'s Scope,
}

impl ScopedTx<'_> {
    pub fn conn(&mut self) -> &mut PgConnection {
        &mut self.tx
    }

    pub fn scope(&self) -> &Scope {
        self.scope
    }

    pub async fn commit(self) -> Result<(), sqlx::Error> {
        self.tx.commit().await
    }
}
