//! Integration tests: the real router over HTTP against real PostgreSQL (a fresh database per
//! test via `sqlx::test`, on the server named by DATABASE_URL).

mod alert_oracle;
mod audit;
mod auth;
mod cli;
mod correlation;
mod dashboards;
mod datasource;
mod editor;
mod embedded_postgres;
mod grafana;
mod health;
mod helpers;
mod ingest;
mod limits;
mod metrics;
mod notification_templates;
mod notifications;
mod notifications_digest;
mod notifications_email;
mod notifications_grafana;
mod notifications_kill;
mod oracle;
mod pages;
mod query;
mod rules;
mod scrape;
mod tenancy;
