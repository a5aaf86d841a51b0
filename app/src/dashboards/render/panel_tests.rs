//! Every panel type drawn from the same kind of data: its SVG parses as XML, and it shows the
//! series, tick labels and units it should; across a DST change the time ticks stay on round
//! local times.

use promql::Labels;
use serde_json::json;
use viz::{model::Panel, time::Tz};

use super::{panel_html, Frame};
use crate::dashboards::{
    interpolate::Values,
    run::{PanelData, SeriesData},
};

fn series(name: &str, labels: &[(&str, &str)], points: Vec<(i64, f64)>) -> SeriesData {
    SeriesData {
        name: name.into(),
        labels: Labels::new(
            labels
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        ),
        ref_id: "A".into(),
        points,
    }
}

fn ramp(from: i64, step: i64, n: i64, f: impl Fn(i64) -> f64) -> Vec<(i64, f64)> {
    (0..n).map(|i| (from + i * step, f(i))).collect()
}

/// Every `<svg>…</svg>` of the HTML, each parsed as XML.
fn svgs(html: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = html;
    while let Some(start) = rest.find("<svg") {
        let end = rest[start..].find("</svg>").expect("a closed svg") + start + "</svg>".len();
        let svg = &rest[start..end];
        let with_ns = if svg.contains("xmlns=") {
            svg.to_string()
        } else {
            svg.replacen("<svg", "<svg xmlns=\"http://www.w3.org/2000/svg\"", 1)
        };
        roxmltree::Document::parse(&with_ns).unwrap_or_else(|e| panic!("{e}: {with_ns}"));
        out.push(with_ns);
        rest = &rest[end..];
    }
    out
}

/// The texts plotters wrote (each on a line of its own).
fn labels(svg: &str) -> Vec<String> {
    let document = roxmltree::Document::parse(svg).unwrap();
    document
        .descendants()
        .filter(|n| n.has_tag_name("text"))
        .filter_map(|n| n.text())
        .map(|t| t.trim().to_string())
        .collect()
}

fn render(panel: serde_json::Value, data: PanelData, tz: Tz) -> String {
    let panel: Panel = serde_json::from_value(panel).unwrap();
    let values = Values::new();
    let frame = Frame {
        width: 800,
        height: 260,
        from: data.start,
        to: data.end,
        tz,
        query: "",
        text_values: &values,
    };
    panel_html(&panel, &data, &frame)
}

const HOUR: i64 = 3_600_000;
/// 2026-11-21T12:00:00Z.
const NOON: i64 = 1_795_262_400_000;

#[test]
fn a_time_series_has_a_path_a_series_and_ticks_in_its_unit() {
    let data = PanelData {
        alerts: Vec::new(),
        series: vec![
            series(
                "fast",
                &[("tier", "fast")],
                ramp(NOON - 6 * HOUR, 60_000, 361, |i| {
                    0.1 + (i % 7) as f64 * 0.01
                }),
            ),
            series(
                "slow",
                &[("tier", "slow")],
                ramp(NOON - 6 * HOUR, 60_000, 361, |i| {
                    0.6 + (i % 5) as f64 * 0.02
                }),
            ),
        ],
        start: NOON - 6 * HOUR,
        end: NOON,
        step: 60_000,
        errors: vec![],
    };
    let html = render(
        json!({"type": "timeseries", "fieldConfig": {"defaults": {"unit": "s", "thresholds": {"mode": "absolute",
            "steps": [{"color": "green", "value": null}, {"color": "red", "value": 0.5}]}, "custom": {"thresholdsStyle": {"mode": "line+area"}}}},
            "options": {"legend": {"displayMode": "table", "calcs": ["min", "max", "mean", "lastNotNull"]}}}),
        data,
        Tz::UTC,
    );
    let svg = &svgs(&html)[0];
    assert_eq!(svg.matches(r#"class="series""#).count(), 2);
    assert_eq!(
        svg.matches(r#"class="threshold""#).count(),
        1,
        "a line at 0.5 s"
    );
    assert_eq!(
        svg.matches(r#"class="threshold-area""#).count(),
        2,
        "below and above it"
    );
    let labels = labels(svg);
    for tick in [
        "0 s", "200 ms", "400 ms", "600 ms", "07:00", "09:00", "11:00",
    ] {
        assert!(labels.iter().any(|l| l == tick), "{tick} in {labels:?}");
    }
    assert!(html.contains("<th class=\"num\">Mean</th>"), "{html}");
    for cell in ["100 ms", "160 ms", "130 ms", "680 ms", "640 ms"] {
        assert!(
            html.contains(&format!("<td class=\"num\">{cell}</td>")),
            "{cell}: {html}"
        );
    }
}

#[test]
fn time_ticks_stay_on_round_local_times_across_dst() {
    let tz: Tz = "Europe/Berlin".parse().unwrap();
    // 2026-03-29: clocks go from 02:00 to 03:00 in Berlin (01:00 UTC).
    let start = 1_774_735_200_000; // 2026-03-28T22:00Z = 23:00 CET
    let data = PanelData {
        alerts: Vec::new(),
        series: vec![series("x", &[], ramp(start, 300_000, 72, |i| i as f64))],
        start,
        end: start + 6 * HOUR,
        step: 300_000,
        errors: vec![],
    };
    let html = render(json!({"type": "timeseries"}), data, tz);
    let labels = labels(&svgs(&html)[0]);
    assert!(
        labels.contains(&"Sun 29".to_string()),
        "local midnight shows the day: {labels:?}"
    );
    assert!(
        labels.contains(&"01:00".to_string()) && labels.contains(&"03:00".to_string()),
        "{labels:?}"
    );
    assert!(
        !labels.contains(&"02:00".to_string()),
        "02:00 does not exist that night: {labels:?}"
    );
}

fn stat_data() -> PanelData {
    PanelData {
        alerts: Vec::new(),
        series: vec![
            series(
                "acme",
                &[("tenant", "acme")],
                ramp(0, 60_000, 10, |_| 0.9995),
            ),
            series(
                "globex",
                &[("tenant", "globex")],
                ramp(0, 60_000, 10, |i| 0.99 + i as f64 * 0.0001),
            ),
        ],
        start: 0,
        end: 600_000,
        step: 60_000,
        errors: vec![],
    }
}

#[test]
fn stat_gauge_and_bar_gauge_show_values_in_unit_and_colour() {
    let thresholds = json!({"mode": "absolute", "steps": [{"color": "red", "value": null}, {"color": "green", "value": 0.999}]});
    for kind in ["stat", "gauge", "bargauge"] {
        let html = render(
            json!({"type": kind, "fieldConfig": {"defaults": {"unit": "percentunit", "decimals": 2, "min": 0.98, "max": 1, "thresholds": thresholds}}}),
            stat_data(),
            Tz::UTC,
        );
        svgs(&html);
        assert!(
            html.contains("99.95%") && html.contains("99.09%"),
            "{kind}: {html}"
        );
        assert!(
            html.contains("#73BF69") && html.contains("#F2495C"),
            "{kind}: green and red: {html}"
        );
    }
}

#[test]
fn a_table_a_heatmap_a_timeline_and_text() {
    let html = render(
        json!({"type": "table", "fieldConfig": {"defaults": {"unit": "percentunit", "decimals": 2}}}),
        stat_data(),
        Tz::UTC,
    );
    assert!(
        html.contains("<td>acme</td>") && html.contains("99.95%"),
        "{html}"
    );

    let buckets: Vec<SeriesData> = [("0.1", 3.0), ("1", 8.0), ("+Inf", 9.0)]
        .iter()
        .map(|(le, n)| {
            series(
                le,
                &[("le", le)],
                ramp(0, 60_000, 30, |i| n * (1.0 + i as f64 / 10.0)),
            )
        })
        .collect();
    let data = PanelData {
        alerts: Vec::new(),
        series: buckets,
        start: 0,
        end: 1_800_000,
        step: 60_000,
        errors: vec![],
    };
    let html = render(
        json!({"type": "heatmap", "fieldConfig": {"defaults": {"unit": "s"}}}),
        data,
        Tz::UTC,
    );
    let rows = labels(&svgs(&html)[0]);
    assert!(
        ["100 ms", "1 s", "+Inf"]
            .iter()
            .all(|b| rows.iter().any(|l| l == b)),
        "{rows:?}"
    );

    let up = series(
        "api-1",
        &[("instance", "api-1")],
        ramp(0, 60_000, 30, |i| if i < 20 { 1.0 } else { 0.0 }),
    );
    let data = PanelData {
        alerts: Vec::new(),
        series: vec![up],
        start: 0,
        end: 1_800_000,
        step: 60_000,
        errors: vec![],
    };
    let html = render(
        json!({"type": "state-timeline", "fieldConfig": {"defaults": {"mappings": [
        {"type": "value", "options": {"1": {"text": "UP", "color": "green"}, "0": {"text": "DOWN", "color": "red"}}}]}}}),
        data,
        Tz::UTC,
    );
    let svg = &svgs(&html)[0];
    assert_eq!(svg.matches(r#"class="state""#).count(), 2);
    assert!(labels(svg).contains(&"DOWN".to_string()));

    let html = render(
        json!({"type": "text", "options": {"content": "**bold** <img src=x onerror=alert(1)>"}}),
        PanelData::default(),
        Tz::UTC,
    );
    assert!(
        html.contains("<strong>bold</strong>") && !html.contains("onerror"),
        "{html}"
    );
}

#[test]
fn empty_failing_and_unknown_panels_say_so() {
    let html = render(json!({"type": "timeseries"}), PanelData::default(), Tz::UTC);
    assert!(html.contains("No data"));
    let failing = PanelData {
        errors: vec!["1:5: parse error: unexpected \")\"".into()],
        ..PanelData::default()
    };
    let html = render(json!({"type": "stat"}), failing, Tz::UTC);
    assert!(
        html.contains("panel-state-error") && html.contains("parse error"),
        "{html}"
    );
    let html = render(json!({"type": "piechart"}), stat_data(), Tz::UTC);
    assert!(
        html.contains("Not supported") && html.contains("piechart"),
        "{html}"
    );
}
