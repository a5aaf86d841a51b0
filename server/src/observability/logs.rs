//! Log lines as JSON (or text for a terminal), with the fields of every open span — so the
//! request's correlation id is on each line — and secrets redacted by field name.

use std::{fmt::Write as _, io::Write};

use serde_json::{Map, Value};
use tracing::{
    field::{Field, Visit},
    span, Event, Subscriber,
};
use tracing_subscriber::{fmt::MakeWriter, layer::Context, registry::LookupSpan, Layer};

use crate::settings::LogFormat;

/// Field names that carry credentials: any field whose name contains one of these is redacted.
const SECRET_FIELD_PARTS: [&str; 8] = [
    "password",
    "passwd",
    "token",
    "secret",
    "key",
    "authorization",
    "cookie",
    "session",
];
pub const REDACTED: &str = "[REDACTED]";

pub fn is_secret_field(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    SECRET_FIELD_PARTS.iter().any(|part| name.contains(part))
}

/// Hides the password of any `scheme://user:password@host` inside a logged string.
pub fn redact_url_credentials(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(scheme_end) = rest.find("://") {
        let (head, tail) = rest.split_at(scheme_end + 3);
        out.push_str(head);
        let authority_end = tail
            .find(|c: char| c == '/' || c.is_whitespace())
            .unwrap_or(tail.len());
        let authority = &tail[..authority_end];
        match (authority.rfind('@'), authority.find(':')) {
            (Some(at), Some(colon)) if colon < at => {
                out.push_str(&authority[..colon + 1]);
                out.push_str(REDACTED);
                out.push_str(&authority[at..]);
            }
            _ => out.push_str(authority),
        }
        rest = &tail[authority_end..];
    }
    out.push_str(rest);
    out
}

#[derive(Default)]
struct Fields(Map<String, Value>);

impl Fields {
    fn insert(&mut self, field: &Field, value: Value) {
        let value = match value {
            _ if is_secret_field(field.name()) => Value::String(REDACTED.to_string()),
            Value::String(text) => Value::String(redact_url_credentials(&text)),
            other => other,
        };
        self.0.insert(field.name().to_string(), value);
    }
}

impl Visit for Fields {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.insert(field, Value::String(format!("{value:?}")));
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        self.insert(field, Value::String(value.to_string()));
    }
    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        self.insert(field, Value::String(error_chain(value)));
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.insert(field, value.into());
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.insert(field, value.into());
    }
    fn record_f64(&mut self, field: &Field, value: f64) {
        self.insert(field, value.into());
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        self.insert(field, value.into());
    }
}

fn error_chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let _ = write!(text, ": {cause}");
        source = cause.source();
    }
    text
}

pub struct LogLayer<W> {
    format: LogFormat,
    make_writer: W,
}

impl<W> LogLayer<W> {
    pub fn new(format: LogFormat, make_writer: W) -> Self {
        LogLayer {
            format,
            make_writer,
        }
    }
}

impl<S, W> Layer<S> for LogLayer<W>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    W: for<'a> MakeWriter<'a> + 'static,
{
    fn on_new_span(&self, attrs: &span::Attributes<'_>, id: &span::Id, ctx: Context<'_, S>) {
        let mut fields = Fields::default();
        attrs.record(&mut fields);
        if let Some(span) = ctx.span(id) {
            span.extensions_mut().insert(fields);
        }
    }

    fn on_record(&self, id: &span::Id, values: &span::Record<'_>, ctx: Context<'_, S>) {
        if let Some(span) = ctx.span(id) {
            if let Some(fields) = span.extensions_mut().get_mut::<Fields>() {
                values.record(fields);
            }
        }
    }

    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        // Outer spans first, so the innermost value of a repeated field wins.
        let mut context = Map::new();
        let mut span_names = Vec::new();
        if let Some(scope) = ctx.event_scope(event) {
            for span in scope.from_root() {
                span_names.push(span.name());
                if let Some(fields) = span.extensions().get::<Fields>() {
                    context.extend(fields.0.clone());
                }
            }
        }
        let mut fields = Fields::default();
        event.record(&mut fields);
        let message = fields
            .0
            .remove("message")
            .unwrap_or(Value::String(String::new()));
        let metadata = event.metadata();
        let timestamp = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, true);

        let mut line = match self.format {
            LogFormat::Json => {
                let mut object = Map::new();
                object.insert("timestamp".into(), timestamp.into());
                object.insert("level".into(), metadata.level().as_str().into());
                object.insert("target".into(), metadata.target().into());
                object.insert("message".into(), message);
                object.extend(context);
                object.extend(fields.0);
                if !span_names.is_empty() {
                    object.insert("spans".into(), span_names.join(":").into());
                }
                Value::Object(object).to_string()
            }
            LogFormat::Text => {
                let message = match message {
                    Value::String(text) => text,
                    other => other.to_string(),
                };
                let mut text = format!(
                    "{timestamp} {:>5} {}: {message}",
                    metadata.level(),
                    metadata.target()
                );
                for (name, value) in fields.0.iter().chain(context.iter()) {
                    match value {
                        Value::String(s) => write!(text, " {name}={s}"),
                        other => write!(text, " {name}={other}"),
                    }
                    .expect("writing to a String cannot fail");
                }
                text
            }
        };
        line.push('\n');
        // One write per line, so concurrent requests never interleave within a line.
        let _ = self
            .make_writer
            .make_writer_for(metadata)
            .write_all(line.as_bytes());
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use tracing_subscriber::layer::SubscriberExt;

    use super::*;

    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl Write for Captured {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    fn capture(format: LogFormat, emit: impl FnOnce()) -> String {
        let captured = Captured::default();
        let writer = captured.clone();
        let subscriber =
            tracing_subscriber::registry().with(LogLayer::new(format, move || writer.clone()));
        tracing::subscriber::with_default(subscriber, emit);
        let bytes = captured.0.lock().unwrap().clone();
        String::from_utf8(bytes).unwrap()
    }

    #[test]
    fn json_lines_carry_span_fields_and_hide_secrets() {
        let output = capture(LogFormat::Json, || {
            let span =
                tracing::info_span!("request", correlation_id = "abc-123", session_id = "s3cr3t");
            let _entered = span.enter();
            tracing::info!(
                password = "hunter2",
                api_token = "mrd_xyz",
                authorization = "Bearer abc",
                Cookie = "id=1",
                secret_key = "k",
                url = "postgres://meridian:pa55@db:5432/meridian",
                rows = 3,
                "Loaded things."
            );
        });
        let line: Value = serde_json::from_str(output.trim()).unwrap();
        assert_eq!(line["message"], "Loaded things.");
        assert_eq!(line["level"], "INFO");
        assert_eq!(line["correlation_id"], "abc-123");
        assert_eq!(line["rows"], 3);
        for field in [
            "password",
            "api_token",
            "authorization",
            "Cookie",
            "secret_key",
            "session_id",
        ] {
            assert_eq!(line[field], REDACTED, "{field} in {output}");
        }
        assert_eq!(
            line["url"],
            "postgres://meridian:[REDACTED]@db:5432/meridian"
        );
        for secret in ["hunter2", "mrd_xyz", "Bearer", "s3cr3t", "pa55"] {
            assert!(!output.contains(secret), "{secret} leaked: {output}");
        }
    }

    #[test]
    fn text_lines_are_redacted_too() {
        let output = capture(LogFormat::Text, || {
            tracing::warn!(token = "t0ps3cret", user = "ada", "Login failed.");
        });
        assert!(output.contains("WARN"), "{output}");
        assert!(output.contains("Login failed."), "{output}");
        assert!(
            output.contains(" user=ada") && output.contains(" token=[REDACTED]"),
            "{output}"
        );
        assert!(!output.contains("t0ps3cret"));
    }

    #[test]
    fn url_credentials_are_hidden_but_the_rest_is_kept() {
        assert_eq!(redact_url_credentials("no url here"), "no url here");
        assert_eq!(
            redact_url_credentials("http://host:80/a@b"),
            "http://host:80/a@b"
        );
        assert_eq!(
            redact_url_credentials("http://user@host/"),
            "http://user@host/"
        );
        assert_eq!(
            redact_url_credentials("a postgres://u:p@h/db and https://x:y@z end"),
            "a postgres://u:[REDACTED]@h/db and https://x:[REDACTED]@z end"
        );
    }
}
