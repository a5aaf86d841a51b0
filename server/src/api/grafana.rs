//! The part of Grafana's HTTP API that dashboard tooling uses (scripts, Terraform's Grafana
//! provider, grizzly): search, read, save and delete a dashboard by uid, in Grafana's shapes and
//! errors (`{"message": …}`; a stale save is 412 `version-mismatch`). Authenticated like the REST
//! API; a tenant token works in its own tenant, an admin on global dashboards.

use axum::{
    extract::{Path, RawQuery, State},
    http::StatusCode,
    response::{IntoResponse, Response},
    routing::{delete, get, post, MethodRouter},
    Json, Router,
};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::api::{ApiError, ApiScope};
use app::{
    dashboards::{import, repo, Audience},
    error::AppError,
    ssr::AppState,
};

pub fn routes() -> Vec<(&'static str, &'static str, MethodRouter<AppState>)> {
    vec![
        ("GET", "/api/search", get(search)),
        ("GET", "/api/dashboards/uid/{uid}", get(read)),
        ("DELETE", "/api/dashboards/uid/{uid}", delete(remove)),
        ("POST", "/api/dashboards/db", post(save)),
    ]
}

pub fn router() -> Router<AppState> {
    routes()
        .into_iter()
        .fold(Router::new(), |router, (_, path, handler)| {
            router.route(path, handler)
        })
}

/// An error as Grafana answers it.
pub struct GrafanaError(AppError);

impl From<AppError> for GrafanaError {
    fn from(error: AppError) -> Self {
        GrafanaError(error)
    }
}

impl From<ApiError> for GrafanaError {
    fn from(error: ApiError) -> Self {
        GrafanaError(error.0)
    }
}

impl IntoResponse for GrafanaError {
    fn into_response(self) -> Response {
        let (status, body) = match &self.0 {
            AppError::Conflict(message) => (
                StatusCode::PRECONDITION_FAILED,
                json!({"status": "version-mismatch", "message": message}),
            ),
            AppError::NotFound => (
                StatusCode::NOT_FOUND,
                json!({"message": "Dashboard not found"}),
            ),
            AppError::Invalid { .. } => (
                StatusCode::BAD_REQUEST,
                json!({"message": self.0.to_string()}),
            ),
            other => (
                StatusCode::from_u16(other.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
                json!({"message": other.to_string()}),
            ),
        };
        (status, Json(body)).into_response()
    }
}

/// Grafana's numeric id: Meridian's ids are UUIDs; their first six bytes are stable and unique
/// enough for the tools that still read `id`.
fn numeric_id(id: uuid::Uuid) -> u64 {
    id.as_bytes()[..6]
        .iter()
        .fold(0u64, |n, b| n << 8 | *b as u64)
}

fn slug(title: &str) -> String {
    let mut out = String::new();
    for c in title.to_lowercase().chars() {
        if c.is_alphanumeric() {
            out.push(c);
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    out.trim_matches('-').to_string()
}

pub struct SearchQuery {
    query: String,
    tag: Vec<String>,
}

/// `GET /api/search?query=&tag=`: the caller's dashboards as Grafana lists them.
pub async fn search(
    State(state): State<AppState>,
    ApiScope(scope): ApiScope,
    RawQuery(raw): RawQuery,
) -> Result<Json<Value>, GrafanaError> {
    let params = parse_query(raw.as_deref().unwrap_or(""));
    let mut list = repo::list(&scope, &state.pool, &params.query, None).await?;
    list.retain(|d| params.tag.iter().all(|t| d.tags.contains(t)));
    Ok(Json(Value::Array(
        list.iter()
            .map(|d| {
                let slug = slug(&d.title);
                json!({
                    "id": numeric_id(d.id), "uid": d.uid, "title": d.title, "uri": format!("db/{slug}"),
                    "url": format!("/d/{}/{slug}", d.uid), "slug": slug, "type": "dash-db", "tags": d.tags,
                    "isStarred": false, "folderId": 0, "folderUid": "", "folderTitle": "General",
                })
            })
            .collect(),
    )))
}

/// `tag` may repeat (`tag=a&tag=b`), which serde's form decoding of a struct does not take.
fn parse_query(raw: &str) -> SearchQuery {
    let mut query = SearchQuery {
        query: String::new(),
        tag: Vec::new(),
    };
    for pair in raw.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let v = app::url::decode(v);
        match k {
            "query" => query.query = v,
            "tag" if !v.is_empty() => query.tag.push(v),
            _ => {}
        }
    }
    query
}

fn meta(record: &repo::DashboardRecord, editable: bool) -> Value {
    let slug = slug(&record.title);
    json!({
        "type": "db", "canSave": editable, "canEdit": editable, "canAdmin": false, "canStar": false,
        "canDelete": editable, "slug": slug, "url": format!("/d/{}/{slug}", record.uid),
        "expires": "0001-01-01T00:00:00Z", "created": record.updated_at, "updated": record.updated_at,
        "version": record.version, "hasAcl": false, "isFolder": false, "folderId": 0, "folderUid": "",
        "folderTitle": "General", "folderUrl": "", "provisioned": record.provisioned.is_some(),
        "provisionedExternalId": "",
    })
}

/// `GET /api/dashboards/uid/{uid}`: `{dashboard, meta}`.
pub async fn read(
    State(state): State<AppState>,
    ApiScope(scope): ApiScope,
    Path(uid): Path<String>,
) -> Result<Json<Value>, GrafanaError> {
    let stored = repo::get(&scope, &state.pool, &uid).await?;
    let mut dashboard = serde_json::to_value(&stored.model).map_err(|_| AppError::Internal)?;
    dashboard["id"] = json!(numeric_id(stored.record.id));
    dashboard["version"] = json!(stored.record.version);
    let editable = repo::require_writer(&scope, stored.record.tenant_id).is_ok();
    Ok(Json(
        json!({"dashboard": dashboard, "meta": meta(&stored.record, editable)}),
    ))
}

#[derive(Deserialize)]
pub struct SaveBody {
    dashboard: Value,
    #[serde(default)]
    overwrite: bool,
    #[serde(default)]
    message: String,
}

/// `POST /api/dashboards/db`: creates or replaces the dashboard with its uid. Without
/// `overwrite`, a `version` older than the stored one is refused (412), as Grafana does.
pub async fn save(
    State(state): State<AppState>,
    ApiScope(scope): ApiScope,
    body: axum::body::Bytes,
) -> Result<Json<Value>, GrafanaError> {
    import::destination(&scope, None)?;
    let body: SaveBody = serde_json::from_slice(&body)
        .map_err(|e| AppError::invalid("dashboard", format!("not a dashboard save: {e}")))?;
    let base_version = body
        .dashboard
        .get("version")
        .and_then(Value::as_i64)
        .map(|v| v as i32);
    let target = import::Target {
        tenant: None,
        audience: Audience::Managers,
        overwrite: body.overwrite,
        base_version,
        message: body.message,
        allow_ui_updates: state.dashboard_files.allow_ui_updates,
    };
    let imported = import::import(&scope, &state.pool, &body.dashboard, target).await?;
    Ok(Json(json!({
        "id": numeric_id(imported.record.id), "uid": imported.uid, "url": format!("/d/{}/{}", imported.uid, slug(&imported.title)),
        "status": "success", "version": imported.version, "slug": slug(&imported.title),
    })))
}

/// `DELETE /api/dashboards/uid/{uid}`.
pub async fn remove(
    State(state): State<AppState>,
    ApiScope(scope): ApiScope,
    Path(uid): Path<String>,
) -> Result<Json<Value>, GrafanaError> {
    let id = repo::id_of(&scope, &state.pool, &uid).await?;
    let deleted = repo::delete(&scope, &state.pool, id, false).await?;
    Ok(Json(json!({
        "title": deleted.title, "message": format!("Dashboard {} deleted", deleted.title),
        "id": numeric_id(deleted.id),
    })))
}
