//! What a value looks like in a panel, as Grafana decides it: the field config of a series (the
//! panel's defaults with the overrides that match it), its value mappings (value, range, regex,
//! special), its thresholds (absolute or percentage of min..max) and Grafana's named colours.

use serde_json::{Map, Value};

use crate::{
    model::{FieldDefaults, Override, ThresholdStep, Thresholds},
    units,
};

/// Grafana's classic palette, in order: series without a colour of their own take these.
pub const PALETTE: [&str; 20] = [
    "#73BF69", "#F2CC0C", "#8AB8FF", "#FF780A", "#F2495C", "#5794F2", "#B877D9", "#705DA0",
    "#37872D", "#FADE2A", "#447EBC", "#C15C17", "#890F02", "#0A437C", "#6D1F62", "#584477",
    "#B7DBAB", "#F4D598", "#70DBED", "#F9BA8F",
];

/// The palette colour of the `i`th series.
pub fn palette(i: usize) -> &'static str {
    PALETTE[i % PALETTE.len()]
}

/// A colour as CSS: Grafana's names (`green`, `dark-red`, `semi-dark-yellow`…) as Grafana draws
/// them; hex and `rgb(…)` as given; anything else in the theme's text colour.
pub fn css_color(name: &str) -> String {
    let name = name.trim();
    if name.starts_with('#') || name.starts_with("rgb") || name.starts_with("hsl") {
        return name.to_string();
    }
    let (shade, hue) = match name.rsplit_once('-') {
        Some((shade, hue)) => (shade, hue),
        None => ("", name),
    };
    let shades: [&str; 5] = match hue {
        "green" => ["#1A7311", "#37872D", "#56A64B", "#73BF69", "#96D98D"],
        "red" => ["#AD0317", "#C4162A", "#E02F44", "#F2495C", "#FF7383"],
        "yellow" => ["#CC9D00", "#E0B400", "#F2CC0C", "#FADE2A", "#FFEE52"],
        "orange" => ["#E55400", "#FA6400", "#FF780A", "#FF9830", "#FFB357"],
        "blue" => ["#1250B0", "#1F60C4", "#3274D9", "#5794F2", "#8AB8FF"],
        "purple" => ["#7C2EA3", "#8F3BB8", "#A352CC", "#B877D9", "#CA95E5"],
        "transparent" => return "transparent".into(),
        _ => return "currentColor".into(),
    };
    let index = match shade {
        "super-dark" => 0,
        "dark" => 1,
        "semi-dark" => 2,
        "light" => 4,
        "super-light" => return super_light(hue),
        _ => 3,
    };
    shades[index].to_string()
}

fn super_light(hue: &str) -> String {
    match hue {
        "green" => "#C8F2C2",
        "red" => "#FFA6B0",
        "yellow" => "#FFF899",
        "orange" => "#FFCB7D",
        "blue" => "#C0D8FF",
        _ => "#DEB6F2",
    }
    .into()
}

/// What a mapping turns a value into; either part may be missing.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct MappedValue {
    pub text: Option<String>,
    pub color: Option<String>,
}

#[derive(Clone, Debug)]
pub enum Mapping {
    Value(Vec<(String, MappedValue)>),
    Range {
        from: Option<f64>,
        to: Option<f64>,
        result: MappedValue,
    },
    #[cfg(feature = "regex")]
    Regex {
        pattern: regex::Regex,
        result: MappedValue,
    },
    /// `null`, `nan`, `null+nan`, `true`, `false`, `empty`.
    Special {
        matches: String,
        result: MappedValue,
    },
}

fn mapped(value: &Value) -> MappedValue {
    let text = |key: &str| {
        value
            .get(key)
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
    };
    MappedValue {
        text: text("text"),
        color: text("color").map(|c| css_color(&c)),
    }
}

/// Reads Grafana's mapping list; mappings of unknown shape are skipped.
pub fn parse_mappings(raw: &[Value]) -> Vec<Mapping> {
    let mut out = Vec::new();
    for mapping in raw {
        let options = mapping.get("options").cloned().unwrap_or(Value::Null);
        let number = |key: &str| options.get(key).and_then(Value::as_f64);
        let result = || mapped(options.get("result").unwrap_or(&Value::Null));
        match mapping.get("type").and_then(Value::as_str).unwrap_or("") {
            "value" => {
                if let Some(values) = options.as_object() {
                    out.push(Mapping::Value(
                        values.iter().map(|(k, v)| (k.clone(), mapped(v))).collect(),
                    ));
                }
            }
            "range" => out.push(Mapping::Range {
                from: number("from"),
                to: number("to"),
                result: result(),
            }),
            #[cfg(feature = "regex")]
            "regex" => {
                let pattern = options.get("pattern").and_then(Value::as_str).unwrap_or("");
                if let Ok(pattern) = regex::Regex::new(pattern) {
                    out.push(Mapping::Regex {
                        pattern,
                        result: result(),
                    });
                }
            }
            "special" => out.push(Mapping::Special {
                matches: options
                    .get("match")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_string(),
                result: result(),
            }),
            _ => {}
        }
    }
    out
}

/// The first mapping that matches `value` (`None`: no value at all).
pub fn map_value(mappings: &[Mapping], value: Option<f64>) -> Option<MappedValue> {
    mappings.iter().find_map(|mapping| match (mapping, value) {
        (Mapping::Value(pairs), Some(v)) => pairs
            .iter()
            .find(|(key, _)| key.trim().parse::<f64>().ok() == Some(v) || *key == number_text(v))
            .map(|(_, result)| result.clone()),
        (Mapping::Range { from, to, result }, Some(v)) if v.is_finite() => {
            let above = from.is_none_or(|from| v >= from);
            let below = to.is_none_or(|to| v <= to);
            (above && below && (from.is_some() || to.is_some())).then(|| result.clone())
        }
        #[cfg(feature = "regex")]
        (Mapping::Regex { pattern, result }, Some(v)) => {
            pattern.is_match(&number_text(v)).then(|| result.clone())
        }
        (Mapping::Special { matches, result }, v) => {
            let hit = match (matches.as_str(), v) {
                ("null" | "null+nan" | "empty", None) => true,
                ("nan" | "null+nan", Some(v)) => v.is_nan(),
                ("true", Some(v)) => v == 1.0,
                ("false", Some(v)) => v == 0.0,
                _ => false,
            };
            hit.then(|| result.clone())
        }
        _ => None,
    })
}

fn number_text(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{}", v as i64)
    } else {
        format!("{v}")
    }
}

/// The field config that applies to one series: the panel's defaults with the matching
/// overrides applied, in order.
#[derive(Clone, Debug, Default)]
pub struct Field {
    pub unit: String,
    pub decimals: Option<u32>,
    pub min: Option<f64>,
    pub max: Option<f64>,
    pub thresholds: Thresholds,
    pub mappings: Vec<Mapping>,
    /// A fixed colour for the series, when the config sets one.
    pub fixed_color: Option<String>,
    /// `thresholds`, `fixed`, `palette-classic`, … (empty: the panel type's default).
    pub color_mode: String,
    pub display_name: String,
    pub no_value: String,
    pub custom: Map<String, Value>,
}

impl Field {
    /// The field config of the series named `name` from the query `ref_id`.
    pub fn resolve(
        defaults: &FieldDefaults,
        overrides: &[Override],
        name: &str,
        ref_id: &str,
    ) -> Field {
        let mut field = Field {
            unit: defaults.unit.clone(),
            decimals: defaults.decimals,
            min: defaults.min,
            max: defaults.max,
            thresholds: defaults
                .thresholds
                .clone()
                .unwrap_or_else(default_thresholds),
            mappings: parse_mappings(&defaults.mappings),
            fixed_color: None,
            color_mode: String::new(),
            display_name: defaults.display_name.clone(),
            no_value: defaults.no_value.clone(),
            custom: defaults.custom.clone(),
        };
        if let Some(color) = &defaults.color {
            field.set_color(color);
        }
        for o in overrides.iter().filter(|o| matches(o, name, ref_id)) {
            for p in &o.properties {
                field.apply(&p.id, &p.value);
            }
        }
        field
    }

    fn set_color(&mut self, color: &Value) {
        let mode = color.get("mode").and_then(Value::as_str).unwrap_or("");
        self.color_mode = mode.to_string();
        if mode == "fixed" || mode == "shades" {
            self.fixed_color = color
                .get("fixedColor")
                .and_then(Value::as_str)
                .map(css_color);
        }
    }

    fn apply(&mut self, id: &str, value: &Value) {
        let number = || match value {
            Value::Number(n) => n.as_f64(),
            Value::String(s) => s.parse().ok(),
            _ => None,
        };
        match id {
            "unit" => self.unit = value.as_str().unwrap_or_default().to_string(),
            "decimals" => self.decimals = number().map(|d| d.clamp(0.0, 20.0) as u32),
            "min" => self.min = number(),
            "max" => self.max = number(),
            "displayName" | "displayNameFromDS" => {
                self.display_name = value.as_str().unwrap_or_default().to_string()
            }
            "noValue" => self.no_value = value.as_str().unwrap_or_default().to_string(),
            "color" => self.set_color(value),
            "thresholds" => {
                if let Ok(t) = serde_json::from_value(value.clone()) {
                    self.thresholds = t;
                }
            }
            "mappings" => {
                self.mappings = parse_mappings(value.as_array().map_or(&[][..], |v| &v[..]))
            }
            _ => {
                if let Some(key) = id.strip_prefix("custom.") {
                    self.custom.insert(key.to_string(), value.clone());
                }
            }
        }
    }

    /// A custom setting (`drawStyle`, `fillOpacity`, …) as text.
    pub fn custom_str(&self, key: &str) -> Option<&str> {
        self.custom.get(key).and_then(Value::as_str)
    }

    pub fn custom_f64(&self, key: &str) -> Option<f64> {
        self.custom.get(key).and_then(Value::as_f64)
    }

    /// The threshold step `value` falls in; percentage thresholds relative to `range` (the
    /// field's min..max, else the data's).
    pub fn threshold_step(&self, value: f64, range: (f64, f64)) -> Option<&ThresholdStep> {
        let value = if self.thresholds.mode == "percentage" {
            let (lo, hi) = (self.min.unwrap_or(range.0), self.max.unwrap_or(range.1));
            if hi > lo {
                (value - lo) / (hi - lo) * 100.0
            } else {
                0.0
            }
        } else {
            value
        };
        self.thresholds
            .steps
            .iter()
            .rev()
            .find(|step| step.value.is_none_or(|v| value >= v))
            .or_else(|| self.thresholds.steps.first())
    }

    pub fn threshold_color(&self, value: f64, range: (f64, f64)) -> String {
        self.threshold_step(value, range)
            .map(|step| css_color(&step.color))
            .unwrap_or_else(|| css_color("green"))
    }

    /// How `value` is shown: its mapping, else the unit's format; and its colour (the
    /// mapping's, else by thresholds when the colour mode uses them, else `series_color`).
    pub fn display(&self, value: Option<f64>, range: (f64, f64), series_color: &str) -> Display {
        let mapping = map_value(&self.mappings, value);
        let text = match (&mapping, value) {
            (
                Some(MappedValue {
                    text: Some(text), ..
                }),
                _,
            ) => text.clone(),
            (_, None) if !self.no_value.is_empty() => self.no_value.clone(),
            (_, None) => "No data".to_string(),
            (_, Some(v)) => units::format(&self.unit, v, self.decimals).to_string(),
        };
        let color = match (mapping.and_then(|m| m.color), value) {
            (Some(color), _) => color,
            (None, Some(v)) if v.is_finite() && self.uses_thresholds() => {
                self.threshold_color(v, range)
            }
            _ => self
                .fixed_color
                .clone()
                .unwrap_or_else(|| series_color.to_string()),
        };
        Display { text, color }
    }

    /// Whether values take their colour from the thresholds (Grafana's `thresholds` mode, the
    /// default of stat, gauge and bar gauge panels, which pass `default_thresholds`).
    pub fn uses_thresholds(&self) -> bool {
        self.color_mode == "thresholds" || self.color_mode.is_empty() && self.fixed_color.is_none()
    }
}

/// A value as shown: text and CSS colour.
#[derive(Clone, Debug, PartialEq)]
pub struct Display {
    pub text: String,
    pub color: String,
}

/// Grafana's thresholds for a new panel: green, red from 80.
pub fn default_thresholds() -> Thresholds {
    Thresholds {
        mode: "absolute".into(),
        steps: vec![
            ThresholdStep {
                color: "green".into(),
                value: None,
            },
            ThresholdStep {
                color: "red".into(),
                value: Some(80.0),
            },
        ],
    }
}

fn matches(o: &Override, name: &str, ref_id: &str) -> bool {
    let option = o.matcher.options.as_str().unwrap_or_default();
    match o.matcher.id.as_str() {
        "byName" => option == name,
        "byFrameRefID" => option == ref_id,
        #[cfg(feature = "regex")]
        "byRegexp" => regex::Regex::new(&format!("^(?:{option})$")).is_ok_and(|r| r.is_match(name)),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn field(config: Value) -> Field {
        let defaults: FieldDefaults = serde_json::from_value(config["defaults"].clone()).unwrap();
        let overrides: Vec<Override> =
            serde_json::from_value(config["overrides"].clone()).unwrap_or_default();
        Field::resolve(&defaults, &overrides, "api", "A")
    }

    #[test]
    fn thresholds_absolute_and_percentage() {
        let f = field(
            json!({"defaults": {"thresholds": {"mode": "absolute", "steps": [
            {"color": "red", "value": null}, {"color": "orange", "value": 99}, {"color": "green", "value": 99.5}]}}}),
        );
        assert_eq!(f.threshold_color(98.0, (0.0, 100.0)), css_color("red"));
        assert_eq!(f.threshold_color(99.2, (0.0, 100.0)), css_color("orange"));
        assert_eq!(f.threshold_color(99.9, (0.0, 100.0)), css_color("green"));
        let f = field(
            json!({"defaults": {"min": 0, "max": 200, "thresholds": {"mode": "percentage",
            "steps": [{"color": "green", "value": null}, {"color": "red", "value": 50}]}}}),
        );
        assert_eq!(f.threshold_color(90.0, (0.0, 1.0)), css_color("green"));
        assert_eq!(
            f.threshold_color(110.0, (0.0, 1.0)),
            css_color("red"),
            "55 % of 0..200"
        );
    }

    #[test]
    fn mappings_turn_values_into_text_before_units() {
        let f = field(json!({"defaults": {"unit": "percent", "mappings": [
            {"type": "value", "options": {"1": {"text": "UP", "color": "green"}, "0": {"text": "DOWN", "color": "red"}}},
            {"type": "range", "options": {"from": 2, "to": 10, "result": {"text": "few"}}},
            {"type": "special", "options": {"match": "nan", "result": {"text": "n/a"}}},
            {"type": "regex", "options": {"pattern": "^4\\d$", "result": {"text": "forties"}}}]}}));
        let show = |v| f.display(v, (0.0, 100.0), "#000").text;
        assert_eq!(show(Some(1.0)), "UP");
        assert_eq!(
            f.display(Some(0.0), (0.0, 1.0), "#000").color,
            css_color("red")
        );
        assert_eq!(show(Some(5.0)), "few");
        assert_eq!(show(Some(f64::NAN)), "n/a");
        assert_eq!(show(Some(42.0)), "forties");
        assert_eq!(show(Some(50.0)), "50%");
        assert_eq!(show(None), "No data");
    }

    #[test]
    fn overrides_apply_by_name_regex_and_query() {
        let f = field(json!({"defaults": {"unit": "short"}, "overrides": [
            {"matcher": {"id": "byName", "options": "api"}, "properties": [{"id": "unit", "value": "ms"}]},
            {"matcher": {"id": "byRegexp", "options": "a.*"}, "properties": [{"id": "decimals", "value": 1}]},
            {"matcher": {"id": "byFrameRefID", "options": "B"}, "properties": [{"id": "unit", "value": "s"}]},
            {"matcher": {"id": "byName", "options": "api"}, "properties": [
                {"id": "color", "value": {"mode": "fixed", "fixedColor": "purple"}}, {"id": "custom.fillOpacity", "value": 30}]}]}));
        assert_eq!((f.unit.as_str(), f.decimals), ("ms", Some(1)));
        assert_eq!(f.fixed_color.as_deref(), Some("#B877D9"));
        assert_eq!(f.custom_f64("fillOpacity"), Some(30.0));
    }

    #[test]
    fn named_colours_are_grafanas() {
        assert_eq!(css_color("green"), "#73BF69");
        assert_eq!(css_color("dark-red"), "#C4162A");
        assert_eq!(css_color("semi-dark-yellow"), "#F2CC0C");
        assert_eq!(css_color("#123456"), "#123456");
        assert_eq!(css_color("text"), "currentColor");
    }
}
