//! Prometheus' series and label APIs: `/api/v1/series`, `/api/v1/labels`,
//! `/api/v1/label/{name}/values` and `/api/v1/metadata`, over the caller's tenant.

use std::collections::{BTreeMap, BTreeSet};

use axum::{
    extract::{Form, Path, State},
    http::StatusCode,
    response::Response,
};
use serde_json::{json, Value as Json_};
use uuid::Uuid;

use super::{bad_data, failure, forwarded, success, tenant, time, Params};
use crate::api::{ApiError, ApiScope};
use app::{
    query::{series_selector, QueryError},
    ssr::{scope::Scope, AppState},
};

/// What the parameters ask for: the tenant, its series selectors (`match[]`) and time span.
struct Selection {
    tenant: Uuid,
    selectors: Vec<Vec<store::Matcher>>,
    start: i64,
    end: i64,
    limit: usize,
}

impl Selection {
    /// `required`: the series API needs at least one `match[]`; the label APIs list every
    /// series without one.
    fn read(scope: &Scope, params: &Params, required: bool) -> Result<Selection, Response> {
        let tenant = tenant(scope, params)?;
        let texts = params.all("match[]");
        if texts.is_empty() && required {
            return Err(bad_data("no match[] parameter provided".into()));
        }
        let mut selectors = Vec::new();
        for text in &texts {
            match series_selector(text) {
                Ok(alternatives) => selectors.extend(alternatives),
                Err(e) => return Err(bad_data(format!("invalid parameter \"match[]\": {e}"))),
            }
        }
        if texts.is_empty() {
            selectors.push(Vec::new());
        }
        // Without start/end, all the tenant's data (its retention bounds it).
        let start = time(params, "start", Some(i64::MIN / 4))?;
        let end = time(params, "end", Some(i64::MAX / 4))?;
        let limit = match params.get("limit").filter(|l| !l.is_empty()) {
            None => 0,
            Some(text) => text.parse::<usize>().map_err(|_| {
                bad_data(format!(
                    "invalid parameter \"limit\": {text:?} is not a non-negative number"
                ))
            })?,
        };
        Ok(Selection {
            tenant,
            selectors,
            start,
            end,
            limit,
        })
    }

    /// Every matching series once, sorted by labels.
    async fn series(&self, state: &AppState) -> Result<BTreeSet<store::Labels>, Response> {
        let mut found = BTreeSet::new();
        for matchers in &self.selectors {
            let series = state
                .store
                .series(self.tenant, matchers, self.start, self.end)
                .await
                .map_err(|e| unavailable(QueryError::Store(e.to_string())))?;
            found.extend(series);
        }
        Ok(found)
    }

    /// The first `limit` items (0: all), as Prometheus' `limit` parameter cuts lists.
    fn cut<T>(&self, items: impl Iterator<Item = T>) -> Vec<T> {
        match self.limit {
            0 => items.collect(),
            n => items.take(n).collect(),
        }
    }
}

fn unavailable(error: QueryError) -> Response {
    tracing::warn!(error = %error, "A series listing could not read the store.");
    failure(
        StatusCode::SERVICE_UNAVAILABLE,
        "unavailable",
        error.to_string(),
    )
}

fn labels_json(labels: &store::Labels) -> Json_ {
    Json_::Object(labels.iter().map(|(n, v)| (n.into(), json!(v))).collect())
}

/// Runs `list` on the selection the parameters make, answering its error response as is.
/// A tenant with an external data source gets the list from there (`path`, as `get_only`).
async fn answer<F, Fut>(
    (state, scope, params): (&AppState, Scope, Vec<(String, String)>),
    (path, get_only): (&str, bool),
    required: bool,
    list: F,
) -> Response
where
    F: FnOnce(Selection) -> Fut,
    Fut: std::future::Future<Output = Result<Json_, Response>>,
{
    let params = Params(params);
    if let Some(answer) = forwarded(state, &scope, &params, path, get_only).await {
        return answer;
    }
    let selection = match Selection::read(&scope, &params, required) {
        Ok(selection) => selection,
        Err(response) => return response,
    };
    match list(selection).await {
        Ok(data) => success(data),
        Err(response) => response,
    }
}

pub async fn series(
    State(state): State<AppState>,
    ApiScope(scope): ApiScope,
    Form(params): Form<Vec<(String, String)>>,
) -> Result<Response, ApiError> {
    scope.require_read()?;
    let state = &state;
    let request = (state, scope, params);
    Ok(answer(
        request,
        ("/api/v1/series", false),
        true,
        |selection| async move {
            let found = selection.series(state).await?;
            Ok(Json_::Array(selection.cut(found.iter().map(labels_json))))
        },
    )
    .await)
}

pub async fn label_names(
    State(state): State<AppState>,
    ApiScope(scope): ApiScope,
    Form(params): Form<Vec<(String, String)>>,
) -> Result<Response, ApiError> {
    scope.require_read()?;
    let state = &state;
    let request = (state, scope, params);
    Ok(answer(
        request,
        ("/api/v1/labels", false),
        false,
        |selection| async move {
            let found = selection.series(state).await?;
            let names: BTreeSet<&str> = found
                .iter()
                .flat_map(|l| l.iter().map(|(n, _)| n))
                .collect();
            Ok(json!(selection.cut(names.into_iter())))
        },
    )
    .await)
}

pub async fn label_values(
    State(state): State<AppState>,
    ApiScope(scope): ApiScope,
    Path(name): Path<String>,
    Form(params): Form<Vec<(String, String)>>,
) -> Result<Response, ApiError> {
    scope.require_read()?;
    if !store::is_label_name(&name) {
        return Ok(bad_data(format!("invalid label name: {name:?}")));
    }
    let path = format!("/api/v1/label/{name}/values");
    let state = &state;
    let request = (state, scope, params);
    Ok(
        answer(request, (&path, true), false, |selection| async move {
            let found = selection.series(state).await?;
            let values: BTreeSet<&str> = found.iter().filter_map(|l| l.get(&name)).collect();
            Ok(json!(selection.cut(values.into_iter())))
        })
        .await,
    )
}

/// Metric metadata as remote_write and scrapes delivered it: `metric` picks one metric,
/// `limit` caps the metrics listed (`limit_per_metric` is accepted: Meridian keeps one entry
/// a metric).
pub async fn metadata(
    State(state): State<AppState>,
    ApiScope(scope): ApiScope,
    Form(params): Form<Vec<(String, String)>>,
) -> Result<Response, ApiError> {
    scope.require_read()?;
    let params = Params(params);
    if let Some(answer) = forwarded(&state, &scope, &params, "/api/v1/metadata", true).await {
        return Ok(answer);
    }
    let tenant = match tenant(&scope, &params) {
        Ok(tenant) => tenant,
        Err(response) => return Ok(response),
    };
    let limit = match params.get("limit").filter(|l| !l.is_empty()) {
        None => None,
        Some(text) => match text.parse::<i64>() {
            Ok(n) if n >= 0 => Some(n as usize),
            Ok(_) => None,
            Err(_) => {
                return Ok(bad_data(format!(
                    "invalid parameter \"limit\": {text:?} is not a number"
                )))
            }
        },
    };
    let metric = params.get("metric").filter(|m| !m.is_empty());
    let all = match state.store.metadata(tenant).await {
        Ok(all) => all,
        Err(e) => return Ok(unavailable(QueryError::Store(e.to_string()))),
    };
    let mut data: BTreeMap<String, Json_> = BTreeMap::new();
    for m in all
        .into_iter()
        .filter(|m| metric.is_none_or(|wanted| m.metric == wanted))
    {
        if limit.is_some_and(|limit| data.len() >= limit) {
            break;
        }
        data.insert(
            m.metric,
            json!([{"type": m.kind, "help": m.help, "unit": m.unit}]),
        );
    }
    Ok(success(json!(data)))
}
