//! Time series panels: lines, stacked areas, bars or points over the dashboard's span, with
//! thresholds as lines or bands and the legend as a list or a table of min/max/mean/last.

use std::{collections::BTreeMap, fmt::Write};

use serde_json::Value;
use viz::{fields::css_color, m4::m4, model::Panel, units};

use super::{
    bounds, more_note, reduce, reducer_name, series_cap, style,
    svg::{chart, esc, path_data, runs, Plot, TimeFrame},
    Frame, Styled,
};
use crate::dashboards::run::PanelData;

/// How the panel draws its series (fieldConfig.defaults.custom, as Grafana stores it).
struct Look {
    style: String,
    fill: f64,
    line_width: f64,
    stacking: String,
    thresholds: String,
    point_size: f64,
    show_points: String,
}

impl Look {
    fn of(custom: &serde_json::Map<String, Value>) -> Look {
        let text = |key: &str, default: &str| {
            custom
                .get(key)
                .and_then(Value::as_str)
                .unwrap_or(default)
                .to_string()
        };
        let number =
            |key: &str, default: f64| custom.get(key).and_then(Value::as_f64).unwrap_or(default);
        let nested = |key: &str| {
            custom
                .get(key)
                .and_then(|v| v.get("mode"))
                .and_then(Value::as_str)
                .unwrap_or("off")
                .to_string()
        };
        Look {
            style: text("drawStyle", "line"),
            fill: number("fillOpacity", 0.0).clamp(0.0, 100.0) / 100.0,
            line_width: number("lineWidth", 1.0).clamp(0.0, 10.0),
            stacking: nested("stacking"),
            thresholds: nested("thresholdsStyle"),
            point_size: number("pointSize", 5.0).clamp(1.0, 40.0),
            show_points: text("showPoints", "auto"),
        }
    }

    fn stacked(&self) -> bool {
        self.stacking == "normal" || self.stacking == "percent"
    }
}

type Points = Vec<(i64, f64)>;

/// Each series' drawn points: stacked on the ones before it when the panel stacks, as
/// fractions of the total when it stacks by percent. Answers (top, base) point lists.
fn stack(series: &[Styled], look: &Look) -> Vec<(Points, Points)> {
    if !look.stacked() {
        return series
            .iter()
            .map(|s| (s.series.points.clone(), Vec::new()))
            .collect();
    }
    let mut totals: BTreeMap<i64, f64> = BTreeMap::new();
    if look.stacking == "percent" {
        for s in series {
            for (t, v) in &s.series.points {
                if v.is_finite() {
                    *totals.entry(*t).or_default() += v;
                }
            }
        }
    }
    let mut below: BTreeMap<i64, f64> = BTreeMap::new();
    series
        .iter()
        .map(|s| {
            let mut top = Vec::with_capacity(s.series.points.len());
            let mut base = Vec::with_capacity(s.series.points.len());
            for (t, v) in &s.series.points {
                let v = match totals.get(t) {
                    Some(total) if *total != 0.0 => v / total,
                    _ => *v,
                };
                let under = *below.get(t).unwrap_or(&0.0);
                let over = if v.is_finite() { under + v } else { f64::NAN };
                if v.is_finite() {
                    below.insert(*t, over);
                }
                base.push((*t, under));
                top.push((*t, over));
            }
            (top, base)
        })
        .collect()
}

/// One point a pixel column (its last), for a filled area: the line drawn over the area covers
/// each column's range, so the fill needs no more and its path stays as small as the line's.
fn columns(runs: &[Vec<(f64, f64)>]) -> Vec<Vec<(f64, f64)>> {
    runs.iter()
        .map(|run| {
            let mut out: Vec<(f64, f64)> = Vec::with_capacity(run.len() / 2 + 2);
            for &(x, y) in run {
                let kept = out.len();
                match out.last_mut() {
                    // The run's first point stays: the area starts there.
                    Some(last) if kept > 1 && last.0.round() == x.round() => *last = (x, y),
                    _ => out.push((x, y)),
                }
            }
            out
        })
        .collect()
}

/// Pixel points of `points` in the plot, M4-reduced to the plot's width, each pixel column at
/// most three points (see [`collapse`]).
fn pixels(points: &[(i64, f64)], plot: &Plot, gap: i64) -> Vec<Vec<(f64, f64)>> {
    runs(points, gap)
        .into_iter()
        .map(|run| {
            let px: Vec<(f64, f64)> = m4(run, plot.from, plot.to, plot.width().max(1.0) as u32)
                .into_iter()
                .map(|(t, v)| (plot.x(t), plot.y(v)))
                .collect();
            collapse(&px)
        })
        .collect()
}

/// A pixel column's points as the line enters it and then one vertical stroke over its range,
/// ending at the extreme nearer where the column's data ends: the same pixels as M4's four
/// points, one command fewer a column.
fn collapse(px: &[(f64, f64)]) -> Vec<(f64, f64)> {
    let mut out = Vec::with_capacity(px.len());
    let mut start = 0;
    while start < px.len() {
        let column = px[start].0.floor();
        let end = start
            + px[start..]
                .iter()
                .take_while(|p| p.0.floor() == column)
                .count();
        let group = &px[start..end];
        let (first, last) = (group[0], group[group.len() - 1]);
        let lo = group.iter().map(|p| p.1).fold(f64::INFINITY, f64::min);
        let hi = group.iter().map(|p| p.1).fold(f64::NEG_INFINITY, f64::max);
        out.push(first);
        let (near, far) = if (last.1 - hi).abs() < (last.1 - lo).abs() {
            (lo, hi)
        } else {
            (hi, lo)
        };
        for y in [near, far] {
            if out.last().is_some_and(|p: &(f64, f64)| p.1 != y) {
                out.push((last.0, y));
            }
        }
        start = end;
    }
    out
}

/// The filled area under each run: down to the series below (stacked) or to zero, as compact
/// as the lines ([`path_data`]).
fn area(top: &[Vec<(f64, f64)>], base: Option<&[Vec<(f64, f64)>]>, zero: f64) -> String {
    let mut d = String::new();
    for (i, run) in top.iter().enumerate() {
        let (Some(first), Some(last)) = (run.first(), run.last()) else {
            continue;
        };
        let mut outline = run.clone();
        match base.and_then(|b| b.get(i)).filter(|b| !b.is_empty()) {
            Some(under) => outline.extend(under.iter().rev()),
            None => outline.extend([(last.0, zero), (first.0, zero)]),
        }
        d.push_str(&path_data(std::slice::from_ref(&outline)));
        d.push('Z');
    }
    d
}

fn bars(points: &[(i64, f64)], base: &[(i64, f64)], plot: &Plot, step: i64) -> String {
    let width = (plot.x(plot.from + step) - plot.x(plot.from)).max(1.0) * 0.8;
    let zero = plot.y(0.0_f64.clamp(plot.lo, plot.hi));
    let mut d = String::new();
    for (i, (t, v)) in points.iter().enumerate() {
        if !v.is_finite() {
            continue;
        }
        let x = plot.x(*t) - width / 2.0;
        let y0 = base.get(i).map_or(zero, |b| plot.y(b.1));
        let _ = write!(d, "M{x:.1} {y0:.1}V{:.1}h{width:.1}V{y0:.1}Z", plot.y(*v));
    }
    d
}

fn thresholds_svg(panel: &Panel, look: &Look, plot: &Plot) -> String {
    let Some(thresholds) = &panel.field_config.defaults.thresholds else {
        return String::new();
    };
    if look.thresholds == "off" || thresholds.mode == "percentage" {
        return String::new();
    }
    let mut out = String::new();
    let steps = &thresholds.steps;
    for (i, step) in steps.iter().enumerate() {
        let color = css_color(&step.color);
        let lo = step.value.unwrap_or(plot.lo).max(plot.lo);
        let hi = steps
            .get(i + 1)
            .and_then(|s| s.value)
            .unwrap_or(plot.hi)
            .min(plot.hi);
        if look.thresholds.contains("area") && hi > lo {
            let _ = write!(
                out,
                r#"<rect class="threshold-area" x="{:.1}" y="{:.1}" width="{:.1}" height="{:.1}" fill="{color}" fill-opacity=".12"/>"#,
                plot.left,
                plot.y(hi),
                plot.width(),
                plot.y(lo) - plot.y(hi)
            );
        }
        let line = look.thresholds.contains("line") || look.thresholds.contains("dashed");
        if let (true, Some(v)) = (line, step.value) {
            if v >= plot.lo && v <= plot.hi {
                let dash = if look.thresholds.contains("dashed") {
                    r#" stroke-dasharray="6 4""#
                } else {
                    ""
                };
                let _ = write!(
                    out,
                    r#"<path class="threshold" d="M{:.1} {:.1}H{:.1}" stroke="{color}" stroke-width="1.5"{dash}/>"#,
                    plot.left,
                    plot.y(v),
                    plot.right
                );
            }
        }
    }
    out
}

/// The legend as a list or a table, with the calculations the panel asks for.
fn legend(panel: &Panel, series: &[Styled]) -> String {
    let options = panel.option("legend");
    let mode = options
        .get("displayMode")
        .and_then(Value::as_str)
        .unwrap_or("list");
    let shown = options
        .get("showLegend")
        .and_then(Value::as_bool)
        .unwrap_or(true);
    if !shown || mode == "hidden" || series.is_empty() {
        return String::new();
    }
    let calcs: Vec<&str> = options
        .get("calcs")
        .and_then(Value::as_array)
        .map(|c| c.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let value = |s: &Styled, calc: &str| {
        reduce(calc, &s.series.points)
            .map(|v| units::format(&s.field.unit, v, s.field.decimals).to_string())
            .unwrap_or_else(|| "—".into())
    };
    let placement = options
        .get("placement")
        .and_then(Value::as_str)
        .unwrap_or("bottom");
    let mut out = String::new();
    if mode == "table" {
        let _ = write!(
            out,
            r#"<div class="legend-wrap legend-{placement}"><table class="legend-table"><thead><tr><th>Name</th>"#
        );
        for calc in &calcs {
            let _ = write!(out, r#"<th class="num">{}</th>"#, esc(reducer_name(calc)));
        }
        out.push_str("</tr></thead><tbody>");
        for (i, s) in series.iter().enumerate() {
            let _ = write!(
                out,
                r#"<tr data-series="{i}"><td><span class="swatch" style="background:{}"></span>{}</td>"#,
                esc(&s.color),
                esc(&s.name)
            );
            for calc in &calcs {
                let _ = write!(out, r#"<td class="num">{}</td>"#, esc(&value(s, calc)));
            }
            out.push_str("</tr>");
        }
        out.push_str("</tbody></table></div>");
    } else {
        let _ = write!(out, r#"<ul class="legend-list legend-{placement}">"#);
        for (i, s) in series.iter().enumerate() {
            let _ = write!(
                out,
                r#"<li data-series="{i}"><span class="swatch" style="background:{}"></span>{}"#,
                esc(&s.color),
                esc(&s.name)
            );
            for calc in &calcs {
                let _ = write!(
                    out,
                    r#" <span class="calc">{}: {}</span>"#,
                    esc(reducer_name(calc)),
                    esc(&value(s, calc))
                );
            }
            out.push_str("</li>");
        }
        out.push_str("</ul>");
    }
    out
}

/// The legend's height in pixels, about, so the chart takes the rest.
fn legend_height(panel: &Panel, series: &[Styled], width: u32) -> u32 {
    let options = panel.option("legend");
    let mode = options
        .get("displayMode")
        .and_then(Value::as_str)
        .unwrap_or("list");
    let shown = options
        .get("showLegend")
        .and_then(Value::as_bool)
        .unwrap_or(true);
    let placement = options
        .get("placement")
        .and_then(Value::as_str)
        .unwrap_or("bottom");
    if !shown || mode == "hidden" || series.is_empty() || placement == "right" {
        return 0;
    }
    if mode == "table" {
        return 30 + 23 * series.len() as u32;
    }
    let calcs = options
        .get("calcs")
        .and_then(Value::as_array)
        .map_or(0, |c| c.len()) as f64;
    let mut lines = 1u32;
    let mut used = 0.0;
    for s in series {
        let item = s.name.chars().count() as f64 * 7.0 + 34.0 + calcs * 95.0;
        if used + item > width as f64 && used > 0.0 {
            lines += 1;
            used = 0.0;
        }
        used += item;
    }
    lines * 20 + 6
}

pub fn render(panel: &Panel, data: &PanelData, frame: &Frame) -> String {
    let all = style(panel, &data.series);
    if all.is_empty() {
        return super::state("panel-state-empty", "No data");
    }
    let cap = series_cap(panel);
    let shown = &all[..all.len().min(cap)];
    let look = Look::of(&panel.field_config.defaults.custom);
    let stacked = stack(shown, &look);
    let right_legend = panel
        .option("legend")
        .get("placement")
        .and_then(Value::as_str)
        == Some("right");
    let chart_width = if right_legend {
        frame.width * 7 / 10
    } else {
        frame.width
    };
    let legend_px = legend_height(panel, shown, frame.width).min(frame.height / 2);
    let note = more_note(all.len(), shown.len());
    let note_px = if note.is_empty() { 0 } else { 18 };
    let defaults = &panel.field_config.defaults;
    let unit = if look.stacking == "percent" {
        "percentunit"
    } else {
        defaults.unit.as_str()
    };
    let (mut lo, mut hi) = bounds(stacked.iter().map(|(top, _)| top.as_slice()));
    if look.style == "bars" || look.stacked() || look.fill > 0.0 {
        (lo, hi) = (lo.min(0.0), hi.max(0.0));
    }
    let gap = data.step.max(1) * 3 / 2 + 1;
    let time_frame = TimeFrame {
        width: chart_width,
        height: frame.height.saturating_sub(legend_px + note_px).max(60),
        from: frame.from,
        to: frame.to,
        tz: frame.tz,
        unit,
        lo,
        hi,
        min: defaults.min.or(defaults
            .custom
            .get("axisSoftMin")
            .and_then(Value::as_f64)
            .filter(|m| *m <= lo)),
        max: defaults.max.or(defaults
            .custom
            .get("axisSoftMax")
            .and_then(Value::as_f64)
            .filter(|m| *m >= hi)),
        rows: None,
    };
    let (svg, plot) = time_frame.draw(|plot| {
        let mut out = thresholds_svg(panel, &look, plot);
        let zero = plot.y(0.0_f64.clamp(plot.lo, plot.hi));
        for (i, (s, (top, base))) in shown.iter().zip(&stacked).enumerate() {
            let color = esc(&s.color);
            if look.style == "bars" {
                let _ = write!(
                    out,
                    r#"<path class="series" data-series="{i}" d="{}" fill="{color}" fill-opacity="{:.2}" stroke="{color}"/>"#,
                    bars(top, base, plot, data.step),
                    look.fill.max(0.6)
                );
                continue;
            }
            let px = pixels(top, plot, gap);
            if look.style != "points" && look.fill > 0.0 {
                let under = look.stacked().then(|| columns(&pixels(base, plot, gap)));
                let px = columns(&px);
                let _ = write!(
                    out,
                    r#"<path class="area" d="{}" fill="{color}" fill-opacity="{:.2}" stroke="none"/>"#,
                    area(&px, under.as_deref(), zero),
                    look.fill
                );
            }
            let (width, dots) = match look.style.as_str() {
                "points" => (look.point_size, true),
                _ => (look.line_width.max(0.5), false),
            };
            let _ = write!(
                out,
                r#"<path class="series" data-series="{i}" d="{}" fill="none" stroke="{color}" stroke-width="{width}" stroke-linejoin="round" stroke-linecap="round"/>"#,
                if dots { dots_data(&px) } else { path_data(&px) }
            );
            if look.show_points == "always" && !dots {
                let _ = write!(
                    out,
                    r#"<path class="points" d="{}" stroke="{color}" stroke-width="{}" stroke-linecap="round"/>"#,
                    dots_data(&px),
                    look.point_size
                );
            }
        }
        out
    });
    let chart = chart(&svg, &plot, chart_width);
    let legend = legend(panel, shown);
    let class = if right_legend {
        "ts legend-right"
    } else {
        "ts"
    };
    format!(r#"<div class="{class}">{chart}{legend}</div>{note}"#)
}

/// Each point as a dot: a zero-length segment that a round line cap draws as a circle.
fn dots_data(runs: &[Vec<(f64, f64)>]) -> String {
    let mut d = String::new();
    for run in runs {
        for (x, y) in run {
            let _ = write!(d, "M{x:.0} {y:.0}h0");
        }
    }
    d
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dashboards::run::SeriesData;
    use promql::Labels;
    use viz::time::Tz;

    fn series(n: usize, points: usize) -> Vec<SeriesData> {
        (0..n)
            .map(|i| SeriesData {
                name: format!("s{i}"),
                labels: Labels::new(vec![("i".into(), i.to_string())]),
                ref_id: "A".into(),
                points: (0..points as i64)
                    .map(|t| (t * 1000, ((t * 7919 + i as i64 * 13) % 997) as f64 / 997.0))
                    .collect(),
            })
            .collect()
    }

    fn frame(values: &crate::dashboards::interpolate::Values) -> Frame<'_> {
        Frame {
            width: 1000,
            height: 300,
            from: 0,
            to: 1_000_000_000,
            tz: Tz::UTC,
            query: "",
            text_values: values,
        }
    }

    fn panel(config: serde_json::Value) -> Panel {
        serde_json::from_value(config).unwrap()
    }

    #[test]
    fn one_path_a_series_and_small_whatever_the_points() {
        let values = Default::default();
        for points in [1_000, 100_000, 1_000_000] {
            let data = PanelData {
                series: series(1, points),
                step: 1000,
                ..PanelData::default()
            };
            let p = panel(
                serde_json::json!({"type": "timeseries", "fieldConfig": {"defaults": {"unit": "s",
                "custom": {"fillOpacity": 20, "stacking": {"mode": "normal"}}}}}),
            );
            let mut frame = frame(&values);
            frame.to = points as i64 * 1000;
            let html = render(&p, &data, &frame);
            let svg = &html[html.find("<svg").unwrap()..html.find("</svg>").unwrap() + 6];
            assert_eq!(
                svg.matches(r#"class="series""#).count(),
                1,
                "{points} points"
            );
            eprintln!(
                "{points} points of noise, filled, 1,000 px: {} bytes",
                svg.len()
            );
            assert!(
                svg.len() <= 30 * 1024,
                "{points} points: {} bytes",
                svg.len()
            );
        }
    }

    #[test]
    fn a_column_is_entered_then_one_stroke_over_its_range() {
        let px = [
            (9.0, 2.0),
            (10.2, 5.0),
            (10.4, 1.0),
            (10.6, 9.0),
            (10.8, 4.0),
            (12.0, 3.0),
        ];
        assert_eq!(
            collapse(&px),
            vec![
                (9.0, 2.0),
                (10.2, 5.0),
                (10.8, 9.0),
                (10.8, 1.0),
                (12.0, 3.0)
            ],
            "covers 1..9, ends nearer the column's last value (4)"
        );
    }

    #[test]
    fn more_than_twenty_series_are_cut_and_said_so() {
        let values = Default::default();
        let data = PanelData {
            series: series(25, 50),
            step: 1000,
            ..PanelData::default()
        };
        let html = render(
            &panel(serde_json::json!({"type": "timeseries"})),
            &data,
            &frame(&values),
        );
        assert_eq!(html.matches(r#"class="series""#).count(), 20);
        assert!(html.contains("5 more series not shown"));
    }

    #[test]
    fn stacking_adds_up_and_percent_divides() {
        let values = Default::default();
        let data = PanelData {
            series: series(2, 3),
            step: 1000,
            ..PanelData::default()
        };
        let p = panel(
            serde_json::json!({"type": "timeseries", "fieldConfig": {"defaults": {"custom": {"stacking": {"mode": "percent"}}}}}),
        );
        let styled = style(&p, &data.series);
        let look = Look::of(&p.field_config.defaults.custom);
        let stacked = stack(&styled, &look);
        let last = &stacked[1].0;
        assert!(
            last.iter().all(|(_, v)| (*v - 1.0).abs() < 1e-9),
            "{last:?}"
        );
        let _ = frame(&values);
    }
}
