//! E-mail notifications against a real SMTP server: Debian's aiosmtpd on a free port, keeping
//! each message it accepts (parsed by Python's `email` package) as JSON, so the tests see what
//! a mail client would: the subject, the parts, the recipients, who authenticated.

use std::{
    path::{Path, PathBuf},
    process::{Child, Command},
    time::{Duration, Instant},
};

use serde_json::Value;
use sqlx::PgPool;
use uuid::Uuid;

use crate::{
    helpers::TestApp,
    notifications::{configure, free_port, post_alerts, start_notifier, until},
};
use app::ssr::scope::TokenScope;

/// Debian's interpreter: python3-aiosmtpd is installed for it, not for another on the PATH.
const PYTHON: &str = "/usr/bin/python3";

/// An SMTP server that writes each message it accepts to `<out>/<n>.json`; with `--user` and
/// `--password` it requires AUTH (allowed without TLS: the tests have no certificate).
const SMTP_SERVER: &str = r#"
import argparse, email, email.policy, itertools, json, logging, os, threading, warnings
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

parser = argparse.ArgumentParser()
parser.add_argument("--port", type=int, required=True)
parser.add_argument("--out", required=True)
parser.add_argument("--user")
parser.add_argument("--password")
args = parser.parse_args()
numbers = itertools.count(1)

def authenticator(server, session, envelope, mechanism, auth_data):
    ok = (isinstance(auth_data, LoginPassword)
          and auth_data.login.decode() == args.user
          and auth_data.password.decode() == args.password)
    if ok:
        session.meridian_auth = {"mechanism": mechanism, "login": auth_data.login.decode()}
    return AuthResult(success=ok, handled=False)

class Keep:
    async def handle_DATA(self, server, session, envelope):
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        parts = [{"type": p.get_content_type(), "content": p.get_content()}
                 for p in message.walk() if not p.is_multipart()]
        record = {
            "mail_from": envelope.mail_from,
            "rcpt_tos": envelope.rcpt_tos,
            "auth": getattr(session, "meridian_auth", None),
            "type": message.get_content_type(),
            "headers": {k.lower(): str(v) for k, v in message.items()},
            "parts": parts,
        }
        path = os.path.join(args.out, f"{next(numbers)}.json")
        with open(path + ".tmp", "w") as f:
            json.dump(record, f)
        os.rename(path + ".tmp", path)
        return "250 Message accepted for delivery"

# It warns, on every connection, about AUTH without TLS: that is what the tests ask for.
warnings.simplefilter("ignore")
logging.getLogger("mail.log").setLevel(logging.ERROR)
options = {}
if args.user:
    options = dict(authenticator=authenticator, auth_required=True, auth_require_tls=False)
controller = Controller(Keep(), hostname="127.0.0.1", port=args.port, **options)
controller.start()
threading.Event().wait()
"#;

/// The running SMTP server; stopped when dropped.
pub(crate) struct SmtpServer {
    pub(crate) port: u16,
    out: tempfile::TempDir,
    child: Child,
}

impl SmtpServer {
    /// Starts it and waits until it answers; `auth` is the one user and password it accepts.
    pub(crate) async fn start(auth: Option<(&str, &str)>) -> SmtpServer {
        let (port, out) = (free_port(), tempfile::tempdir().unwrap());
        let mut command = Command::new(PYTHON);
        command
            .args(["-c", SMTP_SERVER, "--port", &port.to_string(), "--out"])
            .arg(out.path());
        if let Some((user, password)) = auth {
            command.args(["--user", user, "--password", password]);
        }
        let child = command
            .spawn()
            .unwrap_or_else(|error| panic!("{PYTHON} does not start (apt-get install python3-aiosmtpd): {error}"));
        let mut server = SmtpServer { port, out, child };
        let deadline = Instant::now() + Duration::from_secs(15);
        while tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_err() {
            if let Some(status) = server.child.try_wait().unwrap() {
                panic!("the SMTP server exited ({status}): is python3-aiosmtpd installed?");
            }
            assert!(Instant::now() < deadline, "the SMTP server does not answer on {port}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        server
    }

    /// The messages accepted so far, in the order they came.
    pub(crate) fn messages(&self) -> Vec<Value> {
        received(self.out.path())
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn received(dir: &Path) -> Vec<Value> {
    let mut files: Vec<(u64, PathBuf)> = std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|entry| {
            let path = entry.ok()?.path();
            let n = path.file_name()?.to_str()?.strip_suffix(".json")?.parse().ok()?;
            Some((n, path))
        })
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|(_, path)| serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap())
        .collect()
}

/// A configuration sending everything to `email_config` (YAML lines under the list item).
fn email_config(email_config: &str) -> String {
    let indented: String = email_config.lines().map(|line| format!("        {line}\n")).collect();
    format!(
        "route:
  receiver: mail
  group_by: [alertname]
  group_wait: 1s
  group_interval: 2s
  repeat_interval: 1h
receivers:
  - name: mail
    email_configs:
      - send_resolved: true
{indented}"
    )
}

/// The tenant's outbox rows once none is pending any more: (id, state, attempts, last error).
async fn settled_outbox(app: &TestApp, tenant: Uuid) -> Vec<(Uuid, String, i32, Option<String>)> {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let rows: Vec<(Uuid, String, i32, Option<String>)> = sqlx::query_as(
            "select id, state, attempts, last_error from notify_outbox where tenant_id = $1 order by created_ms",
        )
        .bind(tenant)
        .fetch_all(&app.pool)
        .await
        .unwrap();
        if !rows.is_empty() && rows.iter().all(|(_, state, _, _)| state != "pending") {
            return rows;
        }
        assert!(Instant::now() < deadline, "still pending: {rows:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

pub(crate) fn part<'a>(message: &'a Value, content_type: &str) -> &'a str {
    message["parts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["type"] == content_type)
        .and_then(|p| p["content"].as_str())
        .unwrap_or_else(|| panic!("no {content_type} part: {message:#}"))
}

#[sqlx::test(migrator = "app::ssr::MIGRATOR")]
async fn a_firing_alert_arrives_as_one_email_with_a_text_and_an_html_part(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let tenant = app.create_tenant("mail").await;
    let token = app.create_token(tenant, &TokenScope::ALL).await;
    let smtp = SmtpServer::start(None).await;
    let config = email_config(&format!(
        "to: 'ops@example.com, Db Team <db@example.com>'
from: Meridian <meridian@example.com>
smarthost: 127.0.0.1:{}
require_tls: false
headers:
  X-Team: db",
        smtp.port
    ));
    let response = configure(&app, &token, &config).await;
    assert_eq!(response.status(), 200, "{}", response.text().await.unwrap());
    let notifier = start_notifier(&app, "mail");
    post_alerts(&app, &token, &["DiskFull".into()]).await;
    until(20, || !smtp.messages().is_empty()).await;
    let outbox = settled_outbox(&app, tenant).await;
    // Long enough for a second flush or delivery to show up if there were one.
    tokio::time::sleep(Duration::from_secs(3)).await;
    for task in notifier {
        task.abort();
    }
    let messages = smtp.messages();
    assert_eq!(messages.len(), 1, "{messages:#?}");
    let mail = &messages[0];
    let headers = &mail["headers"];
    assert_eq!(headers["subject"], "[FIRING:1] DiskFull (critical)", "{mail:#}");
    assert_eq!(mail["type"], "multipart/alternative");
    assert_eq!(mail["mail_from"], "meridian@example.com");
    assert_eq!(mail["rcpt_tos"], serde_json::json!(["ops@example.com", "db@example.com"]));
    assert_eq!(headers["x-team"], "db");
    assert!(mail["auth"].is_null());
    let (text, html) = (part(mail, "text/plain"), part(mail, "text/html"));
    for (name, body) in [("text", text), ("html", html)] {
        assert!(body.contains("DiskFull"), "{name}: {body}");
        assert!(body.contains("summary = down"), "the summary, in the {name} part: {body}");
    }
    assert!(html.contains("View in Meridian") && html.contains("/alerting/silences?tenant="), "{html}");
    // The firing alert's acknowledgement link, in both parts.
    assert!(html.contains(">Acknowledge</a>") && html.contains("/ack/"), "{html}");
    assert!(text.contains("Acknowledge: http://") && text.contains("/ack/"), "{text}");
    // One row, delivered at the first attempt, under its id.
    assert_eq!(outbox.len(), 1, "{outbox:?}");
    let (id, state, attempts, error) = &outbox[0];
    assert_eq!((state.as_str(), *attempts, error), ("delivered", 1, &None));
    assert_eq!(headers["x-meridian-notification"], id.to_string());
    assert_eq!(headers["message-id"], format!("<{id}@example.com>"));
    let logged: i64 = sqlx::query_scalar("select count(*) from notify_attempt where outbox_id = $1")
        .bind(id)
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(logged, 1);
}

#[sqlx::test(migrator = "app::ssr::MIGRATOR")]
async fn the_smarthost_is_logged_in_to_and_a_refused_password_is_not_retried(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let smtp = SmtpServer::start(Some(("alertbot", "correct-password"))).await;
    let mut tenants = Vec::new();
    for (name, password) in [("right", "correct-password"), ("wrong", "wrong-password")] {
        let tenant = app.create_tenant(name).await;
        let token = app.create_token(tenant, &TokenScope::ALL).await;
        let config = email_config(&format!(
            "to: {name}@example.com
from: meridian@example.com
smarthost: 127.0.0.1:{}
require_tls: false
auth_username: alertbot
auth_password: {password}",
            smtp.port
        ));
        assert_eq!(configure(&app, &token, &config).await.status(), 200);
        post_alerts(&app, &token, &[format!("Login{name}")]).await;
        tenants.push(tenant);
    }
    let notifier = start_notifier(&app, "auth");
    let right = settled_outbox(&app, tenants[0]).await;
    let wrong = settled_outbox(&app, tenants[1]).await;
    for task in notifier {
        task.abort();
    }
    let messages = smtp.messages();
    assert_eq!(messages.len(), 1, "{messages:#?}");
    assert_eq!(messages[0]["rcpt_tos"], serde_json::json!(["right@example.com"]));
    let auth = &messages[0]["auth"];
    assert_eq!(auth["login"], "alertbot");
    assert!(["PLAIN", "LOGIN"].contains(&auth["mechanism"].as_str().unwrap()), "{auth}");
    assert_eq!((right[0].1.as_str(), right[0].2), ("delivered", 1));
    // 535 is permanent: failed at once, and the error names the reply, never the password.
    let (_, state, attempts, error) = &wrong[0];
    assert_eq!((state.as_str(), *attempts), ("failed", 1), "{wrong:?}");
    let error = error.as_deref().unwrap();
    assert!(error.contains("535"), "{error}");
    assert!(!error.contains("wrong-password"), "{error}");
}

#[tokio::test]
async fn an_unreachable_smarthost_is_worth_retrying_and_its_error_shows_no_password() {
    let target = notify::config::Integration::Email {
        to: "ops@example.com".into(),
        from: "meridian@example.com".into(),
        hello: "localhost".into(),
        // Nothing listens there: the port was free a moment ago.
        smarthost: format!("127.0.0.1:{}", free_port()),
        auth_username: "alertbot".into(),
        auth_password: "never-shown".into(),
        require_tls: false,
        html: String::new(),
        text: String::new(),
        headers: Default::default(),
        send_resolved: false,
    };
    let message = notify::webhook::Message {
        receiver: "mail".into(),
        group_key: "{}:{}".into(),
        group_labels: Default::default(),
        alerts: Vec::new(),
        external_url: String::new(),
    };
    let links = notify::bodies::Links { alert: "http://m/alerts".into(), silence: "http://m/silence".into(), ..Default::default() };
    let (error, retry) = app::notifications::email::send(&target, &message, &links, &notify::template::Texts::default(), "key").await.unwrap_err();
    assert!(retry, "a refused connection may be accepted later: {error}");
    assert!(!error.contains("never-shown"), "{error}");
}
