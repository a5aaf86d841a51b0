//! Grafana dashboards of every classic generation brought into Meridian's model: `rows[]`
//! layouts (schema < 16) converted as Grafana's own v16 migration does, `panels[]` with row
//! panels, and mixtures of both; old panel types (graph, singlestat, the old table) converted to
//! their successors; data source references (a name, a `${DS_X}` input, `{type, uid}`) resolved
//! to Meridian. Nothing is dropped silently: what Meridian does not do is kept in the model and
//! named in the report, per panel.

use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

use crate::model::{Dashboard, SCHEMA_VERSION};

/// What an import did not carry over, for the dashboard and each panel.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Report {
    pub notes: Vec<String>,
    pub panels: Vec<PanelReport>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PanelReport {
    pub id: u32,
    pub title: String,
    pub notes: Vec<String>,
}

impl Report {
    fn panel(&mut self, id: u32, title: &str, note: String) {
        match self.panels.iter_mut().find(|p| p.id == id) {
            Some(panel) => {
                if !panel.notes.contains(&note) {
                    panel.notes.push(note)
                }
            }
            None => self.panels.push(PanelReport {
                id,
                title: title.to_string(),
                notes: vec![note],
            }),
        }
    }

    fn note(&mut self, note: String) {
        if !self.notes.contains(&note) {
            self.notes.push(note);
        }
    }

    /// The notes of one panel, as its page shows them.
    pub fn for_panel(&self, id: u32) -> &[String] {
        self.panels
            .iter()
            .find(|p| p.id == id)
            .map_or(&[][..], |p| &p.notes[..])
    }
}

/// Reads a Grafana dashboard (bare, or as Grafana's API wraps it in `{"dashboard": …}`) into
/// Meridian's model. Fails only when the text is no dashboard at all.
pub fn import(value: &Value) -> Result<(Dashboard, Report), String> {
    let mut model = match value.get("dashboard") {
        Some(inner) if inner.is_object() && !is_dashboard(value) => inner.clone(),
        _ => value.clone(),
    };
    let Some(root) = model.as_object_mut() else {
        return Err("not a dashboard: the JSON is not an object".into());
    };
    if !is_dashboard(&Value::Object(root.clone())) {
        return Err("not a dashboard: it has no title, panels or rows".into());
    }
    let mut report = Report::default();
    for key in [
        "__inputs",
        "__requires",
        "__elements",
        "id",
        "gnetId",
        "iteration",
    ] {
        if let Some(removed) = root.remove(key) {
            if key == "__elements" && removed.as_object().is_some_and(|e| !e.is_empty()) {
                report.note("library panels (__elements) are not supported".into());
            }
        }
    }
    convert_rows(root, &mut report);
    let mut panels = take_array(root, "panels");
    number_panels(&mut panels);
    for panel in &mut panels {
        convert_panel(panel, &mut report);
        if let Some(children) = panel.get_mut("panels").and_then(Value::as_array_mut) {
            for child in children {
                convert_panel(child, &mut report);
            }
        }
    }
    root.insert("panels".into(), Value::Array(panels));
    convert_variables(root, &mut report);
    convert_annotations(root, &mut report);
    let version = root
        .get("schemaVersion")
        .and_then(Value::as_u64)
        .unwrap_or(0);
    root.insert(
        "schemaVersion".into(),
        json!(version.max(SCHEMA_VERSION as u64)),
    );
    if root
        .get("title")
        .and_then(Value::as_str)
        .is_none_or(|t| t.trim().is_empty())
    {
        root.insert("title".into(), json!("Imported dashboard"));
        report.note("it had no title; it is called \"Imported dashboard\"".into());
    }
    let dashboard: Dashboard = serde_json::from_value(model).map_err(|e| e.to_string())?;
    Ok((dashboard, report))
}

fn is_dashboard(value: &Value) -> bool {
    ["panels", "rows", "title"]
        .iter()
        .any(|key| value.get(key).is_some())
        && value.get("dashboard").is_none_or(|d| !d.is_object())
}

fn take_array(object: &mut Map<String, Value>, key: &str) -> Vec<Value> {
    match object.remove(key) {
        Some(Value::Array(items)) => items.into_iter().filter(Value::is_object).collect(),
        _ => Vec::new(),
    }
}

const GRID_COLUMNS: u32 = 24;
const DEFAULT_ROW_HEIGHT_PX: u32 = 250;
const DEFAULT_SPAN: f64 = 4.0;
const MIN_PANEL_HEIGHT_PX: u32 = 90;

/// Grafana's `getGridHeight`: pixels (a number or "250px") to grid rows of 38 px, at least
/// 90 px.
fn grid_height(height: Option<&Value>) -> u32 {
    let px = match height {
        Some(Value::Number(n)) => n.as_f64().unwrap_or(DEFAULT_ROW_HEIGHT_PX as f64),
        Some(Value::String(s)) => s
            .trim()
            .trim_end_matches("px")
            .trim()
            .parse::<f64>()
            .unwrap_or(DEFAULT_ROW_HEIGHT_PX as f64),
        _ => DEFAULT_ROW_HEIGHT_PX as f64,
    };
    (px.max(MIN_PANEL_HEIGHT_PX as f64) / 38.0).ceil() as u32
}

/// Grafana's `RowArea`: how far down each of the 24 columns a row is filled.
struct RowArea {
    area: [u32; GRID_COLUMNS as usize],
    y: u32,
    height: u32,
}

impl RowArea {
    fn add(&mut self, (x, y, w, h): (u32, u32, u32, u32)) {
        for i in x..(x + w).min(GRID_COLUMNS) {
            let bottom = y + h - self.y;
            if self.area[i as usize] == 0 || bottom > self.area[i as usize] {
                self.area[i as usize] = bottom;
            }
        }
    }

    /// Where a panel `width` wide goes: the free stretch at the right end of the row, else the
    /// start of a new row (Grafana's `getPanelPosition`).
    fn place(&mut self, width: u32, again: bool) -> Option<(u32, u32)> {
        let (mut start, mut end) = (None, None);
        for i in (0..GRID_COLUMNS as usize).rev() {
            if self.height > self.area[i] {
                if end.is_none() {
                    end = Some(i);
                } else if i < GRID_COLUMNS as usize - 1 && self.area[i] <= self.area[i + 1] {
                    start = Some(i);
                } else {
                    break;
                }
            } else {
                break;
            }
        }
        match (start, end) {
            (Some(s), Some(e)) if e - s + 1 >= width as usize => {
                let y = self.area[s..].iter().copied().max().unwrap_or(0);
                Some((s as u32, y))
            }
            _ if !again => {
                self.y += self.height;
                self.area = [0; GRID_COLUMNS as usize];
                self.place(width, true)
            }
            _ => None,
        }
    }
}

/// `rows[]` into panels on the 24-column grid, as Grafana's v16 migration lays them out: width
/// = span × 2 (default span 4), height from the row's or panel's pixels, row panels when any row
/// is collapsed, repeated or shows its title (a collapsed row keeps its panels inside). Panels a
/// dashboard already has on the grid stay where they are; converted ones go below them.
fn convert_rows(root: &mut Map<String, Value>, report: &mut Report) {
    let rows = take_array(root, "rows");
    if rows.is_empty() {
        return;
    }
    let existing = root
        .get("panels")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let below = existing
        .iter()
        .filter_map(|p| {
            let pos = p.get("gridPos")?;
            Some(pos.get("y")?.as_u64()? + pos.get("h")?.as_u64()?)
        })
        .max()
        .unwrap_or(0) as u32;
    if !existing.is_empty() {
        report.note(format!(
            "it has both rows[] and panels[]: the rows' panels are placed below the others (from row {below})"
        ));
    }
    let mut next_id = rows
        .iter()
        .flat_map(|r| {
            r.get("panels")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
        })
        .chain(existing.iter())
        .filter_map(|p| p.get("id").and_then(Value::as_u64))
        .max()
        .unwrap_or(0)
        + 1;
    let show_rows = rows.iter().any(|r| {
        truthy(r.get("collapse"))
            || truthy(r.get("showTitle"))
            || r.get("repeat").is_some_and(|v| !v.is_null() && v != "")
    });
    let mut panels = existing;
    let mut y = below;
    for row in rows {
        if row.get("repeatIteration").is_some_and(|v| !v.is_null()) {
            continue;
        }
        let row_height = grid_height(row.get("height"));
        let collapsed = truthy(row.get("collapse"));
        let mut row_panel = show_rows.then(|| {
            let panel = json!({
                "id": next_id, "type": "row",
                "title": row.get("title").cloned().unwrap_or(json!("")),
                "collapsed": collapsed,
                "gridPos": {"x": 0, "y": y, "w": GRID_COLUMNS, "h": row_height},
                "panels": [],
            });
            next_id += 1;
            y += 1;
            panel
        });
        let mut area = RowArea {
            area: [0; GRID_COLUMNS as usize],
            y,
            height: row_height,
        };
        let row_panels = match row.get("panels") {
            Some(Value::Array(items)) => items.clone(),
            _ => Vec::new(),
        };
        for mut panel in row_panels.into_iter().filter(Value::is_object) {
            let span = panel
                .get("span")
                .and_then(Value::as_f64)
                .filter(|s| *s > 0.0)
                .unwrap_or(DEFAULT_SPAN);
            let width = ((span.floor() as u32) * 2).clamp(1, GRID_COLUMNS);
            let height = match panel.get("height") {
                Some(h) if !h.is_null() => grid_height(Some(h)),
                _ => row_height,
            };
            let (x, in_row) = area.place(width, false).unwrap_or((0, 0));
            y = area.y;
            let pos = (x, y + in_row, width, height);
            area.add(pos);
            if let Some(object) = panel.as_object_mut() {
                object.remove("span");
                object.insert(
                    "gridPos".into(),
                    json!({"x": pos.0, "y": pos.1, "w": pos.2, "h": pos.3}),
                );
            }
            match row_panel.as_mut() {
                Some(rp) if collapsed => {
                    if let Some(children) = rp.get_mut("panels").and_then(Value::as_array_mut) {
                        children.push(panel);
                    }
                }
                _ => panels.push(panel),
            }
        }
        if let Some(rp) = row_panel {
            panels.push(rp);
        }
        if !(show_rows && collapsed) {
            y += row_height;
        }
    }
    root.insert("panels".into(), Value::Array(panels));
}

fn truthy(value: Option<&Value>) -> bool {
    match value {
        Some(Value::Bool(b)) => *b,
        Some(Value::Number(n)) => n.as_f64().is_some_and(|v| v != 0.0),
        Some(Value::String(s)) => !s.is_empty() && s != "false",
        _ => false,
    }
}

/// Every panel gets an id, unique in the dashboard (Grafana leaves some without one): the first
/// use of an id keeps it, the others are numbered after the highest.
fn number_panels(panels: &mut [Value]) {
    let mut highest = 0;
    walk(panels, &mut |p| {
        highest = highest.max(p.get("id").and_then(Value::as_u64).unwrap_or(0))
    });
    let mut next = highest + 1;
    let mut seen = std::collections::BTreeSet::new();
    walk(panels, &mut |p| {
        let id = match p.get("id").and_then(Value::as_u64) {
            Some(id) if seen.insert(id) => id,
            _ => {
                next += 1;
                seen.insert(next - 1);
                next - 1
            }
        };
        if let Some(object) = p.as_object_mut() {
            object.insert("id".into(), json!(id));
        }
    });
}

fn walk(panels: &mut [Value], f: &mut impl FnMut(&mut Value)) {
    for panel in panels {
        f(panel);
        if let Some(children) = panel.get_mut("panels").and_then(Value::as_array_mut) {
            walk(children, f);
        }
    }
}

/// A data source reference: Meridian's own (Prometheus, a `${DS_X}` input, Grafana's default
/// or mixed), or another kind, which Meridian cannot query.
fn foreign_source(ds: &Value) -> Option<String> {
    let kind = ds
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or("prometheus");
    match kind {
        "prometheus" | "datasource" | "grafana" | "-- Mixed --" | "mixed" | "" => None,
        other => Some(other.to_string()),
    }
}

fn convert_panel(panel: &mut Value, report: &mut Report) {
    let id = panel.get("id").and_then(Value::as_u64).unwrap_or(0) as u32;
    let title = panel
        .get("title")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    let Some(object) = panel.as_object_mut() else {
        return;
    };
    let kind = object
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    if !object.contains_key("gridPos") {
        object.insert("gridPos".into(), json!({"x": 0, "y": 0, "w": 12, "h": 8}));
        report.panel(
            id,
            &title,
            "it had no position; placed at the top, half wide".into(),
        );
    }
    let mut note = |text: String| report.panel(id, &title, text);
    if let Some(ds) = object.remove("datasource") {
        if let Some(kind) = foreign_source(&ds) {
            note(format!(
                "not supported: data source of type \"{kind}\" (Meridian queries its own metrics)"
            ));
            object.insert("datasource".into(), ds);
        }
    }
    if let Some(Value::Array(targets)) = object.get_mut("targets") {
        for target in targets.iter_mut().filter_map(Value::as_object_mut) {
            if let Some(ds) = target.remove("datasource") {
                if let Some(kind) = foreign_source(&ds) {
                    note(format!(
                        "not supported: a query of data source type \"{kind}\""
                    ));
                    target.insert("datasource".into(), ds);
                }
            }
            if !target.contains_key("expr") && !target.get("hide").is_some_and(|h| h == true) {
                note("not supported: a query without a PromQL expression".into());
            }
        }
    }
    match kind.as_str() {
        "graph" => convert_graph(object, &mut note),
        "singlestat" | "grafana-singlestat-panel" => convert_singlestat(object, &mut note),
        "table" | "table-old" if object.contains_key("styles") || kind == "table-old" => {
            convert_old_table(object, &mut note)
        }
        "timeseries" | "stat" | "gauge" | "bargauge" | "table" | "heatmap" | "text"
        | "state-timeline" | "status-history" | "row" => {}
        other => note(format!("not supported: panels of type \"{other}\"")),
    }
    if let Some(Value::Array(transformations)) = object.get("transformations") {
        for t in transformations {
            let name = t.get("id").and_then(Value::as_str).unwrap_or("?");
            note(format!("not supported: transformation \"{name}\""));
        }
    }
    for (key, what) in [
        ("timeFrom", "a relative time of its own"),
        ("timeShift", "a time shift"),
    ] {
        if let Some(Value::String(text)) = object.get(key) {
            if !text.is_empty() {
                note(format!(
                    "not supported: {what} ({text}); it shows the dashboard's range"
                ));
            }
        }
    }
    if let Some(Value::String(var)) = object.get("repeat") {
        if !var.is_empty() {
            note(format!(
                "not supported: repeating the panel for each value of ${var}"
            ));
        }
    }
}

/// Moves `key` of the old panel to `path` of the new one (field config or options).
fn put(object: &mut Map<String, Value>, path: &[&str], value: Value) {
    let mut at = object;
    for key in &path[..path.len() - 1] {
        let entry = at.entry(key.to_string()).or_insert_with(|| json!({}));
        if !entry.is_object() {
            *entry = json!({});
        }
        at = entry.as_object_mut().expect("an object");
    }
    at.insert(path[path.len() - 1].to_string(), value);
}

fn number(value: Option<&Value>) -> Option<f64> {
    match value {
        Some(Value::Number(n)) => n.as_f64(),
        Some(Value::String(s)) => s.trim().parse().ok(),
        _ => None,
    }
}

/// A graph panel as a time series, as Grafana's own graph migration does for what Meridian
/// draws; the rest is named.
fn convert_graph(object: &mut Map<String, Value>, note: &mut impl FnMut(String)) {
    object.insert("type".into(), json!("timeseries"));
    let flag = |object: &Map<String, Value>, key: &str, default: bool| {
        object.get(key).and_then(Value::as_bool).unwrap_or(default)
    };
    let (lines, bars, points) = (
        flag(object, "lines", true),
        flag(object, "bars", false),
        flag(object, "points", false),
    );
    let style = if bars && !lines {
        "bars"
    } else if points && !lines {
        "points"
    } else {
        "line"
    };
    put(
        object,
        &["fieldConfig", "defaults", "custom", "drawStyle"],
        json!(style),
    );
    if let Some(width) = number(object.get("linewidth")) {
        put(
            object,
            &["fieldConfig", "defaults", "custom", "lineWidth"],
            json!(width),
        );
    }
    if let Some(fill) = number(object.get("fill")) {
        put(
            object,
            &["fieldConfig", "defaults", "custom", "fillOpacity"],
            json!((fill * 10.0).min(100.0)),
        );
    }
    if let Some(radius) = number(object.get("pointradius")) {
        put(
            object,
            &["fieldConfig", "defaults", "custom", "pointSize"],
            json!(radius * 2.0),
        );
    }
    let stacking = match (
        flag(object, "stack", false),
        flag(object, "percentage", false),
    ) {
        (true, true) => "percent",
        (true, false) => "normal",
        _ => "none",
    };
    put(
        object,
        &["fieldConfig", "defaults", "custom", "stacking"],
        json!({"mode": stacking}),
    );
    if let Some(Value::Array(axes)) = object.get("yaxes").cloned() {
        if let Some(left) = axes.first() {
            if let Some(format) = left.get("format").and_then(Value::as_str) {
                put(object, &["fieldConfig", "defaults", "unit"], json!(format));
            }
            for key in ["min", "max"] {
                if let Some(v) = number(left.get(key)) {
                    put(object, &["fieldConfig", "defaults", key], json!(v));
                }
            }
            if let Some(d) = number(left.get("decimals")) {
                put(object, &["fieldConfig", "defaults", "decimals"], json!(d));
            }
            if number(left.get("logBase")).is_some_and(|b| b != 1.0) {
                note("not supported: a logarithmic axis (drawn linear)".into());
            }
        }
        if axes
            .get(1)
            .is_some_and(|right| right.get("show").and_then(Value::as_bool) == Some(true))
            && object
                .get("seriesOverrides")
                .and_then(Value::as_array)
                .is_some_and(|o| o.iter().any(|s| s.get("yaxis").is_some()))
        {
            note("not supported: a second y axis (its series share the left one)".into());
        }
    }
    if let Some(d) = number(object.get("decimals")) {
        put(object, &["fieldConfig", "defaults", "decimals"], json!(d));
    }
    if let Some(legend) = object.get("legend").cloned() {
        let calcs: Vec<&str> = [
            ("min", "min"),
            ("max", "max"),
            ("avg", "mean"),
            ("current", "lastNotNull"),
            ("total", "sum"),
        ]
        .into_iter()
        .filter(|(old, _)| legend.get(old).and_then(Value::as_bool) == Some(true))
        .map(|(_, new)| new)
        .collect();
        let table = legend.get("alignAsTable").and_then(Value::as_bool) == Some(true);
        let right = legend.get("rightSide").and_then(Value::as_bool) == Some(true);
        let shown = legend.get("show").and_then(Value::as_bool) != Some(false);
        object.insert(
            "options".into(),
            json!({"legend": {"showLegend": shown, "displayMode": if !shown { "hidden" } else if table { "table" } else { "list" },
                "placement": if right { "right" } else { "bottom" }, "calcs": calcs}, "tooltip": {"mode": "multi"}}),
        );
    }
    if let Some(Value::Array(thresholds)) = object.get("thresholds").cloned() {
        let mut steps = vec![json!({"color": "green", "value": null})];
        let mut modes = Vec::new();
        let mut sorted: Vec<&Value> = thresholds.iter().collect();
        sorted.sort_by(|a, b| {
            number(a.get("value"))
                .unwrap_or(0.0)
                .total_cmp(&number(b.get("value")).unwrap_or(0.0))
        });
        for t in sorted {
            let color = match t.get("colorMode").and_then(Value::as_str) {
                Some("critical") => json!("red"),
                Some("warning") => json!("orange"),
                Some("ok") => json!("green"),
                _ => t
                    .get("fillColor")
                    .or(t.get("lineColor"))
                    .cloned()
                    .unwrap_or(json!("red")),
            };
            steps.push(json!({"color": color, "value": number(t.get("value"))}));
            if t.get("fill").and_then(Value::as_bool) == Some(true) {
                modes.push("area");
            }
            if t.get("line").and_then(Value::as_bool) == Some(true) {
                modes.push("line");
            }
        }
        if thresholds
            .iter()
            .any(|t| t.get("op").and_then(Value::as_str) == Some("lt"))
        {
            note("not supported: \"below\" thresholds (drawn as from the value up)".into());
        }
        if !thresholds.is_empty() {
            put(
                object,
                &["fieldConfig", "defaults", "thresholds"],
                json!({"mode": "absolute", "steps": steps}),
            );
            let mode = match (modes.contains(&"line"), modes.contains(&"area")) {
                (true, true) => "line+area",
                (false, true) => "area",
                _ => "line",
            };
            put(
                object,
                &["fieldConfig", "defaults", "custom", "thresholdsStyle"],
                json!({"mode": mode}),
            );
        }
    }
    let mut overrides: Vec<Value> = Vec::new();
    if let Some(Value::Object(colors)) = object.get("aliasColors") {
        for (name, color) in colors {
            overrides.push(json!({"matcher": {"id": "byName", "options": name},
                "properties": [{"id": "color", "value": {"mode": "fixed", "fixedColor": color}}]}));
        }
    }
    if let Some(Value::Array(series)) = object.get("seriesOverrides") {
        for s in series {
            let Some(alias) = s.get("alias").and_then(Value::as_str) else {
                continue;
            };
            let matcher = if alias.starts_with('/') && alias.len() > 1 {
                json!({"id": "byRegexp", "options": alias.trim_matches('/')})
            } else {
                json!({"id": "byName", "options": alias})
            };
            let mut properties = Vec::new();
            if let Some(color) = s.get("color") {
                properties
                    .push(json!({"id": "color", "value": {"mode": "fixed", "fixedColor": color}}));
            }
            if let Some(fill) = number(s.get("fill")) {
                properties.push(json!({"id": "custom.fillOpacity", "value": fill * 10.0}));
            }
            if let Some(width) = number(s.get("linewidth")) {
                properties.push(json!({"id": "custom.lineWidth", "value": width}));
            }
            let others: Vec<&String> = s
                .as_object()
                .map(|o| {
                    o.keys()
                        .filter(|k| {
                            !["alias", "color", "fill", "linewidth", "yaxis"].contains(&k.as_str())
                        })
                        .collect()
                })
                .unwrap_or_default();
            if !others.is_empty() {
                let names: Vec<&str> = others.iter().map(|k| k.as_str()).collect();
                note(format!(
                    "not supported: series override settings {} for \"{alias}\"",
                    names.join(", ")
                ));
            }
            if !properties.is_empty() {
                overrides.push(json!({"matcher": matcher, "properties": properties}));
            }
        }
    }
    if !overrides.is_empty() {
        put(
            object,
            &["fieldConfig", "overrides"],
            Value::Array(overrides),
        );
    }
    if object
        .get("xaxis")
        .and_then(|x| x.get("mode"))
        .and_then(Value::as_str)
        .is_some_and(|m| m != "time")
    {
        note("not supported: an x axis other than time (drawn over time)".into());
    }
    for key in [
        "lines",
        "bars",
        "points",
        "linewidth",
        "fill",
        "pointradius",
        "stack",
        "percentage",
        "yaxes",
        "yaxis",
        "xaxis",
        "legend",
        "thresholds",
        "aliasColors",
        "seriesOverrides",
        "nullPointMode",
        "steppedLine",
        "renderer",
        "grid",
        "tooltip",
        "dashes",
        "dashLength",
        "spaceLength",
        "fillGradient",
        "hiddenSeries",
        "decimals",
        "legendFormat",
        "isNew",
        "error",
        "editable",
    ] {
        object.remove(key);
    }
}

/// A singlestat as a stat (or a gauge, when it showed one).
fn convert_singlestat(object: &mut Map<String, Value>, note: &mut impl FnMut(String)) {
    let gauge = object.get("gauge").cloned().unwrap_or(Value::Null);
    let as_gauge = gauge.get("show").and_then(Value::as_bool) == Some(true);
    object.insert(
        "type".into(),
        json!(if as_gauge { "gauge" } else { "stat" }),
    );
    let mut unit = object
        .get("format")
        .and_then(Value::as_str)
        .unwrap_or("none")
        .to_string();
    let prefix = object
        .get("prefix")
        .and_then(Value::as_str)
        .unwrap_or("")
        .trim()
        .to_string();
    let postfix = object
        .get("postfix")
        .and_then(Value::as_str)
        .unwrap_or("")
        .trim()
        .to_string();
    if !postfix.is_empty() && matches!(unit.as_str(), "none" | "short") {
        unit = format!("suffix:{postfix}");
    } else if !prefix.is_empty() && matches!(unit.as_str(), "none" | "short") {
        unit = format!("prefix:{prefix}");
    } else if !prefix.is_empty() || !postfix.is_empty() {
        note(format!(
            "not supported: prefix/postfix text beside the unit {unit}"
        ));
    }
    put(object, &["fieldConfig", "defaults", "unit"], json!(unit));
    if let Some(d) = number(object.get("decimals")) {
        put(object, &["fieldConfig", "defaults", "decimals"], json!(d));
    }
    let calc = match object
        .get("valueName")
        .and_then(Value::as_str)
        .unwrap_or("avg")
    {
        "avg" => "mean",
        "current" => "lastNotNull",
        "total" => "sum",
        "name" => {
            note("not supported: showing the series name as the value".into());
            "lastNotNull"
        }
        other => other,
    }
    .to_string();
    let colors: Vec<Value> = object
        .get("colors")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let values: Vec<f64> = object
        .get("thresholds")
        .and_then(Value::as_str)
        .unwrap_or("")
        .split(',')
        .filter_map(|v| v.trim().parse().ok())
        .collect();
    let color = |i: usize| {
        colors
            .get(i)
            .cloned()
            .unwrap_or(json!(["green", "orange", "red"][i.min(2)]))
    };
    let mut steps = vec![json!({"color": color(0), "value": null})];
    for (i, v) in values.iter().enumerate() {
        steps.push(json!({"color": color(i + 1), "value": v}));
    }
    put(
        object,
        &["fieldConfig", "defaults", "thresholds"],
        json!({"mode": "absolute", "steps": steps}),
    );
    let mut mappings = Vec::new();
    if let Some(Value::Array(maps)) = object.get("valueMaps") {
        for m in maps {
            let (Some(value), Some(text)) = (m.get("value").and_then(Value::as_str), m.get("text"))
            else {
                continue;
            };
            if value == "null" {
                mappings.push(json!({"type": "special", "options": {"match": "null", "result": {"text": text}}}));
            } else {
                mappings.push(json!({"type": "value", "options": {value: {"text": text}}}));
            }
        }
    }
    if let Some(Value::Array(ranges)) = object.get("rangeMaps") {
        for r in ranges {
            let (from, to) = (number(r.get("from")), number(r.get("to")));
            if from.is_some() || to.is_some() {
                mappings.push(json!({"type": "range", "options": {"from": from, "to": to, "result": {"text": r.get("text")}}}));
            }
        }
    }
    if !mappings.is_empty() {
        put(
            object,
            &["fieldConfig", "defaults", "mappings"],
            Value::Array(mappings),
        );
    }
    if let Some(text) = object
        .get("nullText")
        .and_then(Value::as_str)
        .filter(|t| !t.is_empty())
    {
        put(object, &["fieldConfig", "defaults", "noValue"], json!(text));
    }
    let color_mode = if object.get("colorBackground").and_then(Value::as_bool) == Some(true) {
        "background"
    } else if object.get("colorValue").and_then(Value::as_bool) == Some(true) {
        "value"
    } else {
        "none"
    };
    let sparkline = object
        .get("sparkline")
        .and_then(|s| s.get("show"))
        .and_then(Value::as_bool)
        == Some(true);
    let mut options = json!({"reduceOptions": {"calcs": [calc], "values": false}, "colorMode": color_mode,
        "graphMode": if sparkline { "area" } else { "none" }, "textMode": "value"});
    if as_gauge {
        for (key, target) in [("minValue", "min"), ("maxValue", "max")] {
            if let Some(v) = number(gauge.get(key)) {
                put(object, &["fieldConfig", "defaults", target], json!(v));
            }
        }
        options["showThresholdMarkers"] = json!(gauge
            .get("thresholdMarkers")
            .and_then(Value::as_bool)
            .unwrap_or(true));
    }
    object.insert("options".into(), options);
    if object
        .get("tableColumn")
        .and_then(Value::as_str)
        .is_some_and(|c| !c.is_empty())
    {
        note("not supported: a table column as the value (the series' value is shown)".into());
    }
    for key in [
        "format",
        "decimals",
        "valueName",
        "colors",
        "thresholds",
        "valueMaps",
        "rangeMaps",
        "mappingType",
        "mappingTypes",
        "colorBackground",
        "colorValue",
        "colorPrefix",
        "colorPostfix",
        "sparkline",
        "gauge",
        "prefix",
        "postfix",
        "prefixFontSize",
        "postfixFontSize",
        "valueFontSize",
        "nullText",
        "nullPointMode",
        "tableColumn",
        "cacheTimeout",
        "isNew",
        "error",
        "editable",
    ] {
        object.remove(key);
    }
}

/// The old table's column styles as overrides of the table Meridian draws (latest values).
fn convert_old_table(object: &mut Map<String, Value>, note: &mut impl FnMut(String)) {
    object.insert("type".into(), json!("table"));
    let mut overrides = Vec::new();
    if let Some(Value::Array(styles)) = object.get("styles").cloned() {
        for style in styles {
            let pattern = style.get("pattern").and_then(Value::as_str).unwrap_or("");
            if pattern.is_empty() {
                continue;
            }
            let matcher = if pattern.starts_with('/') {
                json!({"id": "byRegexp", "options": pattern.trim_matches('/')})
            } else {
                json!({"id": "byName", "options": pattern})
            };
            let mut properties = Vec::new();
            match style.get("type").and_then(Value::as_str) {
                Some("hidden") => note(format!("not supported: hiding the column \"{pattern}\"")),
                Some("date") => note(format!(
                    "not supported: the date column \"{pattern}\" (the table shows latest values)"
                )),
                _ => {}
            }
            if let Some(unit) = style.get("unit").and_then(Value::as_str) {
                properties.push(json!({"id": "unit", "value": unit}));
            }
            if let Some(d) = number(style.get("decimals")) {
                properties.push(json!({"id": "decimals", "value": d}));
            }
            if let Some(alias) = style
                .get("alias")
                .and_then(Value::as_str)
                .filter(|a| !a.is_empty())
            {
                properties.push(json!({"id": "displayName", "value": alias}));
            }
            if !properties.is_empty() {
                overrides.push(json!({"matcher": matcher, "properties": properties}));
            }
        }
    }
    if !overrides.is_empty() {
        put(
            object,
            &["fieldConfig", "overrides"],
            Value::Array(overrides),
        );
    }
    if let Some(transform) = object.get("transform").and_then(Value::as_str) {
        if transform != "table" && transform != "timeseries_to_rows" {
            note(format!(
                "not supported: the old table's transform \"{transform}\" (latest values a row)"
            ));
        }
    }
    for key in [
        "styles",
        "transform",
        "columns",
        "sort",
        "pageSize",
        "showHeader",
        "scroll",
        "fontSize",
    ] {
        object.remove(key);
    }
}

/// Variables Meridian resolves keep their shape; data source variables stand for Meridian.
fn convert_variables(root: &mut Map<String, Value>, report: &mut Report) {
    let Some(list) = root
        .get_mut("templating")
        .and_then(|t| t.get_mut("list"))
        .and_then(Value::as_array_mut)
    else {
        return;
    };
    for variable in list.iter_mut().filter_map(Value::as_object_mut) {
        let name = variable
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        variable.remove("datasource");
        match variable.get("type").and_then(Value::as_str).unwrap_or("") {
            "datasource" => report.note(format!(
                "${name} (a data source choice) stands for Meridian's own metrics"
            )),
            "adhoc" => report.note(format!("not supported: the ad hoc filter ${name}")),
            "query" => {
                let query = match variable.get("query") {
                    Some(Value::String(q)) => q.clone(),
                    Some(Value::Object(q)) => q
                        .get("query")
                        .and_then(Value::as_str)
                        .unwrap_or("")
                        .to_string(),
                    _ => String::new(),
                };
                let known = ["label_values(", "metrics(", "query_result("];
                if !known.iter().any(|k| query.trim_start().starts_with(k)) {
                    report.note(format!(
                        "not supported: the variable query of ${name}: {query:?}"
                    ));
                }
            }
            "custom" | "interval" | "constant" | "textbox" => {}
            other => report.note(format!(
                "not supported: variables of type \"{other}\" (${name})"
            )),
        }
    }
}

fn convert_annotations(root: &mut Map<String, Value>, report: &mut Report) {
    let count = root
        .get("annotations")
        .and_then(|a| a.get("list"))
        .and_then(Value::as_array)
        .map_or(0, |list| {
            list.iter()
                .filter(|a| a.get("builtIn").and_then(Value::as_u64) != Some(1))
                .filter(|a| a.get("enable").and_then(Value::as_bool) != Some(false))
                .count()
        });
    if count > 0 {
        report.note(format!(
            "not supported: {count} annotation quer{} (kept in the model)",
            if count == 1 { "y" } else { "ies" }
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn positions(model: &Dashboard) -> Vec<(u32, String, u32, u32, u32, u32)> {
        let mut out = Vec::new();
        for p in &model.panels {
            out.push((
                p.id,
                p.kind.clone(),
                p.grid_pos.x,
                p.grid_pos.y,
                p.grid_pos.w,
                p.grid_pos.h,
            ));
            for c in &p.panels {
                out.push((
                    c.id,
                    c.kind.clone(),
                    c.grid_pos.x,
                    c.grid_pos.y,
                    c.grid_pos.w,
                    c.grid_pos.h,
                ));
            }
        }
        out
    }

    #[test]
    fn rows_convert_as_grafanas_v16_migration() {
        // Two rows of 150 px (4 grid rows): six span-2 panels, then three span-4 panels; a
        // row without height (250 px: 7 grid rows) with a span-12 panel and one of 100 px.
        let old = json!({"title": "Old", "schemaVersion": 12, "rows": [
            {"height": "150px", "panels": (1..=6).map(|i| json!({"id": i, "type": "graph", "span": 2})).collect::<Vec<_>>()},
            {"height": 150, "panels": (7..=9).map(|i| json!({"id": i, "type": "graph", "span": 4})).collect::<Vec<_>>()},
            {"panels": [{"id": 10, "type": "graph", "span": 12}, {"id": 11, "type": "graph", "height": "100px"}]}
        ]});
        let (model, _) = import(&old).unwrap();
        let expected: Vec<(u32, &str, u32, u32, u32, u32)> = vec![
            (1, "timeseries", 0, 0, 4, 4),
            (2, "timeseries", 4, 0, 4, 4),
            (3, "timeseries", 8, 0, 4, 4),
            (4, "timeseries", 12, 0, 4, 4),
            (5, "timeseries", 16, 0, 4, 4),
            (6, "timeseries", 20, 0, 4, 4),
            (7, "timeseries", 0, 4, 8, 4),
            (8, "timeseries", 8, 4, 8, 4),
            (9, "timeseries", 16, 4, 8, 4),
            (10, "timeseries", 0, 8, 24, 7),
            (11, "timeseries", 0, 15, 8, 3),
        ];
        let got = positions(&model);
        assert_eq!(got.len(), expected.len());
        for (g, e) in got.iter().zip(&expected) {
            assert_eq!((g.0, g.1.as_str(), g.2, g.3, g.4, g.5), *e);
        }
        assert_eq!(model.schema_version, SCHEMA_VERSION);
    }

    #[test]
    fn a_collapsed_row_keeps_its_panels_inside_a_row_panel() {
        let old = json!({"title": "Rows", "rows": [
            {"title": "Open", "showTitle": true, "height": "250px", "panels": [{"id": 1, "type": "graph", "span": 6}]},
            {"title": "Folded", "collapse": true, "height": "250px", "panels": [{"id": 2, "type": "singlestat", "span": 3}]},
            {"title": "After", "height": "250px", "panels": [{"id": 3, "type": "text", "span": 12}]}
        ]});
        let (model, _) = import(&old).unwrap();
        let got = positions(&model);
        // Row panels get the ids after the highest panel id; each takes one grid row.
        assert_eq!(got[0], (1, "timeseries".into(), 0, 1, 12, 7));
        assert_eq!(got[1], (4, "row".into(), 0, 0, 24, 7));
        assert_eq!(got[2], (5, "row".into(), 0, 8, 24, 7));
        assert_eq!(
            got[3],
            (2, "stat".into(), 0, 9, 6, 7),
            "inside the collapsed row"
        );
        assert!(model.panels[2].collapsed && !model.panels[1].collapsed);
        assert_eq!(
            got[4],
            (3, "text".into(), 0, 10, 24, 7),
            "a collapsed row takes one grid row"
        );
        assert_eq!(got[5].1, "row");
    }

    #[test]
    fn rows_beside_panels_go_below_them() {
        let mixed = json!({"title": "Mixed", "schemaVersion": 27,
            "panels": [{"id": 1, "type": "timeseries", "gridPos": {"x": 0, "y": 0, "w": 24, "h": 5}}],
            "rows": [{"panels": [{"id": 2, "type": "graph", "span": 12}]}]});
        let (model, report) = import(&mixed).unwrap();
        assert_eq!(positions(&model)[1], (2, "timeseries".into(), 0, 5, 24, 7));
        assert!(
            report.notes[0].contains("both rows[] and panels[]"),
            "{report:?}"
        );
    }

    #[test]
    fn a_graph_and_a_singlestat_become_a_time_series_and_a_gauge() {
        let old = json!({"title": "Types", "panels": [
            {"id": 1, "type": "graph", "gridPos": {"x": 0, "y": 0, "w": 12, "h": 8}, "datasource": "${DS_PROMETHEUS}",
             "bars": true, "lines": false, "fill": 3, "stack": true, "yaxes": [{"format": "bytes", "min": "0", "logBase": 2}, {"format": "short"}],
             "legend": {"show": true, "alignAsTable": true, "avg": true, "max": true}, "aliasColors": {"api": "#ff0000"},
             "thresholds": [{"value": 90, "colorMode": "critical", "op": "gt", "fill": true, "line": true}],
             "targets": [{"refId": "A", "expr": "rate(x[$__rate_interval])", "datasource": {"type": "prometheus", "uid": "abc"}}]},
            {"id": 2, "type": "singlestat", "gridPos": {"x": 12, "y": 0, "w": 6, "h": 4}, "format": "percent", "valueName": "current",
             "thresholds": "65, 90", "colors": ["green", "orange", "red"], "gauge": {"show": true, "minValue": 0, "maxValue": 100},
             "valueMaps": [{"op": "=", "value": "null", "text": "N/A"}], "targets": [{"refId": "A", "expr": "up"}]},
            {"id": 3, "type": "piechart", "gridPos": {"x": 18, "y": 0, "w": 6, "h": 4},
             "targets": [{"refId": "A", "expr": "up"}], "transformations": [{"id": "reduce"}]},
            {"id": 4, "type": "logs", "gridPos": {"x": 0, "y": 8, "w": 24, "h": 4}, "datasource": {"type": "loki", "uid": "l"},
             "targets": [{"refId": "A", "expr": "{job=\"x\"}", "datasource": {"type": "loki", "uid": "l"}}]}
        ]});
        let (model, report) = import(&old).unwrap();
        let graph = &model.panels[0];
        assert_eq!(graph.kind, "timeseries");
        let d = &graph.field_config.defaults;
        assert_eq!((d.unit.as_str(), d.min), ("bytes", Some(0.0)));
        assert_eq!(d.custom["drawStyle"], "bars");
        assert_eq!(d.custom["fillOpacity"], 30.0);
        assert_eq!(d.custom["stacking"]["mode"], "normal");
        assert_eq!(d.custom["thresholdsStyle"]["mode"], "line+area");
        assert_eq!(graph.options["legend"]["displayMode"], "table");
        assert_eq!(graph.options["legend"]["calcs"], json!(["max", "mean"]));
        assert_eq!(graph.field_config.overrides[0].matcher.options, "api");
        assert!(
            graph.datasource.is_none() && graph.targets[0].datasource.is_none(),
            "Meridian's own"
        );
        let stat = &model.panels[1];
        assert_eq!(stat.kind, "gauge");
        assert_eq!(
            stat.field_config
                .defaults
                .thresholds
                .as_ref()
                .unwrap()
                .steps
                .len(),
            3
        );
        assert_eq!(
            stat.options["reduceOptions"]["calcs"],
            json!(["lastNotNull"])
        );
        assert_eq!(stat.field_config.defaults.max, Some(100.0));
        assert_eq!(
            report.for_panel(1),
            ["not supported: a logarithmic axis (drawn linear)"]
        );
        assert!(report.for_panel(2).is_empty(), "{report:?}");
        assert_eq!(
            report.for_panel(3),
            [
                "not supported: panels of type \"piechart\"",
                "not supported: transformation \"reduce\""
            ]
        );
        assert!(
            report.for_panel(4).iter().any(|n| n.contains("\"loki\"")),
            "{report:?}"
        );
    }

    #[test]
    fn wrapped_and_bad_input() {
        let wrapped = json!({"dashboard": {"title": "Inner", "panels": []}, "overwrite": true});
        assert_eq!(import(&wrapped).unwrap().0.title, "Inner");
        assert!(import(&json!([1, 2]))
            .unwrap_err()
            .contains("not an object"));
        assert!(import(&json!({"foo": 1}))
            .unwrap_err()
            .contains("no title, panels or rows"));
    }
}
