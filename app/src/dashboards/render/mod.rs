//! A panel's body as HTML, drawn on the server from its query answers: time series, stat, gauge,
//! bar gauge, table, heatmap, text and state timeline. A dashboard is complete without any
//! script; the browser only adds hover values and zoom. Every panel says when it has no data,
//! when a query failed (with the message) and how many series it left out.

mod alertlist;
mod gauge;
mod heatmap;
#[cfg(test)]
mod panel_tests;
pub mod svg;
mod table;
mod text;
mod timeline;
mod timeseries;

use viz::{
    fields::{palette, Field},
    model::Panel,
    time::Tz,
};

use super::run::{PanelData, SeriesData};
use svg::esc;

/// Series a panel draws unless its options say otherwise.
pub const MAX_SERIES: usize = 20;

/// What a renderer knows besides the panel and its data.
pub struct Frame<'a> {
    /// The panel body's size in pixels.
    pub width: u32,
    pub height: u32,
    pub from: i64,
    pub to: i64,
    pub tz: Tz,
    /// The page's query string, for links that change one parameter (table sorting).
    pub query: &'a str,
    /// Variable values for text panels.
    pub text_values: &'a super::interpolate::Values,
}

/// A series with its field config and colour.
pub struct Styled<'a> {
    pub series: &'a SeriesData,
    pub field: Field,
    pub color: String,
    pub name: String,
}

/// Resolves each series' field config (defaults and matching overrides) and colour.
pub fn style<'a>(panel: &Panel, series: &'a [SeriesData]) -> Vec<Styled<'a>> {
    series
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let field = Field::resolve(
                &panel.field_config.defaults,
                &panel.field_config.overrides,
                &s.name,
                &s.ref_id,
            );
            let name = if field.display_name.is_empty() {
                s.name.clone()
            } else {
                display_name(&field.display_name, s)
            };
            let color = field
                .fixed_color
                .clone()
                .unwrap_or_else(|| palette(i).to_string());
            Styled {
                series: s,
                field,
                color,
                name,
            }
        })
        .collect()
}

/// Grafana's display name template: `${__field.labels.x}`, `${__series.name}`.
fn display_name(template: &str, series: &SeriesData) -> String {
    let mut out = template
        .replace("${__series.name}", &series.name)
        .replace("${__field.name}", &series.name);
    while let Some(start) = out.find("${__field.labels.") {
        let rest = &out[start + "${__field.labels.".len()..];
        let Some(end) = rest.find('}') else { break };
        let value = series
            .labels
            .get(&rest[..end])
            .unwrap_or_default()
            .to_string();
        out = format!("{}{value}{}", &out[..start], &rest[end + 1..]);
    }
    out
}

/// A message in place of the panel's content.
pub fn state(class: &str, message: &str) -> String {
    format!(
        r#"<div class="panel-state {class}" role="status">{}</div>"#,
        esc(message)
    )
}

/// The panel's body.
pub fn panel_html(panel: &Panel, data: &PanelData, frame: &Frame) -> String {
    let errors = (!data.errors.is_empty()).then(|| {
        format!(
            r#"<p class="panel-error" role="alert">{}</p>"#,
            esc(&data.errors.join("; "))
        )
    });
    let body = match panel.kind.as_str() {
        "text" => return text::render(panel, frame),
        "alertlist" if errors.is_none() => return alertlist::render(panel, data, frame),
        _ if data.series.is_empty() && errors.is_some() => {
            return state("panel-state-error", &data.errors.join("; "))
        }
        "timeseries" | "graph" => timeseries::render(panel, data, frame),
        "stat" | "singlestat" => gauge::stat(panel, data, frame),
        "gauge" => gauge::gauge(panel, data, frame),
        "bargauge" => gauge::bar_gauge(panel, data, frame),
        "table" | "table-old" => table::render(panel, data, frame),
        "heatmap" => heatmap::render(panel, data, frame),
        "state-timeline" | "status-history" => timeline::render(panel, data, frame),
        other => {
            return state(
                "panel-state-unsupported",
                &format!("Not supported: panels of type \"{other}\" are not drawn by Meridian."),
            )
        }
    };
    format!("{}{body}", errors.unwrap_or_default())
}

/// The "N more series not shown" note, when there were more than `shown`.
pub fn more_note(total: usize, shown: usize) -> String {
    if total > shown {
        format!(
            r#"<p class="panel-note">{} more series not shown</p>"#,
            total - shown
        )
    } else {
        String::new()
    }
}

/// The most series the panel draws (`options.maxSeries`, else 20).
pub fn series_cap(panel: &Panel) -> usize {
    panel
        .options
        .get("maxSeries")
        .and_then(|v| v.as_u64())
        .map_or(MAX_SERIES, |n| n.clamp(1, 200) as usize)
}

/// Grafana's reducers (`reduceOptions.calcs`, legend calcs) over a series' points.
pub fn reduce(calc: &str, points: &[(i64, f64)]) -> Option<f64> {
    let values: Vec<f64> = points.iter().map(|p| p.1).filter(|v| !v.is_nan()).collect();
    let finite: Vec<f64> = values.iter().copied().filter(|v| v.is_finite()).collect();
    match calc {
        "last" => points.last().map(|p| p.1),
        "lastNotNull" => values.last().copied(),
        "first" => points.first().map(|p| p.1),
        "firstNotNull" => values.first().copied(),
        "min" => finite.iter().copied().reduce(f64::min),
        "max" => finite.iter().copied().reduce(f64::max),
        "mean" => (!finite.is_empty()).then(|| finite.iter().sum::<f64>() / finite.len() as f64),
        "sum" => (!finite.is_empty()).then(|| finite.iter().sum()),
        "count" => Some(values.len() as f64),
        "range" => Some(reduce("max", points)? - reduce("min", points)?),
        "delta" => Some(
            finite
                .windows(2)
                .map(|w| if w[1] >= w[0] { w[1] - w[0] } else { w[1] })
                .sum(),
        ),
        "diff" => Some(reduce("lastNotNull", points)? - reduce("firstNotNull", points)?),
        "median" => {
            let mut sorted = finite.clone();
            sorted.sort_by(f64::total_cmp);
            sorted.get(sorted.len() / 2).copied()
        }
        _ => values.last().copied(),
    }
}

/// Grafana's names for the reducers, as legend headers show them.
pub fn reducer_name(calc: &str) -> &str {
    match calc {
        "lastNotNull" => "Last *",
        "last" => "Last",
        "firstNotNull" => "First *",
        "first" => "First",
        "min" => "Min",
        "max" => "Max",
        "mean" => "Mean",
        "sum" => "Total",
        "count" => "Count",
        "range" => "Range",
        "delta" => "Delta",
        "diff" => "Difference",
        "median" => "Median",
        other => other,
    }
}

/// The data's finite bounds (0..1 when there is none).
pub fn bounds<'a>(series: impl Iterator<Item = &'a [(i64, f64)]>) -> (f64, f64) {
    let (lo, hi) = series
        .flat_map(|s| s.iter().map(|p| p.1))
        .filter(|v| v.is_finite())
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
            (lo.min(v), hi.max(v))
        });
    if lo > hi {
        (0.0, 1.0)
    } else {
        (lo, hi)
    }
}

/// Pointwise combination of series sharing timestamps (a global panel's tenants): `sum`,
/// `mean`, `min` or `max`.
pub fn combine(how: &str, series: &[&[(i64, f64)]]) -> Vec<(i64, f64)> {
    let mut by_time: std::collections::BTreeMap<i64, Vec<f64>> = Default::default();
    for points in series {
        for (t, v) in points.iter() {
            if v.is_finite() {
                by_time.entry(*t).or_default().push(*v);
            }
        }
    }
    by_time
        .into_iter()
        .map(|(t, vs)| {
            let v = match how {
                "mean" => vs.iter().sum::<f64>() / vs.len() as f64,
                "min" => vs.iter().copied().fold(f64::INFINITY, f64::min),
                "max" => vs.iter().copied().fold(f64::NEG_INFINITY, f64::max),
                _ => vs.iter().sum(),
            };
            (t, v)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reducers_skip_nan_as_grafana_skips_null() {
        let points = [(0, 1.0), (1, f64::NAN), (2, 5.0), (3, 2.0)];
        assert_eq!(reduce("lastNotNull", &points), Some(2.0));
        assert_eq!(reduce("max", &points), Some(5.0));
        assert_eq!(reduce("mean", &points), Some(8.0 / 3.0));
        assert_eq!(reduce("range", &points), Some(4.0));
        assert_eq!(reduce("min", &[]), None);
    }

    #[test]
    fn tenants_combine_pointwise() {
        let a = [(0, 1.0), (10, 2.0)];
        let b = [(0, 3.0), (20, 4.0)];
        assert_eq!(
            combine("sum", &[&a, &b]),
            vec![(0, 4.0), (10, 2.0), (20, 4.0)]
        );
        assert_eq!(combine("mean", &[&a, &b])[0], (0, 2.0));
    }
}
