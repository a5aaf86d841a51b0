//! What a dashboard needs to show numbers and times the way Grafana users read them, with no web
//! or database dependency: Grafana's unit formats and 1-2-5 value ticks ([`units`]), time
//! expressions (`now-6h`, `now/d`) and round time ticks in a time zone ([`time`]), and M4
//! downsampling ([`m4`]), Grafana's JSON model ([`model`]) and field config ([`fields`]). The
//! server draws with it; the browser gets what it shows already formatted.

pub mod fields;
pub mod import;
pub mod m4;
pub mod model;
#[cfg(feature = "tz")]
pub mod time;
pub mod units;
