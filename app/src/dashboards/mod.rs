//! Dashboards: the pages managers and tenants open every day. A dashboard is Grafana's JSON model
//! (`viz::model`), owned by one tenant or global; its page `/d/{uid}` is drawn on the server —
//! panels as SVG and HTML — so it is complete without JavaScript, and every control is a link or
//! a GET form whose URL carries the view (`from`, `to`, `timezone`, `refresh`, `var-…`). The
//! island in [`live`] adds what needs a script: redrawing without a reload, auto-refresh, the
//! shared hover crosshair and drag-to-zoom.

mod api;
pub mod editor;
#[cfg(feature = "ssr")]
pub mod files;
#[cfg(feature = "ssr")]
pub mod import;
mod import_page;
#[cfg(feature = "ssr")]
pub mod interpolate;
pub mod live;
mod page;
#[cfg(feature = "ssr")]
pub mod provision;
#[cfg(feature = "ssr")]
pub mod render;
#[cfg(feature = "ssr")]
pub mod repo;
#[cfg(feature = "ssr")]
pub mod run;
#[cfg(feature = "ssr")]
pub mod vars;
#[cfg(feature = "ssr")]
pub mod view;

use serde::{Deserialize, Serialize};

pub use api::*;
pub use import_page::DashboardImportRoute;
pub use page::{DashboardRoute, DashboardsRoute};

/// A variable's "All" in URLs, as Grafana writes it.
pub const ALL: &str = "$__all";

/// Who sees a global dashboard.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Audience {
    Admins,
    /// Managers and admins.
    Managers,
    /// Everyone signed in; tenant users see it over their own tenant.
    Everyone,
}

impl Audience {
    pub fn as_str(self) -> &'static str {
        match self {
            Audience::Admins => "admins",
            Audience::Managers => "managers",
            Audience::Everyone => "everyone",
        }
    }

    pub fn parse(text: &str) -> Option<Audience> {
        [Audience::Admins, Audience::Managers, Audience::Everyone]
            .into_iter()
            .find(|a| a.as_str() == text)
    }
}

/// A dashboard in the list.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DashboardSummary {
    pub uid: String,
    pub title: String,
    pub tags: Vec<String>,
    /// The owning tenant; `None` for a global dashboard.
    pub tenant: Option<String>,
    pub audience: Audience,
    pub panels: usize,
    pub provisioned: bool,
    pub updated_at: String,
}

/// A template variable as the page offers it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct VariableView {
    pub name: String,
    pub label: String,
    pub multi: bool,
    pub include_all: bool,
    /// Free text (a textbox variable) rather than a choice.
    pub textbox: bool,
    pub hidden: bool,
    /// (text, value) pairs.
    pub options: Vec<(String, String)>,
    /// Selected values; `$__all` for All.
    pub selected: Vec<String>,
    /// Why the options could not be listed.
    pub error: Option<String>,
}

/// The time span as the picker shows it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TimeView {
    /// As typed or linked (`now-6h`, or epoch ms).
    pub from: String,
    pub to: String,
    /// "Last 6 hours", or the absolute times.
    pub label: String,
    /// The zone parameter (`browser`, `utc`, an IANA name) and the zone it resolved to.
    pub zone: String,
    pub zone_name: String,
    pub from_ms: i64,
    pub to_ms: i64,
    /// The absolute times in the dashboard's zone, for the picker's fields.
    pub from_local: String,
    pub to_local: String,
}

/// One panel, drawn.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PanelView {
    pub id: u32,
    pub kind: String,
    pub title: String,
    pub description: String,
    pub x: u32,
    pub y: u32,
    pub w: u32,
    pub h: u32,
    /// The panel's body (SVG and HTML drawn on the server).
    pub html: String,
    /// Time panels take part in the shared crosshair and zoom.
    pub time: bool,
    /// What its import could not carry over ("not supported: …").
    pub notes: Vec<String>,
}

/// A dashboard as its page shows it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DashboardView {
    pub uid: String,
    pub title: String,
    pub description: String,
    pub tags: Vec<String>,
    /// The tenant it belongs to, or "All your tenants" for a global one.
    pub owner: String,
    pub time: TimeView,
    pub refresh: String,
    pub variables: Vec<VariableView>,
    pub panels: Vec<PanelView>,
    /// `viewPanel`: only this panel, full width.
    pub view_panel: Option<u32>,
    pub kiosk: bool,
    /// Things the page should say: a variable value left out, a time that did not read.
    pub notices: Vec<String>,
    /// The query string that reproduces this view (without kiosk and viewPanel).
    pub query: String,
    /// The grid width in pixels the panels were drawn for.
    pub width: u32,
    pub elapsed_ms: f64,
    /// The viewer may change it: the page shows the edit controls.
    pub editable: bool,
}

/// Grafana's refresh intervals offered by the picker.
pub const REFRESH_OPTIONS: [&str; 5] = ["5s", "30s", "1m", "5m", "15m"];

/// A query string's pairs, decoded.
pub fn query_pairs(query: &str) -> Vec<(String, String)> {
    query
        .trim_start_matches('?')
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (crate::url::decode(k), crate::url::decode(v))
        })
        .collect()
}

/// Builds a query string from pairs.
pub fn query_string(pairs: &[(String, String)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| format!("{}={}", crate::url::encode(k), crate::url::encode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

/// Where the import form's result waits in the session for the page it leads to.
pub const IMPORT_RESULT: &str = "dashboard_import";

/// An import as its page reports it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ImportResult {
    pub uid: String,
    pub title: String,
    pub url: String,
    pub version: i32,
    pub panels: usize,
    pub notes: Vec<String>,
    /// (panel id, title, what was not carried over).
    pub panel_notes: Vec<(u32, String, Vec<String>)>,
}

#[cfg(feature = "ssr")]
impl From<&import::Imported> for ImportResult {
    fn from(imported: &import::Imported) -> ImportResult {
        ImportResult {
            uid: imported.uid.clone(),
            title: imported.title.clone(),
            url: imported.url.clone(),
            version: imported.version,
            panels: imported.panels,
            notes: imported.report.notes.clone(),
            panel_notes: imported
                .report
                .panels
                .iter()
                .map(|p| (p.id, p.title.clone(), p.notes.clone()))
                .collect(),
        }
    }
}
