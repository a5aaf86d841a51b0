//! What changed between two versions of a dashboard: first in words (settings, panels added,
//! removed or changed, by title), then as the JSON diff of the two models.

use similar::{ChangeTag, TextDiff};
use viz::model::{Dashboard, Panel};

use super::VersionDiff;

/// Lines of unchanged JSON kept around each change.
const CONTEXT: usize = 3;

fn name(panel: &Panel) -> String {
    let title = if panel.title.is_empty() {
        "untitled"
    } else {
        &panel.title
    };
    format!("{title} (panel {})", panel.id)
}

fn all_panels(model: &Dashboard) -> Vec<&Panel> {
    model
        .panels
        .iter()
        .flat_map(|p| std::iter::once(p).chain(p.panels.iter()))
        .collect()
}

/// What a changed panel changed, in a few words.
fn panel_change(old: &Panel, new: &Panel) -> Vec<&'static str> {
    let mut what = Vec::new();
    if old.kind != new.kind {
        what.push("type");
    }
    if old.title != new.title {
        what.push("title");
    }
    if old.targets != new.targets {
        what.push("queries");
    }
    if old.grid_pos != new.grid_pos {
        what.push("place on the grid");
    }
    if old.field_config != new.field_config {
        what.push("field settings");
    }
    if old.options != new.options {
        what.push("options");
    }
    if what.is_empty() {
        what.push("other settings");
    }
    what
}

pub fn summary(old: &Dashboard, new: &Dashboard) -> Vec<String> {
    let mut out = Vec::new();
    if old.title != new.title {
        out.push(format!("Title changed: {} → {}", old.title, new.title));
    }
    if old.tags != new.tags {
        out.push(format!(
            "Tags changed: [{}] → [{}]",
            old.tags.join(", "),
            new.tags.join(", ")
        ));
    }
    if old.time != new.time {
        out.push(format!(
            "Default time range changed: {} to {} → {} to {}",
            old.time.from, old.time.to, new.time.from, new.time.to
        ));
    }
    if old.refresh != new.refresh || old.timezone != new.timezone {
        out.push("Refresh or time zone changed".to_string());
    }
    if old.templating != new.templating {
        let names = |m: &Dashboard| {
            m.templating
                .list
                .iter()
                .map(|v| format!("${}", v.name))
                .collect::<Vec<_>>()
                .join(", ")
        };
        out.push(format!(
            "Variables changed: [{}] → [{}]",
            names(old),
            names(new)
        ));
    }
    let (before, after) = (all_panels(old), all_panels(new));
    for panel in &after {
        match before.iter().find(|p| p.id == panel.id) {
            None => out.push(format!("Panel added: {}", name(panel))),
            Some(was) if *was != *panel => out.push(format!(
                "Panel changed: {} — {}",
                name(panel),
                panel_change(was, panel).join(", ")
            )),
            Some(_) => {}
        }
    }
    for panel in &before {
        if !after.iter().any(|p| p.id == panel.id) {
            out.push(format!("Panel removed: {}", name(panel)));
        }
    }
    out
}

/// The models' pretty JSON compared line by line, unchanged stretches cut to their context.
pub fn json_lines(old: &Dashboard, new: &Dashboard) -> Vec<(char, String)> {
    let pretty = |m: &Dashboard| serde_json::to_string_pretty(m).unwrap_or_default();
    let (old, new) = (pretty(old), pretty(new));
    let diff = TextDiff::from_lines(&old, &new);
    let mut out = Vec::new();
    for (i, group) in diff.grouped_ops(CONTEXT).iter().enumerate() {
        if i > 0 {
            out.push(('…', String::new()));
        }
        for op in group {
            for change in diff.iter_changes(op) {
                let sign = match change.tag() {
                    ChangeTag::Delete => '-',
                    ChangeTag::Insert => '+',
                    ChangeTag::Equal => ' ',
                };
                out.push((sign, change.value().trim_end_matches('\n').to_string()));
            }
        }
    }
    out
}

pub fn diff(from: i32, old: &Dashboard, to: i32, new: &Dashboard) -> VersionDiff {
    VersionDiff {
        from,
        to,
        summary: summary(old, new),
        lines: json_lines(old, new),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn model(json: serde_json::Value) -> Dashboard {
        serde_json::from_value(json).unwrap()
    }

    #[test]
    fn a_diff_names_panels_added_removed_and_changed() {
        let old = model(serde_json::json!({"uid": "a", "title": "Ops", "panels": [
            {"id": 1, "type": "stat", "title": "Up", "gridPos": {"x": 0, "y": 0, "w": 6, "h": 4}},
            {"id": 2, "type": "timeseries", "title": "CPU", "targets": [{"expr": "up"}]}
        ]}));
        let new = model(
            serde_json::json!({"uid": "a", "title": "Operations", "panels": [
                {"id": 2, "type": "timeseries", "title": "CPU", "targets": [{"expr": "rate(x[5m])"}]},
                {"id": 3, "type": "gauge", "title": "Disk"}
            ]}),
        );
        let d = diff(1, &old, 2, &new);
        assert_eq!(
            d.summary,
            vec![
                "Title changed: Ops → Operations",
                "Panel changed: CPU (panel 2) — queries",
                "Panel added: Disk (panel 3)",
                "Panel removed: Up (panel 1)",
            ]
        );
        assert!(d
            .lines
            .iter()
            .any(|(s, l)| *s == '-' && l.contains("\"Ops\"")));
        assert!(d
            .lines
            .iter()
            .any(|(s, l)| *s == '+' && l.contains("rate(x[5m])")));
        assert!(diff(1, &old, 1, &old).lines.is_empty());
    }
}
