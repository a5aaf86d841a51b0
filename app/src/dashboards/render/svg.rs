//! The frame of a time chart, drawn with plotters' SVG backend (grid lines and axis labels on
//! round ticks: the dashboard's time zone on the time axis, 1-2-5 steps of the panel's unit on
//! the value axis), and the data drawn into it as compact SVG paths: one `<path>` a series,
//! whatever the number of points, with gaps as moves, after M4 has kept at most four points a
//! pixel column. Colours of text and grid come from the page's theme (CSS), so the chart reads
//! in both themes; the data keeps its own colours.

use std::fmt::Write;

use plotters::{
    prelude::*,
    style::text_anchor::{HPos, Pos, VPos},
};
use viz::{time::Tz, units};

/// Where the plot area is, in the SVG's pixels, and what it shows.
#[derive(Clone, Copy, Debug)]
pub struct Plot {
    pub left: f64,
    pub top: f64,
    pub right: f64,
    pub bottom: f64,
    pub from: i64,
    pub to: i64,
    pub lo: f64,
    pub hi: f64,
}

impl Plot {
    /// The x of time `t`; times just outside the span (the step-aligned query's first and last
    /// points) are drawn at the plot's edges.
    pub fn x(&self, t: i64) -> f64 {
        let span = (self.to - self.from).max(1) as f64;
        let x = self.left + (t - self.from) as f64 / span * (self.right - self.left);
        x.clamp(self.left, self.right)
    }

    pub fn y(&self, v: f64) -> f64 {
        let span = if self.hi > self.lo {
            self.hi - self.lo
        } else {
            1.0
        };
        let y = self.bottom - (v - self.lo) / span * (self.bottom - self.top);
        // Far outside values would make enormous coordinates; a little outside is clipped.
        y.clamp(self.top - 1000.0, self.bottom + 1000.0)
    }

    pub fn width(&self) -> f64 {
        self.right - self.left
    }
}

/// The value axis: bounds widened to round ticks (unless `min`/`max` fix them) and the ticks.
pub fn value_axis(
    (lo, hi): (f64, f64),
    (min, max): (Option<f64>, Option<f64>),
    max_ticks: usize,
) -> (f64, f64, Vec<f64>, f64) {
    let (mut lo, mut hi) = (min.unwrap_or(lo), max.unwrap_or(hi));
    if !lo.is_finite() || !hi.is_finite() || lo > hi {
        (lo, hi) = (0.0, 1.0);
    }
    if lo == hi {
        // A flat line: at zero the axis starts there; elsewhere it is centred.
        (lo, hi) = if lo == 0.0 {
            (0.0, 1.0)
        } else {
            (lo - lo.abs() * 0.1, hi + hi.abs() * 0.1)
        };
        lo = min.unwrap_or(lo);
        hi = max
            .unwrap_or(hi)
            .max(lo + f64::EPSILON.max(lo.abs() * 1e-9));
    }
    let (_, step) = units::value_ticks(lo, hi, max_ticks.max(2));
    if step > 0.0 && step.is_finite() {
        if min.is_none() {
            lo = (lo / step).floor() * step;
        }
        if max.is_none() {
            hi = (hi / step).ceil() * step;
        }
    }
    let (ticks, step) = units::value_ticks(lo, hi, max_ticks.max(2));
    (lo, hi, ticks, step)
}

/// The chart's SVG in the element the page's script reads the time axis from (the island maps
/// the pointer to a time with these attributes).
pub fn chart(svg: &str, plot: &Plot, width: u32) -> String {
    format!(
        r#"<div class="chart" data-from="{}" data-to="{}" data-left="{}" data-right="{}" data-width="{width}">{svg}</div>"#,
        plot.from, plot.to, plot.left, plot.right
    )
}

/// Text height of axis labels, in pixels.
const LABEL_PX: f64 = 11.0;

/// Pixels a label of `text` takes, about (the page's sans-serif at 11 px).
pub fn text_width(text: &str) -> f64 {
    text.chars().count() as f64 * 6.3
}

fn grey() -> RGBColor {
    RGBColor(128, 128, 128)
}

fn label_style(anchor: Pos) -> TextStyle<'static> {
    // plotters writes font-size as size / 1.24.
    TextStyle::from(("sans-serif", LABEL_PX * 1.24).into_font())
        .color(&BLACK)
        .pos(anchor)
}

/// An SVG chart of `width` × `height` with a time axis over `from..to` in `tz` and a value axis
/// over `lo..hi` in `unit`. `draw` adds the data, given the plot area; answers the document and
/// the plot area.
pub struct TimeFrame<'a> {
    pub width: u32,
    pub height: u32,
    pub from: i64,
    pub to: i64,
    pub tz: Tz,
    pub unit: &'a str,
    pub lo: f64,
    pub hi: f64,
    pub min: Option<f64>,
    pub max: Option<f64>,
    /// Category rows instead of a value axis (heatmap buckets, timeline series), top to bottom.
    pub rows: Option<Vec<String>>,
}

impl TimeFrame<'_> {
    /// A frame whose value axis is `rows` of categories (heatmap buckets, timeline series).
    pub fn rows(
        width: u32,
        height: u32,
        (from, to): (i64, i64),
        tz: Tz,
        rows: Vec<String>,
    ) -> TimeFrame<'static> {
        TimeFrame {
            width,
            height,
            from,
            to,
            tz,
            unit: "",
            lo: 0.0,
            hi: 1.0,
            min: None,
            max: None,
            rows: Some(rows),
        }
    }

    pub fn draw(&self, data: impl FnOnce(&Plot) -> String) -> (String, Plot) {
        let (width, height) = (self.width.max(40), self.height.max(40));
        let plot_height = (height as f64 - LABEL_PX - 12.0).max(10.0);
        let (lo, hi, ticks, step) = value_axis(
            (self.lo, self.hi),
            (self.min, self.max),
            (plot_height / 28.0) as usize,
        );
        let labels: Vec<(f64, String)> = match &self.rows {
            Some(_) => Vec::new(),
            None => ticks
                .iter()
                .map(|v| (*v, units::format_tick(self.unit, *v, step)))
                .collect(),
        };
        let label_width = match &self.rows {
            Some(rows) => rows
                .iter()
                .map(|r| text_width(r))
                .fold(0.0, f64::max)
                .min(width as f64 * 0.35),
            None => labels
                .iter()
                .map(|(_, l)| text_width(l))
                .fold(0.0, f64::max),
        };
        let plot = Plot {
            left: (label_width + 10.0).round(),
            top: 6.0,
            right: width as f64 - 10.0,
            bottom: 6.0 + plot_height,
            from: self.from,
            to: self.to.max(self.from + 1),
            lo,
            hi,
        };
        let times = viz::time::time_ticks(plot.from, plot.to, plot.width() as u32, 90, self.tz);
        let mut svg = String::new();
        let drawn = draw_frame(
            &mut svg,
            (width, height),
            &plot,
            &labels,
            &times,
            self.rows.as_deref(),
        );
        if let Err(error) = drawn {
            tracing::error!(error = %error, "A chart frame could not be drawn.");
            return (String::new(), plot);
        }
        let paths = data(&plot);
        let end = svg.rfind("</svg>").unwrap_or(svg.len());
        svg.insert_str(end, &paths);
        (svg, plot)
    }
}

fn draw_frame(
    svg: &mut String,
    size: (u32, u32),
    plot: &Plot,
    values: &[(f64, String)],
    times: &[viz::time::TimeTick],
    rows: Option<&[String]>,
) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let root = SVGBackend::with_string(svg, size).into_drawing_area();
    let grid = ShapeStyle::from(&grey()).stroke_width(1);
    let px = |v: f64| v.round() as i32;
    for (v, label) in values {
        let y = px(plot.y(*v));
        root.draw(&PathElement::new(
            vec![(px(plot.left), y), (px(plot.right), y)],
            grid,
        ))?;
        let anchor = Pos::new(HPos::Right, VPos::Center);
        root.draw(&Text::new(
            label.as_str(),
            (px(plot.left) - 6, y),
            label_style(anchor),
        ))?;
    }
    if let Some(rows) = rows {
        let row_height = (plot.bottom - plot.top) / rows.len().max(1) as f64;
        for (i, row) in rows.iter().enumerate() {
            let y = px(plot.top + row_height * (i as f64 + 0.5));
            let anchor = Pos::new(HPos::Right, VPos::Center);
            let text = ellipsis(row, ((plot.left - 10.0) / 6.3) as usize);
            root.draw(&Text::new(
                text,
                (px(plot.left) - 6, y),
                label_style(anchor),
            ))?;
        }
    }
    for tick in times {
        let x = px(plot.x(tick.ms));
        if rows.is_none() {
            root.draw(&PathElement::new(
                vec![(x, px(plot.top)), (x, px(plot.bottom))],
                grid,
            ))?;
        }
        let anchor = Pos::new(HPos::Center, VPos::Top);
        root.draw(&Text::new(
            tick.label.as_str(),
            (x, px(plot.bottom) + 5),
            label_style(anchor),
        ))?;
    }
    root.present()?;
    Ok(())
}

/// `text` cut to `max` characters with an ellipsis.
pub fn ellipsis(text: &str, max: usize) -> String {
    if text.chars().count() <= max.max(1) {
        return text.to_string();
    }
    let kept: String = text.chars().take(max.saturating_sub(1).max(1)).collect();
    format!("{kept}…")
}

/// Splits points into runs a line may join: a gap longer than `gap` ms or a non-finite value
/// breaks it.
pub fn runs(points: &[(i64, f64)], gap: i64) -> Vec<&[(i64, f64)]> {
    let mut out = Vec::new();
    let mut begin = 0;
    for i in 0..=points.len() {
        let breaks = i == points.len()
            || !points[i].1.is_finite()
            || (i > begin && points[i].0 - points[i - 1].0 > gap);
        if breaks {
            if i > begin {
                out.push(&points[begin..i]);
            }
            begin = if i < points.len() && !points[i].1.is_finite() {
                i + 1
            } else {
                i
            };
        }
    }
    out
}

/// Path data through `points` in pixels: an absolute move to each run's start, then relative
/// lines, whole pixels (half pixels for short moves), repeated pixels dropped.
pub fn path_data(runs: &[Vec<(f64, f64)>]) -> String {
    let mut d = String::new();
    for run in runs {
        let Some(&(x0, y0)) = run.first() else {
            continue;
        };
        let (mut cx, mut cy) = (round(x0), round(y0));
        let _ = write!(d, "M{}{}", num(cx), signed(cy));
        let mut any = false;
        for &(x, y) in &run[1..] {
            let (x, y) = (round(x), round(y));
            if x == cx && y == cy {
                continue;
            }
            let (dx, dy) = (x - cx, y - cy);
            if dx == 0.0 {
                let _ = write!(d, "v{}", num(dy));
            } else if dy == 0.0 {
                let _ = write!(d, "h{}", num(dx));
            } else {
                let _ = write!(d, "l{}{}", num(dx), signed(dy));
            }
            (cx, cy, any) = (x, y, true);
        }
        if !any {
            // A lone point: a dot the round line cap makes visible.
            d.push_str("h0");
        }
    }
    d
}

fn round(v: f64) -> f64 {
    (v * 2.0).round() / 2.0
}

fn num(v: f64) -> String {
    let text = if v.fract() == 0.0 {
        format!("{}", v as i64)
    } else {
        format!("{v:.1}")
    };
    match (text.strip_prefix("0."), text.strip_prefix("-0.")) {
        (Some(rest), _) => format!(".{rest}"),
        (_, Some(rest)) => format!("-.{rest}"),
        _ => text,
    }
}

/// A number that follows another: a minus separates itself, a plus needs a space.
fn signed(v: f64) -> String {
    let text = num(v);
    if text.starts_with('-') {
        text
    } else {
        format!(" {text}")
    }
}

/// Escapes text for HTML and SVG.
pub fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_compact_and_break_at_gaps() {
        let d = path_data(&[
            vec![
                (0.0, 10.0),
                (1.0, 10.0),
                (2.0, 8.0),
                (2.0, 12.0),
                (2.2, 12.1),
            ],
            vec![(10.0, 5.0)],
        ]);
        assert_eq!(d, "M0 10h1l1-2v4M10 5h0");
        assert_eq!(
            path_data(&[vec![(10.5, 0.5), (11.0, 0.0)]]),
            "M10.5 .5l.5-.5"
        );
        let points = [(0, 1.0), (10, 2.0), (30, 3.0), (40, f64::NAN), (50, 4.0)];
        let split = runs(&points, 10);
        assert_eq!(split, vec![&points[0..2], &points[2..3], &points[4..5]]);
    }

    #[test]
    fn the_value_axis_widens_to_round_ticks() {
        let (lo, hi, ticks, step) = value_axis((0.13, 0.87), (None, None), 6);
        assert_eq!((lo, hi, step), (0.0, 1.0, 0.2));
        assert_eq!(ticks.len(), 6);
        let (lo, hi, _, _) = value_axis((5.0, 5.0), (Some(0.0), None), 6);
        assert_eq!(lo, 0.0);
        assert!(hi >= 5.0);
        let (lo, hi, _, _) = value_axis((f64::NAN, 1.0), (None, None), 6);
        assert_eq!((lo, hi), (0.0, 1.0));
    }
}
