//! The maths of service level objectives, as data in and numbers out, so that the SLO pages,
//! the rollup job, the reports and the generated alert rules all compute them one way:
//! - `window`: the period an objective is judged over: the last 7, 28 or 30 days, or the
//!   calendar month or quarter in an IANA time zone (true month lengths, DST kept right);
//! - `maintenance`: one-off and recurring maintenance windows, excluded from everything;
//! - `budget`: good and total events summed over 5-minute rollups (event-weighted, never an
//!   average of ratios), the SLI, the error budget in shares and minutes, burn rates, and the
//!   compliant / warning / violated status;
//! - `burn`: the SRE workbook's multi-window multi-burn-rate alerts, scaled to the window;
//! - `sloth`: a Sloth spec turned into the rules Sloth generates, names and thresholds alike.

pub mod budget;
pub mod burn;
pub mod maintenance;
pub mod sloth;
pub mod window;

pub use budget::{Budget, Direction, Events, Status};
pub use chrono_tz::Tz;
pub use window::{Calendar, Span, Window};

/// A time as tests write one (`2026-03-29T01:30:00Z`).
#[cfg(test)]
pub(crate) fn utc(text: &str) -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::parse_from_rfc3339(text)
        .unwrap()
        .with_timezone(&chrono::Utc)
}
