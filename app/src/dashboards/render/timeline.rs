//! State timelines: one row a series (e.g. `up` per target), each stretch of time with the same
//! state a bar in that state's colour (value mappings first, thresholds otherwise), labelled with
//! the state where it is wide enough.

use std::fmt::Write;

use viz::model::Panel;

use super::{
    more_note, series_cap, style,
    svg::{chart, esc, TimeFrame},
    Frame,
};
use crate::dashboards::run::PanelData;

/// A stretch of one state.
struct Stretch {
    from: i64,
    to: i64,
    text: String,
    color: String,
}

pub fn render(panel: &Panel, data: &PanelData, frame: &Frame) -> String {
    let all = style(panel, &data.series);
    if all.is_empty() {
        return super::state("panel-state-empty", "No data");
    }
    let shown = &all[..all.len().min(series_cap(panel))];
    let step = data.step.max(1);
    let (lo, hi) = super::bounds(shown.iter().map(|s| s.series.points.as_slice()));
    let rows: Vec<String> = shown.iter().map(|s| s.name.clone()).collect();
    let note_px = if all.len() > shown.len() { 18 } else { 0 };
    let height = frame.height.saturating_sub(note_px);
    let spec = TimeFrame::rows(frame.width, height, (frame.from, frame.to), frame.tz, rows);
    let (svg, plot) = spec.draw(|plot| {
        let row_px = (plot.bottom - plot.top) / shown.len() as f64;
        let mut out = String::new();
        for (i, s) in shown.iter().enumerate() {
            let mut stretches: Vec<Stretch> = Vec::new();
            for (t, v) in &s.series.points {
                let shown = s.field.display(Some(*v), (lo, hi), &s.color);
                match stretches.last_mut() {
                    Some(last) if last.text == shown.text && t - last.to <= step * 3 / 2 => last.to = t + step,
                    _ => stretches.push(Stretch { from: *t, to: t + step, text: shown.text, color: shown.color }),
                }
            }
            let y = plot.top + row_px * i as f64 + 2.0;
            let height = (row_px - 4.0).max(2.0);
            for stretch in &stretches {
                let x0 = plot.x(stretch.from).max(plot.left);
                let x1 = plot.x(stretch.to).min(plot.right);
                if x1 <= x0 {
                    continue;
                }
                let _ = write!(
                    out,
                    r#"<rect class="state" data-series="{i}" x="{x0:.1}" y="{y:.1}" width="{:.1}" height="{height:.1}" fill="{}"><title>{}</title></rect>"#,
                    x1 - x0,
                    esc(&stretch.color),
                    esc(&stretch.text)
                );
                if x1 - x0 > super::svg::text_width(&stretch.text) + 8.0 && height >= 12.0 {
                    let _ = write!(
                        out,
                        r#"<text class="state-label" x="{:.1}" y="{:.1}" text-anchor="middle" dominant-baseline="central" font-size="11">{}</text>"#,
                        (x0 + x1) / 2.0,
                        y + height / 2.0,
                        esc(&stretch.text)
                    );
                }
            }
        }
        out
    });
    chart(&svg, &plot, frame.width) + &more_note(all.len(), shown.len())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dashboards::run::SeriesData;
    use promql::Labels;

    #[test]
    fn equal_states_merge_into_one_bar() {
        let points: Vec<(i64, f64)> = (0..10)
            .map(|i| (i * 60_000, if (4..6).contains(&i) { 0.0 } else { 1.0 }))
            .collect();
        let data = PanelData {
            alerts: Vec::new(),
            series: vec![SeriesData {
                name: "api-1:8080".into(),
                labels: Labels::new(vec![("instance".into(), "api-1:8080".into())]),
                ref_id: "A".into(),
                points,
            }],
            step: 60_000,
            ..PanelData::default()
        };
        let panel: Panel = serde_json::from_value(serde_json::json!({"type": "state-timeline", "fieldConfig": {"defaults": {
            "mappings": [{"type": "value", "options": {"1": {"text": "UP", "color": "green"}, "0": {"text": "DOWN", "color": "red"}}}]}}})).unwrap();
        let values = Default::default();
        let frame = Frame {
            width: 800,
            height: 120,
            from: 0,
            to: 600_000,
            tz: viz::time::Tz::UTC,
            query: "",
            text_values: &values,
        };
        let html = render(&panel, &data, &frame);
        assert_eq!(
            html.matches(r#"class="state""#).count(),
            3,
            "UP, DOWN, UP: {html}"
        );
        assert!(html.contains(">DOWN</text>") && html.contains("\napi-1:8080\n"));
    }
}
