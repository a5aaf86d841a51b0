//! M4 downsampling (Jugel et al., VLDB 2014), as uPlot and Grafana use it: a line drawn through
//! each pixel column's first, minimum, maximum and last point rasterises exactly like the line
//! through all of them, so a panel never needs more than 4 × its width points a series.

/// Reduces `points` (sorted by time, finite values) over `from..=to` drawn `width` pixels wide to
/// at most four points per pixel column: the column's first, minimum, maximum and last, in time
/// order and without repeats. Points outside the span keep their own columns at the edges.
pub fn m4(points: &[(i64, f64)], from: i64, to: i64, width: u32) -> Vec<(i64, f64)> {
    let width = width.max(1) as i64;
    if points.len() <= 4 * width as usize || to <= from {
        return points.to_vec();
    }
    let span = (to - from) as i128;
    let column = |t: i64| -> i64 {
        let offset = (t as i128 - from as i128) * width as i128 / span;
        offset.clamp(-1, width as i128) as i64
    };
    let mut out = Vec::with_capacity(4 * width as usize + 8);
    let mut start = 0;
    while start < points.len() {
        let col = column(points[start].0);
        let mut end = start + 1;
        while end < points.len() && column(points[end].0) == col {
            end += 1;
        }
        push_column(&points[start..end], &mut out);
        start = end;
    }
    out
}

/// The first, min, max and last points of one column, in time order, each once.
fn push_column(column: &[(i64, f64)], out: &mut Vec<(i64, f64)>) {
    let (mut min, mut max) = (0, 0);
    for (i, p) in column.iter().enumerate() {
        if p.1 < column[min].1 {
            min = i;
        }
        if p.1 > column[max].1 {
            max = i;
        }
    }
    let mut picked = [0, min, max, column.len() - 1];
    picked.sort_unstable();
    let mut last = None;
    for i in picked {
        if last != Some(i) {
            out.push(column[i]);
            last = Some(i);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn noisy(n: i64) -> Vec<(i64, f64)> {
        (0..n)
            .map(|i| (i, ((i * 7919) % 1009) as f64 - 500.0))
            .collect()
    }

    #[test]
    fn each_column_keeps_its_first_min_max_and_last() {
        let points = noisy(100_000);
        let width = 500;
        let reduced = m4(&points, 0, 100_000, width);
        assert!(reduced.len() <= 4 * width as usize, "{}", reduced.len());
        assert!(reduced.windows(2).all(|w| w[0].0 < w[1].0), "time order");
        for col in 0..width as i64 {
            let in_col = |p: &&(i64, f64)| p.0 * width as i64 / 100_000 == col;
            let all: Vec<_> = points.iter().filter(in_col).collect();
            let kept: Vec<_> = reduced.iter().filter(in_col).collect();
            let lo = all.iter().map(|p| p.1).fold(f64::INFINITY, f64::min);
            let hi = all.iter().map(|p| p.1).fold(f64::NEG_INFINITY, f64::max);
            assert!(
                kept.iter().any(|p| p.1 == lo) && kept.iter().any(|p| p.1 == hi),
                "column {col}"
            );
            assert_eq!(kept.first(), all.first(), "column {col} first");
            assert_eq!(kept.last(), all.last(), "column {col} last");
        }
    }

    #[test]
    fn few_points_stay_as_they_are() {
        let points = noisy(40);
        assert_eq!(m4(&points, 0, 40, 10), points);
        assert_eq!(m4(&points, 0, 0, 1), points);
    }

    #[test]
    fn points_beyond_the_span_fold_into_the_edge_columns() {
        let points: Vec<_> = (-1000..2000).map(|i| (i, (i % 17) as f64)).collect();
        let reduced = m4(&points, 0, 1000, 10);
        assert!(reduced.len() <= 4 * 12, "{}", reduced.len());
        assert_eq!(reduced.first(), points.first());
        assert_eq!(reduced.last(), points.last());
    }
}
