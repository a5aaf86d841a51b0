//! `server import FILE --tenant NAME`: loads a JSON-lines file (the format of
//! shared/oracle/gen_openmetrics.py's samples.jsonl) straight into chunk rows. Every line is
//! parsed and checked first; then all samples are written in one transaction, so a bad line
//! leaves the store as it was.

use std::{
    collections::BTreeMap,
    io::{BufRead, BufReader},
    path::Path,
};

use anyhow::Context as _;
use indicatif::{ProgressBar, ProgressStyle};
use serde::Deserialize;

use crate::ingest::push::PushValue;
use store::{Labels, Metadata, SeriesSamples, Store};

#[derive(Deserialize)]
struct Line {
    labels: BTreeMap<String, String>,
    #[serde(default, rename = "type")]
    kind: Option<String>,
    samples: Vec<(i64, PushValue)>,
}

/// Python's json module writes NaN and ±Infinity as bare words, which JSON does not allow.
fn parse_line(text: &str) -> Result<Line, serde_json::Error> {
    serde_json::from_str(text).or_else(|error| {
        if text.contains("NaN") || text.contains("Infinity") {
            let quoted = text
                .replace("-Infinity", "\"-Inf\"")
                .replace("Infinity", "\"+Inf\"")
                .replace("NaN", "\"NaN\"");
            serde_json::from_str(&quoted).map_err(|_| error)
        } else {
            Err(error)
        }
    })
}

pub async fn run(store: &Store, tenant_name: &str, path: &Path) -> anyhow::Result<()> {
    let tenant: uuid::Uuid =
        sqlx::query_scalar("select id from tenant where lower(name) = lower($1)")
            .bind(tenant_name)
            .fetch_optional(store.pool())
            .await?
            .with_context(|| format!("--tenant: no tenant named {tenant_name:?}"))?;
    let file =
        std::fs::File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let size = file.metadata().map(|m| m.len()).unwrap_or(0);
    let progress = ProgressBar::new(size).with_style(
        ProgressStyle::with_template(
            "{msg:10} [{bar:40}] {bytes}/{total_bytes} {bytes_per_sec} eta {eta}",
        )
        .expect("a valid template")
        .progress_chars("=> "),
    );
    progress.set_message("reading");
    let mut series = Vec::new();
    let mut metadata = Vec::new();
    let mut reader = BufReader::new(file);
    let mut text = String::new();
    let mut number = 0usize;
    loop {
        text.clear();
        let read = reader
            .read_line(&mut text)
            .with_context(|| format!("{}: cannot read line {}", path.display(), number + 1))?;
        if read == 0 {
            break;
        }
        number += 1;
        progress.inc(read as u64);
        if text.trim().is_empty() {
            continue;
        }
        let at = || format!("{} line {number}", path.display());
        let line =
            parse_line(text.trim()).with_context(|| format!("{}: not a series object", at()))?;
        let labels = Labels::new(line.labels.iter().map(|(n, v)| (n.as_str(), v.as_str())))
            .with_context(|| format!("{}: labels", at()))?;
        let name = labels
            .metric_name()
            .with_context(|| format!("{}: labels: __name__ is required", at()))?
            .to_string();
        let mut samples = Vec::with_capacity(line.samples.len());
        for (i, (timestamp, value)) in line.samples.iter().enumerate() {
            let value = value
                .value()
                .with_context(|| format!("{}: samples[{i}]: not a number", at()))?;
            samples.push((*timestamp, value));
        }
        if let Some(kind) = line.kind {
            metadata.push(Metadata {
                metric: name,
                kind: kind.to_lowercase(),
                help: String::new(),
                unit: String::new(),
            });
        }
        series.push(SeriesSamples { labels, samples });
    }
    progress.finish_and_clear();
    let total: usize = series.iter().map(|s| s.samples.len()).sum();
    let oldest = series
        .iter()
        .flat_map(|s| s.samples.iter().map(|(t, _)| *t))
        .min();
    let retention = store.limits(tenant).await?.retention_days;
    if oldest
        .is_some_and(|t| t < chrono::Utc::now().timestamp_millis() - retention as i64 * 86_400_000)
    {
        eprintln!(
            "Note: some samples are older than the tenant's retention ({retention} days): queries will not return them and retention will remove them. Raise tenant_limits.retention_days to keep them."
        );
    }
    eprintln!(
        "Writing {} series, {total} samples into tenant {tenant_name}…",
        series.len()
    );
    let (stats, outcome) = store
        .import(tenant, series)
        .await
        .context("writing the samples")?;
    if !metadata.is_empty() {
        store
            .write_metadata(tenant, &metadata)
            .await
            .context("writing the metadata")?;
    }
    eprintln!(
        "Imported {} series, {} samples in {} chunks.",
        stats.series, stats.samples, stats.chunks
    );
    if let Some(summary) = outcome.summary() {
        eprintln!("{summary}");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pythons_nan_and_infinity_are_read() {
        let line = parse_line(r#"{"labels": {"__name__": "x"}, "samples": [[1, NaN], [2, Infinity], [3, -Infinity], [4, 1.5]]}"#).unwrap();
        let values: Vec<f64> = line
            .samples
            .iter()
            .map(|(_, v)| v.value().unwrap())
            .collect();
        assert!(values[0].is_nan());
        assert_eq!(&values[1..], &[f64::INFINITY, f64::NEG_INFINITY, 1.5]);
        assert!(parse_line("{").is_err());
    }
}
