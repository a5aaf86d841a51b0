//! Heatmaps of classic histograms: series with an `le` label (cumulative bucket counts, usually
//! `sum by (le) (rate(x_bucket[…]))`) become one row a bucket; each time step's count in a bucket
//! is its `le` minus the one below, drawn as a cell whose colour grows with the count. Cells are
//! at least a few pixels wide (steps are summed into columns), and cells of one colour share one
//! `<path>`, so the SVG stays small.

use std::{collections::BTreeMap, fmt::Write};

use viz::{model::Panel, units};

use super::{
    svg::{chart, TimeFrame},
    Frame,
};
use crate::dashboards::run::PanelData;

/// Colour steps from few to many (Grafana's "Oranges" scheme).
const SHADES: [&str; 9] = [
    "#fff5eb", "#fee6ce", "#fdd0a2", "#fdae6b", "#fd8d3c", "#f16913", "#d94801", "#a63603",
    "#7f2704",
];
const MIN_CELL_PX: f64 = 5.0;

/// Bucket bounds (ascending, `+Inf` last) and, per time, the cumulative counts per bucket.
fn buckets(data: &PanelData) -> (Vec<f64>, BTreeMap<i64, Vec<f64>>) {
    let mut bounds: Vec<f64> = Vec::new();
    let mut by_bound: BTreeMap<u64, BTreeMap<i64, f64>> = BTreeMap::new();
    for s in &data.series {
        let Some(le) = s.labels.get("le").and_then(|le| le.parse::<f64>().ok()) else {
            continue;
        };
        if !bounds.contains(&le) {
            bounds.push(le);
        }
        let entry = by_bound.entry(le.to_bits()).or_default();
        for (t, v) in &s.points {
            if v.is_finite() {
                *entry.entry(*t).or_default() += v;
            }
        }
    }
    bounds.sort_by(f64::total_cmp);
    let mut counts: BTreeMap<i64, Vec<f64>> = BTreeMap::new();
    for (i, le) in bounds.iter().enumerate() {
        for (t, v) in &by_bound[&le.to_bits()] {
            counts.entry(*t).or_insert_with(|| vec![0.0; bounds.len()])[i] = *v;
        }
    }
    (bounds, counts)
}

/// Per-bucket counts from cumulative ones (a bucket never goes below zero).
fn decumulate(cumulative: &[f64]) -> Vec<f64> {
    let mut below = 0.0;
    cumulative
        .iter()
        .map(|c| {
            let n = (c - below).max(0.0);
            below = below.max(*c);
            n
        })
        .collect()
}

pub fn render(panel: &Panel, data: &PanelData, frame: &Frame) -> String {
    let (bounds, counts) = buckets(data);
    if bounds.is_empty() || counts.is_empty() {
        return super::state(
            "panel-state-empty",
            if data.series.is_empty() {
                "No data"
            } else {
                "No data: a heatmap needs series with an le label"
            },
        );
    }
    let unit = panel
        .option("yAxis")
        .get("unit")
        .and_then(|u| u.as_str())
        .unwrap_or(&panel.field_config.defaults.unit)
        .to_string();
    let rows: Vec<String> = bounds
        .iter()
        .rev()
        .map(|le| {
            if le.is_infinite() {
                "+Inf".into()
            } else {
                units::format(&unit, *le, None).to_string()
            }
        })
        .collect();
    let spec = TimeFrame::rows(
        frame.width,
        frame.height,
        (frame.from, frame.to),
        frame.tz,
        rows,
    );
    let (svg, plot) = spec.draw(|plot| {
        let step = data.step.max(1);
        let step_px = plot.x(plot.from + step) - plot.x(plot.from);
        let per_column = (MIN_CELL_PX / step_px.max(0.01)).ceil().max(1.0) as i64;
        let column_ms = step * per_column;
        let mut columns: BTreeMap<i64, Vec<f64>> = BTreeMap::new();
        for (t, cumulative) in &counts {
            let key = t.div_euclid(column_ms) * column_ms;
            let cells = columns
                .entry(key)
                .or_insert_with(|| vec![0.0; bounds.len()]);
            for (cell, n) in cells.iter_mut().zip(decumulate(cumulative)) {
                *cell += n;
            }
        }
        let max = columns.values().flatten().copied().fold(0.0, f64::max);
        let row_px = (plot.bottom - plot.top) / bounds.len() as f64;
        let mut paths: Vec<String> = vec![String::new(); SHADES.len()];
        for (t, cells) in &columns {
            let (x0, x1) = (
                plot.x(*t).max(plot.left),
                plot.x(t + column_ms).min(plot.right),
            );
            if x1 <= x0 {
                continue;
            }
            for (i, n) in cells.iter().enumerate() {
                if *n <= 0.0 || max <= 0.0 {
                    continue;
                }
                // A square root scale, so small buckets still show.
                let shade = ((n / max).sqrt() * (SHADES.len() - 1) as f64).round() as usize;
                let y = plot.bottom - row_px * (i + 1) as f64;
                let _ = write!(
                    paths[shade],
                    "M{x0:.1} {y:.1}h{:.1}v{:.1}h{:.1}z",
                    x1 - x0,
                    row_px - 1.0,
                    x0 - x1
                );
            }
        }
        let mut out = String::new();
        for (shade, d) in paths.iter().enumerate().filter(|(_, d)| !d.is_empty()) {
            let _ = write!(
                out,
                r#"<path class="cells" d="{d}" fill="{}"/>"#,
                SHADES[shade]
            );
        }
        out
    });
    chart(&svg, &plot, frame.width)
        + r#"<div class="heatmap-scale"><span>fewer</span><span class="ramp"></span><span>more</span></div>"#
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dashboards::run::SeriesData;
    use promql::Labels;

    #[test]
    fn cumulative_buckets_become_counts_per_bucket() {
        assert_eq!(decumulate(&[2.0, 5.0, 5.0, 9.0]), vec![2.0, 3.0, 0.0, 4.0]);
        assert_eq!(decumulate(&[3.0, 2.0]), vec![3.0, 0.0], "never negative");
    }

    #[test]
    fn a_row_a_bucket_and_one_path_a_shade() {
        let series: Vec<SeriesData> = [("0.1", 5.0), ("0.5", 8.0), ("+Inf", 9.0)]
            .iter()
            .map(|(le, v)| SeriesData {
                name: le.to_string(),
                labels: Labels::new(vec![("le".into(), le.to_string())]),
                ref_id: "A".into(),
                points: (0..100)
                    .map(|i| (i * 60_000, v * (1.0 + i as f64 / 100.0)))
                    .collect(),
            })
            .collect();
        let data = PanelData {
            alerts: Vec::new(),
            series,
            step: 60_000,
            start: 0,
            end: 6_000_000,
            errors: vec![],
        };
        let panel: Panel = serde_json::from_value(
            serde_json::json!({"type": "heatmap", "fieldConfig": {"defaults": {"unit": "s"}}}),
        )
        .unwrap();
        let values = Default::default();
        let frame = Frame {
            width: 600,
            height: 200,
            from: 0,
            to: 6_000_000,
            tz: viz::time::Tz::UTC,
            query: "",
            text_values: &values,
        };
        let html = render(&panel, &data, &frame);
        assert!(
            html.contains("\n100 ms\n") && html.contains("\n500 ms\n") && html.contains("\n+Inf\n"),
            "{html}"
        );
        let paths = html.matches(r#"class="cells""#).count();
        assert!((1..=SHADES.len()).contains(&paths), "{paths}");
    }
}
