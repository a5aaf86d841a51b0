//! The dashboard editor, at Grafana's URLs: `/dashboard/new`, and on a dashboard's page
//! `?editPanel=<id|new>` (a panel's form beside its live preview), `?editview=settings` (title,
//! tags, time, refresh, zone, variables; copy and delete), `?editview=layout` (the 24-column grid:
//! drag with JavaScript, number fields without), `?editview=json` (the whole model) and
//! `?editview=versions` (history, diff, restore).
//!
//! Every form posts to a server function and works without JavaScript; each save is a version
//! made from the version the form was loaded with, so two editors never overwrite each other
//! silently (the second gets 409 naming who saved in between). The island in [`client`] adds
//! the live preview while typing and dragging panels on the grid.

mod api;
pub mod client;
#[cfg(feature = "ssr")]
pub mod diff;
#[cfg(feature = "ssr")]
pub mod forms;
mod page;
#[cfg(feature = "ssr")]
pub mod save;

use serde::{Deserialize, Serialize};

pub use api::*;
pub use page::{page_editing, DashboardEditor, NewDashboardRoute, OwnerFields};

/// The panel types the form offers (Grafana's names).
pub const PANEL_TYPES: [(&str, &str); 8] = [
    ("timeseries", "Time series"),
    ("stat", "Stat"),
    ("gauge", "Gauge"),
    ("bargauge", "Bar gauge"),
    ("table", "Table"),
    ("heatmap", "Heatmap"),
    ("state-timeline", "State timeline"),
    ("text", "Text"),
];

/// A panel as its form shows and posts it: every field text, as typed, so a wrong value comes
/// back with its error instead of being lost. Lists are indexed fields (`targets[0][expr]`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct PanelForm {
    pub kind: String,
    pub title: String,
    pub description: String,
    pub targets: Vec<TargetForm>,
    pub unit: String,
    pub decimals: String,
    pub min: String,
    pub max: String,
    /// `absolute` or `percentage`.
    pub threshold_mode: String,
    pub thresholds: Vec<ThresholdForm>,
    pub mappings: Vec<MappingForm>,
    /// `none`, `normal` or `percent`.
    pub stacking: String,
    /// `list`, `table` or `hidden`.
    pub legend: String,
    /// `bottom` or `right`.
    pub legend_placement: String,
    /// The legend's values, comma-separated Grafana reducers (`min, max, mean, lastNotNull`).
    pub legend_calcs: String,
    /// A text panel's markdown.
    pub content: String,
    pub x: String,
    pub y: String,
    pub w: String,
    pub h: String,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct TargetForm {
    pub expr: String,
    pub legend: String,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ThresholdForm {
    pub color: String,
    /// Empty for the base step.
    pub value: String,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct MappingForm {
    /// A value (`1`), a range (`10..20`), or `null` / `nan`.
    pub value: String,
    pub text: String,
    pub color: String,
}

/// The dashboard's settings form.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct SettingsForm {
    pub title: String,
    pub description: String,
    /// Comma-separated.
    pub tags: String,
    pub from: String,
    pub to: String,
    pub refresh: String,
    pub timezone: String,
    pub variables: Vec<VariableForm>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct VariableForm {
    /// Empty removes the variable.
    pub name: String,
    /// `query`, `custom`, `interval`, `constant` or `textbox`.
    pub kind: String,
    pub label: String,
    /// `label_values(up, job)`; `a, b, c`; `1m, 5m`; the constant or the default text.
    pub query: String,
    /// Check boxes: present ("on") when checked.
    pub multi: Option<String>,
    pub include_all: Option<String>,
}

/// One panel's place on the grid, as the layout form posts it.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct PlaceForm {
    pub id: u32,
    pub x: String,
    pub y: String,
    pub w: String,
    pub h: String,
}

/// What the edit pages show of a dashboard.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EditorView {
    pub uid: String,
    pub title: String,
    /// The version the forms save from.
    pub version: i32,
    /// The file (or `builtin`) it is provisioned from; UI saves of it are refused unless the
    /// installation allows them.
    pub provisioned: Option<String>,
    pub allow_ui_updates: bool,
    pub settings: SettingsForm,
    /// (id, type, title, x, y, w, h) of every panel outside rows and in them, grid order.
    pub panels: Vec<PanelPlace>,
    /// The panel being edited (`editPanel`), as its form.
    pub panel: Option<(Option<u32>, PanelForm)>,
    /// The model, pretty-printed (`editview=json`).
    pub json: String,
    /// For tenant dashboards: the tenant's name.
    pub owner: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PanelPlace {
    pub id: u32,
    pub kind: String,
    pub title: String,
    pub x: u32,
    pub y: u32,
    pub w: u32,
    pub h: u32,
}

/// The live preview of a panel being edited.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Preview {
    /// The panel drawn as its dashboard would draw it.
    pub html: String,
    /// (field, message) of what does not read: `targets[0][expr]` → "1:14: parse error: …".
    pub errors: Vec<(String, String)>,
}

/// One saved version, as the history lists it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct VersionRow {
    pub version: i32,
    pub author: String,
    pub at: String,
    pub message: String,
}

/// What changed between two versions.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct VersionDiff {
    pub from: i32,
    pub to: i32,
    /// Readable: "Panel added: CPU (id 3)", "Title changed: A → B".
    pub summary: Vec<String>,
    /// The JSON diff, as unified-diff lines: (`+`, `-` or ` `, text).
    pub lines: Vec<(char, String)>,
}
