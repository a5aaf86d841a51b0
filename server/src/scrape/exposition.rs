//! The Prometheus text format (0.0.4) and OpenMetrics 1.0 text, parsed into flat samples.
//!
//! Hand-written, as Prometheus' own `textparse` is: the crates we tried each failed on valid
//! input we must accept — prometheus-parse 0.2.5 and prom_text_format_parser 0.1 keep label
//! escapes (`\"`, `\\`, `\n`) in the values, openmetrics-parser 0.5.1 refuses a family whose
//! samples have different label names (valid Prometheus text) and the OpenMetrics spec's own
//! summary example, nom-openmetrics 0.2 fails on exemplars and on the Prometheus example.

use store::Metadata;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Prometheus,
    OpenMetrics,
}

impl Format {
    /// From the response's Content-Type; anything but OpenMetrics is read as Prometheus text,
    /// as Prometheus does.
    pub fn from_content_type(content_type: &str) -> Format {
        if content_type
            .trim_start()
            .starts_with("application/openmetrics-text")
        {
            Format::OpenMetrics
        } else {
            Format::Prometheus
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct ScrapedSample {
    pub name: String,
    pub labels: Vec<(String, String)>,
    pub value: f64,
    /// Milliseconds, when the exposition gave one.
    pub timestamp_ms: Option<i64>,
}

#[derive(Debug, Default)]
pub struct Exposition {
    pub samples: Vec<ScrapedSample>,
    pub metadata: Vec<Metadata>,
}

#[derive(Debug, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {message}")]
pub struct ParseError {
    pub line: usize,
    pub message: String,
}

pub fn parse(text: &str, format: Format) -> Result<Exposition, ParseError> {
    let mut out = Exposition::default();
    let mut seen_eof = false;
    for (i, line) in text.lines().enumerate() {
        let fail = |message: String| ParseError {
            line: i + 1,
            message,
        };
        if seen_eof {
            return Err(fail("content after # EOF".into()));
        }
        if line.trim().is_empty() {
            continue;
        }
        if let Some(comment) = line.strip_prefix('#') {
            if format == Format::OpenMetrics && comment == " EOF" {
                seen_eof = true;
                continue;
            }
            descriptor(comment, format, &mut out.metadata).map_err(fail)?;
            continue;
        }
        out.samples.push(sample(line, format).map_err(fail)?);
    }
    if format == Format::OpenMetrics && !seen_eof {
        return Err(ParseError {
            line: text.lines().count(),
            message: "OpenMetrics text must end with # EOF".into(),
        });
    }
    Ok(out)
}

/// `# HELP`, `# TYPE`, `# UNIT` lines; other comments are ignored.
fn descriptor(comment: &str, format: Format, metadata: &mut Vec<Metadata>) -> Result<(), String> {
    let mut words = comment.trim_start().splitn(3, [' ', '\t']);
    let keyword = words.next().unwrap_or_default();
    if !matches!(keyword, "HELP" | "TYPE" | "UNIT") {
        return Ok(());
    }
    let metric = words.next().unwrap_or_default();
    if !valid_metric_name(metric) {
        return Err(format!("“{metric}” is not a metric name"));
    }
    let rest = words.next().unwrap_or_default().trim_start();
    let index = match metadata.iter().position(|m| m.metric == metric) {
        Some(index) => index,
        None => {
            metadata.push(Metadata {
                metric: metric.to_string(),
                kind: "unknown".into(),
                help: String::new(),
                unit: String::new(),
            });
            metadata.len() - 1
        }
    };
    let entry = &mut metadata[index];
    match keyword {
        "HELP" => entry.help = unescape(rest, format == Format::OpenMetrics)?,
        "UNIT" => entry.unit = rest.trim().to_string(),
        _ => {
            let kind = rest.trim();
            let known = [
                "counter",
                "gauge",
                "histogram",
                "summary",
                "untyped",
                "unknown",
                "gaugehistogram",
                "stateset",
                "info",
            ];
            if !known.contains(&kind) {
                return Err(format!("unknown metric type “{kind}”"));
            }
            entry.kind = if kind == "untyped" { "unknown" } else { kind }.to_string();
        }
    }
    Ok(())
}

/// `name{label="value",…} value [timestamp] [# exemplar]`
fn sample(line: &str, format: Format) -> Result<ScrapedSample, String> {
    let name_end = line
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == ':'))
        .unwrap_or(line.len());
    let name = &line[..name_end];
    if !valid_metric_name(name) {
        return Err(format!("expected a metric name at “{}”", head(line)));
    }
    let mut rest = &line[name_end..];
    let mut labels = Vec::new();
    if let Some(after) = rest.strip_prefix('{') {
        rest = label_set(after, &mut labels)?;
    }
    let trimmed = rest.trim_start_matches([' ', '\t']);
    if trimmed.len() == rest.len() && !rest.is_empty() {
        return Err(format!(
            "expected a space after “{}”",
            head(&line[..line.len() - rest.len()])
        ));
    }
    let rest = trimmed;
    // An exemplar (OpenMetrics) follows " # "; Meridian does not store exemplars.
    let rest = match format {
        Format::OpenMetrics => rest.split(" # ").next().unwrap_or(rest),
        Format::Prometheus => rest,
    };
    let mut fields = rest.split_ascii_whitespace();
    let value_text = fields.next().ok_or("expected a value")?;
    let value = parse_float(value_text).ok_or_else(|| format!("“{value_text}” is not a number"))?;
    let timestamp_ms = match fields.next() {
        None => None,
        Some(text) => Some(match format {
            Format::Prometheus => text
                .parse::<i64>()
                .map_err(|_| format!("“{text}” is not a timestamp in milliseconds"))?,
            Format::OpenMetrics => {
                let seconds = parse_float(text)
                    .filter(|s| s.is_finite())
                    .ok_or_else(|| format!("“{text}” is not a timestamp in seconds"))?;
                (seconds * 1000.0).round() as i64
            }
        }),
    };
    if let Some(extra) = fields.next() {
        return Err(format!("unexpected “{extra}” after the value"));
    }
    Ok(ScrapedSample {
        name: name.to_string(),
        labels,
        value,
        timestamp_ms,
    })
}

/// Reads `label="value",…}` and answers what follows the closing brace.
fn label_set<'a>(mut rest: &'a str, labels: &mut Vec<(String, String)>) -> Result<&'a str, String> {
    loop {
        rest = rest.trim_start_matches([' ', '\t']);
        if let Some(after) = rest.strip_prefix('}') {
            return Ok(after);
        }
        let name_end = rest
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(rest.len());
        let name = &rest[..name_end];
        if name.is_empty() || name.starts_with(|c: char| c.is_ascii_digit()) {
            return Err(format!("expected a label name at “{}”", head(rest)));
        }
        rest = rest[name_end..].trim_start_matches([' ', '\t']);
        rest = rest
            .strip_prefix('=')
            .ok_or_else(|| format!("expected = after label “{name}”"))?
            .trim_start_matches([' ', '\t']);
        rest = rest
            .strip_prefix('"')
            .ok_or_else(|| format!("expected a quoted value for label “{name}”"))?;
        let close = closing_quote(rest)
            .ok_or_else(|| format!("the value of label “{name}” has no closing quote"))?;
        let value = unescape(&rest[..close], true)?;
        if labels.iter().any(|(n, _)| n == name) {
            return Err(format!("label “{name}” appears twice"));
        }
        labels.push((name.to_string(), value));
        rest = rest[close + 1..].trim_start_matches([' ', '\t']);
        if let Some(after) = rest.strip_prefix(',') {
            rest = after;
        } else if !rest.starts_with('}') {
            return Err(format!("expected , or }} after label “{name}”"));
        }
    }
}

/// The index of the first `"` not escaped by a backslash.
fn closing_quote(text: &str) -> Option<usize> {
    let mut escaped = false;
    for (i, c) in text.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' => escaped = true,
            '"' => return Some(i),
            _ => {}
        }
    }
    None
}

/// Resolves `\\`, `\n` and (in label values and OpenMetrics help) `\"`. Other escapes are kept
/// as written, as Prometheus does.
fn unescape(text: &str, quotes: bool) -> Result<String, String> {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('\\') => out.push('\\'),
            Some('n') => out.push('\n'),
            Some('"') if quotes => out.push('"'),
            Some(other) => {
                out.push('\\');
                out.push(other);
            }
            None => out.push('\\'),
        }
    }
    Ok(out)
}

/// Go's ParseFloat as the formats use it: decimal and exponent forms, NaN, ±Inf.
fn parse_float(text: &str) -> Option<f64> {
    match text {
        "NaN" | "nan" => Some(f64::NAN),
        "+Inf" | "Inf" | "+inf" | "inf" => Some(f64::INFINITY),
        "-Inf" | "-inf" => Some(f64::NEG_INFINITY),
        _ if text
            .chars()
            .all(|c| c.is_ascii_digit() || "+-.eE_".contains(c)) =>
        {
            text.replace('_', "").parse().ok()
        }
        _ => None,
    }
}

fn valid_metric_name(name: &str) -> bool {
    !name.is_empty()
        && !name.starts_with(|c: char| c.is_ascii_digit())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
}

fn head(text: &str) -> String {
    text.chars().take(24).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(line: &str) -> ScrapedSample {
        parse(line, Format::Prometheus).unwrap().samples.remove(0)
    }

    #[test]
    fn the_prometheus_format_example() {
        // From the exposition format documentation.
        let text = r#"# HELP http_requests_total The total number of HTTP requests.
# TYPE http_requests_total counter
http_requests_total{method="post",code="200"} 1027 1395066363000
http_requests_total{method="post",code="400"}    3 1395066363000

# Escaping in label values:
msdos_file_access_time_seconds{path="C:\\DIR\\FILE.TXT",error="Cannot find file:\n\"FILE.TXT\""} 1.458255915e9

# Minimalistic line:
metric_without_timestamp_and_labels 12.47

# A weird metric from before the epoch:
something_weird{problem="division by zero"} +Inf -3982045

# A histogram, which has a pretty complex representation in the text format:
# HELP http_request_duration_seconds A histogram of the request duration.
# TYPE http_request_duration_seconds histogram
http_request_duration_seconds_bucket{le="0.05"} 24054
http_request_duration_seconds_bucket{le="+Inf"} 144320
http_request_duration_seconds_sum 53423
http_request_duration_seconds_count 144320
mixed{a="1"} 1
mixed{b="2",} 2
"#;
        let parsed = parse(text, Format::Prometheus).unwrap();
        assert_eq!(parsed.samples.len(), 11);
        assert_eq!(
            parsed.samples[0],
            ScrapedSample {
                name: "http_requests_total".into(),
                labels: vec![
                    ("method".into(), "post".into()),
                    ("code".into(), "200".into())
                ],
                value: 1027.0,
                timestamp_ms: Some(1395066363000),
            }
        );
        assert_eq!(
            parsed.samples[2].labels,
            vec![
                ("path".into(), r"C:\DIR\FILE.TXT".into()),
                ("error".into(), "Cannot find file:\n\"FILE.TXT\"".into())
            ]
        );
        assert_eq!(parsed.samples[4].value, f64::INFINITY);
        assert_eq!(parsed.samples[4].timestamp_ms, Some(-3982045));
        assert_eq!(parsed.samples[10].labels, vec![("b".into(), "2".into())]);
        let meta = &parsed.metadata;
        assert_eq!(
            (
                meta[0].metric.as_str(),
                meta[0].kind.as_str(),
                meta[0].help.as_str()
            ),
            (
                "http_requests_total",
                "counter",
                "The total number of HTTP requests."
            )
        );
        assert_eq!(meta[1].kind, "histogram");
    }

    #[test]
    fn openmetrics_with_units_exemplars_and_eof() {
        let text = r#"# TYPE acme_http_router_request_seconds summary
# UNIT acme_http_router_request_seconds seconds
# HELP acme_http_router_request_seconds Latency though all of ACME's HTTP request router.
acme_http_router_request_seconds_sum{path="/api/v1",method="GET"} 9036.32
acme_http_router_request_seconds_count{path="/api/v1",method="GET"} 807283.0
# TYPE foo counter
foo_total 17.0 1520879607.789 # {id="counter-test"} 5
# EOF
"#;
        let parsed = parse(text, Format::OpenMetrics).unwrap();
        assert_eq!(parsed.samples.len(), 3);
        assert_eq!(parsed.samples[2].value, 17.0);
        assert_eq!(parsed.samples[2].timestamp_ms, Some(1520879607789));
        assert_eq!(parsed.metadata[0].unit, "seconds");
        assert_eq!(
            parse("a 1\n", Format::OpenMetrics).unwrap_err().message,
            "OpenMetrics text must end with # EOF"
        );
        assert_eq!(
            parse("# EOF\na 1\n", Format::OpenMetrics).unwrap_err(),
            ParseError {
                line: 2,
                message: "content after # EOF".into()
            }
        );
    }

    #[test]
    fn special_values() {
        assert!(one("a NaN").value.is_nan());
        assert_eq!(one("a -Inf").value, f64::NEG_INFINITY);
        assert_eq!(one("a 1e-3").value, 0.001);
        assert_eq!(one("a\t2").value, 2.0);
    }

    #[test]
    fn errors_name_the_line_and_what_is_wrong() {
        let cases = [
            (
                "ok 1\nbad{a=\"1\" 2",
                "line 2: expected , or } after label “a”",
            ),
            (
                "a{a=\"1} 2",
                "line 1: the value of label “a” has no closing quote",
            ),
            ("a{a=\"1\",a=\"2\"} 2", "line 1: label “a” appears twice"),
            (
                "a{1a=\"1\"} 2",
                "line 1: expected a label name at “1a=\"1\"} 2”",
            ),
            ("a one", "line 1: “one” is not a number"),
            (
                "a 1 12.5",
                "line 1: “12.5” is not a timestamp in milliseconds",
            ),
            ("a 1 2 3", "line 1: unexpected “3” after the value"),
            ("a-1 2", "line 1: expected a space after “a”"),
            ("a", "line 1: expected a value"),
            ("9a 1", "line 1: expected a metric name at “9a 1”"),
            ("# TYPE a flux", "line 1: unknown metric type “flux”"),
        ];
        for (text, message) in cases {
            assert_eq!(
                parse(text, Format::Prometheus).unwrap_err().to_string(),
                message
            );
        }
    }

    #[test]
    fn content_type_picks_the_format() {
        assert_eq!(
            Format::from_content_type("application/openmetrics-text; version=1.0.0; charset=utf-8"),
            Format::OpenMetrics
        );
        assert_eq!(
            Format::from_content_type("text/plain; version=0.0.4"),
            Format::Prometheus
        );
        assert_eq!(Format::from_content_type(""), Format::Prometheus);
    }
}
