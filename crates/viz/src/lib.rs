//! What a dashboard needs to show numbers and times the way Grafana users read them, with no web
//! or database dependency: Grafana's unit formats and 1-2-5 value ticks ([`units`]), time
//! expressions (`now-6h`, `now/d`) and round time ticks in a time zone ([`time`]), and M4
//! downsampling ([`m4`]). The server draws with it; the browser bundle formats hover values with
//! [`units`] (built without the `tz` feature).

pub mod fields;
pub mod m4;
pub mod model;
#[cfg(feature = "tz")]
pub mod time;
pub mod units;
