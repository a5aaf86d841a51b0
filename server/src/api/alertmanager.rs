//! Alertmanager's API v2 over the caller's tenant (`/api/v2/alerts`, `/alerts/groups`,
//! `/silences`, `/silence/{id}`, `/status`, `/receivers`), in its shapes, so that `amtool`,
//! Prometheus and Grafana's Alertmanager data source work against Meridian with a bearer
//! token; and the configuration's import and export as Alertmanager's YAML
//! (`/api/v1/alertmanager/config`). Callers who see several tenants name one with `tenant=`.

use std::collections::BTreeMap;

use axum::{
    body::Bytes,
    extract::{Path, Query, State},
    http::{header, StatusCode},
    response::{IntoResponse, Response},
    routing::{delete, get, post, MethodRouter},
    Form, Json, Router,
};
use chrono::DateTime;
use notify::{
    alert::{fingerprint_hex, Alert, Posted},
    dispatch::{destinations, Muted, World},
    matcher::{self, Matcher, Op},
    silence::{Silence, State as SilenceState},
    Labels,
};
use serde::Deserialize;
use serde_json::{json, Value};
use uuid::Uuid;

use super::{
    v1::prometheus::{tenant, Params},
    ApiError, ApiScope,
};
use app::{
    error::AppError,
    notifications::repo::{self, api_time, now_ms, silence_json},
    ssr::AppState,
};

pub fn routes() -> Vec<(&'static str, &'static str, MethodRouter<AppState>)> {
    vec![
        ("GET", "/api/v2/alerts", get(list_alerts)),
        ("POST", "/api/v2/alerts", post(post_alerts)),
        ("GET", "/api/v2/alerts/groups", get(alert_groups)),
        ("GET", "/api/v2/silences", get(list_silences)),
        ("POST", "/api/v2/silences", post(post_silence)),
        ("GET", "/api/v2/silence/{id}", get(get_silence)),
        ("DELETE", "/api/v2/silence/{id}", delete(expire_silence)),
        ("GET", "/api/v2/status", get(status)),
        ("GET", "/api/v2/receivers", get(receivers)),
        ("GET", "/api/v1/alertmanager/config", get(export_config)),
        ("POST", "/api/v1/alertmanager/config", post(import_config)),
    ]
}

pub fn router() -> Router<AppState> {
    routes()
        .into_iter()
        .fold(Router::new(), |router, (_, path, handler)| {
            router.route(path, handler)
        })
}

/// Alertmanager answers a bad request with the message as a JSON string.
fn bad_request(message: impl Into<String>) -> Response {
    (StatusCode::BAD_REQUEST, Json(Value::String(message.into()))).into_response()
}

/// The tenant a change goes to: an ingest or write token's own; an admin names it.
fn tenant_to_change(scope: &app::ssr::scope::Scope, params: &Params, ingest: bool) -> Result<Uuid, AppError> {
    if ingest {
        if let Ok(tenant) = scope.require_ingest() {
            return Ok(tenant);
        }
    }
    let named = match params.get("tenant") {
        Some(text) => Some(text.parse().map_err(|_| AppError::invalid("tenant", "not a tenant id"))?),
        None => None,
    };
    scope.tenant_to_edit(named)
}

fn parse_time(text: &str, field: &str) -> Result<Option<i64>, String> {
    if text.is_empty() || text.starts_with("0001-01-01") {
        return Ok(None);
    }
    DateTime::parse_from_rfc3339(text)
        .map(|t| Some(t.timestamp_millis()))
        .map_err(|_| format!("{field}: {text:?} is not an RFC 3339 time"))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PostableAlert {
    #[serde(default)]
    labels: Labels,
    #[serde(default)]
    annotations: Labels,
    #[serde(default)]
    starts_at: String,
    #[serde(default)]
    ends_at: String,
    #[serde(default, rename = "generatorURL")]
    generator_url: String,
}

async fn post_alerts(
    State(state): State<AppState>,
    ApiScope(scope): ApiScope,
    Query(params): Query<Vec<(String, String)>>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let tenant = tenant_to_change(&scope, &Params(params), true)?;
    let posted: Vec<PostableAlert> = match serde_json::from_slice(&body) {
        Ok(alerts) => alerts,
        Err(e) => return Ok(bad_request(format!("body: {e}"))),
    };
    let now = now_ms();
    let mut tx = scope.begin(&state.pool).await?;
    let (config, _) = repo::config(tx.conn(), tenant).await?;
    let mut alerts = Vec::new();
    for (i, p) in posted.into_iter().enumerate() {
        let times = parse_time(&p.starts_at, "startsAt").and_then(|s| Ok((s, parse_time(&p.ends_at, "endsAt")?)));
        let (starts_at, ends_at) = match times {
            Ok(t) => t,
            Err(e) => return Ok(bad_request(format!("alert {i}: {e}"))),
        };
        let posted = Posted {
            labels: p.labels,
            annotations: p.annotations,
            starts_at,
            ends_at,
            generator_url: p.generator_url,
        };
        match posted.accept(now, config.resolve_timeout_ms) {
            Ok(alert) => alerts.push(alert),
            // Alertmanager refuses the whole request when one alert is invalid.
            Err(e) => return Ok(bad_request(e)),
        }
    }
    repo::receive(tx.conn(), tenant, &config, alerts, now).await?;
    tx.commit().await?;
    app::notifications::wake::DISPATCHER.notify_one();
    Ok(StatusCode::OK.into_response())
}

/// The query filters Alertmanager's alert lists take.
struct AlertFilter {
    matchers: Vec<Matcher>,
    receiver: Option<regex::Regex>,
    active: bool,
    silenced: bool,
    inhibited: bool,
}

impl AlertFilter {
    fn from(params: &Params) -> Result<AlertFilter, String> {
        let flag = |name: &str| params.get(name).is_none_or(|v| v != "false");
        let mut matchers = Vec::new();
        for text in params.all("filter") {
            matchers.extend(matcher::parse_list(text).map_err(|e| format!("filter: {e}"))?);
        }
        let receiver = match params.get("receiver") {
            Some(r) if !r.is_empty() => Some(
                regex::Regex::new(&format!("^(?:{r})$")).map_err(|e| format!("receiver: {e}"))?,
            ),
            _ => None,
        };
        Ok(AlertFilter {
            matchers,
            receiver,
            active: flag("active"),
            silenced: flag("silenced"),
            inhibited: flag("inhibited"),
        })
    }
}

/// What the list endpoints need of a tenant.
struct Snapshot {
    config: std::sync::Arc<notify::config::Config>,
    alerts: BTreeMap<u64, Alert>,
    acknowledged: std::collections::BTreeSet<u64>,
    silences: Vec<Silence>,
    now: i64,
}

impl Snapshot {
    async fn read(state: &AppState, scope: &app::ssr::scope::Scope, tenant: Uuid) -> Result<Snapshot, ApiError> {
        let mut tx = scope.begin(&state.pool).await?;
        let (config, _) = repo::config(tx.conn(), tenant).await?;
        let (alerts, acknowledged) = repo::world_parts(&repo::alerts(tx.conn(), tenant).await?);
        let silences = repo::silences(tx.conn(), tenant).await?;
        Ok(Snapshot { config, alerts, acknowledged, silences, now: now_ms() })
    }

    fn world(&self) -> World<'_> {
        World {
            config: &self.config,
            alerts: &self.alerts,
            silences: &self.silences,
            acknowledged: &self.acknowledged,
            external_url: "",
        }
    }

    /// An alert as the API shows it (`gettableAlert`), if the filter keeps it.
    fn alert_json(&self, alert: &Alert, filter: &AlertFilter) -> Option<Value> {
        if alert.resolved_at(self.now) || !matcher::all_match(&filter.matchers, &alert.labels) {
            return None;
        }
        let receivers: Vec<String> = destinations(&self.config.route, &alert.labels)
            .into_iter()
            .map(|d| d.route.receiver.clone())
            .collect();
        if let Some(re) = &filter.receiver {
            if !receivers.iter().any(|r| re.is_match(r)) {
                return None;
            }
        }
        let muted = Muted::of(&self.world(), &alert.labels, self.now);
        let silenced = !muted.silenced_by.is_empty();
        let inhibited = muted.inhibited_by.is_some();
        if (silenced && !filter.silenced) || (inhibited && !filter.inhibited) || (!muted.is_muted() && !filter.active) {
            return None;
        }
        let mut out = json!({
            "annotations": alert.annotations,
            "endsAt": api_time(alert.ends_at),
            "fingerprint": fingerprint_hex(alert.fingerprint()),
            "receivers": receivers.iter().map(|r| json!({"name": r})).collect::<Vec<_>>(),
            "startsAt": api_time(alert.starts_at),
            "status": {
                "inhibitedBy": muted.inhibited_by.map(fingerprint_hex).into_iter().collect::<Vec<_>>(),
                "silencedBy": muted.silenced_by,
                "state": if muted.is_muted() { "suppressed" } else { "active" },
            },
            "updatedAt": api_time(alert.updated_at),
        });
        if !alert.generator_url.is_empty() {
            out["generatorURL"] = json!(alert.generator_url);
        }
        out["labels"] = json!(alert.labels);
        Some(out)
    }
}

/// The tenant a read is about, when the caller may read: or the answer to give instead (403,
/// or 400 for a caller who sees several tenants and names none of them).
fn readable_tenant(scope: &app::ssr::scope::Scope, params: &Params) -> Result<Uuid, Response> {
    scope.require_read().map_err(|e| ApiError(e).into_response())?;
    tenant(scope, params)
}

/// A read of the tenant's alerts: the caller may read, names a tenant it sees (when it sees
/// several), and gives valid filters; otherwise the answer to give instead.
async fn read_alerts(state: &AppState, scope: &app::ssr::scope::Scope, params: Vec<(String, String)>) -> Result<(Snapshot, AlertFilter), Response> {
    let params = Params(params);
    let tenant = readable_tenant(scope, &params)?;
    let filter = AlertFilter::from(&params).map_err(bad_request)?;
    let snapshot = Snapshot::read(state, scope, tenant).await.map_err(IntoResponse::into_response)?;
    Ok((snapshot, filter))
}

async fn list_alerts(
    State(state): State<AppState>,
    ApiScope(scope): ApiScope,
    Form(params): Form<Vec<(String, String)>>,
) -> Response {
    let (snapshot, filter) = match read_alerts(&state, &scope, params).await {
        Ok(read) => read,
        Err(refused) => return refused,
    };
    let list: Vec<Value> = snapshot
        .alerts
        .values()
        .filter_map(|a| snapshot.alert_json(a, &filter))
        .collect();
    Json(list).into_response()
}

async fn alert_groups(
    State(state): State<AppState>,
    ApiScope(scope): ApiScope,
    Form(params): Form<Vec<(String, String)>>,
) -> Response {
    let (snapshot, filter) = match read_alerts(&state, &scope, params).await {
        Ok(read) => read,
        Err(refused) => return refused,
    };
    // Groups as the dispatcher would make them from the alerts there are now.
    let mut groups: BTreeMap<(String, String), (String, Labels, Vec<Value>)> = BTreeMap::new();
    for alert in snapshot.alerts.values() {
        let Some(shown) = snapshot.alert_json(alert, &filter) else {
            continue;
        };
        for d in destinations(&snapshot.config.route, &alert.labels) {
            groups
                .entry((d.route.id.clone(), d.key.clone()))
                .or_insert_with(|| (d.route.receiver.clone(), d.labels.clone(), Vec::new()))
                .2
                .push(shown.clone());
        }
    }
    let list: Vec<Value> = groups
        .into_values()
        .filter(|(receiver, _, _)| filter.receiver.as_ref().is_none_or(|re| re.is_match(receiver)))
        .map(|(receiver, labels, alerts)| json!({"alerts": alerts, "labels": labels, "receiver": {"name": receiver}}))
        .collect();
    Json(list).into_response()
}

async fn list_silences(
    State(state): State<AppState>,
    ApiScope(scope): ApiScope,
    Form(params): Form<Vec<(String, String)>>,
) -> Result<Response, ApiError> {
    let params = Params(params);
    let tenant = match readable_tenant(&scope, &params) {
        Ok(t) => t,
        Err(refused) => return Ok(refused),
    };
    let mut filter = Vec::new();
    for text in params.all("filter") {
        match matcher::parse_list(text) {
            Ok(ms) => filter.extend(ms),
            Err(e) => return Ok(bad_request(format!("filter: {e}"))),
        }
    }
    let now = now_ms();
    let mut silences = repo::list_silences(&scope, &state.pool, tenant).await?;
    // Alertmanager's order: active first (ending soonest), then pending, then expired.
    let rank = |s: &Silence| match s.state(now) {
        SilenceState::Active => (0, s.ends_at),
        SilenceState::Pending => (1, s.starts_at),
        SilenceState::Expired => (2, -s.ends_at),
    };
    silences.sort_by_key(rank);
    let list: Vec<Value> = silences
        .iter()
        .filter(|s| {
            filter.iter().all(|f| {
                s.matchers
                    .iter()
                    .any(|m| m.name == f.name && f.matches_value(&m.value))
            })
        })
        .map(|s| silence_json(s, now))
        .collect();
    Ok(Json(list).into_response())
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PostableSilence {
    #[serde(default)]
    id: String,
    #[serde(default)]
    matchers: Vec<PostableMatcher>,
    #[serde(default)]
    starts_at: String,
    #[serde(default)]
    ends_at: String,
    #[serde(default)]
    created_by: String,
    #[serde(default)]
    comment: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PostableMatcher {
    name: String,
    value: String,
    #[serde(default)]
    is_regex: bool,
    #[serde(default = "yes")]
    is_equal: bool,
}

fn yes() -> bool {
    true
}

async fn post_silence(
    State(state): State<AppState>,
    ApiScope(scope): ApiScope,
    Query(params): Query<Vec<(String, String)>>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let tenant = tenant_to_change(&scope, &Params(params), false)?;
    let posted: PostableSilence = match serde_json::from_slice(&body) {
        Ok(s) => s,
        Err(e) => return Ok(bad_request(format!("body: {e}"))),
    };
    let mut matchers = Vec::new();
    for (i, m) in posted.matchers.iter().enumerate() {
        match Matcher::new(&m.name, Op::from_flags(m.is_regex, m.is_equal), &m.value) {
            Ok(m) => matchers.push(m),
            Err(e) => return Ok(bad_request(format!("matchers[{i}]: {e}"))),
        }
    }
    let now = now_ms();
    let times = parse_time(&posted.starts_at, "startsAt").and_then(|s| Ok((s, parse_time(&posted.ends_at, "endsAt")?)));
    let (starts_at, ends_at) = match times {
        Ok((s, Some(e))) => (s.unwrap_or(now).max(now), e),
        Ok((_, None)) => return Ok(bad_request("endsAt: missing")),
        Err(e) => return Ok(bad_request(e)),
    };
    let silence = Silence {
        id: posted.id,
        matchers,
        starts_at,
        ends_at,
        updated_at: now,
        created_by: posted.created_by,
        comment: posted.comment,
    };
    match repo::save_silence(&scope, &state.pool, tenant, silence).await {
        Ok(id) => Ok(Json(json!({"silenceID": id})).into_response()),
        Err(AppError::Invalid { message, .. }) => Ok(bad_request(message)),
        Err(e) => Err(e.into()),
    }
}

async fn get_silence(
    State(state): State<AppState>,
    ApiScope(scope): ApiScope,
    Path(id): Path<String>,
    Form(params): Form<Vec<(String, String)>>,
) -> Result<Response, ApiError> {
    let tenant = match readable_tenant(&scope, &Params(params)) {
        Ok(t) => t,
        Err(refused) => return Ok(refused),
    };
    let silence = repo::silence(&scope, &state.pool, tenant, &id).await?;
    Ok(Json(silence_json(&silence, now_ms())).into_response())
}

async fn expire_silence(
    State(state): State<AppState>,
    ApiScope(scope): ApiScope,
    Path(id): Path<String>,
    Query(params): Query<Vec<(String, String)>>,
) -> Result<Response, ApiError> {
    let tenant = tenant_to_change(&scope, &Params(params), false)?;
    match repo::expire_silence(&scope, &state.pool, tenant, &id).await {
        Ok(()) => Ok(StatusCode::OK.into_response()),
        Err(AppError::Invalid { message, .. }) => Ok(bad_request(message)),
        Err(e) => Err(e.into()),
    }
}

async fn status(
    State(state): State<AppState>,
    ApiScope(scope): ApiScope,
    Form(params): Form<Vec<(String, String)>>,
) -> Result<Response, ApiError> {
    let tenant = match readable_tenant(&scope, &Params(params)) {
        Ok(t) => t,
        Err(refused) => return Ok(refused),
    };
    let yaml = repo::export(&scope, &state.pool, tenant).await?;
    let started = now_ms() - state.started_at.elapsed().as_millis() as i64;
    Ok(Json(json!({
        "cluster": {"name": state.installation_id, "peers": [], "status": "disabled"},
        "config": {"original": yaml},
        "uptime": api_time(started),
        "versionInfo": {
            "branch": "main",
            "buildDate": "",
            "buildUser": "meridian",
            "goVersion": "",
            "revision": env!("CARGO_PKG_VERSION"),
            "version": "0.25.0",
        },
    }))
    .into_response())
}

async fn receivers(
    State(state): State<AppState>,
    ApiScope(scope): ApiScope,
    Form(params): Form<Vec<(String, String)>>,
) -> Result<Response, ApiError> {
    let tenant = match readable_tenant(&scope, &Params(params)) {
        Ok(t) => t,
        Err(refused) => return Ok(refused),
    };
    let mut tx = scope.begin(&state.pool).await?;
    let (config, _) = repo::config(tx.conn(), tenant).await?;
    let list: Vec<Value> = config.receivers.iter().map(|r| json!({"name": r.name})).collect();
    Ok(Json(list).into_response())
}

async fn export_config(
    State(state): State<AppState>,
    ApiScope(scope): ApiScope,
    Form(params): Form<Vec<(String, String)>>,
) -> Result<Response, ApiError> {
    let tenant = match readable_tenant(&scope, &Params(params)) {
        Ok(t) => t,
        Err(refused) => return Ok(refused),
    };
    let yaml = repo::export(&scope, &state.pool, tenant).await?;
    Ok(([(header::CONTENT_TYPE, "application/yaml")], yaml).into_response())
}

/// Replaces the tenant's configuration with the body (Alertmanager's YAML), checked whole
/// first: `422 {"field": "line 7", …}` and nothing written when it is not valid.
async fn import_config(
    State(state): State<AppState>,
    ApiScope(scope): ApiScope,
    Query(params): Query<Vec<(String, String)>>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let tenant = tenant_to_change(&scope, &Params(params), false)?;
    let text = String::from_utf8(body.to_vec())
        .map_err(|_| AppError::invalid("body", "the configuration is not UTF-8 text"))?;
    let version = repo::import(&scope, &state.pool, tenant, &text).await?;
    Ok(Json(json!({"status": "success", "version": version})).into_response())
}
