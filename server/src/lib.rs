//! The Meridian server: one binary that serves pages, APIs, health and metrics.

pub mod api;
pub mod bench;
pub mod cli;
pub mod database;
pub mod demo;
pub mod health;
pub mod import;
pub mod ingest;
pub mod jobs;
pub mod observability;
pub mod scrape;
pub mod settings;
pub mod startup;
pub mod web;
