//! Grafana's classic dashboard JSON model (schemaVersion 39+), typed where Meridian reads it and
//! kept whole where it does not: every struct carries the fields it does not know in `extra`, so
//! a dashboard that comes in as Grafana JSON goes out as the same JSON. Dashboards from the wild
//! disagree on types (`"refresh": false`, `"decimals": null`, `"hide": true`), so fields are read
//! leniently: a value of an unexpected type counts as absent rather than failing the dashboard.

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Map, Value};

/// The schema version Meridian writes; older models are read as they are.
pub const SCHEMA_VERSION: u32 = 39;
/// Grafana's grid: 24 columns of cells 30 px high with 8 px between them.
pub const GRID_COLUMNS: u32 = 24;
pub const CELL_HEIGHT_PX: u32 = 30;
pub const CELL_GAP_PX: u32 = 8;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Dashboard {
    #[serde(deserialize_with = "string")]
    pub uid: String,
    #[serde(deserialize_with = "string")]
    pub title: String,
    #[serde(deserialize_with = "string", skip_serializing_if = "String::is_empty")]
    pub description: String,
    #[serde(deserialize_with = "strings")]
    pub tags: Vec<String>,
    pub time: TimeRange,
    /// Auto-refresh interval (`30s`); empty is off (Grafana writes `false` or `""`).
    #[serde(deserialize_with = "string")]
    pub refresh: String,
    /// `browser`, `utc` or an IANA zone; empty is the browser's.
    #[serde(deserialize_with = "string")]
    pub timezone: String,
    /// 0: each panel its own tooltip; 1: shared crosshair; 2: shared crosshair and tooltip.
    #[serde(deserialize_with = "number")]
    pub graph_tooltip: u32,
    pub templating: Templating,
    #[serde(deserialize_with = "list")]
    pub panels: Vec<Panel>,
    #[serde(deserialize_with = "number")]
    pub schema_version: u32,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl Default for Dashboard {
    fn default() -> Dashboard {
        Dashboard {
            uid: String::new(),
            title: String::new(),
            description: String::new(),
            tags: Vec::new(),
            time: TimeRange::default(),
            refresh: String::new(),
            timezone: String::new(),
            graph_tooltip: 1,
            templating: Templating::default(),
            panels: Vec::new(),
            schema_version: SCHEMA_VERSION,
            extra: Map::new(),
        }
    }
}

impl Dashboard {
    /// Every panel that shows something, with the panels of collapsed rows, in grid order (top
    /// to bottom, left to right): the reading order on a phone.
    pub fn visible_panels(&self) -> Vec<&Panel> {
        let mut all: Vec<&Panel> = Vec::new();
        for panel in &self.panels {
            if panel.kind == "row" {
                all.extend(panel.panels.iter());
            } else {
                all.push(panel);
            }
        }
        all.sort_by_key(|p| (p.grid_pos.y, p.grid_pos.x));
        all
    }

    /// The panel with this id, wherever it is (rows included).
    pub fn panel(&self, id: u32) -> Option<&Panel> {
        self.panels
            .iter()
            .flat_map(|p| std::iter::once(p).chain(p.panels.iter()))
            .find(|p| p.id == id)
    }

    pub fn variable(&self, name: &str) -> Option<&Variable> {
        self.templating.list.iter().find(|v| v.name == name)
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct TimeRange {
    #[serde(deserialize_with = "string")]
    pub from: String,
    #[serde(deserialize_with = "string")]
    pub to: String,
}

impl Default for TimeRange {
    fn default() -> TimeRange {
        TimeRange {
            from: "now-6h".into(),
            to: "now".into(),
        }
    }
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Templating {
    #[serde(deserialize_with = "list")]
    pub list: Vec<Variable>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Panel {
    #[serde(deserialize_with = "number")]
    pub id: u32,
    /// `timeseries`, `stat`, `gauge`, `bargauge`, `table`, `heatmap`, `text`, `state-timeline`,
    /// `row`, or a type Meridian does not draw (it says so in the panel).
    #[serde(rename = "type", deserialize_with = "string")]
    pub kind: String,
    #[serde(deserialize_with = "string")]
    pub title: String,
    #[serde(deserialize_with = "string", skip_serializing_if = "String::is_empty")]
    pub description: String,
    pub grid_pos: GridPos,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub datasource: Option<Value>,
    #[serde(deserialize_with = "list", skip_serializing_if = "Vec::is_empty")]
    pub targets: Vec<Target>,
    pub field_config: FieldConfig,
    #[serde(deserialize_with = "object")]
    pub options: Map<String, Value>,
    #[serde(deserialize_with = "list", skip_serializing_if = "Vec::is_empty")]
    pub transformations: Vec<Value>,
    #[serde(
        deserialize_with = "optional_number",
        skip_serializing_if = "Option::is_none"
    )]
    pub max_data_points: Option<u32>,
    /// The minimum step (`30s`); empty is the data's own.
    #[serde(deserialize_with = "string", skip_serializing_if = "String::is_empty")]
    pub interval: String,
    /// Row panels: folded, with their panels inside `panels`.
    #[serde(deserialize_with = "boolean", skip_serializing_if = "is_false")]
    pub collapsed: bool,
    #[serde(deserialize_with = "list", skip_serializing_if = "Vec::is_empty")]
    pub panels: Vec<Panel>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl Panel {
    /// The panel's options of `key` as an object (empty when missing).
    pub fn option(&self, key: &str) -> &Map<String, Value> {
        static EMPTY: std::sync::OnceLock<Map<String, Value>> = std::sync::OnceLock::new();
        self.options
            .get(key)
            .and_then(Value::as_object)
            .unwrap_or_else(|| EMPTY.get_or_init(Map::new))
    }

    pub fn option_str(&self, key: &str) -> Option<&str> {
        self.options.get(key).and_then(Value::as_str)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct GridPos {
    #[serde(deserialize_with = "number")]
    pub x: u32,
    #[serde(deserialize_with = "number")]
    pub y: u32,
    #[serde(deserialize_with = "number")]
    pub w: u32,
    #[serde(deserialize_with = "number")]
    pub h: u32,
}

impl Default for GridPos {
    fn default() -> GridPos {
        GridPos {
            x: 0,
            y: 0,
            w: 12,
            h: 8,
        }
    }
}

impl GridPos {
    /// The panel's height in pixels, as Grafana draws it.
    pub fn height_px(&self) -> u32 {
        (self.h.max(1) * (CELL_HEIGHT_PX + CELL_GAP_PX)).saturating_sub(CELL_GAP_PX)
    }
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Target {
    #[serde(deserialize_with = "string")]
    pub ref_id: String,
    #[serde(deserialize_with = "string")]
    pub expr: String,
    #[serde(deserialize_with = "string", skip_serializing_if = "String::is_empty")]
    pub legend_format: String,
    /// An instant query (a table, a stat of the latest values).
    #[serde(deserialize_with = "boolean", skip_serializing_if = "is_false")]
    pub instant: bool,
    /// `time_series`, `table` or `heatmap`.
    #[serde(deserialize_with = "string", skip_serializing_if = "String::is_empty")]
    pub format: String,
    #[serde(deserialize_with = "string", skip_serializing_if = "String::is_empty")]
    pub interval: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub datasource: Option<Value>,
    #[serde(deserialize_with = "boolean", skip_serializing_if = "is_false")]
    pub hide: bool,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct FieldConfig {
    pub defaults: FieldDefaults,
    #[serde(deserialize_with = "list")]
    pub overrides: Vec<Override>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct FieldDefaults {
    #[serde(deserialize_with = "string", skip_serializing_if = "String::is_empty")]
    pub unit: String,
    #[serde(
        deserialize_with = "optional_number",
        skip_serializing_if = "Option::is_none"
    )]
    pub decimals: Option<u32>,
    #[serde(
        deserialize_with = "optional_float",
        serialize_with = "write_float",
        skip_serializing_if = "Option::is_none"
    )]
    pub min: Option<f64>,
    #[serde(
        deserialize_with = "optional_float",
        serialize_with = "write_float",
        skip_serializing_if = "Option::is_none"
    )]
    pub max: Option<f64>,
    #[serde(deserialize_with = "optional", skip_serializing_if = "Option::is_none")]
    pub thresholds: Option<Thresholds>,
    #[serde(deserialize_with = "list", skip_serializing_if = "Vec::is_empty")]
    pub mappings: Vec<Value>,
    /// `{"mode": "thresholds"}`, `{"mode": "fixed", "fixedColor": "blue"}`, `palette-classic`…
    #[serde(skip_serializing_if = "Option::is_none")]
    pub color: Option<Value>,
    /// Panel-type settings (drawStyle, fillOpacity, stacking, thresholdsStyle…).
    #[serde(deserialize_with = "object", skip_serializing_if = "Map::is_empty")]
    pub custom: Map<String, Value>,
    #[serde(deserialize_with = "string", skip_serializing_if = "String::is_empty")]
    pub display_name: String,
    #[serde(deserialize_with = "string", skip_serializing_if = "String::is_empty")]
    pub no_value: String,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Thresholds {
    /// `absolute`, or `percentage` of the field's min..max.
    #[serde(deserialize_with = "string")]
    pub mode: String,
    #[serde(deserialize_with = "list")]
    pub steps: Vec<ThresholdStep>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ThresholdStep {
    #[serde(deserialize_with = "string")]
    pub color: String,
    /// `None` is the base step (Grafana's `-Infinity`).
    #[serde(deserialize_with = "optional_float", serialize_with = "write_float")]
    pub value: Option<f64>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Override {
    pub matcher: Matcher,
    #[serde(deserialize_with = "list")]
    pub properties: Vec<Property>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Matcher {
    /// `byName`, `byRegexp`, `byFrameRefID`, …
    #[serde(deserialize_with = "string")]
    pub id: String,
    pub options: Value,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Property {
    /// `unit`, `decimals`, `min`, `max`, `displayName`, `color`, `custom.fillOpacity`, …
    #[serde(deserialize_with = "string")]
    pub id: String,
    pub value: Value,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Variable {
    #[serde(deserialize_with = "string")]
    pub name: String,
    #[serde(deserialize_with = "string", skip_serializing_if = "String::is_empty")]
    pub label: String,
    /// `query`, `custom`, `interval`, `constant`, `textbox`, `datasource`, …
    #[serde(rename = "type", deserialize_with = "string")]
    pub kind: String,
    /// A string, or Grafana's `{"query": …, "refId": …}` object.
    pub query: Value,
    #[serde(deserialize_with = "string", skip_serializing_if = "String::is_empty")]
    pub definition: String,
    /// `{"text": …, "value": …}`; `value` is a string or a list (multi-value).
    pub current: Value,
    #[serde(deserialize_with = "list", skip_serializing_if = "Vec::is_empty")]
    pub options: Vec<Value>,
    #[serde(deserialize_with = "boolean")]
    pub multi: bool,
    #[serde(deserialize_with = "boolean")]
    pub include_all: bool,
    /// What `All` stands for in a query; empty: every value, as a regex alternation.
    #[serde(deserialize_with = "string", skip_serializing_if = "String::is_empty")]
    pub all_value: String,
    /// 0 shown, 1 label hidden, 2 hidden (Grafana writes booleans too).
    #[serde(deserialize_with = "number")]
    pub hide: u32,
    #[serde(deserialize_with = "string", skip_serializing_if = "String::is_empty")]
    pub regex: String,
    #[serde(deserialize_with = "number")]
    pub sort: u32,
    /// Interval variables: also offer `auto` (range / auto_count, at least auto_min).
    #[serde(deserialize_with = "boolean", skip_serializing_if = "is_false")]
    pub auto: bool,
    // Grafana writes these two in snake case.
    #[serde(
        rename = "auto_count",
        deserialize_with = "number",
        skip_serializing_if = "is_zero"
    )]
    pub auto_count: u32,
    #[serde(
        rename = "auto_min",
        deserialize_with = "string",
        skip_serializing_if = "String::is_empty"
    )]
    pub auto_min: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub datasource: Option<Value>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl Variable {
    /// The query text, whether Grafana stored it as a string or as `{"query": …}`.
    pub fn query_text(&self) -> &str {
        match &self.query {
            Value::String(text) => text,
            Value::Object(map) => map.get("query").and_then(Value::as_str).unwrap_or(""),
            _ => "",
        }
    }

    /// The saved current value(s) (`$__all` for All).
    pub fn current_values(&self) -> Vec<String> {
        match self.current.get("value") {
            Some(Value::String(v)) => vec![v.clone()],
            Some(Value::Array(values)) => values
                .iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect(),
            _ => Vec::new(),
        }
    }
}

fn is_false(b: &bool) -> bool {
    !*b
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

// Lenient readers: each accepts what Grafana has been seen to write and treats anything else as
// absent, so one odd field never costs a dashboard.

fn string<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    Ok(match Value::deserialize(d)? {
        Value::String(s) => s,
        Value::Number(n) => n.to_string(),
        Value::Bool(true) => "true".into(),
        _ => String::new(),
    })
}

fn strings<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    Ok(match Value::deserialize(d)? {
        Value::Array(items) => items
            .into_iter()
            .filter_map(|v| match v {
                Value::String(s) => Some(s),
                Value::Number(n) => Some(n.to_string()),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    })
}

fn float_of(value: &Value) -> Option<f64> {
    match value {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// Whole numbers go out as integers (`2`, not `2.0`), as Grafana writes them, so a model
/// read and written again is the same JSON.
fn write_float<S: serde::Serializer>(value: &Option<f64>, s: S) -> Result<S::Ok, S::Error> {
    match value {
        Some(v) if v.fract() == 0.0 && v.abs() < 9e15 => s.serialize_i64(*v as i64),
        Some(v) => s.serialize_f64(*v),
        None => s.serialize_none(),
    }
}

fn optional_float<'de, D: Deserializer<'de>>(d: D) -> Result<Option<f64>, D::Error> {
    Ok(float_of(&Value::deserialize(d)?).filter(|v| v.is_finite()))
}

fn optional_number<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u32>, D::Error> {
    Ok(float_of(&Value::deserialize(d)?)
        .filter(|v| v.is_finite() && *v >= 0.0)
        .map(|v| v.min(u32::MAX as f64) as u32))
}

fn number<'de, D: Deserializer<'de>>(d: D) -> Result<u32, D::Error> {
    let value = Value::deserialize(d)?;
    Ok(match value {
        Value::Bool(b) => b as u32 * 2,
        other => float_of(&other)
            .filter(|v| v.is_finite() && *v >= 0.0)
            .map_or(0, |v| v.min(u32::MAX as f64) as u32),
    })
}

fn boolean<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    Ok(match Value::deserialize(d)? {
        Value::Bool(b) => b,
        Value::Number(n) => n.as_f64().is_some_and(|v| v != 0.0),
        Value::String(s) => s == "true",
        _ => false,
    })
}

fn object<'de, D: Deserializer<'de>>(d: D) -> Result<Map<String, Value>, D::Error> {
    Ok(match Value::deserialize(d)? {
        Value::Object(map) => map,
        _ => Map::new(),
    })
}

/// A list whose items that do not read as `T` are skipped.
fn list<'de, D: Deserializer<'de>, T: serde::de::DeserializeOwned>(
    d: D,
) -> Result<Vec<T>, D::Error> {
    Ok(match Value::deserialize(d)? {
        Value::Array(items) => items
            .into_iter()
            .filter_map(|item| serde_json::from_value(item).ok())
            .collect(),
        _ => Vec::new(),
    })
}

fn optional<'de, D: Deserializer<'de>, T: serde::de::DeserializeOwned>(
    d: D,
) -> Result<Option<T>, D::Error> {
    Ok(serde_json::from_value(Value::deserialize(d)?).ok())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn odd_types_read_as_absent_and_unknown_fields_survive() {
        let model = json!({
            "uid": "abc", "title": "T", "refresh": false, "graphTooltip": 1, "id": null,
            "schemaVersion": 39, "version": 7, "annotations": {"list": []},
            "templating": {"list": [{"name": "job", "type": "query", "hide": true,
                "query": {"query": "label_values(up, job)", "refId": "A"}, "current": {"value": ["a", "b"]}}]},
            "panels": [
                {"id": 1, "type": "stat", "gridPos": {"x": 0, "y": 0, "w": 6, "h": 4},
                 "fieldConfig": {"defaults": {"decimals": null, "min": "0", "unit": "percent",
                   "thresholds": {"mode": "absolute", "steps": [{"color": "red", "value": null}, {"color": "green", "value": 99}]}},
                   "overrides": []},
                 "targets": [{"refId": "A", "expr": "up", "hide": 0}], "pluginVersion": "10.4.1"},
                {"id": 2, "type": "row", "collapsed": true, "gridPos": {"x": 0, "y": 4, "w": 24, "h": 1},
                 "panels": [{"id": 3, "type": "timeseries", "gridPos": {"x": 0, "y": 5, "w": 24, "h": 8}}]},
                "not a panel"
            ]
        });
        let dashboard: Dashboard = serde_json::from_value(model).unwrap();
        assert_eq!(dashboard.refresh, "");
        assert_eq!(dashboard.panels.len(), 2, "the string is skipped");
        let stat = &dashboard.panels[0];
        assert_eq!(stat.field_config.defaults.decimals, None);
        assert_eq!(stat.field_config.defaults.min, Some(0.0));
        let steps = &stat
            .field_config
            .defaults
            .thresholds
            .as_ref()
            .unwrap()
            .steps;
        assert_eq!((steps[0].value, steps[1].value), (None, Some(99.0)));
        let job = dashboard.variable("job").unwrap();
        assert_eq!((job.hide, job.query_text()), (2, "label_values(up, job)"));
        assert_eq!(job.current_values(), ["a", "b"]);
        let ids: Vec<u32> = dashboard.visible_panels().iter().map(|p| p.id).collect();
        assert_eq!(ids, [1, 3], "a collapsed row's panels, in grid order");
        let out = serde_json::to_value(&dashboard).unwrap();
        assert_eq!(out["version"], 7);
        assert_eq!(out["annotations"], json!({"list": []}));
        assert_eq!(out["panels"][0]["pluginVersion"], "10.4.1");
        let again: Dashboard = serde_json::from_value(out).unwrap();
        assert_eq!(again, dashboard, "export then import gives back the model");
    }

    #[test]
    fn heights_follow_grafanas_grid() {
        let pos = GridPos {
            x: 0,
            y: 0,
            w: 6,
            h: 8,
        };
        assert_eq!(pos.height_px(), 8 * 38 - 8);
    }
}
