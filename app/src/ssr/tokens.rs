//! Credentials for machines: per-tenant API tokens (random secrets stored as SHA-256) and the
//! short-lived JWTs that `POST /api/v1/auth/token` exchanges for a password or an API token.

use jsonwebtoken::{decode, encode, Algorithm, DecodingKey, EncodingKey, Header, Validation};
use rand::{distributions::Alphanumeric, Rng};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use uuid::Uuid;

pub const TOKEN_PREFIX: &str = "mrd_";
/// `mrd_` and the first 8 characters of the secret: enough to find and to recognise a token.
const SHOWN_LENGTH: usize = TOKEN_PREFIX.len() + 8;
const SECRET_LENGTH: usize = 40;
const ISSUER: &str = "meridian";
const AUDIENCE: &str = "meridian-api";
/// The one algorithm accepted: a token naming any other (or `none`) is refused.
const ALGORITHM: Algorithm = Algorithm::HS256;

pub struct NewToken {
    /// Shown to the user once, never stored.
    pub secret: String,
    pub prefix: String,
    pub sha256: Vec<u8>,
}

pub fn generate_api_token() -> NewToken {
    let random: String = rand::thread_rng()
        .sample_iter(&Alphanumeric)
        .take(SECRET_LENGTH)
        .map(char::from)
        .collect();
    let secret = format!("{TOKEN_PREFIX}{random}");
    NewToken {
        prefix: secret[..SHOWN_LENGTH].to_string(),
        sha256: sha256(&secret),
        secret,
    }
}

/// The lookup prefix of a presented token, if it has our shape.
pub fn prefix_of(secret: &str) -> Option<&str> {
    (secret.starts_with(TOKEN_PREFIX)
        && secret.len() == TOKEN_PREFIX.len() + SECRET_LENGTH
        && secret.is_ascii())
    .then(|| &secret[..SHOWN_LENGTH])
}

pub fn sha256(secret: &str) -> Vec<u8> {
    Sha256::digest(secret.as_bytes()).to_vec()
}

/// Compares two digests in time independent of where they differ.
pub fn digests_match(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// `user:<uuid>` or `token:<uuid>`.
    pub sub: String,
    pub tenant: Option<Uuid>,
    /// A user's role, or `token` for an API token.
    pub role: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub scopes: Vec<String>,
    pub iat: i64,
    pub exp: i64,
    pub jti: String,
    pub iss: String,
    pub aud: String,
}

impl Claims {
    pub fn new(
        sub: String,
        tenant: Option<Uuid>,
        role: String,
        scopes: Vec<String>,
        ttl_seconds: i64,
    ) -> Claims {
        let now = chrono::Utc::now().timestamp();
        Claims {
            sub,
            tenant,
            role,
            scopes,
            iat: now,
            exp: now + ttl_seconds,
            jti: Uuid::new_v4().to_string(),
            iss: ISSUER.to_string(),
            aud: AUDIENCE.to_string(),
        }
    }
}

pub fn encode_jwt(claims: &Claims, key: &[u8]) -> String {
    encode(
        &Header::new(ALGORITHM),
        claims,
        &EncodingKey::from_secret(key),
    )
    .expect("HS256 signing does not fail")
}

/// Checks signature, algorithm, expiry (no leeway), issuer and audience.
pub fn decode_jwt(token: &str, key: &[u8]) -> Result<Claims, jsonwebtoken::errors::Error> {
    let mut validation = Validation::new(ALGORITHM);
    validation.leeway = 0;
    validation.set_issuer(&[ISSUER]);
    validation.set_audience(&[AUDIENCE]);
    validation.set_required_spec_claims(&["exp", "iat", "iss", "aud", "sub"]);
    decode::<Claims>(token, &DecodingKey::from_secret(key), &validation).map(|data| data.claims)
}

/// A JWT has three dot-separated parts; an API token has our prefix.
pub fn looks_like_jwt(credential: &str) -> bool {
    credential.split('.').count() == 3
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &[u8] = b"0123456789abcdef0123456789abcdef";

    #[test]
    fn api_tokens_are_random_prefixed_and_hashed() {
        let a = generate_api_token();
        let b = generate_api_token();
        assert_ne!(a.secret, b.secret);
        assert!(a.secret.starts_with("mrd_") && a.secret.len() == 44);
        assert_eq!(prefix_of(&a.secret), Some(a.prefix.as_str()));
        assert!(digests_match(&sha256(&a.secret), &a.sha256));
        assert!(!digests_match(&sha256(&b.secret), &a.sha256));
        assert_eq!(prefix_of("mrd_short"), None);
        assert_eq!(prefix_of("Bearer x"), None);
    }

    #[test]
    fn jwt_round_trip_and_wrong_key() {
        let claims = Claims::new("user:1".into(), None, "admin".into(), vec![], 60);
        let token = encode_jwt(&claims, KEY);
        assert_eq!(decode_jwt(&token, KEY).unwrap(), claims);
        assert!(decode_jwt(&token, b"another key of thirty-two bytes!").is_err());
    }
}
