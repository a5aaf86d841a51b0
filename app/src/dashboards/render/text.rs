//! Text panels: Markdown (pulldown-cmark) or HTML, with the dashboard's variables filled in,
//! always sanitised with ammonia, so a dashboard cannot carry a script into its viewers' pages.

use viz::model::Panel;

use super::Frame;

/// A variable's values as text: several are joined with commas, as Grafana does.
fn fill(content: &str, frame: &Frame) -> String {
    let mut out = content.to_string();
    for (name, value) in frame.text_values.iter().rev() {
        let text = value.values.join(", ");
        for reference in [
            format!("${{{name}}}"),
            format!("[[{name}]]"),
            format!("${name}"),
        ] {
            out = out.replace(&reference, &text);
        }
    }
    out
}

pub fn render(panel: &Panel, frame: &Frame) -> String {
    let content = panel
        .options
        .get("content")
        .and_then(|c| c.as_str())
        .or_else(|| panel.extra.get("content").and_then(|c| c.as_str()))
        .unwrap_or("");
    let content = fill(content, frame);
    let mode = panel
        .option_str("mode")
        .or_else(|| panel.extra.get("mode").and_then(|m| m.as_str()))
        .unwrap_or("markdown");
    let html = match mode {
        "html" => content,
        "code" => format!("<pre><code>{}</code></pre>", super::svg::esc(&content)),
        _ => {
            let parser = pulldown_cmark::Parser::new_ext(&content, pulldown_cmark::Options::all());
            let mut html = String::new();
            pulldown_cmark::html::push_html(&mut html, parser);
            html
        }
    };
    format!(r#"<div class="markdown">{}</div>"#, ammonia::clean(&html))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dashboards::interpolate::{Value, Values};

    #[test]
    fn markdown_is_rendered_and_scripts_are_removed() {
        let panel: Panel = serde_json::from_value(serde_json::json!({"type": "text", "options": {"mode": "markdown",
            "content": "# Hello $tenant\n\n* one\n\n<script>alert(1)</script><a href=\"javascript:x\" onclick=\"y\">link</a>"}})).unwrap();
        let mut values = Values::new();
        values.insert("tenant".into(), Value::single("acme"));
        let frame = Frame {
            width: 100,
            height: 100,
            from: 0,
            to: 1,
            tz: viz::time::Tz::UTC,
            query: "",
            text_values: &values,
        };
        let html = render(&panel, &frame);
        assert!(html.contains("<h1>Hello acme</h1>"), "{html}");
        assert!(html.contains("<li>one</li>"));
        assert!(
            !html.contains("<script") && !html.contains("javascript:") && !html.contains("onclick"),
            "{html}"
        );
    }
}
