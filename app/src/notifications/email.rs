//! E-mail delivery, as Alertmanager's `email_configs` sends it: one multipart message (text and
//! HTML) per notification over SMTP to the smarthost, with implicit TLS on port 465, STARTTLS
//! when `require_tls`, and PLAIN or LOGIN authentication when a username is set. The outbox id
//! goes in the `Message-ID`, so a duplicate after a crash can be recognised as one.

use std::str::FromStr;

use lettre::{
    message::{
        header::{ContentType, HeaderName, HeaderValue},
        Mailbox, Mailboxes, MultiPart, SinglePart,
    },
    transport::smtp::{
        authentication::{Credentials, Mechanism},
        client::{Tls, TlsParameters},
        extension::ClientId,
    },
    AsyncSmtpTransport, AsyncTransport, Tokio1Executor,
};
use notify::{
    bodies::{self, Links},
    config::Integration,
    template::Texts,
    webhook::Message,
};

use super::delivery::TIMEOUT;

/// The port of SMTP over implicit TLS ("submissions"), where Alertmanager starts with TLS.
const IMPLICIT_TLS_PORT: u16 = 465;

/// Headers the message itself sets: a configured one of these would contradict the envelope or
/// break the MIME structure.
const OWN_HEADERS: [&str; 7] = [
    "from",
    "to",
    "message-id",
    "date",
    "mime-version",
    "content-type",
    "content-transfer-encoding",
];

/// Sends `message` to the integration's addresses. The error says what went wrong (never the
/// password) and whether another attempt may succeed.
pub async fn send(
    target: &Integration,
    message: &Message,
    links: &Links,
    texts: &Texts,
    idempotency_key: &str,
) -> Result<(), (String, bool)> {
    let Integration::Email {
        to, from, hello, smarthost, auth_username, auth_password, require_tls, headers, ..
    } = target
    else {
        return Err((format!("not an e-mail integration: {}", target.kind()), false));
    };
    // A configuration that cannot become a message will not become one on a later attempt.
    let email = build(to, from, headers, message, links, texts, idempotency_key).map_err(|error| (error, false))?;
    let transport = transport(smarthost, hello, auth_username, auth_password, *require_tls)
        .map_err(|error| (error, false))?;
    // lettre's timeout bounds each step; this bounds the whole conversation, as the lease
    // assumes.
    match tokio::time::timeout(TIMEOUT, transport.send(email)).await {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(error)) => Err(describe(&error, smarthost)),
        Err(_) => Err((format!("timed out after {} s", TIMEOUT.as_secs()), true)),
    }
}

/// The multipart/alternative message: plain text first, so clients that can show HTML prefer
/// the last part, as RFC 2046 orders them.
fn build(
    to: &str,
    from: &str,
    headers: &std::collections::BTreeMap<String, String>,
    message: &Message,
    links: &Links,
    texts: &Texts,
    idempotency_key: &str,
) -> Result<lettre::Message, String> {
    let sender = Mailbox::from_str(from.trim()).map_err(|error| format!("from {from:?}: {error}"))?;
    // `to` holds one address or several separated by commas, as Alertmanager reads it.
    let recipients = Mailboxes::from_str(to.trim()).map_err(|error| format!("to {to:?}: {error}"))?;
    // The subject is rendered with the receiver's templates (`texts`).
    let subject = texts.title.clone().unwrap_or_else(|| bodies::subject(message));
    let mut extra = Vec::new();
    for (name, value) in headers {
        // Other headers are sent only when they are plain text: a template sent as it is
        // written would only confuse the reader.
        if value.contains("{{") || name.eq_ignore_ascii_case("subject") || OWN_HEADERS.contains(&name.to_ascii_lowercase().as_str()) {
            continue;
        }
        let name = HeaderName::new_from_ascii(name.clone()).map_err(|_| format!("header name {name:?} is not valid"))?;
        extra.push(HeaderValue::new(name, value.clone()));
    }
    let mut builder = lettre::Message::builder()
        .from(sender.clone())
        .subject(subject)
        .message_id(Some(format!("<{idempotency_key}@{}>", sender.email.domain())))
        .raw_header(HeaderValue::new(
            HeaderName::new_from_ascii_str("X-Meridian-Notification"),
            idempotency_key.to_string(),
        ))
        // RFC 3834: out-of-office replies are not sent back to a notifier.
        .raw_header(HeaderValue::new(HeaderName::new_from_ascii_str("Auto-Submitted"), "auto-generated".into()));
    for mailbox in recipients {
        builder = builder.to(mailbox);
    }
    for header in extra {
        builder = builder.raw_header(header);
    }
    builder
        .multipart(
            MultiPart::alternative()
                .singlepart(
                    SinglePart::builder()
                        .header(ContentType::TEXT_PLAIN)
                        .body(texts.text.clone().unwrap_or_else(|| bodies::email_text(message, links))),
                )
                .singlepart(
                    SinglePart::builder()
                        .header(ContentType::TEXT_HTML)
                        .body(texts.html.clone().unwrap_or_else(|| bodies::email_html(message, links))),
                ),
        )
        .map_err(|error| format!("the message cannot be built: {error}"))
}

/// The connection Alertmanager would make: implicit TLS on 465, else STARTTLS if required,
/// else none (even when the server offers it: `require_tls: false` is taken at its word).
fn transport(
    smarthost: &str,
    hello: &str,
    username: &str,
    password: &str,
    require_tls: bool,
) -> Result<AsyncSmtpTransport<Tokio1Executor>, String> {
    let (host, port) = split_host_port(smarthost)?;
    let tls = |host: &str| TlsParameters::new(host.to_string()).map_err(|error| format!("TLS for {host}: {error}"));
    let tls = if port == IMPLICIT_TLS_PORT {
        Tls::Wrapper(tls(host)?)
    } else if require_tls {
        Tls::Required(tls(host)?)
    } else {
        Tls::None
    };
    let hello = match hello.parse::<std::net::IpAddr>() {
        Ok(std::net::IpAddr::V4(ip)) => ClientId::Ipv4(ip),
        Ok(std::net::IpAddr::V6(ip)) => ClientId::Ipv6(ip),
        Err(_) => ClientId::Domain(hello.to_string()),
    };
    let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host)
        .port(port)
        .tls(tls)
        .hello_name(hello)
        .timeout(Some(TIMEOUT));
    if !username.is_empty() {
        builder = builder
            .credentials(Credentials::new(username.to_string(), password.to_string()))
            .authentication(vec![Mechanism::Plain, Mechanism::Login]);
    }
    Ok(builder.build())
}

/// `host:port`, `[v6]:port` included.
fn split_host_port(smarthost: &str) -> Result<(&str, u16), String> {
    let (host, port) = smarthost
        .rsplit_once(':')
        .ok_or_else(|| format!("smarthost {smarthost:?} has no port"))?;
    let port = port.parse().map_err(|_| format!("smarthost {smarthost:?} has no valid port"))?;
    let host = host.trim_start_matches('[').trim_end_matches(']');
    if host.is_empty() {
        return Err(format!("smarthost {smarthost:?} has no host"));
    }
    Ok((host, port))
}

/// What a failed send says, and whether to try again: a 5xx reply (a refused recipient, failed
/// authentication) will be given again, and so will the client's own refusals (no STARTTLS
/// where it is required, no common authentication mechanism); a 4xx reply, a connection that
/// failed or a TLS handshake may go otherwise later.
fn describe(error: &lettre::transport::smtp::Error, smarthost: &str) -> (String, bool) {
    if error.is_timeout() {
        return (format!("timed out after {} s", TIMEOUT.as_secs()), true);
    }
    let retry = !(error.is_permanent() || error.is_client());
    (format!("{smarthost}: {error}"), retry)
}

/// Sends a scheduled digest to the integration's addresses: `text` and `html` as one
/// multipart/alternative message with the headers a notification carries (the configured ones
/// that are plain text; a configured `Subject` is for alerts), the outbox id in its
/// `Message-ID`.
pub async fn send_digest(
    target: &Integration,
    subject: &str,
    text: String,
    html: String,
    idempotency_key: &str,
) -> Result<(), (String, bool)> {
    let Integration::Email {
        to, from, hello, smarthost, auth_username, auth_password, require_tls, headers, ..
    } = target
    else {
        return Err((format!("not an e-mail integration: {}", target.kind()), false));
    };
    let email = build_digest(to, from, headers, subject, text, html, idempotency_key).map_err(|error| (error, false))?;
    let transport = transport(smarthost, hello, auth_username, auth_password, *require_tls)
        .map_err(|error| (error, false))?;
    match tokio::time::timeout(TIMEOUT, transport.send(email)).await {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(error)) => Err(describe(&error, smarthost)),
        Err(_) => Err((format!("timed out after {} s", TIMEOUT.as_secs()), true)),
    }
}

fn build_digest(
    to: &str,
    from: &str,
    headers: &std::collections::BTreeMap<String, String>,
    subject: &str,
    text: String,
    html: String,
    idempotency_key: &str,
) -> Result<lettre::Message, String> {
    let sender = Mailbox::from_str(from.trim()).map_err(|error| format!("from {from:?}: {error}"))?;
    let recipients = Mailboxes::from_str(to.trim()).map_err(|error| format!("to {to:?}: {error}"))?;
    let mut builder = lettre::Message::builder()
        .from(sender.clone())
        .subject(subject)
        .message_id(Some(format!("<{idempotency_key}@{}>", sender.email.domain())))
        .raw_header(HeaderValue::new(
            HeaderName::new_from_ascii_str("X-Meridian-Notification"),
            idempotency_key.to_string(),
        ))
        .raw_header(HeaderValue::new(HeaderName::new_from_ascii_str("Auto-Submitted"), "auto-generated".into()));
    for mailbox in recipients {
        builder = builder.to(mailbox);
    }
    for (name, value) in headers {
        let lower = name.to_ascii_lowercase();
        if value.contains("{{") || lower == "subject" || OWN_HEADERS.contains(&lower.as_str()) {
            continue;
        }
        let name = HeaderName::new_from_ascii(name.clone()).map_err(|_| format!("header name {name:?} is not valid"))?;
        builder = builder.raw_header(HeaderValue::new(name, value.clone()));
    }
    builder
        .multipart(
            MultiPart::alternative()
                .singlepart(SinglePart::builder().header(ContentType::TEXT_PLAIN).body(text))
                .singlepart(SinglePart::builder().header(ContentType::TEXT_HTML).body(html)),
        )
        .map_err(|error| format!("the message cannot be built: {error}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn smarthosts_are_split_as_go_splits_them() {
        assert_eq!(split_host_port("mail.example.com:587"), Ok(("mail.example.com", 587)));
        assert_eq!(split_host_port("[::1]:25"), Ok(("::1", 25)));
        assert!(split_host_port("mail.example.com").is_err());
        assert!(split_host_port("mail.example.com:smtp").is_err());
        assert!(split_host_port(":25").is_err());
    }

    fn integration(smarthost: &str) -> Integration {
        Integration::Email {
            to: "ops@example.com, Db Team <db@example.com>".into(),
            from: "Meridian <meridian@example.com>".into(),
            hello: "localhost".into(),
            smarthost: smarthost.into(),
            auth_username: "user".into(),
            auth_password: "hunter2-secret".into(),
            require_tls: false,
            html: String::new(),
            text: String::new(),
            headers: [
                ("X-Team".to_string(), "db".to_string()),
                ("Reply-To".to_string(), "{{ .CommonLabels.owner }}".to_string()),
                ("To".to_string(), "someone-else@example.com".to_string()),
            ]
            .into(),
            send_resolved: true,
        }
    }

    fn message() -> Message {
        Message {
            receiver: "mail".into(),
            group_key: "{}:{}".into(),
            group_labels: [("alertname".to_string(), "DiskFull".to_string())].into(),
            alerts: vec![notify::webhook::Notified {
                alert: notify::alert::Alert {
                    labels: [("alertname".to_string(), "DiskFull".to_string())].into(),
                    annotations: Default::default(),
                    starts_at: 0,
                    ends_at: 0,
                    generator_url: String::new(),
                    updated_at: 0,
                    timeout: false,
                },
                resolved: false,
            }],
            external_url: String::new(),
        }
    }

    fn links() -> Links {
        Links { alert: "http://m/alerts".into(), silence: "http://m/silence".into(), ..Links::default() }
    }

    #[test]
    fn the_message_has_both_parts_every_recipient_and_the_key() {
        let Integration::Email { to, from, headers, .. } = integration("127.0.0.1:25") else { unreachable!() };
        let email = build(&to, &from, &headers, &message(), &links(), &Texts::default(), "0b9f").unwrap();
        let raw = String::from_utf8(email.formatted()).unwrap();
        assert!(raw.contains("Subject: [FIRING:1] DiskFull"), "{raw}");
        assert!(raw.contains("Message-ID: <0b9f@example.com>"), "{raw}");
        assert!(raw.contains("X-Meridian-Notification: 0b9f"), "{raw}");
        assert!(raw.contains("X-Team: db"), "{raw}");
        assert!(
            !raw.contains("Reply-To") && !raw.contains("someone-else"),
            "templates and own headers are not sent: {raw}"
        );
        assert!(raw.contains("multipart/alternative") && raw.contains("text/plain") && raw.contains("text/html"));
        let recipients: Vec<String> = email.envelope().to().iter().map(|a| a.to_string()).collect();
        assert_eq!(recipients, ["ops@example.com", "db@example.com"]);
        assert!(!raw.contains("hunter2"));

        // The receiver's own templates' texts replace Meridian's.
        let texts = Texts { title: Some("DB: disk".into()), html: Some("<p>own</p>".into()), ..Texts::default() };
        let raw = String::from_utf8(build(&to, &from, &headers, &message(), &links(), &texts, "k").unwrap().formatted()).unwrap();
        assert!(raw.contains("Subject: DB: disk") && raw.contains("<p>own</p>"), "{raw}");
        assert!(raw.contains("Labels") || raw.contains("DiskFull"), "the text part stays Meridian's: {raw}");
    }

    #[test]
    fn a_bad_address_does_not_become_a_message() {
        let Integration::Email { from, headers, .. } = integration("127.0.0.1:25") else { unreachable!() };
        assert!(build("not an address", &from, &headers, &message(), &links(), &Texts::default(), "k").is_err());
    }
}
