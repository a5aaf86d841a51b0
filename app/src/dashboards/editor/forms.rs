//! Between the model and the editor's forms. A form shows a panel or the settings as text;
//! applying it checks every field (an error names the field as the form does, so it appears
//! beside it) and changes only what the form shows: everything else of the model — options the
//! form does not offer, a mapping of a kind it does not list, fields Grafana added — is kept.

use serde_json::{json, Map, Value};
use viz::{
    model::{Dashboard, GridPos, Panel, Target, ThresholdStep, Thresholds, Variable, GRID_COLUMNS},
    time::{self, Tz},
};

use super::{
    MappingForm, PanelForm, PlaceForm, SettingsForm, TargetForm, ThresholdForm, VariableForm,
    PANEL_TYPES,
};
use crate::{dashboards::interpolate, error::AppError};

pub const VARIABLE_KINDS: [&str; 5] = ["query", "custom", "interval", "constant", "textbox"];

fn number_text(value: Option<f64>) -> String {
    value.map(|v| v.to_string()).unwrap_or_default()
}

fn legend_of(panel: &Panel) -> (String, String, String) {
    let legend = panel.option("legend");
    let text = |key: &str| legend.get(key).and_then(Value::as_str).map(str::to_string);
    let shown = legend
        .get("showLegend")
        .and_then(Value::as_bool)
        .unwrap_or(true);
    let mode = match text("displayMode") {
        _ if !shown => "hidden".to_string(),
        Some(mode) => mode,
        None => "list".to_string(),
    };
    let calcs = legend
        .get("calcs")
        .and_then(Value::as_array)
        .map(|c| {
            c.iter()
                .filter_map(Value::as_str)
                .collect::<Vec<_>>()
                .join(", ")
        })
        .unwrap_or_default();
    (
        mode,
        text("placement").unwrap_or_else(|| "bottom".into()),
        calcs,
    )
}

/// Value, range and special mappings as rows (regex mappings are kept but not listed).
fn mapping_rows(mappings: &[Value]) -> Vec<MappingForm> {
    let mut rows = Vec::new();
    let result = |r: Option<&Value>| {
        let text = |k: &str| {
            r.and_then(|r| r.get(k))
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string()
        };
        (text("text"), text("color"))
    };
    for mapping in mappings {
        let options = mapping.get("options");
        match mapping.get("type").and_then(Value::as_str) {
            Some("value") => {
                let mut values: Vec<(&String, &Value)> = options
                    .and_then(Value::as_object)
                    .into_iter()
                    .flatten()
                    .collect();
                values.sort_by_key(|(_, v)| v.get("index").and_then(Value::as_u64).unwrap_or(0));
                for (value, to) in values {
                    let (text, color) = result(Some(to));
                    rows.push(MappingForm {
                        value: value.clone(),
                        text,
                        color,
                    });
                }
            }
            Some("range") => {
                let bound = |k: &str| {
                    options
                        .and_then(|o| o.get(k))
                        .and_then(Value::as_f64)
                        .map(|v| v.to_string())
                };
                let (text, color) = result(options.and_then(|o| o.get("result")));
                let value = format!(
                    "{}..{}",
                    bound("from").unwrap_or_default(),
                    bound("to").unwrap_or_default()
                );
                rows.push(MappingForm { value, text, color });
            }
            Some("special") => {
                let matches = options
                    .and_then(|o| o.get("match"))
                    .and_then(Value::as_str)
                    .unwrap_or("");
                let (text, color) = result(options.and_then(|o| o.get("result")));
                rows.push(MappingForm {
                    value: matches.to_string(),
                    text,
                    color,
                });
            }
            _ => {}
        }
    }
    rows
}

/// The panel as its form shows it.
pub fn panel_form(panel: &Panel) -> PanelForm {
    let defaults = &panel.field_config.defaults;
    let (legend, legend_placement, legend_calcs) = legend_of(panel);
    let thresholds = defaults.thresholds.clone().unwrap_or_default();
    PanelForm {
        kind: panel.kind.clone(),
        title: panel.title.clone(),
        description: panel.description.clone(),
        targets: panel
            .targets
            .iter()
            .map(|t| TargetForm {
                expr: t.expr.clone(),
                legend: t.legend_format.clone(),
            })
            .collect(),
        unit: defaults.unit.clone(),
        decimals: defaults.decimals.map(|d| d.to_string()).unwrap_or_default(),
        min: number_text(defaults.min),
        max: number_text(defaults.max),
        threshold_mode: if thresholds.mode.is_empty() {
            "absolute".into()
        } else {
            thresholds.mode
        },
        thresholds: thresholds
            .steps
            .iter()
            .map(|s| ThresholdForm {
                color: s.color.clone(),
                value: number_text(s.value),
            })
            .collect(),
        mappings: mapping_rows(&defaults.mappings),
        stacking: defaults
            .custom
            .get("stacking")
            .and_then(|s| s.get("mode"))
            .and_then(Value::as_str)
            .unwrap_or("none")
            .to_string(),
        legend,
        legend_placement,
        legend_calcs,
        content: panel.option_str("content").unwrap_or("").to_string(),
        x: panel.grid_pos.x.to_string(),
        y: panel.grid_pos.y.to_string(),
        w: panel.grid_pos.w.to_string(),
        h: panel.grid_pos.h.to_string(),
    }
}

/// A new panel's form: a time series of one query, at the bottom of the grid.
pub fn new_panel_form(model: &Dashboard) -> PanelForm {
    let mut panel = Panel {
        kind: "timeseries".into(),
        title: "New panel".into(),
        ..Panel::default()
    };
    panel.grid_pos = GridPos {
        x: 0,
        y: bottom(model),
        w: 12,
        h: 8,
    };
    let mut form = panel_form(&panel);
    form.thresholds = vec![
        ThresholdForm {
            color: "green".into(),
            value: String::new(),
        },
        ThresholdForm {
            color: "red".into(),
            value: "80".into(),
        },
    ];
    form
}

/// The first grid row below every panel.
pub fn bottom(model: &Dashboard) -> u32 {
    model
        .panels
        .iter()
        .map(|p| p.grid_pos.y + if p.kind == "row" { 1 } else { p.grid_pos.h })
        .max()
        .unwrap_or(0)
}

fn parse_number(field: &str, text: &str) -> Result<Option<f64>, AppError> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    text.parse::<f64>()
        .ok()
        .filter(|v| v.is_finite())
        .map(Some)
        .ok_or_else(|| AppError::invalid(field, format!("{text:?} is not a number")))
}

fn parse_cells(
    field: &str,
    text: &str,
    range: std::ops::RangeInclusive<u32>,
) -> Result<u32, AppError> {
    text.trim()
        .parse::<u32>()
        .ok()
        .filter(|v| range.contains(v))
        .ok_or_else(|| {
            AppError::invalid(
                field,
                format!(
                    "must be a whole number from {} to {}",
                    range.start(),
                    range.end()
                ),
            )
        })
}

/// A place on the 24-column grid; errors name `prefix` + `x`, `y`, `w` or `h`.
pub fn grid_pos(prefix: &str, x: &str, y: &str, w: &str, h: &str) -> Result<GridPos, AppError> {
    let field = |name: &str| format!("{prefix}{name}");
    let pos = GridPos {
        x: parse_cells(&field("x"), x, 0..=GRID_COLUMNS - 1)?,
        y: parse_cells(&field("y"), y, 0..=10_000)?,
        w: parse_cells(&field("w"), w, 1..=GRID_COLUMNS)?,
        h: parse_cells(&field("h"), h, 1..=100)?,
    };
    if pos.x + pos.w > GRID_COLUMNS {
        return Err(AppError::invalid(
            &field("w"),
            format!("x + width must be at most {GRID_COLUMNS} (the grid's columns)"),
        ));
    }
    Ok(pos)
}

fn set_or_remove(map: &mut Map<String, Value>, key: &str, value: Option<Value>) {
    match value {
        Some(value) => map.insert(key.to_string(), value),
        None => map.remove(key),
    };
}

fn mappings(rows: &[MappingForm], kept: &[Value]) -> Result<Vec<Value>, AppError> {
    let mut values = Map::new();
    let mut others = Vec::new();
    let rows = rows
        .iter()
        .enumerate()
        .filter(|(_, r)| !r.value.trim().is_empty());
    for (i, row) in rows {
        let mut result = Map::new();
        if !row.text.trim().is_empty() {
            result.insert("text".into(), json!(row.text.trim()));
        }
        if !row.color.trim().is_empty() {
            result.insert("color".into(), json!(row.color.trim()));
        }
        if result.is_empty() {
            return Err(AppError::invalid(
                &format!("mappings[{i}][text]"),
                "give the text or the colour it maps to",
            ));
        }
        let value = row.value.trim();
        if let Some((from, to)) = value.split_once("..") {
            let field = format!("mappings[{i}][value]");
            let (from, to) = (parse_number(&field, from)?, parse_number(&field, to)?);
            if from.is_none() && to.is_none() {
                return Err(AppError::invalid(
                    &field,
                    "a range needs a start, an end or both: 10..20",
                ));
            }
            others.push(
                json!({"type": "range", "options": {"from": from, "to": to, "result": result}}),
            );
        } else if matches!(
            value,
            "null" | "nan" | "null+nan" | "true" | "false" | "empty"
        ) {
            others.push(json!({"type": "special", "options": {"match": value, "result": result}}));
        } else {
            result.insert("index".into(), json!(values.len()));
            values.insert(value.to_string(), Value::Object(result));
        }
    }
    let mut out = Vec::new();
    if !values.is_empty() {
        out.push(json!({"type": "value", "options": values}));
    }
    out.extend(others);
    // What the rows cannot show (regex mappings) stays as it was.
    out.extend(
        kept.iter()
            .filter(|m| m.get("type").and_then(Value::as_str) == Some("regex"))
            .cloned(),
    );
    Ok(out)
}

fn thresholds(mode: &str, rows: &[ThresholdForm]) -> Result<Option<Thresholds>, AppError> {
    let mut steps = Vec::new();
    for (i, row) in rows.iter().enumerate() {
        if row.color.trim().is_empty() && row.value.trim().is_empty() {
            continue;
        }
        if row.color.trim().is_empty() {
            return Err(AppError::invalid(
                &format!("thresholds[{i}][color]"),
                "give the step a colour",
            ));
        }
        let value = parse_number(&format!("thresholds[{i}][value]"), &row.value)?;
        if value.is_none() && !steps.is_empty() {
            return Err(AppError::invalid(
                &format!("thresholds[{i}][value]"),
                "only the first step (the base) goes without a value",
            ));
        }
        steps.push(ThresholdStep {
            color: row.color.trim().to_string(),
            value,
        });
    }
    if steps.is_empty() {
        return Ok(None);
    }
    if steps[0].value.is_some() {
        steps.insert(
            0,
            ThresholdStep {
                color: "green".into(),
                value: None,
            },
        );
    }
    steps[1..].sort_by(|a, b| {
        a.value
            .partial_cmp(&b.value)
            .unwrap_or(std::cmp::Ordering::Equal)
    });
    let mode = if mode == "percentage" {
        "percentage"
    } else {
        "absolute"
    };
    Ok(Some(Thresholds {
        mode: mode.into(),
        steps,
    }))
}

/// The panel `base` changed as the form says.
pub fn apply_panel(form: &PanelForm, base: &Panel) -> Result<Panel, AppError> {
    let mut panel = base.clone();
    let kind = form.kind.trim();
    if !PANEL_TYPES.iter().any(|(k, _)| *k == kind) && kind != base.kind {
        return Err(AppError::invalid(
            "kind",
            format!("{kind:?} is not a panel type Meridian draws"),
        ));
    }
    panel.kind = kind.to_string();
    if form.title.chars().count() > 200 {
        return Err(AppError::invalid("title", "must be at most 200 characters"));
    }
    panel.title = form.title.trim().to_string();
    panel.description = form.description.trim().to_string();
    panel.grid_pos = grid_pos("", &form.x, &form.y, &form.w, &form.h)?;

    let rows = form.targets.iter().filter(|t| !t.expr.trim().is_empty());
    panel.targets = rows
        .enumerate()
        .map(|(i, row)| {
            let mut target = base.targets.get(i).cloned().unwrap_or_else(Target::default);
            target.ref_id = ((b'A' + (i % 26) as u8) as char).to_string();
            target.expr = row.expr.trim().to_string();
            target.legend_format = row.legend.trim().to_string();
            target
        })
        .collect();

    let defaults = &mut panel.field_config.defaults;
    defaults.unit = form.unit.trim().to_string();
    defaults.decimals = match form.decimals.trim() {
        "" => None,
        text => Some(parse_cells("decimals", text, 0..=10)?),
    };
    defaults.min = parse_number("min", &form.min)?;
    defaults.max = parse_number("max", &form.max)?;
    if let (Some(min), Some(max)) = (defaults.min, defaults.max) {
        if min >= max {
            return Err(AppError::invalid("max", "must be above min"));
        }
    }
    defaults.thresholds = thresholds(&form.threshold_mode, &form.thresholds)?;
    defaults.mappings = mappings(&form.mappings, &base.field_config.defaults.mappings)?;
    if panel.kind == "timeseries" {
        let mode = match form.stacking.as_str() {
            "normal" | "percent" => form.stacking.as_str(),
            _ => "none",
        };
        defaults
            .custom
            .insert("stacking".into(), json!({"mode": mode, "group": "A"}));
    }

    let calcs: Vec<String> = form
        .legend_calcs
        .split(',')
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .map(str::to_string)
        .collect();
    for calc in &calcs {
        if !LEGEND_CALCS.contains(&calc.as_str()) {
            return Err(AppError::invalid(
                "legend_calcs",
                format!("{calc:?} is not one of {}", LEGEND_CALCS.join(", ")),
            ));
        }
    }
    let mut legend = panel.option("legend").clone();
    let mode = match form.legend.as_str() {
        "table" | "hidden" => form.legend.as_str(),
        _ => "list",
    };
    legend.insert("displayMode".into(), json!(mode));
    legend.insert("showLegend".into(), json!(mode != "hidden"));
    let placement = if form.legend_placement == "right" {
        "right"
    } else {
        "bottom"
    };
    legend.insert("placement".into(), json!(placement));
    legend.insert("calcs".into(), json!(calcs));
    panel.options.insert("legend".into(), Value::Object(legend));
    if panel.kind == "text" {
        panel.options.insert("mode".into(), json!("markdown"));
        panel.options.insert("content".into(), json!(form.content));
    } else if base.kind != "text" || kind != "text" {
        set_or_remove(&mut panel.options, "content", None);
    }
    Ok(panel)
}

/// The form without the field in error (empty, or the panel's saved value for its type and
/// place), so a preview draws what does read.
pub fn leave_out(form: &mut PanelForm, field: &str, base: &Panel) {
    match field {
        "decimals" => form.decimals.clear(),
        "min" | "max" => {
            form.min.clear();
            form.max.clear();
        }
        "legend_calcs" => form.legend_calcs.clear(),
        f if f.starts_with("thresholds") => form.thresholds.clear(),
        f if f.starts_with("mappings") => form.mappings.clear(),
        _ => {
            let saved = panel_form(base);
            (form.kind, form.title) = (saved.kind, saved.title);
            (form.x, form.y, form.w, form.h) = ("0".into(), "0".into(), "12".into(), "8".into());
        }
    }
}

/// The reducers a legend can show (Grafana's ids).
pub const LEGEND_CALCS: [&str; 8] = [
    "min",
    "max",
    "mean",
    "last",
    "lastNotNull",
    "first",
    "sum",
    "count",
];

/// Each query's syntax error, as (field, message) with the position as typed.
pub fn expression_errors(form: &PanelForm) -> Vec<(String, String)> {
    form.targets
        .iter()
        .enumerate()
        .filter(|(_, t)| !t.expr.trim().is_empty())
        .filter_map(|(i, t)| {
            interpolate::syntax_error(&t.expr)
                .map(|e| (format!("targets[{i}][expr]"), e.pointed(&t.expr)))
        })
        .collect()
}

pub fn settings_form(model: &Dashboard) -> SettingsForm {
    SettingsForm {
        title: model.title.clone(),
        description: model.description.clone(),
        tags: model.tags.join(", "),
        from: model.time.from.clone(),
        to: model.time.to.clone(),
        refresh: model.refresh.clone(),
        timezone: model.timezone.clone(),
        variables: model
            .templating
            .list
            .iter()
            .map(|v| VariableForm {
                name: v.name.clone(),
                kind: v.kind.clone(),
                label: v.label.clone(),
                query: match v.kind.as_str() {
                    "query" if !v.definition.is_empty() => v.definition.clone(),
                    _ => v.query_text().to_string(),
                },
                multi: v.multi.then(|| "on".into()),
                include_all: v.include_all.then(|| "on".into()),
            })
            .collect(),
    }
}

fn is_duration(text: &str) -> bool {
    let digits = text.trim_end_matches(|c: char| c.is_ascii_alphabetic());
    let unit = &text[digits.len()..];
    !digits.is_empty()
        && digits.chars().all(|c| c.is_ascii_digit())
        && ["s", "m", "h", "d", "w"].contains(&unit)
}

/// The model with the settings applied.
pub fn apply_settings(form: &SettingsForm, model: &mut Dashboard) -> Result<(), AppError> {
    let title = form.title.trim();
    if title.is_empty() || title.chars().count() > 200 {
        return Err(AppError::invalid("title", "must be 1 to 200 characters"));
    }
    let now = chrono::Utc::now().timestamp_millis();
    let zone = form.timezone.trim();
    let tz = time::parse_zone(zone, Some(Tz::UTC))
        .map_err(|e| AppError::invalid("timezone", e.to_string()))?;
    let from = time::parse_time(form.from.trim(), now, false, tz)
        .map_err(|e| AppError::invalid("from", e.to_string()))?;
    let to = time::parse_time(form.to.trim(), now, true, tz)
        .map_err(|e| AppError::invalid("to", e.to_string()))?;
    if from >= to {
        return Err(AppError::invalid("to", "must be after from"));
    }
    let refresh = form.refresh.trim();
    if !refresh.is_empty() && !is_duration(refresh) {
        return Err(AppError::invalid(
            "refresh",
            "a duration such as 30s or 5m, or empty for off",
        ));
    }
    let mut tags: Vec<String> = Vec::new();
    for tag in form
        .tags
        .split(',')
        .map(str::trim)
        .filter(|t| !t.is_empty())
    {
        if tag.chars().count() > 50 {
            return Err(AppError::invalid(
                "tags",
                format!("{tag:?} is longer than 50 characters"),
            ));
        }
        if !tags.iter().any(|t| t == tag) {
            tags.push(tag.to_string());
        }
    }
    let mut variables = Vec::new();
    for (i, row) in form.variables.iter().enumerate() {
        let name = row.name.trim();
        if name.is_empty() {
            continue;
        }
        let field = |f: &str| format!("variables[{i}][{f}]");
        let valid = name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
            && !name.starts_with(|c: char| c.is_ascii_digit())
            && !name.starts_with("__");
        if !valid {
            return Err(AppError::invalid(
                &field("name"),
                "letters, digits and _, not starting with a digit or __",
            ));
        }
        if variables.iter().any(|v: &Variable| v.name == name) {
            return Err(AppError::invalid(
                &field("name"),
                format!("${name} is defined twice"),
            ));
        }
        let kind = row.kind.trim();
        if !VARIABLE_KINDS.contains(&kind) {
            return Err(AppError::invalid(
                &field("kind"),
                format!("one of {}", VARIABLE_KINDS.join(", ")),
            ));
        }
        let query = row.query.trim();
        if query.is_empty() && kind != "textbox" {
            return Err(AppError::invalid(
                &field("query"),
                "say where the values come from",
            ));
        }
        if kind == "interval" {
            if let Some(bad) = query
                .split(',')
                .map(str::trim)
                .find(|d| !d.is_empty() && !is_duration(d))
            {
                return Err(AppError::invalid(
                    &field("query"),
                    format!("{bad:?} is not a duration"),
                ));
            }
        }
        let mut variable = model.variable(name).cloned().unwrap_or_default();
        if variable.kind != kind {
            // Another kind's options and current value mean nothing for this one.
            variable = Variable::default();
        }
        variable.name = name.to_string();
        variable.kind = kind.to_string();
        variable.label = row.label.trim().to_string();
        variable.query = Value::String(query.to_string());
        if kind == "query" {
            variable.definition = query.to_string();
        }
        variable.multi = row.multi.is_some() && matches!(kind, "query" | "custom");
        variable.include_all = row.include_all.is_some() && matches!(kind, "query" | "custom");
        variables.push(variable);
    }
    model.title = title.to_string();
    model.description = form.description.trim().to_string();
    model.tags = tags;
    model.time.from = form.from.trim().to_string();
    model.time.to = form.to.trim().to_string();
    model.refresh = refresh.to_string();
    model.timezone = zone.to_string();
    model.templating.list = variables;
    Ok(())
}

/// Every panel's new place from the layout form (panels inside rows included).
pub fn apply_layout(places: &[PlaceForm], model: &mut Dashboard) -> Result<(), AppError> {
    let mut positions = Vec::new();
    for (i, place) in places.iter().enumerate() {
        let pos = grid_pos(
            &format!("panels[{i}]["),
            &place.x,
            &place.y,
            &place.w,
            &place.h,
        )
        .map_err(|e| match e {
            AppError::Invalid { field, message } => AppError::Invalid {
                field: format!("{field}]"),
                message,
            },
            other => other,
        })?;
        positions.push((place.id, pos));
    }
    for (id, pos) in positions {
        let panel = panel_mut(model, id).ok_or(AppError::NotFound)?;
        if panel.kind == "row" {
            panel.grid_pos = GridPos {
                x: 0,
                y: pos.y,
                w: GRID_COLUMNS,
                h: 1,
            };
        } else {
            panel.grid_pos = pos;
        }
    }
    Ok(())
}

/// The panel with this id, wherever it is (rows included).
pub fn panel_mut(model: &mut Dashboard, id: u32) -> Option<&mut Panel> {
    let (i, inner) = model.panels.iter().enumerate().find_map(|(i, p)| {
        if p.id == id {
            Some((i, None))
        } else {
            p.panels
                .iter()
                .position(|c| c.id == id)
                .map(|j| (i, Some(j)))
        }
    })?;
    let outer = &mut model.panels[i];
    match inner {
        None => Some(outer),
        Some(j) => Some(&mut outer.panels[j]),
    }
}

/// An id no panel has yet.
pub fn next_panel_id(model: &Dashboard) -> u32 {
    model
        .panels
        .iter()
        .flat_map(|p| std::iter::once(p.id).chain(p.panels.iter().map(|c| c.id)))
        .max()
        .unwrap_or(0)
        + 1
}

/// Removes the panel `id` (from a row too); a row goes with the panels folded in it.
pub fn remove_panel(model: &mut Dashboard, id: u32) -> Result<Panel, AppError> {
    if let Some(i) = model.panels.iter().position(|p| p.id == id) {
        return Ok(model.panels.remove(i));
    }
    for row in &mut model.panels {
        if let Some(j) = row.panels.iter().position(|c| c.id == id) {
            return Ok(row.panels.remove(j));
        }
    }
    Err(AppError::NotFound)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn panel(json: Value) -> Panel {
        serde_json::from_value(json).unwrap()
    }

    #[test]
    fn a_panel_read_into_its_form_and_applied_unchanged_keeps_every_field() {
        let original = panel(json!({
            "id": 4, "type": "timeseries", "title": "Requests", "gridPos": {"x": 12, "y": 8, "w": 12, "h": 9},
            "targets": [{"refId": "A", "expr": "sum(rate(x[5m]))", "legendFormat": "{{job}}", "interval": "1m"}],
            "fieldConfig": {"defaults": {"unit": "reqps", "decimals": 1, "min": 0,
                "thresholds": {"mode": "absolute", "steps": [{"color": "green", "value": null}, {"color": "red", "value": 80}]},
                "mappings": [{"type": "value", "options": {"0": {"text": "idle", "index": 0}}},
                             {"type": "regex", "options": {"pattern": "x.*", "result": {"text": "x"}}}],
                "custom": {"fillOpacity": 10, "stacking": {"mode": "normal", "group": "A"}}}, "overrides": []},
            "options": {"legend": {"displayMode": "table", "placement": "right", "calcs": ["mean", "max"], "showLegend": true},
                        "tooltip": {"mode": "multi"}},
            "pluginVersion": "10.4.0"
        }));
        let form = panel_form(&original);
        assert_eq!(form.targets[0].legend, "{{job}}");
        assert_eq!(form.legend_calcs, "mean, max");
        assert_eq!(
            form.mappings.len(),
            1,
            "regex mappings are kept but not listed"
        );
        let applied = apply_panel(&form, &original).unwrap();
        assert_eq!(
            applied.targets[0].extra, original.targets[0].extra,
            "the target's interval stays"
        );
        assert_eq!(applied.targets[0].interval, "1m");
        assert_eq!(
            applied.options.get("tooltip"),
            original.options.get("tooltip")
        );
        assert_eq!(applied.extra.get("pluginVersion"), Some(&json!("10.4.0")));
        assert_eq!(applied.field_config.defaults.mappings.len(), 2);
        assert_eq!(
            applied.field_config.defaults.thresholds,
            original.field_config.defaults.thresholds
        );
        assert_eq!(applied.grid_pos, original.grid_pos);
        assert_eq!(
            applied.field_config.defaults.custom.get("fillOpacity"),
            Some(&json!(10))
        );
    }

    #[test]
    fn each_bad_field_is_named_as_the_form_names_it() {
        let base = Panel::default();
        let mut form = panel_form(&base);
        form.kind = "timeseries".into();
        let error = |change: &dyn Fn(&mut PanelForm)| {
            let mut f = form.clone();
            change(&mut f);
            match apply_panel(&f, &base) {
                Err(AppError::Invalid { field, .. }) => field,
                other => panic!("{other:?}"),
            }
        };
        assert_eq!(error(&|f| f.decimals = "many".into()), "decimals");
        assert_eq!(error(&|f| f.min = "x".into()), "min");
        assert_eq!(error(&|f| (f.min, f.max) = ("5".into(), "1".into())), "max");
        assert_eq!(error(&|f| f.w = "30".into()), "w");
        assert_eq!(error(&|f| (f.x, f.w) = ("20".into(), "6".into())), "w");
        assert_eq!(error(&|f| f.kind = "piechart3d".into()), "kind");
        assert_eq!(
            error(&|f| f.thresholds = vec![
                ThresholdForm {
                    color: "green".into(),
                    value: String::new()
                },
                ThresholdForm {
                    color: "red".into(),
                    value: "high".into()
                },
            ]),
            "thresholds[1][value]"
        );
        assert_eq!(
            error(&|f| f.mappings = vec![MappingForm {
                value: "1".into(),
                ..Default::default()
            }]),
            "mappings[0][text]"
        );
        assert_eq!(error(&|f| f.legend_calcs = "median".into()), "legend_calcs");
    }

    #[test]
    fn thresholds_mappings_and_queries_come_out_as_grafana_writes_them() {
        let mut form = new_panel_form(&Dashboard::default());
        form.targets = vec![
            TargetForm {
                expr: "up".into(),
                legend: "{{instance}}".into(),
            },
            TargetForm::default(),
            TargetForm {
                expr: "  rate(x[5m]) ".into(),
                legend: String::new(),
            },
        ];
        form.thresholds = vec![
            ThresholdForm {
                color: "green".into(),
                value: String::new(),
            },
            ThresholdForm {
                color: "red".into(),
                value: "90".into(),
            },
            ThresholdForm {
                color: "orange".into(),
                value: "70".into(),
            },
        ];
        form.mappings = vec![
            MappingForm {
                value: "1".into(),
                text: "Up".into(),
                color: "green".into(),
            },
            MappingForm {
                value: "0".into(),
                text: "Down".into(),
                color: "red".into(),
            },
            MappingForm {
                value: "10..20".into(),
                text: "some".into(),
                color: String::new(),
            },
        ];
        form.stacking = "percent".into();
        let panel = apply_panel(&form, &Panel::default()).unwrap();
        let targets: Vec<(&str, &str)> = panel
            .targets
            .iter()
            .map(|t| (t.ref_id.as_str(), t.expr.as_str()))
            .collect();
        assert_eq!(targets, [("A", "up"), ("B", "rate(x[5m])")]);
        let steps = &panel
            .field_config
            .defaults
            .thresholds
            .as_ref()
            .unwrap()
            .steps;
        let values: Vec<Option<f64>> = steps.iter().map(|s| s.value).collect();
        assert_eq!(values, [None, Some(70.0), Some(90.0)]);
        let mappings = serde_json::to_value(&panel.field_config.defaults.mappings).unwrap();
        assert_eq!(
            mappings,
            json!([
                {"type": "value", "options": {"1": {"text": "Up", "color": "green", "index": 0}, "0": {"text": "Down", "color": "red", "index": 1}}},
                {"type": "range", "options": {"from": 10.0, "to": 20.0, "result": {"text": "some"}}}
            ])
        );
        assert_eq!(
            panel.field_config.defaults.custom["stacking"],
            json!({"mode": "percent", "group": "A"})
        );
        assert_eq!(panel_form(&panel).mappings.len(), 3);
    }

    #[test]
    fn settings_keep_what_the_form_does_not_show_and_check_the_rest() {
        let mut model: Dashboard = serde_json::from_value(json!({
            "uid": "u", "title": "Ops", "time": {"from": "now-6h", "to": "now"},
            "templating": {"list": [{"name": "job", "type": "query", "query": "label_values(up, job)",
                "definition": "label_values(up, job)", "regex": "/api.*/", "current": {"value": "api"}}]},
            "annotations": {"list": []}
        }))
        .unwrap();
        let mut form = settings_form(&model);
        form.title = "Operations".into();
        form.tags = "sla, ops, sla".into();
        form.variables.push(VariableForm {
            name: "window".into(),
            kind: "interval".into(),
            query: "1m, 5m".into(),
            ..Default::default()
        });
        apply_settings(&form, &mut model).unwrap();
        assert_eq!(model.title, "Operations");
        assert_eq!(model.tags, ["sla", "ops"]);
        assert_eq!(model.variable("job").unwrap().regex, "/api.*/");
        assert_eq!(model.variable("window").unwrap().kind, "interval");
        assert!(model.extra.contains_key("annotations"));

        let invalid = |change: &dyn Fn(&mut SettingsForm)| {
            let mut f = settings_form(&model);
            change(&mut f);
            match apply_settings(&f, &mut model.clone()) {
                Err(AppError::Invalid { field, .. }) => field,
                other => panic!("{other:?}"),
            }
        };
        assert_eq!(invalid(&|f| f.from = "yesterday-ish".into()), "from");
        assert_eq!(
            invalid(&|f| (f.from, f.to) = ("now".into(), "now-1h".into())),
            "to"
        );
        assert_eq!(invalid(&|f| f.refresh = "often".into()), "refresh");
        assert_eq!(invalid(&|f| f.timezone = "Mars/Olympus".into()), "timezone");
        assert_eq!(
            invalid(&|f| f.variables[1].name = "job".into()),
            "variables[1][name]"
        );
        assert_eq!(
            invalid(&|f| f.variables[1].query = "1m, soon".into()),
            "variables[1][query]"
        );
    }

    #[test]
    fn the_layout_moves_panels_in_rows_too_and_keeps_them_on_the_grid() {
        let mut model: Dashboard = serde_json::from_value(json!({"panels": [
            {"id": 1, "type": "stat", "gridPos": {"x": 0, "y": 0, "w": 6, "h": 4}},
            {"id": 2, "type": "row", "collapsed": true, "gridPos": {"x": 0, "y": 4, "w": 24, "h": 1},
             "panels": [{"id": 3, "type": "timeseries", "gridPos": {"x": 0, "y": 5, "w": 12, "h": 8}}]}
        ]}))
        .unwrap();
        let place = |id, x: &str, y: &str, w: &str, h: &str| PlaceForm {
            id,
            x: x.into(),
            y: y.into(),
            w: w.into(),
            h: h.into(),
        };
        apply_layout(
            &[
                place(1, "6", "0", "18", "5"),
                place(3, "12", "5", "12", "6"),
            ],
            &mut model,
        )
        .unwrap();
        assert_eq!(
            model.panel(1).unwrap().grid_pos,
            GridPos {
                x: 6,
                y: 0,
                w: 18,
                h: 5
            }
        );
        assert_eq!(
            model.panel(3).unwrap().grid_pos,
            GridPos {
                x: 12,
                y: 5,
                w: 12,
                h: 6
            }
        );
        match apply_layout(&[place(1, "20", "0", "6", "5")], &mut model) {
            Err(AppError::Invalid { field, .. }) => assert_eq!(field, "panels[0][w]"),
            other => panic!("{other:?}"),
        }
        assert_eq!(next_panel_id(&model), 4);
        assert_eq!(remove_panel(&mut model, 3).unwrap().id, 3);
        assert!(model.panel(3).is_none());
    }
}
