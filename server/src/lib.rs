//! The Meridian server: one binary that serves pages, APIs, health and metrics.

pub mod database;
pub mod health;
pub mod observability;
pub mod settings;
pub mod startup;
