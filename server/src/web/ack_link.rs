//! `/ack/{token}`: the acknowledgement link every notification carries, opened from an e-mail
//! or Slack without a login. The link shows the alert and a button (a GET never changes
//! anything: mail scanners open links); the button's POST acknowledges it, once.

use axum::{
    extract::{Path, State},
    http::StatusCode,
    response::{Html, IntoResponse, Response},
};

use notify::bodies::escape_html as escape;

use app::{
    error::AppError,
    notifications::acknowledge::{acknowledge_by_link, link_alert, verify_link},
    ssr::AppState,
};


/// A small page in Meridian's style.
fn page(status: StatusCode, css: &str, title: &str, body: &str) -> Response {
    let html = format!(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"/>\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"/>\
         <title>{title} · Meridian</title><link rel=\"stylesheet\" href=\"{css}\"/></head>\
         <body><header class=\"app-header\"><a class=\"brand\" href=\"/\"><span class=\"brand-mark\" aria-hidden=\"true\"></span>Meridian</a></header>\
         <main class=\"content\"><section class=\"page narrow\" id=\"ack-link\"><h1>{title}</h1>{body}</section></main></body></html>",
        title = escape(title)
    );
    (status, Html(html)).into_response()
}

/// The page of a link that is not Meridian's, or no longer valid.
fn not_valid(css: &str, message: &str) -> Response {
    page(StatusCode::NOT_FOUND, css, "Link not valid", &format!("<p class=\"muted\">{}.</p>", escape(message)))
}

fn css(state: &AppState) -> String {
    let options = &state.leptos_options;
    format!("/{}/{}.css", options.site_pkg_dir, options.output_name)
}

pub async fn show(State(state): State<AppState>, Path(token): Path<String>) -> Response {
    let css = css(&state);
    let claims = match verify_link(&state.auth.secret_key, &token) {
        Ok(claims) => claims,
        Err(message) => return not_valid(&css, &message),
    };
    let alert = match link_alert(&state.pool, &claims).await {
        Ok(alert) => alert,
        Err(_) => return page(StatusCode::NOT_FOUND, &css, "Alert not found", "<p class=\"muted\">The alert this link names is gone.</p>"),
    };
    let name = alert.labels.get("alertname").cloned().unwrap_or_default();
    let labels: String = alert
        .labels
        .iter()
        .map(|(k, v)| format!("<span class=\"chip label\">{}={}</span> ", escape(k), escape(v)))
        .collect();
    let action = match (&alert.acknowledged_by, alert.resolved) {
        (Some(by), _) => format!("<p class=\"callout\">Already acknowledged by {}.</p>", escape(by)),
        (None, true) => "<p class=\"callout\">It has resolved; there is nothing to acknowledge.</p>".to_string(),
        (None, false) => format!(
            "<form method=\"post\" action=\"/ack/{}\" class=\"form\"><div class=\"actions\">\
             <button type=\"submit\" class=\"button primary\" id=\"acknowledge-link\">Acknowledge</button></div></form>",
            escape(&token)
        ),
    };
    let body = format!(
        "<section class=\"card\"><p class=\"lead\">{}</p><p class=\"labels\">{labels}</p>\
         <p class=\"muted\">Acknowledging stops its repeated notifications and its escalation.</p>{action}</section>",
        escape(&alert.summary)
    );
    page(StatusCode::OK, &css, &format!("Acknowledge {name}"), &body)
}

pub async fn acknowledge(State(state): State<AppState>, Path(token): Path<String>) -> Response {
    let css = css(&state);
    let claims = match verify_link(&state.auth.secret_key, &token) {
        Ok(claims) => claims,
        Err(message) => return not_valid(&css, &message),
    };
    match acknowledge_by_link(&state.pool, &claims).await {
        Ok(()) => page(StatusCode::OK, &css, "Acknowledged", "<p class=\"callout\" id=\"acknowledged\">The alert is acknowledged: no more repeats or escalations for it.</p>"),
        Err(AppError::Conflict(message)) => page(StatusCode::GONE, &css, "Already done", &format!("<p class=\"callout\" id=\"link-used\">{}.</p>", escape(&message))),
        Err(AppError::NotFound) => page(StatusCode::NOT_FOUND, &css, "Alert not found", "<p class=\"muted\">The alert this link names is gone.</p>"),
        Err(error) => {
            tracing::warn!(error = %error, "An acknowledgement link failed.");
            page(StatusCode::INTERNAL_SERVER_ERROR, &css, "Something went wrong", "<p class=\"muted\">Please try again.</p>")
        }
    }
}
