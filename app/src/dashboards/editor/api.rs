//! Server functions of the editor. The reads answer only to whoever may change the dashboard
//! (viewers and managers get 403); every change checks the form's CSRF token, saves one version
//! in one transaction with its audit entry, and answers where to go next (a plain form post is
//! redirected there).

use leptos::prelude::*;

use super::{EditorView, PanelForm, PlaceForm, Preview, SettingsForm, VersionDiff, VersionRow};
use crate::error::AppError;

#[cfg(feature = "ssr")]
mod ssr {
    use serde::{Deserialize, Serialize};
    use viz::model::{Dashboard, Panel};

    use super::super::{forms, save, EditorView, PanelForm, PanelPlace};
    use crate::{
        dashboards::{render, repo::StoredDashboard, run::Request, view},
        error::AppError,
        ssr::{scope::Scope, server_fns::is_plain_form_post, AppState},
    };

    /// A plain form post goes to `path`; the enhancer reads it from the answer.
    pub fn go(path: String) -> String {
        if is_plain_form_post() {
            leptos_axum::redirect(&path);
        }
        path
    }

    /// A form's save: the caller's scope for a change (the CSRF token checked), the change saved
    /// as the version after `base`, and the dashboard to go back to.
    pub async fn save_form(
        csrf: &str,
        uid: &str,
        base: i32,
        message: (&str, &str),
        change: impl FnOnce(&mut Dashboard) -> Result<(), AppError>,
    ) -> Result<String, AppError> {
        use crate::ssr::server_fns::{app_state, mutation_scope};
        let (scope, state) = (mutation_scope(csrf).await?, app_state()?);
        let record = save::edit(&state, &scope, uid, base, message, change).await?;
        Ok(go(format!("/d/{}", record.uid)))
    }

    /// A panel's form carried in the editor's URL (the preview without JavaScript).
    #[derive(Default, Serialize, Deserialize)]
    #[serde(default)]
    pub struct Draft {
        pub panel: PanelForm,
    }

    pub fn draft_from(query: &str) -> Option<PanelForm> {
        let request = Request::parse(query);
        if !request.has("draft") {
            return None;
        }
        serde_qs::Config::new(5, false)
            .deserialize_str::<Draft>(query)
            .ok()
            .map(|d| d.panel)
    }

    fn places(model: &Dashboard) -> Vec<PanelPlace> {
        let mut out: Vec<PanelPlace> = model
            .panels
            .iter()
            .flat_map(|p| std::iter::once(p).chain(p.panels.iter()))
            .map(|p| PanelPlace {
                id: p.id,
                kind: p.kind.clone(),
                title: p.title.clone(),
                x: p.grid_pos.x,
                y: p.grid_pos.y,
                w: p.grid_pos.w,
                h: p.grid_pos.h,
            })
            .collect();
        out.sort_by_key(|p| (p.y, p.x));
        out
    }

    pub fn editor_view(
        state: &AppState,
        stored: &StoredDashboard,
        query: &str,
    ) -> Result<EditorView, AppError> {
        let model = &stored.model;
        let request = Request::parse(query);
        let draft = draft_from(query);
        let panel = match request.get("editPanel") {
            None => None,
            Some("new") => Some((None, draft.unwrap_or_else(|| forms::new_panel_form(model)))),
            Some(id) => {
                let id: u32 = id.parse().map_err(|_| AppError::NotFound)?;
                let panel = model
                    .panel(id)
                    .filter(|p| p.kind != "row")
                    .ok_or(AppError::NotFound)?;
                Some((Some(id), draft.unwrap_or_else(|| forms::panel_form(panel))))
            }
        };
        Ok(EditorView {
            uid: stored.record.uid.clone(),
            title: model.title.clone(),
            version: stored.record.version,
            provisioned: stored.record.provisioned.clone(),
            allow_ui_updates: save::provisioned_refusal(state, stored).is_none(),
            settings: forms::settings_form(model),
            panels: places(model),
            panel,
            json: serde_json::to_string_pretty(model).unwrap_or_default(),
            owner: stored
                .record
                .tenant_name
                .clone()
                .unwrap_or_else(|| format!("Global, for {}", stored.record.audience.as_str())),
        })
    }

    /// The preview's height, as style/main.scss gives it (the panel's header takes 44 px).
    const PREVIEW_HEIGHT_PX: u32 = 400;

    /// The draft panel drawn as its dashboard `stored` would draw it, `width` pixels wide.
    pub async fn draw(
        state: &AppState,
        scope: &Scope,
        stored: StoredDashboard,
        query: &str,
        width: u32,
        panel: &Panel,
    ) -> Result<String, AppError> {
        let (_, zone) = crate::dashboards::viewport();
        let prepared = view::prepare_stored(state, scope, stored, query, width, zone).await?;
        let size = (width.saturating_sub(20).max(200), PREVIEW_HEIGHT_PX - 44);
        let data = prepared.data(state, panel, size.0).await;
        let query = prepared.query();
        Ok(render::panel_html(
            panel,
            &data,
            &prepared.frame(size, &query),
        ))
    }
}

#[cfg(feature = "ssr")]
use ssr::go;

/// What the edit pages show of `uid`; `query` is the page's query string (`editPanel`, a draft).
#[server(prefix = "/rpc", endpoint = "dashboard_editor")]
pub async fn dashboard_editor(
    uid: String,
    #[server(default)] query: String,
) -> Result<EditorView, AppError> {
    use crate::ssr::server_fns::{app_state, current_scope, finish};
    let result = async {
        let (scope, state) = (current_scope().await?, app_state()?);
        let stored = super::save::writable(&state, &scope, &uid).await?;
        ssr::editor_view(&state, &stored, &query)
    }
    .await;
    finish("dashboard_editor", result)
}

/// The panel as its form stands, drawn, with what in the form does not read.
#[server(prefix = "/rpc", endpoint = "preview_panel")]
pub async fn preview_panel(
    uid: String,
    #[server(default)] query: String,
    #[server(default)] panel_id: Option<u32>,
    #[server(default)] panel: PanelForm,
    #[server(default)] width: Option<u32>,
) -> Result<Preview, AppError> {
    use crate::ssr::server_fns::{app_state, current_scope, finish};
    let result = async {
        let (scope, state) = (current_scope().await?, app_state()?);
        let stored = super::save::writable(&state, &scope, &uid).await?;
        let mut errors = super::forms::expression_errors(&panel);
        let base = panel_id
            .and_then(|id| stored.model.panel(id).cloned())
            .unwrap_or_default();
        // Drawn as far as the form reads: each field in error is left out, and said.
        let mut readable = panel.clone();
        let mut draft = base.clone();
        for _ in 0..8 {
            match super::forms::apply_panel(&readable, &base) {
                Ok(panel) => {
                    draft = panel;
                    break;
                }
                Err(AppError::Invalid { field, message }) => {
                    super::forms::leave_out(&mut readable, &field, &base);
                    errors.push((field, message));
                }
                Err(other) => return Err(other),
            }
        }
        let width = width.unwrap_or(900).clamp(280, 2400);
        let html = ssr::draw(&state, &scope, stored, &query, width, &draft).await?;
        Ok(Preview { html, errors })
    }
    .await;
    finish("preview_panel", result)
}

/// Saves the panel form (a new panel when `panel_id` is empty). Without JavaScript the form's
/// Preview button comes here too (`intent=preview`): nothing is saved, and the editor opens again
/// with the draft in its URL.
#[server(prefix = "/rpc", endpoint = "save_panel")]
pub async fn save_panel(
    csrf: String,
    uid: String,
    version: i32,
    #[server(default)] panel_id: Option<u32>,
    #[server(default)] panel: PanelForm,
    #[server(default)] message: String,
    #[server(default)] intent: String,
) -> Result<String, AppError> {
    use crate::ssr::server_fns::{app_state, finish, mutation_scope};
    let result = async {
        let (scope, state) = (mutation_scope(&csrf).await?, app_state()?);
        if intent == "preview" {
            super::save::writable(&state, &scope, &uid).await?;
            let draft = serde_qs::to_string(&ssr::Draft {
                panel: panel.clone(),
            })
            .map_err(|_| AppError::Internal)?;
            let id = panel_id.map_or("new".to_string(), |id| id.to_string());
            return Ok(go(format!("/d/{uid}?editPanel={id}&draft=1&{draft}")));
        }
        let mut saved = 0;
        let what = match panel_id {
            Some(_) => format!("changed panel {}", panel.title.trim()),
            None => format!("added panel {}", panel.title.trim()),
        };
        let record = super::save::edit(&state, &scope, &uid, version, (&message, &what), |model| {
            match panel_id {
                Some(id) => {
                    let current = super::forms::panel_mut(model, id)
                        .filter(|p| p.kind != "row")
                        .ok_or(AppError::NotFound)?;
                    *current = super::forms::apply_panel(&panel, current)?;
                    saved = id;
                }
                None => {
                    let mut new = super::forms::apply_panel(&panel, &viz::model::Panel::default())?;
                    new.id = super::forms::next_panel_id(model);
                    saved = new.id;
                    model.panels.push(new);
                }
            }
            Ok(())
        })
        .await?;
        Ok(go(format!("/d/{}#panel-{saved}", record.uid)))
    }
    .await;
    finish("save_panel", result)
}

#[server(prefix = "/rpc", endpoint = "remove_panel")]
pub async fn remove_panel(
    csrf: String,
    uid: String,
    version: i32,
    panel_id: u32,
) -> Result<String, AppError> {
    use crate::ssr::server_fns::finish;
    let what = format!("removed panel {panel_id}");
    let result = ssr::save_form(&csrf, &uid, version, ("", &what), |model| {
        super::forms::remove_panel(model, panel_id).map(|_| ())
    })
    .await;
    finish("remove_panel", result)
}

#[server(prefix = "/rpc", endpoint = "save_dashboard_settings")]
pub async fn save_dashboard_settings(
    csrf: String,
    uid: String,
    version: i32,
    #[server(default)] settings: SettingsForm,
    #[server(default)] message: String,
) -> Result<String, AppError> {
    use crate::ssr::server_fns::finish;
    let result = ssr::save_form(
        &csrf,
        &uid,
        version,
        (&message, "changed the settings"),
        |model| super::forms::apply_settings(&settings, model),
    )
    .await;
    finish("save_dashboard_settings", result)
}

#[server(prefix = "/rpc", endpoint = "save_dashboard_layout")]
pub async fn save_dashboard_layout(
    csrf: String,
    uid: String,
    version: i32,
    #[server(default)] panels: Vec<PlaceForm>,
    #[server(default)] message: String,
) -> Result<String, AppError> {
    use crate::ssr::server_fns::finish;
    let result = ssr::save_form(&csrf, &uid, version, (&message, "moved panels"), |model| {
        super::forms::apply_layout(&panels, model)
    })
    .await;
    finish("save_dashboard_layout", result)
}

/// Replaces the whole model with the JSON typed (its uid stays the dashboard's).
#[server(prefix = "/rpc", endpoint = "save_dashboard_json")]
pub async fn save_dashboard_json(
    csrf: String,
    uid: String,
    version: i32,
    json: String,
    #[server(default)] message: String,
) -> Result<String, AppError> {
    use crate::ssr::server_fns::finish;
    // Read inside the change, so that whoever may not save it learns nothing from the text.
    let result = ssr::save_form(
        &csrf,
        &uid,
        version,
        (&message, "edited the JSON model"),
        |model| {
            let value = crate::dashboards::import::parse(&json).map_err(|e| match e {
                AppError::Invalid { message, .. } => AppError::invalid("json", message),
                other => other,
            })?;
            *model = serde_json::from_value(value)
                .map_err(|e| AppError::invalid("json", format!("not a dashboard model: {e}")))?;
            Ok(())
        },
    )
    .await;
    finish("save_dashboard_json", result)
}

/// A new, empty dashboard (tenant editors: in their tenant; admins: the tenant chosen, or a
/// global one for `audience`); it opens on its first panel's editor.
#[server(prefix = "/rpc", endpoint = "create_dashboard")]
pub async fn create_dashboard(
    csrf: String,
    title: String,
    #[server(default)] tenant: String,
    #[server(default)] audience: String,
) -> Result<String, AppError> {
    use crate::{
        dashboards::{import, repo, Audience},
        ssr::server_fns::{app_state, finish, mutation_scope},
    };
    let result = async {
        let (scope, state) = (mutation_scope(&csrf).await?, app_state()?);
        let tenant = match tenant.trim() {
            "" => None,
            text => Some(
                text.parse()
                    .map_err(|_| AppError::invalid("tenant", "choose a tenant"))?,
            ),
        };
        let tenant = import::destination(&scope, tenant)?;
        let model = viz::model::Dashboard {
            uid: import::new_uid(),
            title: title.trim().to_string(),
            ..Default::default()
        };
        let save = repo::Save {
            tenant,
            audience: Audience::parse(&audience).unwrap_or(Audience::Managers),
            model: &model,
            provisioned: None,
            message: "created",
            notes: None,
        };
        let record = repo::create(&scope, &state.pool, save).await?;
        Ok(go(format!("/d/{}?editPanel=new", record.uid)))
    }
    .await;
    finish("create_dashboard", result)
}

/// Saves a copy under a new uid: beside the original when the caller may write there, else in
/// the caller's own tenant (a tenant editor copying a global dashboard).
#[server(prefix = "/rpc", endpoint = "copy_dashboard")]
pub async fn copy_dashboard(
    csrf: String,
    uid: String,
    #[server(default)] title: String,
) -> Result<String, AppError> {
    use crate::{
        dashboards::{import, repo},
        ssr::server_fns::{app_state, finish, mutation_scope},
    };
    let result = async {
        let (scope, state) = (mutation_scope(&csrf).await?, app_state()?);
        let stored = repo::get(&scope, &state.pool, &uid).await?;
        let tenant = match stored.record.tenant_id {
            Some(owner) if repo::require_writer(&scope, Some(owner)).is_ok() => Some(owner),
            None if scope.require_admin().is_ok() => None,
            _ => import::destination(&scope, scope.home_tenant)?,
        };
        let mut model = stored.model.clone();
        model.uid = import::new_uid();
        model.title = match title.trim() {
            "" => format!("Copy of {}", stored.model.title),
            title => title.to_string(),
        };
        let message = format!(
            "copied from {} version {}",
            stored.record.uid, stored.record.version
        );
        let save = repo::Save {
            tenant,
            audience: stored.record.audience,
            model: &model,
            provisioned: None,
            message: &message,
            notes: Some(&stored.notes),
        };
        let record = repo::create(&scope, &state.pool, save).await?;
        Ok(go(format!("/d/{}", record.uid)))
    }
    .await;
    finish("copy_dashboard", result)
}

#[server(prefix = "/rpc", endpoint = "delete_dashboard")]
pub async fn delete_dashboard(
    csrf: String,
    uid: String,
    #[server(default)] confirm: Option<String>,
) -> Result<String, AppError> {
    use crate::{
        dashboards::repo,
        ssr::server_fns::{app_state, finish, mutation_scope},
    };
    let result = async {
        let (scope, state) = (mutation_scope(&csrf).await?, app_state()?);
        let stored = super::save::writable(&state, &scope, &uid).await?;
        if confirm.is_none() {
            return Err(AppError::invalid("confirm", "tick the box to confirm"));
        }
        repo::delete(&scope, &state.pool, stored.record.id, false).await?;
        Ok(go("/dashboards".to_string()))
    }
    .await;
    finish("delete_dashboard", result)
}

#[server(prefix = "/rpc", endpoint = "dashboard_versions")]
pub async fn dashboard_versions(uid: String) -> Result<Vec<VersionRow>, AppError> {
    use crate::ssr::server_fns::{app_state, current_scope, finish};
    let result = async {
        let (scope, state) = (current_scope().await?, app_state()?);
        let stored = super::save::writable(&state, &scope, &uid).await?;
        let versions =
            crate::dashboards::repo::versions(&scope, &state.pool, stored.record.id).await?;
        Ok(versions
            .into_iter()
            .map(|v| VersionRow {
                version: v.version,
                author: v.author,
                at: v.created_at.format("%Y-%m-%d %H:%M:%S UTC").to_string(),
                message: v.message,
            })
            .collect())
    }
    .await;
    finish("dashboard_versions", result)
}

#[server(prefix = "/rpc", endpoint = "dashboard_version_diff")]
pub async fn dashboard_version_diff(
    uid: String,
    from: i32,
    to: i32,
) -> Result<VersionDiff, AppError> {
    use crate::{
        dashboards::repo,
        ssr::server_fns::{app_state, current_scope, finish},
    };
    let result = async {
        let (scope, state) = (current_scope().await?, app_state()?);
        let stored = super::save::writable(&state, &scope, &uid).await?;
        let id = stored.record.id;
        let old = repo::version_model(&scope, &state.pool, id, from).await?;
        let new = repo::version_model(&scope, &state.pool, id, to).await?;
        Ok(super::diff::diff(from, &old, to, &new))
    }
    .await;
    finish("dashboard_version_diff", result)
}

/// Makes `restore` the current model again, as a new version.
#[server(prefix = "/rpc", endpoint = "restore_dashboard_version")]
pub async fn restore_dashboard_version(
    csrf: String,
    uid: String,
    version: i32,
    restore: i32,
) -> Result<String, AppError> {
    use crate::{
        dashboards::repo,
        ssr::server_fns::{app_state, finish, mutation_scope},
    };
    let result = async {
        let (scope, state) = (mutation_scope(&csrf).await?, app_state()?);
        let stored = super::save::writable(&state, &scope, &uid).await?;
        let old = repo::version_model(&scope, &state.pool, stored.record.id, restore).await?;
        let what = format!("restored version {restore}");
        super::save::edit(&state, &scope, &uid, version, ("", &what), |model| {
            *model = old;
            Ok(())
        })
        .await?;
        Ok(go(format!("/d/{uid}?editview=versions")))
    }
    .await;
    finish("restore_dashboard_version", result)
}

/// The dashboard files the last load could not take, with why (admins).
#[server(prefix = "/rpc", endpoint = "dashboard_file_problems")]
pub async fn dashboard_file_problems() -> Result<Vec<(String, String)>, AppError> {
    use crate::ssr::server_fns::{app_state, current_scope, finish};
    let result = async {
        let (scope, state) = (current_scope().await?, app_state()?);
        let _admin = scope.require_admin()?;
        Ok(state.dashboard_files.problems())
    }
    .await;
    finish("dashboard_file_problems", result)
}
