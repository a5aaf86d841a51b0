//! Who is asking from where: the facts about a request that go into the audit trail.

use std::net::{IpAddr, SocketAddr};

use axum::{
    extract::ConnectInfo,
    http::{header, request::Parts},
};

#[derive(Clone, Debug, Default)]
pub struct RequestMeta {
    pub ip: Option<IpAddr>,
    pub user_agent: String,
    pub correlation_id: String,
}

impl RequestMeta {
    pub fn from_parts(parts: &Parts) -> RequestMeta {
        let header = |name: &str| {
            parts
                .headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .chars()
                .take(512)
                .collect()
        };
        RequestMeta {
            ip: parts
                .extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map(|info| info.0.ip()),
            user_agent: header(header::USER_AGENT.as_str()),
            correlation_id: header("x-correlation-id"),
        }
    }
}
