//! Sessions, logins with lockout, and the credentials of machines (API tokens, JWTs), each
//! turned into a `Scope`.

use std::time::Duration;

use sqlx::Row;
use tower_sessions::Session;
use uuid::Uuid;

use super::Role;
use crate::{
    error::AppError,
    ssr::{
        audit::{self, AuditEntry},
        passwords,
        request::RequestMeta,
        scope::{Actor, Scope, TenantAccess, TokenScope},
        security::SecurityEvent,
        tokens::{self, Claims},
        AppState,
    },
};

const SESSION_USER: &str = "user_id";
const SESSION_CSRF: &str = "csrf";
const SESSION_AUTH_AT: &str = "auth_at";

/// A signed-in user as the database knows them now.
#[derive(Clone, Debug)]
pub struct UserRecord {
    pub id: Uuid,
    pub email: String,
    pub display_name: String,
    pub role: Role,
    pub tenant_id: Option<Uuid>,
    pub tenant_name: Option<String>,
    pub managed_tenants: Vec<Uuid>,
}

impl UserRecord {
    pub fn scope(&self, request: RequestMeta) -> Scope {
        let tenants = match (self.role, self.tenant_id) {
            (Role::Admin, _) => TenantAccess::All,
            (Role::Manager, _) if self.managed_tenants.is_empty() => TenantAccess::All,
            (Role::Manager, _) => TenantAccess::Only(self.managed_tenants.clone()),
            (_, tenant) => TenantAccess::Only(tenant.into_iter().collect()),
        };
        Scope {
            actor: Actor::User {
                id: self.id,
                email: self.email.clone(),
            },
            role: Some(self.role),
            token_scopes: Vec::new(),
            tenants,
            home_tenant: self.tenant_id,
            request,
        }
    }
}

/// The user with this id if they, and their tenant, are active.
pub async fn load_active_user(state: &AppState, id: Uuid) -> Result<Option<UserRecord>, AppError> {
    let system = Scope::system(RequestMeta::default());
    let mut tx = system.begin(&state.pool).await?;
    let row = sqlx::query(
        "select u.id, u.email, u.display_name, u.role, u.tenant_id, t.name as tenant_name,
                coalesce((select array_agg(m.tenant_id) from manager_tenant m join tenant mt on mt.id = m.tenant_id
                          where m.user_id = u.id and mt.active), '{}') as managed
         from app_user u left join tenant t on t.id = u.tenant_id
         where u.id = $1 and u.active and coalesce(t.active, true)",
    )
    .bind(id)
    .fetch_optional(tx.conn())
    .await?;
    tx.commit().await?;
    Ok(row.map(|row| UserRecord {
        id: row.get("id"),
        email: row.get("email"),
        display_name: row.get("display_name"),
        role: Role::parse(row.get::<String, _>("role").as_str()).unwrap_or(Role::TenantViewer),
        tenant_id: row.get("tenant_id"),
        tenant_name: row.get("tenant_name"),
        managed_tenants: row.get("managed"),
    }))
}

/// The user of this session, when the session is valid and within its absolute lifetime.
pub async fn session_user(
    state: &AppState,
    session: &Session,
) -> Result<Option<UserRecord>, AppError> {
    let Some(id) = session
        .get::<Uuid>(SESSION_USER)
        .await
        .map_err(session_error)?
    else {
        return Ok(None);
    };
    let auth_at = session
        .get::<i64>(SESSION_AUTH_AT)
        .await
        .map_err(session_error)?
        .unwrap_or(0);
    let age = chrono::Utc::now().timestamp() - auth_at;
    if age < 0 || age as u64 > state.auth.session_absolute.as_secs() {
        session.flush().await.map_err(session_error)?;
        return Ok(None);
    }
    let user = load_active_user(state, id).await?;
    if user.is_none() {
        // Deactivated since the login: end the session.
        session.flush().await.map_err(session_error)?;
    }
    Ok(user)
}

pub async fn scope_from_session(
    state: &AppState,
    session: &Session,
    request: RequestMeta,
) -> Result<Scope, AppError> {
    session_user(state, session)
        .await?
        .map(|user| user.scope(request))
        .ok_or(AppError::Unauthorized)
}

pub async fn csrf_token(session: &Session) -> Result<String, AppError> {
    Ok(session
        .get::<String>(SESSION_CSRF)
        .await
        .map_err(session_error)?
        .unwrap_or_default())
}

pub async fn csrf_matches(session: &Session, presented: &str) -> Result<bool, AppError> {
    let expected = csrf_token(session).await?;
    Ok(!expected.is_empty() && tokens::digests_match(expected.as_bytes(), presented.as_bytes()))
}

fn session_error(error: tower_sessions::session::Error) -> AppError {
    tracing::error!(error = %error, "Session store error.");
    AppError::Internal
}

const WRONG_CREDENTIALS: &str = "Wrong email or password.";

/// Checks a password login against the lockout policy. On success the session gets a new id
/// (no fixation), the user and a fresh CSRF token; every outcome is audited.
pub async fn login(
    state: &AppState,
    session: Option<&Session>,
    request: RequestMeta,
    email: &str,
    password: String,
) -> Result<UserRecord, AppError> {
    let email = email.trim().to_lowercase();
    if email.is_empty() {
        return Err(AppError::invalid("email", "is required"));
    }
    let policy = state.auth.lockout;
    let window = interval(policy.window);
    let system = Scope {
        actor: Actor::Anonymous {
            label: email.clone(),
        },
        ..Scope::system(request.clone())
    };
    let ip = request.ip.map(sqlx::types::ipnetwork::IpNetwork::from);

    let mut tx = system.begin(&state.pool).await?;
    let from_address: i64 = sqlx::query_scalar(
        "select count(*) from login_failure where ip = $1 and created_at > now() - $2::interval",
    )
    .bind(ip)
    .bind(&window)
    .fetch_one(tx.conn())
    .await?;
    if ip.is_some() && from_address >= policy.max_failures_per_ip {
        audit::record(
            &mut tx,
            AuditEntry::new("auth.login_refused", "user", &email)
                .after(serde_json::json!({"reason": "address rate limited"})),
        )
        .await?;
        tx.commit().await?;
        SecurityEvent::AddressRateLimited.emit("too many failed logins from one address");
        return Err(AppError::TooManyRequests(
            "Too many failed logins from this address; try again later.".into(),
        ));
    }

    let account = sqlx::query(
        "select u.id, u.password_hash, u.active and coalesce(t.active, true) as active, u.tenant_id,
                u.locked_until > now() as locked
         from app_user u left join tenant t on t.id = u.tenant_id where lower(u.email) = $1",
    )
    .bind(&email)
    .fetch_optional(tx.conn())
    .await?;
    let (recent_failures, locked_by_failures): (i64, bool) = sqlx::query_as(
        "select count(*), coalesce(count(*) >= $3 and max(created_at) + $4::interval > now(), false)
         from login_failure where email = $1 and created_at > now() - $2::interval",
    )
    .bind(&email)
    .bind(&window)
    .bind(policy.max_failures)
    .bind(interval(policy.lock_for))
    .fetch_one(tx.conn())
    .await?;

    let user_id: Option<Uuid> = account.as_ref().map(|row| row.get("id"));
    let tenant_id: Option<Uuid> = account.as_ref().and_then(|row| row.get("tenant_id"));
    let active = account
        .as_ref()
        .map(|row| row.get::<bool, _>("active"))
        .unwrap_or(false);
    let locked = locked_by_failures
        || account
            .as_ref()
            .and_then(|row| row.get::<Option<bool>, _>("locked"))
            .unwrap_or(false);
    // Always hash, so the answer takes as long for unknown, locked and inactive accounts.
    let stored = account
        .as_ref()
        .filter(|_| !locked)
        .map(|row| row.get::<String, _>("password_hash"));
    let password_ok = passwords::verify(password, stored).await?;

    let target = user_id
        .map(|id| id.to_string())
        .unwrap_or_else(|| email.clone());
    if locked {
        audit::record(
            &mut tx,
            AuditEntry::new("auth.login_failed", "user", &target)
                .tenant(tenant_id)
                .after(serde_json::json!({"reason": "account locked"})),
        )
        .await?;
        tx.commit().await?;
        SecurityEvent::LoginWhileLocked.emit("login attempt on a locked account");
        let minutes = policy.lock_for.as_secs().div_ceil(60);
        return Err(AppError::invalid(
            "password",
            format!("Too many failed logins: this account is locked for up to {minutes} minutes."),
        ));
    }
    if !password_ok || !active {
        let reason = match (user_id, password_ok) {
            (None, _) => "unknown account",
            (Some(_), false) => "wrong password",
            (Some(_), true) => "account or tenant deactivated",
        };
        sqlx::query("insert into login_failure (email, ip) values ($1, $2)")
            .bind(&email)
            .bind(ip)
            .execute(tx.conn())
            .await?;
        audit::record(
            &mut tx,
            AuditEntry::new("auth.login_failed", "user", &target)
                .tenant(tenant_id)
                .after(serde_json::json!({"reason": reason})),
        )
        .await?;
        let now_locked = recent_failures + 1 >= policy.max_failures;
        if now_locked {
            if let Some(id) = user_id {
                sqlx::query(
                    "update app_user set locked_until = now() + $2::interval where id = $1",
                )
                .bind(id)
                .bind(interval(policy.lock_for))
                .execute(tx.conn())
                .await?;
            }
            audit::record(&mut tx, AuditEntry::new("user.lock", "user", &target).tenant(tenant_id)
                .after(serde_json::json!({"failures": recent_failures + 1, "locked_for_seconds": policy.lock_for.as_secs()}))).await?;
        }
        tx.commit().await?;
        SecurityEvent::LoginFailed.emit(reason);
        if now_locked {
            SecurityEvent::AccountLocked.emit("failed-login limit reached");
        }
        return Err(AppError::invalid("password", WRONG_CREDENTIALS));
    }

    let id = user_id.expect("a verified password belongs to an account");
    sqlx::query("delete from login_failure where email = $1")
        .bind(&email)
        .execute(tx.conn())
        .await?;
    sqlx::query("update app_user set last_login_at = now(), locked_until = null where id = $1")
        .bind(id)
        .execute(tx.conn())
        .await?;
    let user = load_active_user(state, id)
        .await?
        .ok_or(AppError::Internal)?;
    // Known only now: the entry names the user who signed in, not the anonymous caller.
    audit::record_by(
        &mut tx,
        &user.scope(request),
        AuditEntry::new("auth.login", "user", id).tenant(user.tenant_id),
    )
    .await?;
    tx.commit().await?;

    if let Some(session) = session {
        session.cycle_id().await.map_err(session_error)?;
        session
            .insert(SESSION_USER, id)
            .await
            .map_err(session_error)?;
        session
            .insert(SESSION_AUTH_AT, chrono::Utc::now().timestamp())
            .await
            .map_err(session_error)?;
        session
            .insert(SESSION_CSRF, tokens::generate_api_token().secret)
            .await
            .map_err(session_error)?;
    }
    Ok(user)
}

pub async fn logout(
    state: &AppState,
    session: &Session,
    request: RequestMeta,
) -> Result<(), AppError> {
    if let Some(user) = session_user(state, session).await? {
        let scope = user.scope(request);
        let mut tx = scope.begin(&state.pool).await?;
        audit::record(
            &mut tx,
            AuditEntry::new("auth.logout", "user", user.id).tenant(user.tenant_id),
        )
        .await?;
        tx.commit().await?;
    }
    session.flush().await.map_err(session_error)?;
    Ok(())
}

fn interval(duration: Duration) -> String {
    format!("{} seconds", duration.as_secs())
}

/// Why a bearer credential was refused; all of them answer 401.
#[derive(Debug, thiserror::Error)]
pub enum BearerError {
    #[error("missing bearer credential")]
    Missing,
    #[error("invalid or expired token")]
    Invalid,
    #[error(transparent)]
    Internal(#[from] AppError),
}

/// The scope of a REST caller from `Authorization: Bearer <JWT or API token>`.
pub async fn scope_from_bearer(
    state: &AppState,
    credential: &str,
    request: RequestMeta,
) -> Result<Scope, BearerError> {
    let scope = if tokens::looks_like_jwt(credential) {
        let claims = tokens::decode_jwt(credential, &state.auth.secret_key).map_err(|error| {
            SecurityEvent::TokenRejected.emit(&format!("JWT refused: {error}"));
            BearerError::Invalid
        })?;
        scope_from_claims(state, &claims, request).await?
    } else {
        let Some(prefix) = tokens::prefix_of(credential) else {
            SecurityEvent::TokenRejected.emit("malformed API token");
            return Err(BearerError::Invalid);
        };
        api_token_scope(
            state,
            TokenLookup::Secret {
                prefix,
                secret: credential,
            },
            request,
        )
        .await?
    };
    scope.ok_or_else(|| {
        SecurityEvent::TokenRejected.emit("token of a revoked, expired or deactivated principal");
        BearerError::Invalid
    })
}

async fn scope_from_claims(
    state: &AppState,
    claims: &Claims,
    request: RequestMeta,
) -> Result<Option<Scope>, AppError> {
    match claims.sub.split_once(':') {
        Some(("user", id)) => {
            let Ok(id) = id.parse() else { return Ok(None) };
            Ok(load_active_user(state, id)
                .await?
                .map(|user| user.scope(request)))
        }
        Some(("token", id)) => match id.parse::<Uuid>() {
            Ok(id) => api_token_scope(state, TokenLookup::Id(id), request).await,
            Err(_) => Ok(None),
        },
        _ => Ok(None),
    }
}

/// How a token is presented: its secret (found by prefix, then compared), or the id in a JWT
/// that was issued for it (the secret was proved when the JWT was).
pub enum TokenLookup<'a> {
    Secret { prefix: &'a str, secret: &'a str },
    Id(Uuid),
}

/// The scope of a usable (not revoked, not expired, tenant active) token, in one transaction.
pub async fn api_token_scope(
    state: &AppState,
    lookup: TokenLookup<'_>,
    request: RequestMeta,
) -> Result<Option<Scope>, AppError> {
    let system = Scope::system(RequestMeta::default());
    let mut tx = system.begin(&state.pool).await?;
    let query = sqlx::query(
        "select k.id, k.tenant_id, k.prefix, k.secret_sha256, k.scopes, k.last_used_at < now() - interval '1 minute' as stale
         from api_token k join tenant t on t.id = k.tenant_id
         where (k.prefix = $1 or k.id = $2) and k.revoked_at is null and (k.expires_at is null or k.expires_at > now()) and t.active",
    );
    let query = match &lookup {
        TokenLookup::Secret { prefix, .. } => query.bind(*prefix).bind(None::<Uuid>),
        TokenLookup::Id(id) => query.bind(None::<&str>).bind(*id),
    };
    let row = query.fetch_optional(tx.conn()).await?;
    let Some(row) = row else {
        tx.commit().await?;
        return Ok(None);
    };
    if let TokenLookup::Secret { secret, .. } = lookup {
        if !tokens::digests_match(
            &tokens::sha256(secret),
            &row.get::<Vec<u8>, _>("secret_sha256"),
        ) {
            tx.commit().await?;
            return Ok(None);
        }
    }
    let id: Uuid = row.get("id");
    let tenant: Uuid = row.get("tenant_id");
    // Written at most once a minute per token, not on every request.
    if row.get::<Option<bool>, _>("stale").unwrap_or(true) {
        sqlx::query("update api_token set last_used_at = now() where tenant_id = $1 and id = $2")
            .bind(tenant)
            .bind(id)
            .execute(tx.conn())
            .await?;
    }
    tx.commit().await?;
    Ok(Some(Scope {
        actor: Actor::Token {
            id,
            prefix: row.get("prefix"),
        },
        role: None,
        token_scopes: row
            .get::<Vec<String>, _>("scopes")
            .iter()
            .filter_map(|s| TokenScope::parse(s))
            .collect(),
        tenants: TenantAccess::Only(vec![tenant]),
        home_tenant: Some(tenant),
        request,
    }))
}

/// The JWT for a scope, as `POST /api/v1/auth/token` hands it out.
pub fn jwt_for(state: &AppState, scope: &Scope) -> String {
    let (sub, role) = match (&scope.actor, scope.role) {
        (Actor::User { id, .. }, Some(role)) => (format!("user:{id}"), role.as_str().to_string()),
        (Actor::Token { id, .. }, _) => (format!("token:{id}"), "token".to_string()),
        _ => ("system".to_string(), "system".to_string()),
    };
    let scopes = scope
        .token_scopes
        .iter()
        .map(|s| s.as_str().to_string())
        .collect();
    let claims = Claims::new(
        sub,
        scope.home_tenant,
        role,
        scopes,
        state.auth.jwt_ttl.as_secs() as i64,
    );
    tokens::encode_jwt(&claims, &state.auth.secret_key)
}
