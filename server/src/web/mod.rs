//! What the browser side needs beyond Leptos: sessions, the cross-site request check, and the
//! audit CSV download.

pub mod audit_export;
pub mod csrf;
pub mod rpc_status;
pub mod sessions;
