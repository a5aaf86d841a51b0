//! Table panels: the latest value of each series, a column a label and one a query, sorted by
//! any column through a plain link (`sort-<panel>=<column>`, `-<column>` descending).

use std::{collections::BTreeSet, fmt::Write};

use viz::{fields::Field, model::Panel};

use super::{more_note, svg::esc, Frame};
use crate::dashboards::run::{PanelData, Request};

/// Rows shown at most.
const MAX_ROWS: usize = 500;

struct Row {
    labels: Vec<String>,
    values: Vec<Option<f64>>,
}

/// The link that sorts this panel by `column` (descending when `desc`), keeping the rest of the
/// page's query.
fn sort_link(query: &str, panel: u32, column: &str, desc: bool) -> String {
    let key = format!("sort-{panel}");
    let mut pairs: Vec<(String, String)> = Request::parse(query)
        .pairs
        .into_iter()
        .filter(|(k, _)| *k != key)
        .collect();
    pairs.push((key, format!("{}{column}", if desc { "-" } else { "" })));
    let encoded: Vec<String> = pairs
        .iter()
        .map(|(k, v)| format!("{}={}", crate::url::encode(k), crate::url::encode(v)))
        .collect();
    format!("?{}", encoded.join("&"))
}

pub fn render(panel: &Panel, data: &PanelData, frame: &Frame) -> String {
    if data.series.is_empty() {
        return super::state("panel-state-empty", "No data");
    }
    let names: BTreeSet<&str> = data
        .series
        .iter()
        .flat_map(|s| s.labels.iter().map(|(n, _)| n))
        .collect();
    let metric_names: BTreeSet<&str> = data
        .series
        .iter()
        .filter_map(|s| s.labels.get("__name__"))
        .collect();
    let label_columns: Vec<&str> = names
        .into_iter()
        .filter(|n| *n != "__name__" || metric_names.len() > 1)
        .collect();
    let refs: Vec<&str> = {
        let mut seen: Vec<&str> = Vec::new();
        for s in &data.series {
            if !seen.contains(&s.ref_id.as_str()) {
                seen.push(&s.ref_id);
            }
        }
        seen
    };
    let value_columns: Vec<String> = match refs.len() {
        1 => vec!["Value".to_string()],
        _ => refs.iter().map(|r| format!("Value #{r}")).collect(),
    };
    // One row per label set; each query's latest value in its column.
    let mut rows: Vec<Row> = Vec::new();
    for s in &data.series {
        let labels: Vec<String> = label_columns
            .iter()
            .map(|n| s.labels.get(n).unwrap_or("").to_string())
            .collect();
        let column = refs.iter().position(|r| *r == s.ref_id).unwrap_or(0);
        let value = s.points.last().map(|p| p.1);
        match rows.iter_mut().find(|r| r.labels == labels) {
            Some(row) => row.values[column] = value,
            None => {
                let mut values = vec![None; refs.len()];
                values[column] = value;
                rows.push(Row { labels, values });
            }
        }
    }
    let request = Request::parse(frame.query);
    let sort = request
        .get(&format!("sort-{}", panel.id))
        .map(str::to_string);
    let (sort_column, desc) = match &sort {
        Some(s) => (s.trim_start_matches('-').to_string(), s.starts_with('-')),
        None => (String::new(), false),
    };
    if let Some(i) = label_columns.iter().position(|c| *c == sort_column) {
        rows.sort_by(|a, b| a.labels[i].cmp(&b.labels[i]));
    } else if let Some(i) = value_columns.iter().position(|c| *c == sort_column) {
        rows.sort_by(|a, b| {
            a.values[i]
                .unwrap_or(f64::NEG_INFINITY)
                .total_cmp(&b.values[i].unwrap_or(f64::NEG_INFINITY))
        });
    }
    if desc {
        rows.reverse();
    }
    let fields: Vec<Field> = value_columns
        .iter()
        .zip(&refs)
        .map(|(name, r)| {
            Field::resolve(
                &panel.field_config.defaults,
                &panel.field_config.overrides,
                name,
                r,
            )
        })
        .collect();
    let cell_type = panel
        .field_config
        .defaults
        .custom
        .get("cellOptions")
        .and_then(|c| c.get("type"))
        .and_then(|t| t.as_str())
        .or_else(|| {
            panel
                .field_config
                .defaults
                .custom
                .get("displayMode")
                .and_then(|t| t.as_str())
        })
        .unwrap_or("auto");
    let mut out = String::from(r#"<div class="table-wrap"><table class="panel-table"><thead><tr>"#);
    let columns = label_columns
        .iter()
        .map(|c| (c.to_string(), false))
        .chain(value_columns.iter().map(|c| (c.clone(), true)));
    for (column, numeric) in columns {
        let active = column == sort_column;
        let next_desc = active && !desc;
        let arrow = match (active, desc) {
            (true, false) => " ↑",
            (true, true) => " ↓",
            _ => "",
        };
        let _ = write!(
            out,
            r#"<th{}><a href="{}" data-nav>{}{arrow}</a></th>"#,
            if numeric { r#" class="num""# } else { "" },
            esc(&sort_link(frame.query, panel.id, &column, next_desc)),
            esc(&column)
        );
    }
    out.push_str("</tr></thead><tbody>");
    for row in rows.iter().take(MAX_ROWS) {
        out.push_str("<tr>");
        for label in &row.labels {
            let _ = write!(out, "<td>{}</td>", esc(label));
        }
        for (value, field) in row.values.iter().zip(&fields) {
            let shown = field.display(*value, (0.0, 100.0), "currentColor");
            let style = match cell_type {
                "color-text" | "color-text-advanced" => {
                    format!(r#" style="color:{}""#, esc(&shown.color))
                }
                "color-background" | "color-background-solid" => {
                    format!(r#" style="background:{};color:#fff""#, esc(&shown.color))
                }
                _ => String::new(),
            };
            let _ = write!(out, r#"<td class="num"{style}>{}</td>"#, esc(&shown.text));
        }
        out.push_str("</tr>");
    }
    out.push_str("</tbody></table></div>");
    out.push_str(&more_note(rows.len(), rows.len().min(MAX_ROWS)));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dashboards::run::SeriesData;
    use promql::Labels;

    #[test]
    fn rows_sort_by_a_column_through_links() {
        let series: Vec<SeriesData> = [("/a", 3.0), ("/b", 1.0), ("/c", 2.0)]
            .iter()
            .map(|(e, v)| SeriesData {
                name: e.to_string(),
                labels: Labels::new(vec![("endpoint".into(), e.to_string())]),
                ref_id: "A".into(),
                points: vec![(0, *v)],
            })
            .collect();
        let data = PanelData {
            series,
            ..PanelData::default()
        };
        let panel: Panel = serde_json::from_value(serde_json::json!({"id": 7, "type": "table", "fieldConfig": {"defaults": {"unit": "reqps"}}})).unwrap();
        let values = Default::default();
        let frame = |query| Frame {
            width: 400,
            height: 200,
            from: 0,
            to: 1,
            tz: viz::time::Tz::UTC,
            query,
            text_values: &values,
        };
        let html = render(&panel, &data, &frame("from=now-1h&sort-7=-Value"));
        let order: Vec<usize> = ["/a", "/c", "/b"]
            .iter()
            .map(|e| html.find(&format!("<td>{e}</td>")).unwrap())
            .collect();
        assert!(
            order.windows(2).all(|w| w[0] < w[1]),
            "descending by value: {html}"
        );
        assert!(
            html.contains(r#"href="?from=now-1h&amp;sort-7=Value""#),
            "the next click sorts ascending: {html}"
        );
        assert!(html.contains("req/s"), "values in the panel's unit: {html}");
    }
}
