//! Prometheus remote_write 1.0: a snappy-compressed (block format) protobuf `WriteRequest`.
//! The messages are declared here with prost's derive (the subset of prometheus/prompb we
//! read), so no .proto compilation is needed.

use axum::{
    body::Bytes,
    extract::State,
    http::{header, HeaderMap, StatusCode},
};
use prost::Message;

use super::{labels_of, store_samples, IngestError, MAX_BODY_BYTES};
use crate::api::{ApiError, ApiScope};
use app::ssr::AppState;
use store::{Metadata, Reason, SeriesSamples, WriteOutcome};

#[derive(Clone, PartialEq, Message)]
pub struct WriteRequest {
    #[prost(message, repeated, tag = "1")]
    pub timeseries: Vec<TimeSeries>,
    #[prost(message, repeated, tag = "3")]
    pub metadata: Vec<MetricMetadata>,
}

#[derive(Clone, PartialEq, Message)]
pub struct TimeSeries {
    #[prost(message, repeated, tag = "1")]
    pub labels: Vec<Label>,
    #[prost(message, repeated, tag = "2")]
    pub samples: Vec<Sample>,
    /// Exemplars (tag 3) are not stored; native histograms (tag 4) are counted and refused.
    #[prost(message, repeated, tag = "4")]
    pub histograms: Vec<Histogram>,
}

#[derive(Clone, PartialEq, Message)]
pub struct Label {
    #[prost(string, tag = "1")]
    pub name: String,
    #[prost(string, tag = "2")]
    pub value: String,
}

#[derive(Clone, PartialEq, Message)]
pub struct Sample {
    #[prost(double, tag = "1")]
    pub value: f64,
    #[prost(int64, tag = "2")]
    pub timestamp: i64,
}

/// Only counted: Meridian stores float samples.
#[derive(Clone, PartialEq, Message)]
pub struct Histogram {}

#[derive(Clone, PartialEq, Message)]
pub struct MetricMetadata {
    #[prost(int32, tag = "1")]
    pub r#type: i32,
    #[prost(string, tag = "2")]
    pub metric_family_name: String,
    #[prost(string, tag = "4")]
    pub help: String,
    #[prost(string, tag = "5")]
    pub unit: String,
}

/// prompb's MetricMetadata.MetricType, by number.
fn metric_type(number: i32) -> &'static str {
    match number {
        1 => "counter",
        2 => "gauge",
        3 => "histogram",
        4 => "gaugehistogram",
        5 => "summary",
        6 => "info",
        7 => "stateset",
        _ => "unknown",
    }
}

pub async fn receive(
    State(state): State<AppState>,
    ApiScope(scope): ApiScope,
    headers: HeaderMap,
    body: Bytes,
) -> Result<StatusCode, axum::response::Response> {
    use axum::response::IntoResponse;
    let tenant = scope
        .require_ingest()
        .map_err(|e| ApiError(e).into_response())?;
    let request = decode(&headers, &body).map_err(IntoResponse::into_response)?;
    let (series, metadata, refused) = convert(request);
    if !metadata.is_empty() {
        state
            .store
            .write_metadata(tenant, &metadata)
            .await
            .map_err(|e| IngestError::Unavailable(e.to_string()).into_response())?;
    }
    store_samples(&state, tenant, series, refused)
        .await
        .map_err(IntoResponse::into_response)
}

/// Checks the headers, then decompresses and decodes the body.
pub fn decode(headers: &HeaderMap, body: &[u8]) -> Result<WriteRequest, IngestError> {
    let header = |name| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    };
    let encoding = header(header::CONTENT_ENCODING);
    if !encoding.eq_ignore_ascii_case("snappy") {
        return Err(IngestError::Unsupported(format!(
            "Content-Encoding must be snappy, got {encoding:?}"
        )));
    }
    let content_type = header(header::CONTENT_TYPE);
    let media = content_type.split(';').next().unwrap_or("").trim();
    let proto = content_type
        .split(';')
        .skip(1)
        .filter_map(|p| p.trim().strip_prefix("proto="))
        .next();
    if !media.eq_ignore_ascii_case("application/x-protobuf")
        || proto.is_some_and(|p| p != "prometheus.WriteRequest")
    {
        return Err(IngestError::Unsupported(format!(
            "Content-Type must be application/x-protobuf (remote write 1.0, prometheus.WriteRequest), got {content_type:?}"
        )));
    }
    let length = snap::raw::decompress_len(body)
        .map_err(|e| IngestError::Invalid(format!("body is not snappy block format: {e}")))?;
    if length > MAX_BODY_BYTES {
        return Err(IngestError::Invalid(format!(
            "decompressed body of {length} bytes is larger than the limit of {MAX_BODY_BYTES}"
        )));
    }
    let raw = snap::raw::Decoder::new()
        .decompress_vec(body)
        .map_err(|e| IngestError::Invalid(format!("body is not snappy block format: {e}")))?;
    WriteRequest::decode(raw.as_slice())
        .map_err(|e| IngestError::Invalid(format!("body is not a protobuf WriteRequest: {e}")))
}

/// The request's float samples by series and its metadata; series with invalid labels and
/// native histograms go into the returned outcome as refused.
pub fn convert(request: WriteRequest) -> (Vec<SeriesSamples>, Vec<Metadata>, WriteOutcome) {
    let mut refused = WriteOutcome::default();
    let mut series = Vec::with_capacity(request.timeseries.len());
    for (i, ts) in request.timeseries.into_iter().enumerate() {
        if !ts.histograms.is_empty() {
            refused.discard(Reason::NativeHistogram, ts.histograms.len(), || {
                format!(
                    "timeseries[{i}]: native histograms are not supported; send classic histograms"
                )
            });
        }
        if ts.samples.is_empty() {
            continue;
        }
        let pairs = ts
            .labels
            .iter()
            .map(|l| (l.name.as_str(), l.value.as_str()));
        let Some(labels) = labels_of(
            || format!("timeseries[{i}]"),
            pairs,
            ts.samples.len(),
            &mut refused,
        ) else {
            continue;
        };
        series.push(SeriesSamples {
            labels,
            samples: ts.samples.iter().map(|s| (s.timestamp, s.value)).collect(),
        });
    }
    let metadata = request
        .metadata
        .into_iter()
        .filter(|m| !m.metric_family_name.is_empty())
        .map(|m| Metadata {
            kind: metric_type(m.r#type).to_string(),
            metric: m.metric_family_name,
            help: m.help,
            unit: m.unit,
        })
        .collect();
    (series, metadata, refused)
}

/// Encodes a request as a client does: protobuf, then snappy (for tests and the benchmark).
pub fn encode(request: &WriteRequest) -> Vec<u8> {
    snap::raw::Encoder::new()
        .compress_vec(&request.encode_to_vec())
        .expect("snappy compresses any input")
}
