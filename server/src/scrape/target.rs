//! One target's scrape loop: fetch, parse, label, write, as Prometheus' scrape loop does —
//! report series (`up`, `scrape_duration_seconds`, …) after every scrape, and staleness markers
//! for series that disappeared from the target or when the target is dropped.

use std::{
    collections::{BTreeMap, HashSet},
    hash::{Hash, Hasher},
    sync::Arc,
    time::{Duration, Instant},
};

use app::scrape::{runtime::ScrapeRuntime, TargetHealth};
use store::{Labels, Reason, SeriesSamples, Store, STALE_NAN};
use tokio::sync::oneshot;
use uuid::Uuid;

use super::exposition::{self, Format, ScrapedSample};

/// What Prometheus asks for: OpenMetrics first, then the text format.
const ACCEPT: &str =
    "application/openmetrics-text;version=1.0.0;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";
/// A body larger than this fails the scrape rather than the server.
const MAX_BODY_BYTES: usize = 64 << 20;

#[derive(Clone, Debug, PartialEq)]
pub struct TargetConfig {
    pub job_id: Uuid,
    pub tenant: Uuid,
    pub job: String,
    pub target: String,
    pub url: String,
    pub interval: Duration,
    pub timeout: Duration,
    /// The job's extra labels; `job` and `instance` are added to them.
    pub labels: BTreeMap<String, String>,
}

impl TargetConfig {
    fn target_labels(&self) -> Vec<(String, String)> {
        let mut labels: Vec<(String, String)> = self
            .labels
            .iter()
            .map(|(n, v)| (n.clone(), v.clone()))
            .collect();
        labels.push(("job".into(), self.job.clone()));
        labels.push(("instance".into(), self.target.clone()));
        labels
    }

    /// Where in the interval this target is scraped: spread by its URL, stable across restarts.
    fn offset(&self) -> Duration {
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        (self.job_id, &self.url).hash(&mut hasher);
        let interval = self.interval.as_millis().max(1) as u64;
        Duration::from_millis(hasher.finish() % interval)
    }
}

/// Scrapes until `stop` fires, then marks everything it wrote stale.
pub async fn run(
    config: TargetConfig,
    store: Store,
    runtime: Arc<ScrapeRuntime>,
    client: reqwest::Client,
    mut stop: oneshot::Receiver<()>,
) {
    let mut scraper = Scraper::new(config);
    let start = tokio::time::Instant::now() + scraper.config.offset();
    let mut ticker = tokio::time::interval_at(start, scraper.config.interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    loop {
        tokio::select! {
            _ = ticker.tick() => {}
            _ = &mut stop => break,
        }
        let health = scraper.scrape(&client, &store).await;
        runtime.report(health);
    }
    scraper.end(&store).await;
    runtime.forget(scraper.config.job_id, &scraper.config.target);
}

pub struct Scraper {
    config: TargetConfig,
    /// The series of the last scrape (without explicit timestamps), to mark the vanished stale.
    previous: HashSet<Labels>,
    report_written: bool,
}

impl Scraper {
    pub fn new(config: TargetConfig) -> Scraper {
        Scraper {
            config,
            previous: HashSet::new(),
            report_written: false,
        }
    }

    /// One scrape: fetch, parse and write the samples with the report series, in one write.
    pub async fn scrape(&mut self, client: &reqwest::Client, store: &Store) -> TargetHealth {
        let started = Instant::now();
        let timestamp = now_ms();
        let fetched = self.fetch(client).await;
        let duration = started.elapsed().as_secs_f64();
        let mut batch = Vec::new();
        let mut current = HashSet::new();
        let (scraped, error) = match fetched {
            Ok(exposition) => {
                let scraped = exposition.samples.len();
                let mut invalid = 0;
                for sample in exposition.samples {
                    match self.series_labels(&sample) {
                        Ok(labels) => {
                            if sample.timestamp_ms.is_none() {
                                current.insert(labels.clone());
                            }
                            batch.push(SeriesSamples {
                                labels,
                                samples: vec![(
                                    sample.timestamp_ms.unwrap_or(timestamp),
                                    sample.value,
                                )],
                            });
                        }
                        Err(_) => invalid += 1,
                    }
                }
                if invalid > 0 {
                    store
                        .count_discarded(self.config.tenant, Reason::InvalidLabels, invalid)
                        .await;
                }
                if !exposition.metadata.is_empty() {
                    if let Err(error) = store
                        .write_metadata(self.config.tenant, &exposition.metadata)
                        .await
                    {
                        tracing::warn!(error = %error, url = %self.config.url, "Could not store scraped metadata.");
                    }
                }
                (scraped, String::new())
            }
            Err(error) => (0, error),
        };
        // As Prometheus: a failed scrape leaves nothing current, so every series goes stale.
        let added = current.difference(&self.previous).count();
        for gone in self.previous.difference(&current) {
            batch.push(SeriesSamples {
                labels: gone.clone(),
                samples: vec![(timestamp, f64::from_bits(STALE_NAN))],
            });
        }
        self.previous = current;
        let up = if error.is_empty() { 1.0 } else { 0.0 };
        for (name, value) in [
            ("up", up),
            ("scrape_duration_seconds", duration),
            ("scrape_samples_scraped", scraped as f64),
            ("scrape_samples_post_metric_relabeling", scraped as f64),
            ("scrape_series_added", added as f64),
        ] {
            batch.push(SeriesSamples {
                labels: self.report_labels(name),
                samples: vec![(timestamp, value)],
            });
        }
        self.report_written = true;
        self.write(store, batch).await;
        TargetHealth {
            job_id: self.config.job_id,
            target: self.config.target.clone(),
            url: self.config.url.clone(),
            health: if error.is_empty() { "up" } else { "down" }.into(),
            last_scrape: chrono::DateTime::from_timestamp_millis(timestamp),
            last_duration_seconds: duration,
            last_error: error,
            samples: scraped,
        }
    }

    /// The target went away (job changed, deleted, disabled): its series end now.
    pub async fn end(&mut self, store: &Store) {
        if !self.report_written {
            return;
        }
        let timestamp = now_ms();
        let mut batch: Vec<SeriesSamples> = self
            .previous
            .drain()
            .map(|labels| SeriesSamples {
                labels,
                samples: vec![(timestamp, f64::from_bits(STALE_NAN))],
            })
            .collect();
        for name in [
            "up",
            "scrape_duration_seconds",
            "scrape_samples_scraped",
            "scrape_samples_post_metric_relabeling",
            "scrape_series_added",
        ] {
            batch.push(SeriesSamples {
                labels: self.report_labels(name),
                samples: vec![(timestamp, f64::from_bits(STALE_NAN))],
            });
        }
        self.write(store, batch).await;
    }

    async fn write(&self, store: &Store, batch: Vec<SeriesSamples>) {
        match store.write(self.config.tenant, batch).await {
            Ok(outcome) => {
                if let Some(summary) = outcome.summary() {
                    tracing::warn!(url = %self.config.url, refused = %summary, "Some scraped samples were not stored.");
                }
            }
            Err(error) => {
                tracing::warn!(error = %error, url = %self.config.url, "Could not store a scrape.")
            }
        }
    }

    async fn fetch(&self, client: &reqwest::Client) -> Result<exposition::Exposition, String> {
        let response = client
            .get(&self.config.url)
            .timeout(self.config.timeout)
            .header(reqwest::header::ACCEPT, ACCEPT)
            .header(
                "X-Prometheus-Scrape-Timeout-Seconds",
                self.config.timeout.as_secs_f64().to_string(),
            )
            .send()
            .await
            .map_err(|e| describe(&e))?;
        if response.status() != reqwest::StatusCode::OK {
            return Err(format!("server returned HTTP status {}", response.status()));
        }
        if response
            .content_length()
            .is_some_and(|n| n > MAX_BODY_BYTES as u64)
        {
            return Err(format!("body larger than {MAX_BODY_BYTES} bytes"));
        }
        let content_type = response
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string();
        let body = response.bytes().await.map_err(|e| describe(&e))?;
        if body.len() > MAX_BODY_BYTES {
            return Err(format!("body larger than {MAX_BODY_BYTES} bytes"));
        }
        let text = std::str::from_utf8(&body).map_err(|_| "the body is not UTF-8".to_string())?;
        exposition::parse(text, Format::from_content_type(&content_type)).map_err(|e| e.to_string())
    }

    /// The scraped labels with the target's on top; a scraped label the target also sets is
    /// kept as `exported_<name>` (Prometheus' honor_labels: false).
    fn series_labels(&self, sample: &ScrapedSample) -> Result<Labels, store::LabelError> {
        let target = self.config.target_labels();
        let mut scraped = sample.labels.clone();
        for (name, _) in &target {
            if let Some(i) = scraped.iter().position(|(n, _)| n == name) {
                let mut exported = format!("exported_{name}");
                while scraped.iter().any(|(n, _)| *n == exported) {
                    exported = format!("exported_{exported}");
                }
                scraped[i].0 = exported;
            }
        }
        let mut pairs = scraped;
        pairs.push(("__name__".into(), sample.name.clone()));
        pairs.extend(target);
        Labels::new(pairs)
    }

    fn report_labels(&self, name: &str) -> Labels {
        let mut pairs = self.config.target_labels();
        pairs.push(("__name__".into(), name.to_string()));
        Labels::new(pairs).expect("job labels were validated when the job was saved")
    }
}

/// reqwest's errors without the URL it repeats, with the cause Prometheus would show.
fn describe(error: &reqwest::Error) -> String {
    if error.is_timeout() {
        return "context deadline exceeded (scrape timeout)".into();
    }
    let mut message = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        message = format!("{message}: {cause}");
        source = cause.source();
    }
    message
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}
