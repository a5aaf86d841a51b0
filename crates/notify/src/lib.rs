//! What Alertmanager does, as plain functions over plain data, so that Meridian's notifier (its
//! API, its dispatcher, its delivery) and its tests share one implementation: [`config`] reads
//! and checks a configuration, [`route`] finds an alert's routes and groups, [`inhibit`],
//! [`silence`] and [`time_interval`] say what is muted, [`dedup`] decides whether a group's
//! flush notifies, [`webhook`] builds the message, [`digest`] schedules and words the
//! scheduled digests.

pub mod alert;
pub mod bodies;
pub mod config;
pub mod dedup;
pub mod digest;
pub mod dispatch;
pub mod escalation;
pub mod inhibit;
pub mod matcher;
pub mod route;
pub mod silence;
pub mod template;
pub mod time_interval;
pub mod webhook;

/// An alert's labels (or annotations), in name order.
pub type Labels = std::collections::BTreeMap<String, String>;
