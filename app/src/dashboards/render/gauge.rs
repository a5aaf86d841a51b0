//! Single-value panels: stat (the value in its threshold colour, with a sparkline), gauge (an
//! arc with threshold markers) and bar gauge. Each series is reduced to one value as the panel's
//! `reduceOptions.calcs` says; on a global dashboard `options.tenantReduce` (`sum`, `mean`,
//! `min`, `max`) first combines the tenants' series into one.

use std::fmt::Write;

use serde_json::Value;
use viz::{
    fields::{css_color, default_thresholds, Display, Field},
    model::Panel,
};

use super::{
    bounds, combine, more_note, reduce, series_cap,
    svg::{esc, path_data},
    Frame,
};
use crate::dashboards::run::{PanelData, SeriesData};

/// One value to show.
struct Single {
    name: String,
    display: Display,
    value: Option<f64>,
    field: Field,
    points: Vec<(i64, f64)>,
}

/// The panel's values: one a series (or one for all, combined), reduced by its calculation.
fn singles(
    panel: &Panel,
    data: &PanelData,
    default_min_max: (Option<f64>, Option<f64>),
) -> (Vec<Single>, usize) {
    let reduce_options = panel.option("reduceOptions");
    let calc = reduce_options
        .get("calcs")
        .and_then(Value::as_array)
        .and_then(|c| c.first())
        .and_then(Value::as_str)
        .unwrap_or("lastNotNull")
        .to_string();
    let combined;
    let series: Vec<&SeriesData> = match panel.option_str("tenantReduce") {
        Some(how @ ("sum" | "mean" | "min" | "max")) if !data.series.is_empty() => {
            let points: Vec<&[(i64, f64)]> =
                data.series.iter().map(|s| s.points.as_slice()).collect();
            combined = SeriesData {
                name: panel.title.clone(),
                labels: promql::Labels::new(vec![]),
                ref_id: data.series[0].ref_id.clone(),
                points: combine(how, &points),
            };
            vec![&combined]
        }
        _ => data.series.iter().collect(),
    };
    let total = series.len();
    let cap = series_cap(panel);
    let values: Vec<Option<f64>> = series.iter().map(|s| reduce(&calc, &s.points)).collect();
    let finite = values.iter().flatten().copied().filter(|v| v.is_finite());
    let range = finite.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
        (lo.min(v), hi.max(v))
    });
    let out = series
        .iter()
        .zip(values)
        .take(cap)
        .enumerate()
        .map(|(i, (s, value))| {
            let mut field = Field::resolve(
                &panel.field_config.defaults,
                &panel.field_config.overrides,
                &s.name,
                &s.ref_id,
            );
            if panel.field_config.defaults.thresholds.is_none() {
                field.thresholds = default_thresholds();
            }
            field.min = field.min.or(default_min_max.0);
            field.max = field.max.or(default_min_max.1);
            let lo_hi = (
                field.min.unwrap_or(range.0.min(0.0)),
                field.max.unwrap_or(range.1),
            );
            let display = field.display(value, lo_hi, viz::fields::palette(i));
            let name = if field.display_name.is_empty() {
                s.name.clone()
            } else {
                field.display_name.clone()
            };
            Single {
                name,
                display,
                value,
                field,
                points: s.points.clone(),
            }
        })
        .collect();
    (out, total)
}

pub fn stat(panel: &Panel, data: &PanelData, frame: &Frame) -> String {
    let (values, total) = singles(panel, data, (None, None));
    if values.is_empty() {
        return super::state("panel-state-empty", "No data");
    }
    let color_mode = panel.option_str("colorMode").unwrap_or("value");
    let graph = panel.option_str("graphMode").unwrap_or("area") == "area";
    let text_mode = panel.option_str("textMode").unwrap_or("auto");
    let show_name = match text_mode {
        "value_and_name" | "name" => true,
        "auto" => values.len() > 1,
        _ => false,
    };
    let horizontal =
        frame.width >= frame.height * 2 || panel.option_str("orientation") == Some("horizontal");
    let mut out = format!(
        r#"<div class="stat-grid {}" style="--stats:{}">"#,
        if horizontal { "across" } else { "down" },
        values.len()
    );
    for (i, single) in values.iter().enumerate() {
        let color = esc(&single.display.color);
        let style = match color_mode {
            "background" | "background_solid" => format!("background:{color};color:#fff"),
            "none" => String::new(),
            _ => format!("color:{color}"),
        };
        let _ = write!(
            out,
            r#"<div class="stat" data-series="{i}" style="{style}">"#
        );
        if show_name {
            let _ = write!(
                out,
                r#"<span class="stat-name">{}</span>"#,
                esc(&single.name)
            );
        }
        if text_mode != "name" && text_mode != "none" {
            let _ = write!(
                out,
                r#"<span class="stat-value">{}</span>"#,
                esc(&single.display.text)
            );
        }
        if graph && single.points.len() > 1 {
            out.push_str(&sparkline(
                &single.points,
                &single.display.color,
                color_mode,
            ));
        }
        out.push_str("</div>");
    }
    out.push_str("</div>");
    out.push_str(&more_note(total, values.len()));
    out
}

/// A small area chart under the value, stretched to the tile (it has no text to distort).
fn sparkline(points: &[(i64, f64)], color: &str, color_mode: &str) -> String {
    let (lo, hi) = bounds(std::iter::once(points));
    let (t0, t1) = (points[0].0, points[points.len() - 1].0.max(points[0].0 + 1));
    let (w, h) = (200.0, 40.0);
    let span = if hi > lo { hi - lo } else { 1.0 };
    let px: Vec<(f64, f64)> = viz::m4::m4(points, t0, t1, w as u32)
        .into_iter()
        .filter(|p| p.1.is_finite())
        .map(|(t, v)| {
            (
                (t - t0) as f64 / (t1 - t0) as f64 * w,
                h - 2.0 - (v - lo) / span * (h - 4.0),
            )
        })
        .collect();
    let line = path_data(std::slice::from_ref(&px));
    let stroke = if color_mode.starts_with("background") {
        "#ffffff"
    } else {
        color
    };
    let fill = format!("{line}V{h}H0Z");
    format!(
        r#"<svg class="sparkline" viewBox="0 0 {w} {h}" preserveAspectRatio="none" aria-hidden="true"><path d="{fill}" fill="{stroke}" fill-opacity=".18"/><path d="{line}" fill="none" stroke="{stroke}" stroke-width="1.5" vector-effect="non-scaling-stroke"/></svg>"#,
        stroke = esc(stroke)
    )
}

/// Where `value` sits between `min` and `max`, 0..1.
fn fraction(value: f64, (min, max): (f64, f64)) -> f64 {
    if max > min {
        ((value - min) / (max - min)).clamp(0.0, 1.0)
    } else {
        0.0
    }
}

/// A point on the gauge's arc: angle 0 is the arc's start (bottom left), 1 its end.
fn arc_point(cx: f64, cy: f64, r: f64, at: f64) -> (f64, f64) {
    // 240° of arc, open at the bottom, as Grafana draws gauges.
    let angle = (150.0 + 240.0 * at).to_radians();
    (cx + r * angle.cos(), cy + r * angle.sin())
}

fn arc(cx: f64, cy: f64, r: f64, from: f64, to: f64) -> String {
    let (x0, y0) = arc_point(cx, cy, r, from);
    let (x1, y1) = arc_point(cx, cy, r, to);
    let large = if (to - from) * 240.0 > 180.0 { 1 } else { 0 };
    format!("M{x0:.1} {y0:.1}A{r} {r} 0 {large} 1 {x1:.1} {y1:.1}")
}

pub fn gauge(panel: &Panel, data: &PanelData, frame: &Frame) -> String {
    let (values, total) = singles(panel, data, (Some(0.0), Some(100.0)));
    if values.is_empty() {
        return super::state("panel-state-empty", "No data");
    }
    let markers = panel
        .options
        .get("showThresholdMarkers")
        .and_then(Value::as_bool)
        .unwrap_or(true);
    let mut out = format!(
        r#"<div class="gauge-grid" style="--stats:{}">"#,
        values.len()
    );
    for (i, single) in values.iter().enumerate() {
        let (min, max) = (
            single.field.min.unwrap_or(0.0),
            single.field.max.unwrap_or(100.0),
        );
        let (cx, cy, r) = (100.0, 100.0, 78.0);
        let mut svg = format!(
            r#"<svg class="gauge" viewBox="0 0 200 170" role="img" aria-label="{}">"#,
            esc(&single.display.text)
        );
        let _ = write!(
            svg,
            r#"<path class="gauge-track" d="{}" fill="none" stroke-width="18"/>"#,
            arc(cx, cy, r, 0.0, 1.0)
        );
        if let Some(v) = single.value.filter(|v| v.is_finite()) {
            let at = fraction(v, (min, max));
            if at > 0.0 {
                let _ = write!(
                    svg,
                    r#"<path d="{}" fill="none" stroke="{}" stroke-width="18"/>"#,
                    arc(cx, cy, r, 0.0, at),
                    esc(&single.display.color)
                );
            }
        }
        if markers {
            let steps = &single.field.thresholds.steps;
            for (j, step) in steps.iter().enumerate() {
                let start = step
                    .value
                    .map_or(0.0, |v| marker_fraction(&single.field, v, (min, max)));
                let end = steps
                    .get(j + 1)
                    .and_then(|s| s.value)
                    .map_or(1.0, |v| marker_fraction(&single.field, v, (min, max)));
                if end > start {
                    let _ = write!(
                        svg,
                        r#"<path d="{}" fill="none" stroke="{}" stroke-width="5"/>"#,
                        arc(cx, cy, r + 15.0, start, end),
                        esc(&css_color(&step.color))
                    );
                }
            }
        }
        let size = (44.0 - single.display.text.chars().count() as f64 * 1.5).clamp(18.0, 40.0);
        let _ = write!(
            svg,
            r#"<text class="gauge-value" x="{cx}" y="{:.0}" text-anchor="middle" font-size="{size:.0}" fill="{}">{}</text>"#,
            cy + size * 0.35,
            esc(&single.display.color),
            esc(&single.display.text)
        );
        if values.len() > 1 {
            let _ = write!(
                svg,
                r#"<text class="gauge-name" x="{cx}" y="162" text-anchor="middle" font-size="13">{}</text>"#,
                esc(&super::svg::ellipsis(&single.name, 28))
            );
        }
        svg.push_str("</svg>");
        let _ = write!(
            out,
            r#"<div class="gauge-cell" data-series="{i}">{svg}</div>"#
        );
    }
    out.push_str("</div>");
    out.push_str(&more_note(total, values.len()));
    let _ = frame;
    out
}

fn marker_fraction(field: &Field, v: f64, range: (f64, f64)) -> f64 {
    if field.thresholds.mode == "percentage" {
        (v / 100.0).clamp(0.0, 1.0)
    } else {
        fraction(v, range)
    }
}

pub fn bar_gauge(panel: &Panel, data: &PanelData, frame: &Frame) -> String {
    let (values, total) = singles(panel, data, (Some(0.0), None));
    if values.is_empty() {
        return super::state("panel-state-empty", "No data");
    }
    let max_value = values
        .iter()
        .filter_map(|s| s.value)
        .filter(|v| v.is_finite())
        .fold(0.0, f64::max);
    let mode = panel.option_str("displayMode").unwrap_or("gradient");
    let vertical = panel.option_str("orientation") == Some("vertical");
    let mut out = format!(
        r#"<div class="bar-gauge {} mode-{}" style="--bars:{}">"#,
        if vertical { "vertical" } else { "horizontal" },
        esc(mode),
        values.len()
    );
    for (i, single) in values.iter().enumerate() {
        let max = single
            .field
            .max
            .unwrap_or(if max_value > 0.0 { max_value } else { 1.0 });
        let at = single
            .value
            .map_or(0.0, |v| fraction(v, (single.field.min.unwrap_or(0.0), max)));
        let color = esc(&single.display.color);
        let fill = if mode == "gradient" {
            format!("background:linear-gradient(90deg, {color}55, {color})")
        } else {
            format!("background:{color}")
        };
        let _ = write!(
            out,
            r#"<div class="bar-row" data-series="{i}"><span class="bar-name">{}</span><span class="bar-track"><span class="bar-fill" style="{fill};--at:{:.1}%"></span></span><span class="bar-value" style="color:{color}">{}</span></div>"#,
            esc(&single.name),
            at * 100.0,
            esc(&single.display.text)
        );
    }
    out.push_str("</div>");
    out.push_str(&more_note(total, values.len()));
    let _ = frame;
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use promql::Labels;

    fn data(values: &[(&str, f64)]) -> PanelData {
        PanelData {
            series: values
                .iter()
                .map(|(tenant, v)| SeriesData {
                    name: tenant.to_string(),
                    labels: Labels::new(vec![("tenant".into(), tenant.to_string())]),
                    ref_id: "A".into(),
                    points: vec![(0, v - 0.5), (1000, *v)],
                })
                .collect(),
            ..PanelData::default()
        }
    }

    fn frame(values: &crate::dashboards::interpolate::Values) -> Frame<'_> {
        Frame {
            width: 300,
            height: 150,
            from: 0,
            to: 1000,
            tz: viz::time::Tz::UTC,
            query: "",
            text_values: values,
        }
    }

    #[test]
    fn a_stat_shows_the_value_in_its_unit_and_threshold_colour() {
        let panel: Panel = serde_json::from_value(serde_json::json!({"type": "stat", "fieldConfig": {"defaults": {
            "unit": "percent", "decimals": 2, "thresholds": {"mode": "absolute", "steps": [
                {"color": "red", "value": null}, {"color": "orange", "value": 99}, {"color": "green", "value": 99.9}]}}}})).unwrap();
        let values = Default::default();
        let html = stat(
            &panel,
            &data(&[("acme", 99.95), ("globex", 99.2)]),
            &frame(&values),
        );
        assert!(
            html.contains(r#"<span class="stat-value">99.95%</span>"#),
            "{html}"
        );
        assert!(html.contains(&format!("color:{}", css_color("green"))));
        assert!(html.contains(&format!("color:{}", css_color("orange"))));
        assert_eq!(html.matches("class=\"sparkline\"").count(), 2);
    }

    #[test]
    fn tenants_reduce_to_one_value_when_the_panel_says_so() {
        let panel: Panel =
            serde_json::from_value(serde_json::json!({"type": "stat", "title": "Users",
            "options": {"tenantReduce": "sum", "graphMode": "none"}}))
            .unwrap();
        let values = Default::default();
        let html = stat(
            &panel,
            &data(&[("acme", 100.0), ("globex", 50.0)]),
            &frame(&values),
        );
        assert_eq!(html.matches("class=\"stat\"").count(), 1);
        assert!(
            html.contains(r#"<span class="stat-value">150</span>"#),
            "{html}"
        );
    }

    #[test]
    fn a_gauge_is_an_svg_arc_with_markers() {
        let panel: Panel = serde_json::from_value(
            serde_json::json!({"type": "gauge", "fieldConfig": {"defaults": {"unit": "percent"}}}),
        )
        .unwrap();
        let values = Default::default();
        let html = gauge(&panel, &data(&[("acme", 42.0)]), &frame(&values));
        assert!(html.contains(">42%</text>"), "{html}");
        assert_eq!(
            html.matches("stroke-width=\"5\"").count(),
            2,
            "green and red markers"
        );
    }
}
