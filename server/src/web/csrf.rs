//! Cross-site request refusal: a state-changing request that a browser sends from another
//! site is refused before it reaches a handler. Server functions also check the session's
//! CSRF token; this is the wall in front of everything, login included.

use axum::{
    extract::Request,
    http::{header, Method, StatusCode},
    middleware::Next,
    response::{IntoResponse, Response},
};

use app::ssr::security::SecurityEvent;

use super::sessions::COOKIE_NAME;

fn host_of(url: &str) -> Option<&str> {
    let rest = url.split_once("://")?.1;
    Some(rest.split('/').next().unwrap_or(rest))
}

/// Why a request looks cross-site, if it does.
pub fn cross_site_reason(method: &Method, headers: &axum::http::HeaderMap) -> Option<&'static str> {
    if matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS) {
        return None;
    }
    // A bearer credential is not sent by browsers on their own: no ambient authority to abuse.
    if headers.contains_key(header::AUTHORIZATION) && !has_session_cookie(headers) {
        return None;
    }
    let text = |name| headers.get(name).and_then(|v| v.to_str().ok());
    if matches!(
        text("sec-fetch-site"),
        Some("cross-site") | Some("same-site")
    ) {
        return Some("Sec-Fetch-Site says the request comes from another site");
    }
    let host = text(header::HOST.as_str());
    let source = text(header::ORIGIN.as_str()).or_else(|| text(header::REFERER.as_str()));
    match (source, host) {
        (Some("null"), _) => Some("opaque origin"),
        (Some(source), Some(host)) if host_of(source) != Some(host) => {
            Some("Origin does not match Host")
        }
        (None, _) if has_session_cookie(headers) => {
            Some("no Origin or Referer on a request with a session cookie")
        }
        _ => None,
    }
}

fn has_session_cookie(headers: &axum::http::HeaderMap) -> bool {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|cookies| {
            cookies
                .split(';')
                .any(|c| c.trim_start().starts_with(&format!("{COOKIE_NAME}=")))
        })
}

pub async fn refuse_cross_site(request: Request, next: Next) -> Response {
    if let Some(reason) = cross_site_reason(request.method(), request.headers()) {
        SecurityEvent::CsrfRejected.emit(reason);
        return (
            StatusCode::FORBIDDEN,
            format!("Cross-site request refused: {reason}."),
        )
            .into_response();
    }
    next.run(request).await
}

#[cfg(test)]
mod tests {
    use axum::http::{HeaderMap, HeaderValue};

    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (k, v) in pairs {
            map.append(*k, HeaderValue::from_static(v));
        }
        map
    }

    #[test]
    fn same_origin_posts_pass_and_foreign_ones_do_not() {
        let post = Method::POST;
        let cookie = ("cookie", "meridian_session=abc");
        assert_eq!(
            cross_site_reason(
                &post,
                &headers(&[("host", "m:3000"), ("origin", "http://m:3000"), cookie])
            ),
            None
        );
        assert_eq!(
            cross_site_reason(
                &post,
                &headers(&[
                    ("host", "m:3000"),
                    ("referer", "http://m:3000/admin"),
                    cookie
                ])
            ),
            None
        );
        assert!(cross_site_reason(
            &post,
            &headers(&[
                ("host", "m:3000"),
                ("origin", "http://evil.example"),
                cookie
            ])
        )
        .is_some());
        assert!(cross_site_reason(
            &post,
            &headers(&[("host", "m:3000"), ("origin", "http://evil.example")])
        )
        .is_some());
        assert!(cross_site_reason(
            &post,
            &headers(&[("host", "m:3000"), ("sec-fetch-site", "cross-site")])
        )
        .is_some());
        assert!(cross_site_reason(&post, &headers(&[("host", "m:3000"), cookie])).is_some());
        // Scripts without cookies, and reads, are not cross-site requests.
        assert_eq!(
            cross_site_reason(&post, &headers(&[("host", "m:3000")])),
            None
        );
        assert_eq!(
            cross_site_reason(
                &post,
                &headers(&[("host", "m:3000"), ("authorization", "Bearer x")])
            ),
            None
        );
        assert_eq!(
            cross_site_reason(
                &Method::GET,
                &headers(&[("origin", "http://evil.example"), cookie])
            ),
            None
        );
    }
}
