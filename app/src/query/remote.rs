//! A tenant's external data source: a Prometheus-compatible server (Prometheus, Mimir, Cortex,
//! Thanos) that answers the tenant's queries instead of the built-in store. The Prometheus API
//! forwards requests to it unchanged; Explore reads its answers into the engine's values.

use std::{collections::BTreeMap, fmt, sync::OnceLock, time::Duration};

use promql::{Labels, Sample, Series, Value};
use serde::Deserialize;
use uuid::Uuid;

use super::QueryError;

/// Where a tenant's queries go when it has an external data source.
#[derive(Clone, PartialEq)]
pub struct Remote {
    /// Base URL without a trailing slash; API paths are appended.
    pub url: String,
    pub bearer_token: Option<String>,
    pub org_id: Option<String>,
}

/// The token is a secret: never printed.
impl fmt::Debug for Remote {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Remote")
            .field("url", &self.url)
            .field(
                "bearer_token",
                &self.bearer_token.as_ref().map(|_| "[redacted]"),
            )
            .field("org_id", &self.org_id)
            .finish()
    }
}

/// The tenant's data source, if it has one. Read on every query: one primary-key lookup, and a
/// change through the admin page is in force at once on every replica.
pub async fn remote_for(pool: &sqlx::PgPool, tenant: Uuid) -> Result<Option<Remote>, QueryError> {
    let row: Option<(String, Option<String>, Option<String>)> = sqlx::query_as(
        "select url, bearer_token, org_id from tenant_datasource where tenant_id = $1",
    )
    .bind(tenant)
    .fetch_optional(pool)
    .await
    .map_err(|e| QueryError::Store(e.to_string()))?;
    Ok(row.map(|(url, bearer_token, org_id)| Remote {
        url,
        bearer_token,
        org_id,
    }))
}

fn client() -> &'static reqwest::Client {
    static CLIENT: OnceLock<reqwest::Client> = OnceLock::new();
    CLIENT.get_or_init(|| {
        reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(5))
            .user_agent(concat!("Meridian/", env!("CARGO_PKG_VERSION")))
            .build()
            .expect("a TLS-capable HTTP client")
    })
}

/// An upstream answer as it came: status, content type, body.
pub struct Forwarded {
    pub status: u16,
    pub content_type: String,
    pub body: bytes::Bytes,
}

impl Remote {
    /// Sends `params` to `path` (form POST, or GET with a query string), with the source's
    /// credentials. Meridian's own `tenant` parameter is not passed on.
    pub async fn forward(
        &self,
        path: &str,
        params: &[(String, String)],
        post: bool,
        timeout: Duration,
    ) -> Result<Forwarded, QueryError> {
        let params: Vec<&(String, String)> = params.iter().filter(|(n, _)| n != "tenant").collect();
        let url = format!("{}{path}", self.url);
        let mut request = if post {
            client().post(&url).form(&params)
        } else {
            client().get(&url).query(&params)
        };
        request = request.timeout(timeout);
        if let Some(token) = &self.bearer_token {
            request = request.bearer_auth(token);
        }
        if let Some(org) = &self.org_id {
            request = request.header("X-Scope-OrgID", org);
        }
        let unavailable = |e: reqwest::Error| {
            QueryError::Remote(format!("data source {}: {}", self.url, without_url(e)))
        };
        let response = request.send().await.map_err(unavailable)?;
        let status = response.status().as_u16();
        let content_type = response
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("application/json")
            .to_string();
        let body = response.bytes().await.map_err(unavailable)?;
        Ok(Forwarded {
            status,
            content_type,
            body,
        })
    }

    /// An instant (`step` = 0) or range query, read into the engine's values.
    pub async fn query(
        &self,
        query: &str,
        (start, end, step): (i64, i64, i64),
        timeout: Duration,
    ) -> Result<Value, QueryError> {
        let seconds = |ms: i64| format!("{}", ms as f64 / 1000.0);
        let mut params = vec![("query".to_string(), query.to_string())];
        let path = if step == 0 {
            params.push(("time".into(), seconds(start)));
            "/api/v1/query"
        } else {
            params.push(("start".into(), seconds(start)));
            params.push(("end".into(), seconds(end)));
            params.push(("step".into(), seconds(step)));
            "/api/v1/query_range"
        };
        let answer = self.forward(path, &params, true, timeout).await?;
        let invalid = |why: String| {
            QueryError::Remote(format!(
                "data source {}: not a Prometheus answer ({why})",
                self.url
            ))
        };
        let answer: Answer = serde_json::from_slice(&answer.body)
            .map_err(|e| invalid(format!("HTTP {}: {e}", answer.status)))?;
        match answer {
            Answer::Success { data } => data.into_value().map_err(invalid),
            Answer::Error { error_type, error } => Err(match error_type.as_str() {
                "bad_data" => QueryError::BadData(error),
                "execution" => QueryError::Execution(error),
                "timeout" => QueryError::Timeout,
                _ => QueryError::Remote(format!("data source {}: {error}", self.url)),
            }),
        }
    }
}

/// reqwest's messages repeat the URL, which the caller already names.
fn without_url(error: reqwest::Error) -> String {
    let error = error.without_url();
    let mut text = error.to_string();
    let mut source = std::error::Error::source(&error);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[derive(Deserialize)]
#[serde(tag = "status", rename_all = "lowercase")]
enum Answer {
    Success {
        data: Data,
    },
    Error {
        #[serde(rename = "errorType")]
        error_type: String,
        error: String,
    },
}

#[derive(Deserialize)]
#[serde(tag = "resultType", content = "result", rename_all = "lowercase")]
enum Data {
    Scalar((f64, String)),
    String((f64, String)),
    Vector(Vec<VectorItem>),
    Matrix(Vec<MatrixItem>),
}

#[derive(Deserialize)]
struct VectorItem {
    metric: BTreeMap<String, String>,
    value: (f64, String),
}

#[derive(Deserialize)]
struct MatrixItem {
    metric: BTreeMap<String, String>,
    values: Vec<(f64, String)>,
}

fn point((t, v): (f64, String)) -> Result<(i64, f64), String> {
    let v = match v.as_str() {
        "+Inf" | "Inf" => f64::INFINITY,
        "-Inf" => f64::NEG_INFINITY,
        "NaN" => f64::NAN,
        text => text.parse().map_err(|_| format!("sample value {text:?}"))?,
    };
    Ok(((t * 1000.0).round() as i64, v))
}

impl Data {
    fn into_value(self) -> Result<Value, String> {
        Ok(match self {
            Data::Scalar(p) => Value::Scalar(point(p)?.1),
            Data::String((_, text)) => Value::String(text),
            Data::Vector(items) => Value::Vector(
                items
                    .into_iter()
                    .map(|item| {
                        let (t, v) = point(item.value)?;
                        Ok(Sample {
                            labels: Labels::new(item.metric.into_iter().collect()),
                            t,
                            v,
                        })
                    })
                    .collect::<Result<_, String>>()?,
            ),
            Data::Matrix(items) => Value::Matrix(
                items
                    .into_iter()
                    .map(|item| {
                        Ok(Series {
                            labels: Labels::new(item.metric.into_iter().collect()),
                            points: item
                                .values
                                .into_iter()
                                .map(point)
                                .collect::<Result<_, _>>()?,
                        })
                    })
                    .collect::<Result<_, String>>()?,
            ),
        })
    }
}
