use std::{
    io::Write,
    net::TcpListener as StdListener,
    sync::{Arc, Mutex, OnceLock},
    time::Duration,
};

use reqwest::{header, StatusCode};
use serde_json::Value;
use sqlx::{
    postgres::{PgConnectOptions, PgPoolOptions},
    PgPool,
};
use tracing_subscriber::layer::SubscriberExt;
use uuid::Uuid;

use app::{
    admin::{
        tenants::repo as tenants,
        tokens::repo as tokens,
        users::{repo as users, UserChange},
    },
    ssr::{
        load_installation_id,
        request::RequestMeta,
        scope::{Scope, TokenScope},
        AppState,
    },
};
use server::{
    observability::logs::LogLayer,
    settings::{LogFormat, Settings},
    startup::{app_state, open_store, router, tool_store},
    web::sessions,
};

pub const PASSWORD: &str = "correct horse battery staple";

pub struct TestApp {
    pub address: String,
    pub client: reqwest::Client,
    pub pool: PgPool,
    pub store: store::Store,
    /// The server's state, for driving background work (the rule evaluator) by hand.
    pub state: AppState,
}

/// A browser: keeps cookies, sends Origin like a browser does.
pub struct Browser<'a> {
    pub app: &'a TestApp,
    pub client: reqwest::Client,
}

impl TestApp {
    /// Meridian on a random port over `pool` (a migrated database of its own).
    pub async fn spawn(pool: PgPool) -> TestApp {
        Self::spawn_with(pool, |_| {}).await
    }

    pub async fn spawn_with(pool: PgPool, configure: impl FnOnce(&mut Settings)) -> TestApp {
        let installation_id = load_installation_id(&pool)
            .await
            .expect("the installation row exists");
        let mut settings = test_settings();
        configure(&mut settings);
        let store = open_store(&settings, pool.clone()).await.unwrap();
        let state = app_state(&settings, pool.clone(), installation_id, store).unwrap();
        server::startup::watch_dashboard_files(&state)
            .await
            .unwrap();
        let store = sessions::store(&pool).await.unwrap();
        Self::serve(state, pool, sessions::layer(store, &settings)).await
    }

    /// Meridian whose database stopped answering after it started.
    pub async fn spawn_with_unreachable_database() -> TestApp {
        let options = PgConnectOptions::new()
            .host("127.0.0.1")
            .port(unused_port())
            .username("postgres");
        let pool = PgPoolOptions::new()
            .acquire_timeout(Duration::from_millis(300))
            .connect_lazy_with(options);
        let settings = test_settings();
        let store = tool_store(&settings, pool.clone());
        let state = app_state(&settings, pool.clone(), "unknown".into(), store).unwrap();
        let store = tower_sessions_sqlx_store::PostgresStore::new(pool.clone());
        Self::serve(state, pool, sessions::layer(store, &settings)).await
    }

    async fn serve(
        state: AppState,
        pool: PgPool,
        layer: tower_sessions::SessionManagerLayer<tower_sessions_sqlx_store::PostgresStore>,
    ) -> TestApp {
        capture_logs();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = format!("http://{}", listener.local_addr().unwrap());
        let store = state.store.clone();
        server::scrape::start(state.clone(), None);
        let kept = state.clone();
        let app = router(state, layer);
        tokio::spawn(async move {
            axum::serve(
                listener,
                app.into_make_service_with_connect_info::<std::net::SocketAddr>(),
            )
            .await
            .unwrap()
        });
        TestApp {
            address,
            client: reqwest::Client::new(),
            pool,
            store,
            state: kept,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client
            .get(self.url(path))
            .send()
            .await
            .expect("request sent")
    }

    pub fn browser(&self) -> Browser<'_> {
        let client = reqwest::Client::builder()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        Browser { app: self, client }
    }

    pub fn system(&self) -> Scope {
        Scope::system(RequestMeta::default())
    }

    pub async fn create_tenant(&self, name: &str) -> Uuid {
        let scope = self.system();
        tenants::create_tenant(&scope.require_admin().unwrap(), &self.pool, name)
            .await
            .unwrap()
            .id
    }

    pub async fn create_user(&self, email: &str, role: &str, tenant: Option<Uuid>) -> Uuid {
        let scope = self.system();
        let change = UserChange::parse(
            email,
            "",
            role,
            &tenant.map(|t| t.to_string()).unwrap_or_default(),
            "",
        )
        .unwrap();
        users::create_user(
            &scope.require_admin().unwrap(),
            &self.pool,
            change,
            PASSWORD.into(),
        )
        .await
        .unwrap()
        .id
    }

    /// A token of `tenant` with `scopes`; answers the secret.
    pub async fn create_token(&self, tenant: Uuid, scopes: &[TokenScope]) -> String {
        let scope = self.system();
        tokens::create_token(
            &scope.require_admin().unwrap(),
            &self.pool,
            tenant,
            "test",
            scopes,
            None,
        )
        .await
        .unwrap()
        .secret
    }

    /// A JWT for a user, from `POST /api/v1/auth/token`.
    pub async fn jwt_for(&self, email: &str) -> String {
        let response = self
            .client
            .post(self.url("/api/v1/auth/token"))
            .json(&serde_json::json!({"email": email, "password": PASSWORD}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        response.json::<Value>().await.unwrap()["access_token"]
            .as_str()
            .unwrap()
            .to_string()
    }

    /// A dashboard of `tenant` with one time series panel (id 1).
    pub async fn dashboard(&self, tenant: Uuid) -> String {
        let uid = format!("d-{}", &Uuid::new_v4().simple().to_string()[..10]);
        let model: viz::model::Dashboard = serde_json::from_value(serde_json::json!({
            "uid": uid, "title": "Matrix",
            "panels": [{"id": 1, "type": "timeseries", "title": "One", "gridPos": {"x": 0, "y": 0, "w": 12, "h": 8},
                        "targets": [{"refId": "A", "expr": "vector(1)"}]}]
        }))
        .unwrap();
        app::dashboards::repo::create(
            &self.system(),
            &self.pool,
            app::dashboards::repo::Save {
                tenant: Some(tenant),
                audience: app::dashboards::Audience::Managers,
                model: &model,
                provisioned: None,
                message: "",
                notes: None,
            },
        )
        .await
        .unwrap();
        uid
    }

    pub async fn audit_count(&self) -> i64 {
        sqlx::query_scalar("select count(*) from audit_event")
            .fetch_one(&self.pool)
            .await
            .unwrap()
    }
}

fn test_settings() -> Settings {
    let mut settings = Settings::defaults();
    settings.secret_key = Some(server::settings::Secret::new(
        "test-secret-key-that-is-long-enough-0123",
    ));
    // Usage series would change the tenants' series counts the tests assert.
    settings.usage_accounting = false;
    settings
}

impl Browser<'_> {
    pub fn post(&self, path: &str) -> reqwest::RequestBuilder {
        self.client
            .post(self.app.url(path))
            .header(header::ORIGIN, self.app.address.clone())
    }

    /// A page load: browsers ask for HTML, and only then does the server answer redirects with 302.
    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client
            .get(self.app.url(path))
            .header(header::ACCEPT, "text/html,*/*")
            .send()
            .await
            .unwrap()
    }

    /// Signs in through the login server function, as the page's JavaScript does.
    pub async fn login(&self, email: &str, password: &str) -> reqwest::Response {
        self.post("/rpc/login")
            .form(&[("email", email), ("password", password), ("next", "/")])
            .send()
            .await
            .unwrap()
    }

    pub async fn login_ok(&self, email: &str) {
        let response = self.login(email, PASSWORD).await;
        assert_eq!(
            response.status(),
            StatusCode::OK,
            "{}",
            response.text().await.unwrap()
        );
    }

    /// The CSRF token of this browser's session.
    pub async fn csrf(&self) -> String {
        let response = self.post("/rpc/current_user").send().await.unwrap();
        let user: Value = response.json().await.unwrap();
        user["csrf_token"].as_str().unwrap_or_default().to_string()
    }

    /// Calls a server function with form fields, adding the session's CSRF token.
    pub async fn call(&self, function: &str, fields: &[(&str, &str)]) -> reqwest::Response {
        let csrf = self.csrf().await;
        let mut form: Vec<(&str, &str)> = vec![("csrf", csrf.as_str())];
        form.extend_from_slice(fields);
        self.post(&format!("/rpc/{function}"))
            .form(&form)
            .send()
            .await
            .unwrap()
    }
}

/// A loopback port with nothing listening on it.
pub fn unused_port() -> u16 {
    StdListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[derive(Clone, Default)]
struct SharedBuffer(Arc<Mutex<Vec<u8>>>);

impl Write for SharedBuffer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

static LOGS: OnceLock<SharedBuffer> = OnceLock::new();

/// Every test in this binary logs JSON into one buffer; tests pick their lines by correlation id.
fn capture_logs() -> SharedBuffer {
    LOGS.get_or_init(|| {
        let buffer = SharedBuffer::default();
        let writer = buffer.clone();
        let subscriber = tracing_subscriber::registry()
            .with(tracing_subscriber::EnvFilter::new(
                "debug,sqlx=warn,hyper=warn,tower_sessions=warn",
            ))
            .with(LogLayer::new(LogFormat::Json, move || writer.clone()));
        tracing::subscriber::set_global_default(subscriber)
            .expect("no other subscriber in this test binary");
        buffer
    })
    .clone()
}

/// The JSON log lines written so far that carry this correlation id.
pub fn log_lines_with(correlation_id: &str) -> Vec<serde_json::Value> {
    let bytes = capture_logs().0.lock().unwrap().clone();
    String::from_utf8(bytes)
        .unwrap()
        .lines()
        .map(|line| {
            serde_json::from_str::<serde_json::Value>(line).expect("every log line is JSON")
        })
        .filter(|line| line["correlation_id"] == correlation_id)
        .collect()
}

/// The `server` binary with none of this process' MERIDIAN_* settings.
pub fn server() -> std::process::Command {
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_server"));
    for (name, _) in std::env::vars().filter(|(name, _)| name.starts_with("MERIDIAN_")) {
        command.env_remove(name);
    }
    command
}

/// The URL of database `name` on the test server (DATABASE_URL's server).
pub fn database_url(name: &str) -> String {
    let base = std::env::var("DATABASE_URL").expect("DATABASE_URL names the test server");
    let (server, _) = base.rsplit_once('/').unwrap();
    format!("{server}/{name}")
}
