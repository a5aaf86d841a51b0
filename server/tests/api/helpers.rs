use std::{
    io::Write,
    net::TcpListener as StdListener,
    sync::{Arc, Mutex, OnceLock},
    time::Duration,
};

use sqlx::{
    postgres::{PgConnectOptions, PgPoolOptions},
    PgPool,
};
use tracing_subscriber::layer::SubscriberExt;

use app::ssr::{load_installation_id, AppState};
use server::{
    observability::logs::LogLayer,
    settings::{LogFormat, Settings},
    startup::{app_state, router},
};

pub struct TestApp {
    pub address: String,
    pub client: reqwest::Client,
}

impl TestApp {
    /// Meridian on a random port over `pool` (a migrated database of its own).
    pub async fn spawn(pool: PgPool) -> TestApp {
        let installation_id = load_installation_id(&pool).await.expect("the installation row exists");
        Self::serve(app_state(&Settings::defaults(), pool, installation_id).unwrap()).await
    }

    /// Meridian whose database stopped answering after it started.
    pub async fn spawn_with_unreachable_database() -> TestApp {
        let options = PgConnectOptions::new().host("127.0.0.1").port(unused_port()).username("postgres");
        let pool = PgPoolOptions::new().acquire_timeout(Duration::from_millis(300)).connect_lazy_with(options);
        Self::serve(app_state(&Settings::defaults(), pool, "unknown".into()).unwrap()).await
    }

    async fn serve(state: AppState) -> TestApp {
        capture_logs();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, router(state)).await.unwrap() });
        TestApp { address, client: reqwest::Client::new() }
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client.get(format!("{}{path}", self.address)).send().await.expect("request sent")
    }
}

/// A loopback port with nothing listening on it.
pub fn unused_port() -> u16 {
    StdListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
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
            .with(tracing_subscriber::EnvFilter::new("debug,sqlx=warn,hyper=warn"))
            .with(LogLayer::new(LogFormat::Json, move || writer.clone()));
        tracing::subscriber::set_global_default(subscriber).expect("no other subscriber in this test binary");
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
        .map(|line| serde_json::from_str::<serde_json::Value>(line).expect("every log line is JSON"))
        .filter(|line| line["correlation_id"] == correlation_id)
        .collect()
}
