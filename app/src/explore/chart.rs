//! A range answer drawn as an SVG line chart on the server (plotters), so the page shows it
//! before any script runs. The legend is HTML beside it (the labels stay selectable text).

use plotters::prelude::*;
use promql::Series;

/// Series drawn at most; the page says how many there were.
pub const MAX_SERIES: usize = 50;
const SIZE: (u32, u32) = (960, 360);

/// Tableau 10: distinguishable, and readable on light and dark backgrounds.
const PALETTE: [(u8, u8, u8); 10] = [
    (78, 121, 167),
    (242, 142, 43),
    (225, 87, 89),
    (118, 183, 178),
    (89, 161, 79),
    (237, 201, 72),
    (176, 122, 161),
    (255, 157, 167),
    (156, 117, 95),
    (186, 176, 172),
];

/// The CSS colour of the `i`th series, as the chart draws it.
pub fn color(i: usize) -> String {
    let (r, g, b) = PALETTE[i % PALETTE.len()];
    format!("#{r:02x}{g:02x}{b:02x}")
}

/// Runs of consecutive points: a series that has no point at a step is not drawn across it,
/// and neither is a non-finite value.
fn runs(points: &[(i64, f64)], step: i64) -> Vec<&[(i64, f64)]> {
    let mut out = Vec::new();
    let mut begin = 0;
    for i in 0..=points.len() {
        let breaks = i == points.len()
            || !points[i].1.is_finite()
            || (i > begin && points[i].0 - points[i - 1].0 > step);
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

/// The value axis: the finite values' bounds, widened when flat so the line is not on an edge.
fn value_bounds(series: &[Series]) -> (f64, f64) {
    let finite = series
        .iter()
        .flat_map(|s| s.points.iter().map(|p| p.1))
        .filter(|v| v.is_finite());
    let (lo, hi) = finite.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
        (lo.min(v), hi.max(v))
    });
    if lo > hi {
        return (0.0, 1.0);
    }
    if lo == hi {
        let pad = if lo == 0.0 { 1.0 } else { lo.abs() * 0.1 };
        return (lo - pad, hi + pad);
    }
    let pad = (hi - lo) * 0.05;
    (
        if lo >= 0.0 {
            (lo - pad).max(0.0)
        } else {
            lo - pad
        },
        hi + pad,
    )
}

/// Axis numbers short enough for the margin: 1.5k, 2M, 0.25.
fn short_number(v: f64) -> String {
    let a = v.abs();
    let (scaled, suffix) = match a {
        a if a >= 1e12 => (v / 1e12, "T"),
        a if a >= 1e9 => (v / 1e9, "G"),
        a if a >= 1e6 => (v / 1e6, "M"),
        a if a >= 1e3 => (v / 1e3, "k"),
        _ => (v, ""),
    };
    let text = format!("{scaled:.3}");
    let text = text.trim_end_matches('0').trim_end_matches('.');
    format!("{}{suffix}", if text == "-0" { "0" } else { text })
}

fn time_label(ms: i64, span_ms: i64) -> String {
    let format = if span_ms > 86_400_000 {
        "%m-%d %H:%M"
    } else {
        "%H:%M:%S"
    };
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| t.format(format).to_string())
        .unwrap_or_default()
}

/// The chart of `series` over `(start, end, step)`, as an SVG document.
pub fn render(series: &[Series], (start, end, step): (i64, i64, i64)) -> String {
    let mut svg = String::new();
    let drawn =
        draw(&mut svg, series, (start, end.max(start + 1), step)).map_err(|e| e.to_string());
    if let Err(error) = drawn {
        // Drawing into a string cannot fail for lack of space or files; say so if it does.
        tracing::error!(error = %error, "The Explore chart could not be drawn.");
        return String::new();
    }
    svg
}

fn draw<'a>(
    svg: &'a mut String,
    series: &[Series],
    (start, end, step): (i64, i64, i64),
) -> Result<(), Box<dyn std::error::Error + 'a>> {
    let root = SVGBackend::with_string(svg, SIZE).into_drawing_area();
    let (lo, hi) = value_bounds(series);
    let mut chart = ChartBuilder::on(&root)
        .margin(12)
        .x_label_area_size(28)
        .y_label_area_size(56)
        .build_cartesian_2d(start..end, lo..hi)?;
    let axis = RGBColor(128, 128, 128);
    chart
        .configure_mesh()
        .x_labels(8)
        .y_labels(6)
        .x_label_formatter(&|ms| time_label(*ms, end - start))
        .y_label_formatter(&|v| short_number(*v))
        .axis_style(axis)
        .bold_line_style(axis.mix(0.25))
        .light_line_style(axis.mix(0.08))
        .label_style(("sans-serif", 12).into_font().color(&axis))
        .draw()?;
    for (i, s) in series.iter().enumerate() {
        let (r, g, b) = PALETTE[i % PALETTE.len()];
        let style = RGBColor(r, g, b).stroke_width(2);
        for run in runs(&s.points, step) {
            if let [only] = run {
                chart.draw_series(std::iter::once(Circle::new(*only, 2, style.filled())))?;
            } else {
                chart.draw_series(LineSeries::new(run.iter().copied(), style))?;
            }
        }
    }
    root.present()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use promql::Labels;

    #[test]
    fn gaps_and_non_finite_values_break_the_line() {
        let points = [(0, 1.0), (10, 2.0), (30, 3.0), (40, f64::NAN), (50, 4.0)];
        let runs = runs(&points, 10);
        assert_eq!(runs, vec![&points[0..2], &points[2..3], &points[4..5]]);
    }

    #[test]
    fn the_chart_is_an_svg_with_a_path_per_run() {
        let series = vec![Series {
            labels: Labels::new(vec![("__name__".into(), "up".into())]),
            points: vec![(0, 1.0), (60_000, 0.0), (120_000, 1.0), (240_000, 1.0)],
        }];
        let svg = render(&series, (0, 240_000, 60_000));
        assert!(svg.starts_with("<svg"), "{svg}");
        let svg = svg.to_lowercase();
        let series_color = color(0);
        let drawn = |element: &str| {
            svg.split('<')
                .filter(|e| e.starts_with(element) && e.contains(&series_color))
                .count()
        };
        assert_eq!(drawn("polyline"), 1, "one line…");
        assert_eq!(drawn("circle"), 1, "…and one lone point");
        // plotters writes each label's text on a line of its own.
        assert!(svg.contains("\n00:00:00\n"), "time labels as hh:mm:ss");
    }

    #[test]
    fn axis_numbers_are_short() {
        assert_eq!(short_number(1500.0), "1.5k");
        assert_eq!(short_number(0.25), "0.25");
        assert_eq!(short_number(-2_000_000.0), "-2M");
        assert_eq!(short_number(0.0), "0");
    }
}
