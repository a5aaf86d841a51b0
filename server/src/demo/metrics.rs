//! Demo metrics: per tenant, an application's request counters by method, endpoint and status
//! (a tenant's own small share of 5xx, a quarter in an incident), latency histograms, active users, agent task gauges and counters,
//! tool calls and failed logins — with daily seasonality and occasional incidents (error and
//! latency spikes). At start the last 7 days are backfilled (from the last stored sample, so a
//! restart fills only the gap); then a sample every 15 s.

use std::{collections::HashMap, f64::consts::PI, time::Duration};

use rand::{rngs::StdRng, Rng, SeedableRng};
use uuid::Uuid;

use store::{Labels, Matcher, SeriesSamples, Store};

const LIVE_STEP_MS: i64 = 15_000;
const BACKFILL_STEP_MS: i64 = 30_000;
pub const BACKFILL_MS: i64 = 7 * 86_400_000;
const ENDPOINTS: [(&str, f64); 4] = [
    ("/orders", 0.12),
    ("/users", 0.05),
    ("/search", 0.25),
    ("/login", 0.08),
];
const METHODS: [(&str, f64); 2] = [("GET", 0.8), ("POST", 0.2)];
const BUCKETS: [f64; 10] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0];
const AGENTS: [&str; 3] = ["planner", "coder", "reviewer"];
const TOOLS: [&str; 4] = ["search", "browser", "shell", "database"];

/// One tenant's application: its size, and the counters it has reached.
pub struct Tenant {
    id: Uuid,
    scale: f64,
    /// Share of requests that fail (5xx) outside incidents: each tenant's availability differs.
    error_share: f64,
    seed: u64,
    counters: HashMap<Labels, f64>,
    rng: StdRng,
}

fn labels(pairs: &[(&str, &str)]) -> Labels {
    Labels::new(pairs.iter().copied()).expect("demo labels are valid")
}

/// Requests per second at this time of day: low at night, peak in the afternoon (UTC).
fn seasonality(t: i64) -> f64 {
    let hour = (t.rem_euclid(86_400_000)) as f64 / 3_600_000.0;
    let weekday = (t.div_euclid(86_400_000) + 4).rem_euclid(7); // 0 = Sunday
    let weekend = if weekday == 0 || weekday == 6 {
        0.6
    } else {
        1.0
    };
    (0.55 + 0.45 * (2.0 * PI * (hour - 9.0) / 24.0).sin()) * weekend
}

/// Incidents: about one hour in forty has one, lasting 20 minutes, chosen per tenant.
fn incident(seed: u64, t: i64) -> bool {
    let hour = t.div_euclid(3_600_000) as u64;
    let mut h = (hour ^ seed).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    h ^= h >> 31;
    h % 40 == 0 && t.rem_euclid(3_600_000) < 20 * 60_000
}

/// Credential-stuffing bursts: about one hour in fifty has one, 15 minutes of failed logins at
/// 25 times the usual rate, apart from the incidents.
fn attack(seed: u64, t: i64) -> bool {
    let hour = t.div_euclid(3_600_000) as u64;
    let mut h = (hour ^ seed.rotate_left(17)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    h ^= h >> 29;
    h % 50 == 7 && (30 * 60_000..45 * 60_000).contains(&t.rem_euclid(3_600_000))
}

/// Φ, the standard normal CDF (Abramowitz–Stegun 7.1.26 for erf).
fn normal_cdf(x: f64) -> f64 {
    let z = x.abs() / 2f64.sqrt();
    let t = 1.0 / (1.0 + 0.327_591_1 * z);
    let erf = 1.0
        - (((((1.061_405_429 * t - 1.453_152_027) * t) + 1.421_413_741) * t - 0.284_496_736) * t
            + 0.254_829_592)
            * t
            * (-z * z).exp();
    0.5 * (1.0 + if x >= 0.0 { erf } else { -erf })
}

impl Tenant {
    fn add(&mut self, labels: Labels, increment: f64) -> f64 {
        let value = self.counters.entry(labels).or_insert(0.0);
        *value += increment;
        *value
    }

    /// Every series' sample at `t`, `step_ms` after the previous one.
    fn sample(&mut self, t: i64, step_ms: i64) -> Vec<(Labels, f64)> {
        let seconds = step_ms as f64 / 1000.0;
        let load = seasonality(t) * self.scale;
        let down = incident(self.seed, t);
        let mut out = Vec::with_capacity(100);
        for (endpoint, share) in ENDPOINTS {
            let mut served = 0.0;
            for (method, method_share) in METHODS {
                let rate = 40.0 * load * share * method_share * self.rng.gen_range(0.85..1.15);
                let requests = (rate * seconds).round();
                let error_share = if down { 0.25 } else { self.error_share };
                // Rounded at random, so that a share below one request a step still shows.
                let expected = requests * error_share * self.rng.gen_range(0.5..1.5);
                let errors = (expected.floor() + f64::from(self.rng.gen_bool(expected.fract())))
                    .min(requests);
                // In an incident most failures are the load balancer's 503s.
                let unavailable = if down { (errors * 0.6).round() } else { 0.0 };
                let not_found = (requests * 0.03).round().min(requests - errors);
                for (status, n) in [
                    ("200", requests - errors - not_found),
                    ("404", not_found),
                    ("500", errors - unavailable),
                    ("503", unavailable),
                ] {
                    let l = labels(&[
                        ("__name__", "http_requests_total"),
                        ("service", "api"),
                        ("method", method),
                        ("endpoint", endpoint),
                        ("status", status),
                    ]);
                    let v = self.add(l.clone(), n);
                    out.push((l, v));
                }
                served += requests;
            }
            // Latency: log-normal around a per-endpoint median, six times slower in an incident
            // (so /search's p95 passes 2 s).
            let median: f64 =
                if endpoint == "/search" { 0.12 } else { 0.04 } * if down { 6.0 } else { 1.0 };
            let sigma: f64 = 0.8;
            let base = [("service", "api"), ("endpoint", endpoint)];
            for le in BUCKETS {
                let share = normal_cdf((le.ln() - median.ln()) / sigma);
                let le_text = le.to_string();
                let l = labels(&[
                    base[0],
                    base[1],
                    ("__name__", "http_request_duration_seconds_bucket"),
                    ("le", &le_text),
                ]);
                let v = self.add(l.clone(), (served * share).round());
                out.push((l, v));
            }
            let inf = labels(&[
                base[0],
                base[1],
                ("__name__", "http_request_duration_seconds_bucket"),
                ("le", "+Inf"),
            ]);
            let v = self.add(inf.clone(), served);
            out.push((inf, v));
            let count = labels(&[
                base[0],
                base[1],
                ("__name__", "http_request_duration_seconds_count"),
            ]);
            let v = self.add(count.clone(), served);
            out.push((count, v));
            let sum = labels(&[
                base[0],
                base[1],
                ("__name__", "http_request_duration_seconds_sum"),
            ]);
            let v = self.add(sum.clone(), served * median * (sigma * sigma / 2.0).exp());
            out.push((sum, v));
        }
        let users = (900.0 * load * self.rng.gen_range(0.95..1.05)).round();
        out.push((
            labels(&[("__name__", "active_users"), ("service", "web")]),
            users,
        ));
        for agent in AGENTS {
            let running = (6.0 * load * self.rng.gen_range(0.5..1.5)).round();
            out.push((
                labels(&[("__name__", "agent_tasks_running"), ("agent", agent)]),
                running,
            ));
            let done = labels(&[
                ("__name__", "agent_tasks_completed_total"),
                ("agent", agent),
            ]);
            let completed = (0.4 * load * seconds * self.rng.gen_range(0.5..1.5)).round();
            let v = self.add(done.clone(), completed);
            out.push((done, v));
        }
        for tool in TOOLS {
            let calls = 3.0 * load * seconds * self.rng.gen_range(0.7..1.3);
            let expected = calls * if down { 0.2 } else { 0.01 };
            let failed = expected.floor() + f64::from(self.rng.gen_bool(expected.fract()));
            for (status, n) in [("ok", calls.round() - failed), ("error", failed)] {
                let l = labels(&[
                    ("__name__", "tool_calls_total"),
                    ("tool", tool),
                    ("status", status),
                ]);
                let v = self.add(l.clone(), n.max(0.0));
                out.push((l, v));
            }
        }
        let failures = labels(&[
            ("__name__", "login_failures_total"),
            ("reason", "bad_password"),
        ]);
        let burst = if attack(self.seed, t) { 25.0 } else { 1.0 };
        let failed = (0.02 * seconds * self.rng.gen_range(0.0..2.0) * burst).round();
        let v = self.add(failures.clone(), failed);
        out.push((failures, v));
        out.push((
            labels(&[
                ("__name__", "up"),
                ("job", "api"),
                ("instance", "api-1:8080"),
            ]),
            1.0,
        ));
        // The second instance is what goes down in an incident.
        out.push((
            labels(&[
                ("__name__", "up"),
                ("job", "api"),
                ("instance", "api-2:8080"),
            ]),
            if down { 0.0 } else { 1.0 },
        ));
        out
    }
}

fn batch(rows: Vec<Vec<(i64, Vec<(Labels, f64)>)>>) -> Vec<SeriesSamples> {
    let mut by_series: HashMap<Labels, Vec<(i64, f64)>> = HashMap::new();
    for step in rows.into_iter().flatten() {
        let (t, samples) = step;
        for (labels, value) in samples {
            by_series.entry(labels).or_default().push((t, value));
        }
    }
    by_series
        .into_iter()
        .map(|(labels, samples)| SeriesSamples { labels, samples })
        .collect()
}

/// `points` samples `step_ms` apart from `start` of the demo application of a tenant called
/// `name` (about 100 series): the benchmark's data set.
pub fn generate(name: &str, start: i64, step_ms: i64, points: usize) -> Vec<SeriesSamples> {
    let seed = seed_of(name);
    let mut app = Tenant {
        id: Uuid::nil(),
        scale: 1.0,
        error_share: 0.002,
        seed,
        counters: HashMap::new(),
        rng: StdRng::seed_from_u64(seed),
    };
    let rows = (0..points as i64)
        .map(|i| {
            let t = start + i * step_ms;
            (t, app.sample(t, step_ms))
        })
        .collect();
    batch(vec![rows])
}

fn seed_of(name: &str) -> u64 {
    name.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ b as u64).wrapping_mul(0x100_0000_01b3)
    })
}

/// The time of the tenant's last stored demo sample, if any in the last 7 days.
async fn last_sample(store: &Store, tenant: Uuid, now: i64) -> Option<i64> {
    let up = [
        Matcher::equal("__name__", "up"),
        Matcher::equal("job", "api"),
    ];
    let found = store
        .select(tenant, &up, now - BACKFILL_MS, now)
        .await
        .ok()?;
    found
        .iter()
        .filter_map(|s| s.samples().last().map(|(t, _)| t))
        .max()
}

/// The demo applications, backfilled, ready to write live samples.
pub struct Apps(Vec<(Tenant, String)>);

/// Backfills each tenant up to `now` (from its last sample, or for the whole demo week).
pub async fn backfill(store: &Store, tenants: &[(Uuid, String)], now: i64) -> Apps {
    let tenants = tenants.to_vec();
    let mut apps = Vec::new();
    for (i, (id, name)) in tenants.into_iter().enumerate() {
        let seed = seed_of(&name);
        let mut app = Tenant {
            id,
            scale: [1.0, 0.6, 0.3].get(i).copied().unwrap_or(0.3),
            error_share: [0.0005, 0.002, 0.004].get(i).copied().unwrap_or(0.002),
            seed,
            counters: HashMap::new(),
            rng: StdRng::seed_from_u64(seed),
        };
        let from = match last_sample(store, id, now).await {
            Some(last) => last + BACKFILL_STEP_MS,
            None => now - BACKFILL_MS,
        };
        let steps: Vec<i64> = (0..)
            .map(|k| from + k * BACKFILL_STEP_MS)
            .take_while(|t| *t <= now)
            .collect();
        let rows: Vec<(i64, Vec<(Labels, f64)>)> = steps
            .iter()
            .map(|&t| (t, app.sample(t, BACKFILL_STEP_MS)))
            .collect();
        let samples: usize = rows.iter().map(|(_, s)| s.len()).sum();
        match store.import(id, batch(vec![rows])).await {
            Ok((stats, _)) => {
                tracing::info!(tenant = %name, series = stats.series, samples, "Backfilled demo metrics.")
            }
            Err(error) => {
                tracing::warn!(tenant = %name, error = %error, "Could not backfill demo metrics.")
            }
        }
        apps.push((app, name));
    }
    Apps(apps)
}

/// Writes live samples every 15 s until the store closes.
pub async fn live(store: Store, Apps(mut apps): Apps) {
    let mut tick = tokio::time::interval(Duration::from_millis(LIVE_STEP_MS as u64));
    tick.tick().await;
    loop {
        tick.tick().await;
        let t = chrono::Utc::now().timestamp_millis();
        for (app, name) in apps.iter_mut() {
            let rows = vec![vec![(t, app.sample(t, LIVE_STEP_MS))]];
            match store.write(app.id, batch(rows)).await {
                Ok(outcome) if outcome.discarded.is_empty() => {}
                Ok(outcome) => {
                    tracing::debug!(tenant = %name, summary = ?outcome.summary(), "Some demo samples were refused.")
                }
                Err(store::WriteError::Closed) => return,
                Err(error) => {
                    tracing::warn!(tenant = %name, error = %error, "Could not write demo metrics.")
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_only_grow_and_histograms_are_cumulative() {
        let mut app = Tenant {
            id: Uuid::nil(),
            scale: 1.0,
            error_share: 0.002,
            seed: 7,
            counters: HashMap::new(),
            rng: StdRng::seed_from_u64(7),
        };
        let first: HashMap<Labels, f64> = app.sample(0, 15_000).into_iter().collect();
        let second: HashMap<Labels, f64> = app.sample(15_000, 15_000).into_iter().collect();
        for (labels, value) in &second {
            if labels
                .metric_name()
                .is_some_and(|n| n.ends_with("_total") || n.ends_with("_bucket"))
            {
                assert!(*value >= first[labels], "{labels} went down");
            }
        }
        let bucket = |le: &str| {
            second[&labels(&[
                ("__name__", "http_request_duration_seconds_bucket"),
                ("service", "api"),
                ("endpoint", "/search"),
                ("le", le),
            ])]
        };
        assert!(bucket("0.05") <= bucket("0.25") && bucket("0.25") <= bucket("+Inf"));
        assert!(second.len() > 80, "{} series", second.len());
        assert!((normal_cdf(0.0) - 0.5).abs() < 1e-6 && (normal_cdf(1.96) - 0.975).abs() < 1e-3);
    }
}
