//! Logins, sessions, CSRF, lockout, deactivation and the JWTs of the REST API.

use jsonwebtoken::{encode, EncodingKey, Header};
use reqwest::{header, StatusCode};
use serde_json::{json, Value};
use sqlx::PgPool;

use crate::helpers::{TestApp, PASSWORD};
use app::ssr::{scope::TokenScope, tokens::Claims};

const KEY: &[u8] = b"test-secret-key-that-is-long-enough-0123";

#[sqlx::test(migrator = "app::ssr::MIGRATOR")]
async fn login_rotates_the_session_id_and_sets_a_safe_cookie(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    app.create_user("ada@example.com", "admin", None).await;
    let browser = app.browser();

    // A visitor's session exists before the login (a failed attempt stores nothing, so make one
    // through a server function that writes to the session: a failed login does not).
    let first = browser.login("ada@example.com", "wrong password!!").await;
    assert_eq!(first.status(), 422);
    let response = browser.login("ada@example.com", PASSWORD).await;
    assert_eq!(response.status(), 200);
    let cookie = response.headers()[header::SET_COOKIE]
        .to_str()
        .unwrap()
        .to_string();
    assert!(cookie.starts_with("meridian_session="), "{cookie}");
    assert!(cookie.contains("HttpOnly"), "{cookie}");
    assert!(cookie.contains("SameSite=Lax"), "{cookie}");
    assert!(
        !cookie.contains("Secure"),
        "Secure only when configured: {cookie}"
    );
    let id_after_login = cookie.split(';').next().unwrap().to_string();

    // Logging in again from the same browser gives a new session id (no fixation).
    let again = browser.login("ada@example.com", PASSWORD).await;
    let cookie_again = again.headers()[header::SET_COOKIE]
        .to_str()
        .unwrap()
        .to_string();
    assert_ne!(cookie_again.split(';').next().unwrap(), id_after_login);

    let user: Value = browser
        .post("/rpc/current_user")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(user["email"], "ada@example.com");
    assert_eq!(user["role"], "Admin");
}

#[sqlx::test(migrator = "app::ssr::MIGRATOR")]
async fn the_cookie_is_secure_when_configured(pool: PgPool) {
    let app = TestApp::spawn_with(pool, |s| s.cookie_secure = true).await;
    app.create_user("ada@example.com", "admin", None).await;
    let response = app.browser().login("ada@example.com", PASSWORD).await;
    let cookie = response.headers()[header::SET_COOKIE]
        .to_str()
        .unwrap()
        .to_string();
    assert!(cookie.contains("Secure"), "{cookie}");
}

#[sqlx::test(migrator = "app::ssr::MIGRATOR")]
async fn logout_ends_the_session(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    app.create_user("ada@example.com", "admin", None).await;
    let browser = app.browser();
    browser.login_ok("ada@example.com").await;
    assert_eq!(browser.call("logout", &[]).await.status(), 200);
    let user: Value = browser
        .post("/rpc/current_user")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(user, Value::Null);
    assert_eq!(browser.call("list_users", &[]).await.status(), 401);
}

#[sqlx::test(migrator = "app::ssr::MIGRATOR")]
async fn changes_without_the_csrf_token_or_from_another_site_are_refused(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    app.create_user("ada@example.com", "admin", None).await;
    let browser = app.browser();
    browser.login_ok("ada@example.com").await;
    let before = app.audit_count().await;

    let no_token = browser
        .post("/rpc/create_tenant")
        .form(&[("csrf", ""), ("name", "acme")])
        .send()
        .await
        .unwrap();
    assert_eq!(no_token.status(), 403);
    let wrong_token = browser
        .post("/rpc/create_tenant")
        .form(&[("csrf", "mrd_guess"), ("name", "acme")])
        .send()
        .await
        .unwrap();
    assert_eq!(wrong_token.status(), 403);

    let csrf = browser.csrf().await;
    let foreign = browser
        .client
        .post(app.url("/rpc/create_tenant"))
        .header(header::ORIGIN, "http://evil.example")
        .form(&[("csrf", csrf.as_str()), ("name", "acme")])
        .send()
        .await
        .unwrap();
    assert_eq!(foreign.status(), 403);
    let cross_site = browser
        .client
        .post(app.url("/rpc/create_tenant"))
        .header("sec-fetch-site", "cross-site")
        .form(&[("csrf", csrf.as_str()), ("name", "acme")])
        .send()
        .await
        .unwrap();
    assert_eq!(cross_site.status(), 403);
    let no_origin = browser
        .client
        .post(app.url("/rpc/create_tenant"))
        .form(&[("csrf", csrf.as_str()), ("name", "acme")])
        .send()
        .await
        .unwrap();
    assert_eq!(
        no_origin.status(),
        403,
        "a cookie without Origin or Referer is refused"
    );

    assert_eq!(app.audit_count().await, before, "nothing was changed");
    assert_eq!(
        browser
            .call("create_tenant", &[("name", "acme")])
            .await
            .status(),
        200
    );
}

#[sqlx::test(migrator = "app::ssr::MIGRATOR")]
async fn ten_failures_lock_the_account_even_for_the_right_password(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    app.create_user("ada@example.com", "admin", None).await;
    let browser = app.browser();
    for attempt in 1..=10 {
        let response = browser.login("ada@example.com", "not the password").await;
        assert_eq!(response.status(), 422, "attempt {attempt}");
        let error: Value = response.json().await.unwrap();
        assert_eq!(error["Invalid"]["message"], "Wrong email or password.");
    }
    let locked = browser.login("ada@example.com", PASSWORD).await;
    assert_eq!(locked.status(), 422);
    let error: Value = locked.json().await.unwrap();
    assert!(
        error["Invalid"]["message"]
            .as_str()
            .unwrap()
            .contains("locked"),
        "{error}"
    );

    let locked_until: Option<chrono::DateTime<chrono::Utc>> =
        sqlx::query_scalar("select locked_until from app_user where email = 'ada@example.com'")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert!(locked_until.is_some());
    let actions: Vec<String> = sqlx::query_scalar("select action from audit_event order by id")
        .fetch_all(&app.pool)
        .await
        .unwrap();
    assert_eq!(
        actions.iter().filter(|a| *a == "auth.login_failed").count(),
        11
    );
    assert_eq!(actions.iter().filter(|a| *a == "user.lock").count(), 1);

    // An unknown account gets the same answers: the lock reveals nothing about who exists.
    for _ in 0..10 {
        browser
            .login("nobody@example.com", "not the password")
            .await;
    }
    let unknown: Value = browser
        .login("nobody@example.com", "not the password")
        .await
        .json()
        .await
        .unwrap();
    assert!(unknown["Invalid"]["message"]
        .as_str()
        .unwrap()
        .contains("locked"));

    let metrics = app.get("/metrics").await.text().await.unwrap();
    assert!(
        metrics.contains(
            "meridian_security_events_total{event_type=\"account_locked\",severity=\"critical\"}"
        ),
        "{metrics}"
    );
    assert!(metrics.contains(
        "meridian_security_events_total{event_type=\"login_failed\",severity=\"warning\"}"
    ));
}

#[sqlx::test(migrator = "app::ssr::MIGRATOR")]
async fn one_address_is_refused_after_too_many_failures(pool: PgPool) {
    let app = TestApp::spawn_with(pool, |s| s.login_max_failures_per_ip = 3).await;
    let browser = app.browser();
    for i in 0..3 {
        assert_eq!(
            browser
                .login(&format!("user{i}@example.com"), "not the password")
                .await
                .status(),
            422
        );
    }
    assert_eq!(
        browser
            .login("someone@example.com", "not the password")
            .await
            .status(),
        429
    );
}

#[sqlx::test(migrator = "app::ssr::MIGRATOR")]
async fn a_deactivated_tenant_stops_its_users_and_tokens(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    app.create_user("root@example.com", "admin", None).await;
    let acme = app.create_tenant("acme").await;
    app.create_user("viewer@acme.io", "tenant-viewer", Some(acme))
        .await;
    let token = app.create_token(acme, &[TokenScope::Read]).await;
    let viewer = app.browser();
    viewer.login_ok("viewer@acme.io").await;
    let jwt = app.jwt_for("viewer@acme.io").await;
    assert_eq!(
        app.client
            .get(app.url("/api/v1/tenants"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap()
            .status(),
        200
    );

    let admin = app.browser();
    admin.login_ok("root@example.com").await;
    let response = admin
        .call(
            "set_tenant_active",
            &[("id", &acme.to_string()), ("active", "false")],
        )
        .await;
    assert_eq!(response.status(), 200);

    assert_eq!(
        viewer.call("list_tenants", &[]).await.status(),
        401,
        "the running session ends"
    );
    assert_eq!(
        viewer.login("viewer@acme.io", PASSWORD).await.status(),
        422,
        "no new login"
    );
    assert_eq!(
        app.client
            .get(app.url("/api/v1/tenants"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap()
            .status(),
        401
    );
    assert_eq!(
        app.client
            .get(app.url("/api/v1/tenants"))
            .bearer_auth(&jwt)
            .send()
            .await
            .unwrap()
            .status(),
        401
    );
}

#[sqlx::test(migrator = "app::ssr::MIGRATOR")]
async fn token_endpoint_exchanges_credentials_and_api_tokens(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let acme = app.create_tenant("acme").await;
    app.create_user("viewer@acme.io", "tenant-viewer", Some(acme))
        .await;
    let api_token = app
        .create_token(acme, &[TokenScope::Read, TokenScope::Ingest])
        .await;

    let response = app
        .client
        .post(app.url("/api/v1/auth/token"))
        .json(&json!({"email": "viewer@acme.io", "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 900);
    let claims = app::ssr::tokens::decode_jwt(body["access_token"].as_str().unwrap(), KEY).unwrap();
    assert_eq!(claims.role, "tenant-viewer");
    assert_eq!(claims.tenant, Some(acme));
    assert!(claims.sub.starts_with("user:"));
    assert_eq!(claims.exp - claims.iat, 900);

    let response = app
        .client
        .post(app.url("/api/v1/auth/token"))
        .json(&json!({"api_token": api_token}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let jwt = response.json::<Value>().await.unwrap()["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    let claims = app::ssr::tokens::decode_jwt(&jwt, KEY).unwrap();
    assert_eq!(claims.role, "token");
    assert_eq!(claims.scopes, ["ingest", "read"]);
    let tenants: Value = app
        .client
        .get(app.url("/api/v1/tenants"))
        .bearer_auth(&jwt)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(tenants.as_array().unwrap().len(), 1);

    for (body, status) in [
        (
            json!({"email": "viewer@acme.io", "password": "wrong password!"}),
            401,
        ),
        (
            json!({"api_token": "mrd_0000000000000000000000000000000000000000"}),
            401,
        ),
        (json!({"username": "x"}), 400),
    ] {
        let response = app
            .client
            .post(app.url("/api/v1/auth/token"))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), status, "{body}");
    }
    let not_json = app
        .client
        .post(app.url("/api/v1/auth/token"))
        .body("email=x")
        .send()
        .await
        .unwrap();
    assert_eq!(not_json.status(), 400);
    assert!(not_json.text().await.unwrap().contains("expected JSON"));
}

fn forge(claims: &Claims, header: Header, key: &[u8]) -> String {
    encode(&header, claims, &EncodingKey::from_secret(key)).unwrap()
}

fn b64(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

#[sqlx::test(migrator = "app::ssr::MIGRATOR")]
async fn tampered_jwts_are_refused(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let user = app.create_user("root@example.com", "admin", None).await;
    let good = app.jwt_for("root@example.com").await;
    let get = |token: String| {
        let request = app
            .client
            .get(app.url("/api/v1/audit/verify"))
            .bearer_auth(token);
        async move { request.send().await.unwrap().status() }
    };
    assert_eq!(get(good.clone()).await, StatusCode::OK);

    let claims = Claims::new(format!("user:{user}"), None, "admin".into(), vec![], 600);
    let mut expired = claims.clone();
    expired.iat -= 3600;
    expired.exp = chrono::Utc::now().timestamp() - 1;
    let mut wrong_audience = claims.clone();
    wrong_audience.aud = "someone-else".into();
    let mut wrong_issuer = claims.clone();
    wrong_issuer.iss = "evil".into();
    let header_none = b64(br#"{"alg":"none","typ":"JWT"}"#);
    let payload = b64(serde_json::to_string(&claims).unwrap().as_bytes());
    let (head, rest) = good.split_once('.').unwrap();
    let (body, signature) = rest.split_once('.').unwrap();
    let mut flipped = signature.as_bytes().to_vec();
    flipped[3] = if flipped[3] == b'A' { b'B' } else { b'A' };

    let cases = [
        ("alg none", format!("{header_none}.{payload}.")),
        (
            "HS512",
            forge(&claims, Header::new(jsonwebtoken::Algorithm::HS512), KEY),
        ),
        (
            "another key",
            forge(
                &claims,
                Header::default(),
                b"another-secret-key-that-is-long-enough",
            ),
        ),
        ("expired", forge(&expired, Header::default(), KEY)),
        (
            "wrong audience",
            forge(&wrong_audience, Header::default(), KEY),
        ),
        ("wrong issuer", forge(&wrong_issuer, Header::default(), KEY)),
        (
            "bad signature",
            format!("{head}.{body}.{}", String::from_utf8(flipped).unwrap()),
        ),
        ("payload swapped", format!("{head}.{payload}.{signature}")),
        ("garbage", "not.a.jwt".to_string()),
    ];
    for (name, token) in cases {
        assert_eq!(get(token).await, StatusCode::UNAUTHORIZED, "{name}");
    }
    // A correctly signed token of a user who has since been deactivated.
    sqlx::query("update app_user set active = false where id = $1")
        .bind(user)
        .execute(&app.pool)
        .await
        .unwrap();
    assert_eq!(
        get(good).await,
        StatusCode::UNAUTHORIZED,
        "deactivated user"
    );
}

#[sqlx::test(migrator = "app::ssr::MIGRATOR")]
async fn a_session_ends_at_its_absolute_lifetime_however_active(pool: PgPool) {
    let app = TestApp::spawn_with(pool, |s| s.session_max_hours = 0).await;
    app.create_user("ada@example.com", "admin", None).await;
    let browser = app.browser();
    browser.login_ok("ada@example.com").await;
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    assert_eq!(browser.call("list_users", &[]).await.status(), 401);
}

#[sqlx::test(migrator = "app::ssr::MIGRATOR")]
async fn emails_are_unique_without_regard_to_case(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    app.create_user("Ada@Example.com", "admin", None).await;
    let admin = app.browser();
    admin.login_ok("ada@example.com").await;
    let response = admin
        .call(
            "create_user",
            &[
                ("email", "ADA@example.COM"),
                ("display_name", ""),
                ("role", "manager"),
                ("tenant", ""),
                ("managed_tenants", ""),
                ("password", PASSWORD),
            ],
        )
        .await;
    assert_eq!(response.status(), 422);
    let error: Value = response.json().await.unwrap();
    assert_eq!(error["Invalid"]["field"], "email");
    assert_eq!(error["Invalid"]["message"], "a user with this email exists");
}

#[sqlx::test(migrator = "app::ssr::MIGRATOR")]
async fn api_tokens_record_their_last_use_and_stop_when_revoked_or_expired(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let acme = app.create_tenant("acme").await;
    let token = app.create_token(acme, &[TokenScope::Read]).await;
    let prefix = &token[..12];
    let last_used = || async {
        sqlx::query_scalar::<_, Option<chrono::DateTime<chrono::Utc>>>(
            "select last_used_at from api_token where prefix = $1",
        )
        .bind(prefix)
        .fetch_one(&app.pool)
        .await
        .unwrap()
    };
    assert_eq!(last_used().await, None);
    assert_eq!(
        app.client
            .get(app.url("/api/v1/tenants"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    assert!(last_used().await.is_some());

    sqlx::query("update api_token set expires_at = now() - interval '1 second' where prefix = $1")
        .bind(prefix)
        .execute(&app.pool)
        .await
        .unwrap();
    assert_eq!(
        app.client
            .get(app.url("/api/v1/tenants"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap()
            .status(),
        401
    );
    sqlx::query("update api_token set expires_at = null, revoked_at = now() where prefix = $1")
        .bind(prefix)
        .execute(&app.pool)
        .await
        .unwrap();
    assert_eq!(
        app.client
            .get(app.url("/api/v1/tenants"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap()
            .status(),
        401
    );
    // A near miss of the secret is refused too.
    let mut wrong = token.clone();
    wrong.replace_range(20..21, if &token[20..21] == "a" { "b" } else { "a" });
    sqlx::query("update api_token set revoked_at = null where prefix = $1")
        .bind(prefix)
        .execute(&app.pool)
        .await
        .unwrap();
    assert_eq!(
        app.client
            .get(app.url("/api/v1/tenants"))
            .bearer_auth(&wrong)
            .send()
            .await
            .unwrap()
            .status(),
        401
    );
    assert_eq!(
        app.client
            .get(app.url("/api/v1/tenants"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
}
