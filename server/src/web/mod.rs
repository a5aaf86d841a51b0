//! What the browser side needs beyond Leptos: sessions, the cross-site request check, the
//! audit CSV download, dashboard panels' CSV and SVG downloads, and the upload forms (dashboards,
//! rule files), and the acknowledgement links of notifications.

pub mod ack_link;
pub mod audit_export;
pub mod csrf;
pub mod dashboard_import;
pub mod panel_export;
pub mod rpc_status;
pub mod rule_import;
pub mod sessions;
pub mod upload;
