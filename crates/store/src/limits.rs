//! Per-tenant limits: installation defaults, overridden by a `tenant_limits` row, cached for a
//! minute so the write path does not ask the database each time.

use std::{
    collections::HashMap,
    sync::Mutex,
    time::{Duration, Instant},
};

use sqlx::PgPool;
use uuid::Uuid;

use crate::labels::{Labels, METRIC_NAME};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Limits {
    pub retention_days: u32,
    /// Series that received a sample recently (those in the head).
    pub max_series: u32,
    pub max_samples_per_second: u32,
    pub max_labels_per_series: u32,
    pub max_label_name_length: u32,
    pub max_label_value_length: u32,
}

impl Default for Limits {
    /// Defaults in the spirit of Mimir's, sized for one PostgreSQL.
    fn default() -> Self {
        Limits {
            retention_days: 30,
            max_series: 500_000,
            max_samples_per_second: 1_000_000,
            max_labels_per_series: 30,
            max_label_name_length: 1024,
            max_label_value_length: 2048,
        }
    }
}

/// Why a sample was not stored: the `reason` label of `meridian_discarded_samples_total`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Reason {
    OutOfOrder,
    DuplicateTimestamp,
    TooOld,
    TooFarInFuture,
    SeriesLimit,
    RateLimited,
    LabelCountLimit,
    LabelNameTooLong,
    LabelValueTooLong,
    MissingMetricName,
    InvalidLabels,
    InvalidSample,
    FingerprintCollision,
    NativeHistogram,
}

impl Reason {
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::OutOfOrder => "out_of_order",
            Reason::DuplicateTimestamp => "duplicate_timestamp",
            Reason::TooOld => "too_old",
            Reason::TooFarInFuture => "too_far_in_future",
            Reason::SeriesLimit => "series_limit",
            Reason::RateLimited => "rate_limited",
            Reason::LabelCountLimit => "label_count_limit",
            Reason::LabelNameTooLong => "label_name_too_long",
            Reason::LabelValueTooLong => "label_value_too_long",
            Reason::MissingMetricName => "missing_metric_name",
            Reason::InvalidLabels => "invalid_labels",
            Reason::InvalidSample => "invalid_sample",
            Reason::FingerprintCollision => "fingerprint_collision",
            Reason::NativeHistogram => "native_histogram",
        }
    }
}

/// Checks a label set against the tenant's label limits; the message names the limit.
pub fn check_labels(labels: &Labels, limits: &Limits) -> Result<(), (Reason, String)> {
    if labels.metric_name().is_none() {
        return Err((
            Reason::MissingMetricName,
            format!("series {labels} has no metric name (__name__)"),
        ));
    }
    if labels.len() > limits.max_labels_per_series as usize {
        return Err((
            Reason::LabelCountLimit,
            format!(
                "series {labels} has {} labels, more than the limit max_labels_per_series={}",
                labels.len(),
                limits.max_labels_per_series
            ),
        ));
    }
    for (name, value) in labels.iter() {
        // The metric name is a name too: it is held to the name length, `__name__` itself is not.
        let name = if name == METRIC_NAME { value } else { name };
        if name.len() > limits.max_label_name_length as usize {
            return Err((
                Reason::LabelNameTooLong,
                format!("label name {name:?} is {} bytes, longer than the limit max_label_name_length={}", name.len(), limits.max_label_name_length),
            ));
        }
        if name != value && value.len() > limits.max_label_value_length as usize {
            return Err((
                Reason::LabelValueTooLong,
                format!(
                    "value of label {name:?} is {} bytes, longer than the limit max_label_value_length={}",
                    value.len(),
                    limits.max_label_value_length
                ),
            ));
        }
    }
    Ok(())
}

#[derive(Clone, Debug)]
pub struct TenantSettings {
    pub name: String,
    pub active: bool,
    pub limits: Limits,
}

const CACHE_FOR: Duration = Duration::from_secs(60);

/// Tenants' names and limits, read at most once a minute per tenant.
pub struct LimitsCache {
    defaults: Limits,
    cached: Mutex<HashMap<Uuid, (Instant, TenantSettings)>>,
}

impl LimitsCache {
    pub fn new(defaults: Limits) -> Self {
        LimitsCache {
            defaults,
            cached: Mutex::new(HashMap::new()),
        }
    }

    pub fn defaults(&self) -> &Limits {
        &self.defaults
    }

    /// `None` for a tenant that does not exist.
    pub async fn get(
        &self,
        pool: &PgPool,
        tenant: Uuid,
    ) -> Result<Option<TenantSettings>, sqlx::Error> {
        if let Some((at, settings)) = self.cached.lock().unwrap().get(&tenant) {
            if at.elapsed() < CACHE_FOR {
                return Ok(Some(settings.clone()));
            }
        }
        let row: Option<(String, bool, Option<i32>, Option<i32>, Option<i32>, Option<i32>, Option<i32>, Option<i32>)> = sqlx::query_as(
            "select t.name, t.active, l.retention_days, l.max_series, l.max_samples_per_second, l.max_labels_per_series,
                    l.max_label_name_length, l.max_label_value_length
               from tenant t left join tenant_limits l on l.tenant_id = t.id
              where t.id = $1",
        )
        .bind(tenant)
        .fetch_optional(pool)
        .await?;
        let Some((name, active, retention, series, rate, labels, name_len, value_len)) = row else {
            return Ok(None);
        };
        let d = &self.defaults;
        let pick = |v: Option<i32>, default: u32| v.map(|v| v as u32).unwrap_or(default);
        let settings = TenantSettings {
            name,
            active,
            limits: Limits {
                retention_days: pick(retention, d.retention_days),
                max_series: pick(series, d.max_series),
                max_samples_per_second: pick(rate, d.max_samples_per_second),
                max_labels_per_series: pick(labels, d.max_labels_per_series),
                max_label_name_length: pick(name_len, d.max_label_name_length),
                max_label_value_length: pick(value_len, d.max_label_value_length),
            },
        };
        self.cached
            .lock()
            .unwrap()
            .insert(tenant, (Instant::now(), settings.clone()));
        Ok(Some(settings))
    }

    /// Forgets a tenant's cached settings (after its limits changed).
    pub fn invalidate(&self, tenant: Uuid) {
        self.cached.lock().unwrap().remove(&tenant);
    }
}

/// A token bucket per tenant: `rate` samples a second, bursts up to two seconds' worth.
#[derive(Debug)]
pub struct RateLimiter {
    tokens: f64,
    updated: Instant,
}

impl RateLimiter {
    pub fn new(rate: u32) -> Self {
        RateLimiter {
            tokens: 2.0 * rate as f64,
            updated: Instant::now(),
        }
    }

    /// Takes `samples` tokens if there are enough.
    pub fn try_take(&mut self, rate: u32, samples: usize) -> bool {
        let now = Instant::now();
        let burst = 2.0 * rate as f64;
        self.tokens =
            (self.tokens + now.duration_since(self.updated).as_secs_f64() * rate as f64).min(burst);
        self.updated = now;
        if samples as f64 <= self.tokens || (self.tokens == burst && samples as f64 > burst) {
            // A single request bigger than the whole burst is let through when the bucket is
            // full, rather than refused forever.
            self.tokens -= samples as f64;
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_limits_name_the_limit() {
        let limits = Limits {
            max_labels_per_series: 2,
            max_label_name_length: 5,
            max_label_value_length: 3,
            ..Limits::default()
        };
        let ok = Labels::new([("__name__", "up"), ("job", "abc")]).unwrap();
        assert!(check_labels(&ok, &limits).is_ok());
        let many = Labels::new([("__name__", "up"), ("a", "1"), ("b", "2")]).unwrap();
        let (reason, message) = check_labels(&many, &limits).unwrap_err();
        assert_eq!(reason, Reason::LabelCountLimit);
        assert!(message.contains("max_labels_per_series=2"), "{message}");
        let long_name = Labels::new([("__name__", "up"), ("abcdef", "1")]).unwrap();
        assert_eq!(
            check_labels(&long_name, &limits).unwrap_err().0,
            Reason::LabelNameTooLong
        );
        let long_value = Labels::new([("__name__", "up"), ("a", "1234")]).unwrap();
        assert!(check_labels(&long_value, &limits)
            .unwrap_err()
            .1
            .contains("max_label_value_length=3"));
        let nameless = Labels::new([("a", "1")]).unwrap();
        assert_eq!(
            check_labels(&nameless, &limits).unwrap_err().0,
            Reason::MissingMetricName
        );
    }

    #[test]
    fn the_bucket_refills_at_the_rate() {
        let mut bucket = RateLimiter::new(100);
        assert!(bucket.try_take(100, 150));
        assert!(!bucket.try_take(100, 100));
        bucket.updated -= Duration::from_secs(1);
        assert!(bucket.try_take(100, 100));
    }
}
