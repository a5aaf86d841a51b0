//! System health: the report behind `/health/*` and the status page that shows it.

mod api;
#[cfg(feature = "ssr")]
pub mod checks;

use std::time::Duration;

use leptos::prelude::*;
use leptos_meta::Title;
use serde::{Deserialize, Serialize};

use crate::components::StatusPill;
pub use api::get_health_report;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum HealthStatus {
    Healthy,
    Degraded,
    Unhealthy,
}

impl HealthStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            HealthStatus::Healthy => "healthy",
            HealthStatus::Degraded => "degraded",
            HealthStatus::Unhealthy => "unhealthy",
        }
    }
}

/// One dependency check, as `/health/detailed` reports it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CheckResult {
    pub name: String,
    pub status: HealthStatus,
    pub duration_ms: f64,
    pub timeout_ms: u64,
    /// A critical check that is unhealthy makes the instance not ready.
    pub critical: bool,
    pub message: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct HealthReport {
    pub status: HealthStatus,
    pub total: usize,
    pub passed: usize,
    pub checks: Vec<CheckResult>,
    pub version: String,
    pub installation_id: String,
    pub uptime_seconds: u64,
    /// RFC 3339 with milliseconds, so two consecutive reports always differ.
    pub checked_at: String,
}

impl HealthReport {
    /// Overall status: a failing critical check makes the instance unhealthy, anything
    /// else that is not healthy makes it degraded.
    pub fn from_checks(
        checks: Vec<CheckResult>,
        version: String,
        installation_id: String,
        uptime_seconds: u64,
        checked_at: String,
    ) -> Self {
        let status = checks
            .iter()
            .map(|c| match (c.status, c.critical) {
                (HealthStatus::Unhealthy, false) => HealthStatus::Degraded,
                (status, _) => status,
            })
            .max()
            .unwrap_or(HealthStatus::Healthy);
        let passed = checks
            .iter()
            .filter(|c| c.status == HealthStatus::Healthy)
            .count();
        HealthReport {
            status,
            total: checks.len(),
            passed,
            checks,
            version,
            installation_id,
            uptime_seconds,
            checked_at,
        }
    }
}

const AUTO_REFRESH_EVERY: Duration = Duration::from_secs(5);

/// The system status page, rendered on the server; the island keeps it fresh when asked.
#[component]
pub fn StatusPage() -> impl IntoView {
    view! {
        <Title text="System status"/>
        <section class="page"><LiveStatus/></section>
    }
}

/// The status with its auto-refresh toggle: an island, the only part of the page that runs code.
#[island]
fn LiveStatus() -> impl IntoView {
    let (auto_refresh, set_auto_refresh) = signal(false);
    let (refreshes, set_refreshes) = signal(0u32);
    let report = Resource::new(move || refreshes.get(), |_| get_health_report());
    // Effects run only in the browser: the toggle says when it has come alive.
    let (ready, set_ready) = signal(false);
    Effect::new(move |_| set_ready.set(true));

    Effect::new(move |_| {
        if auto_refresh.get() {
            let handle = set_interval_with_handle(
                move || set_refreshes.update(|n| *n += 1),
                AUTO_REFRESH_EVERY,
            );
            on_cleanup(move || {
                if let Ok(handle) = handle {
                    handle.clear();
                }
            });
        }
    });

    view! {
        <div class="page-header">
            <div>
                <h1>"System status"</h1>
                <p class="muted">"Checks of this Meridian instance and the services it depends on."</p>
            </div>
            <div class="toolbar">
                <button
                    type="button"
                    class="toggle"
                    id="auto-refresh"
                    data-ready=move || ready.get().then_some("")
                    aria-pressed=move || auto_refresh.get().to_string()
                    on:click=move |_| set_auto_refresh.update(|on| *on = !*on)
                >
                    <span class="toggle-dot" aria-hidden="true"></span>
                    {move || if auto_refresh.get() { "Auto-refresh: on" } else { "Auto-refresh: off" }}
                </button>
            </div>
        </div>
        <Transition fallback=|| view! { <p class="muted">"Checking…"</p> }>
            {move || Suspend::new(async move {
                match report.await {
                    Ok(report) => view! { <StatusReport report/> }.into_any(),
                    Err(error) => view! {
                        <p class="callout callout-error">"Could not load the status: " {error.to_string()}</p>
                    }.into_any(),
                }
            })}
        </Transition>
    }
}

#[component]
fn StatusReport(report: HealthReport) -> impl IntoView {
    let updated = report
        .checked_at
        .get(11..19)
        .unwrap_or_default()
        .to_string();
    view! {
        <div class=format!("overall overall-{}", report.status.as_str()) data-checked-at=report.checked_at.clone()>
            <div class="overall-status">
                <StatusPill status=report.status/>
                <span class="overall-text">
                    {format!("{} of {} checks passed", report.passed, report.total)}
                </span>
            </div>
            <dl class="facts">
                <div><dt>"Version"</dt><dd>{report.version.clone()}</dd></div>
                <div><dt>"Installation"</dt><dd class="mono">{report.installation_id.clone()}</dd></div>
                <div><dt>"Uptime"</dt><dd>{format_uptime(report.uptime_seconds)}</dd></div>
                <div><dt>"Updated"</dt><dd class="updated">{updated}" UTC"</dd></div>
            </dl>
        </div>
        <table class="table checks">
            <thead>
                <tr><th>"Check"</th><th>"Status"</th><th class="num">"Duration"</th><th>"Details"</th></tr>
            </thead>
            <tbody>
                {report.checks.into_iter().map(|check| view! {
                    <tr data-check=check.name.clone()>
                        <td>
                            {check.name.clone()}
                            {check.critical.then(|| view! { <span class="tag">"critical"</span> })}
                        </td>
                        <td><StatusPill status=check.status/></td>
                        <td class="num">{format!("{:.1} ms", check.duration_ms)}</td>
                        <td class="muted">{check.message.clone()}</td>
                    </tr>
                }).collect_view()}
            </tbody>
        </table>
    }
}

fn format_uptime(seconds: u64) -> String {
    let (days, hours, minutes) = (seconds / 86_400, seconds / 3_600 % 24, seconds / 60 % 60);
    match (days, hours, minutes) {
        (0, 0, 0) => format!("{seconds} s"),
        (0, 0, m) => format!("{m} min"),
        (0, h, m) => format!("{h} h {m} min"),
        (d, h, _) => format!("{d} d {h} h"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(status: HealthStatus, critical: bool) -> CheckResult {
        CheckResult {
            name: "x".into(),
            status,
            duration_ms: 1.0,
            timeout_ms: 10,
            critical,
            message: String::new(),
        }
    }

    fn overall(checks: Vec<CheckResult>) -> (HealthStatus, usize) {
        let report = HealthReport::from_checks(checks, "v".into(), "i".into(), 0, "t".into());
        (report.status, report.passed)
    }

    #[test]
    fn overall_status_follows_the_worst_check() {
        use HealthStatus::*;
        assert_eq!(overall(vec![]), (Healthy, 0));
        assert_eq!(
            overall(vec![check(Healthy, true), check(Healthy, false)]),
            (Healthy, 2)
        );
        assert_eq!(
            overall(vec![check(Healthy, true), check(Degraded, false)]),
            (Degraded, 1)
        );
        assert_eq!(
            overall(vec![check(Healthy, true), check(Unhealthy, false)]),
            (Degraded, 1)
        );
        assert_eq!(
            overall(vec![check(Unhealthy, true), check(Healthy, false)]),
            (Unhealthy, 1)
        );
    }

    #[test]
    fn uptime_reads_naturally() {
        assert_eq!(format_uptime(42), "42 s");
        assert_eq!(format_uptime(600), "10 min");
        assert_eq!(format_uptime(3_900), "1 h 5 min");
        assert_eq!(format_uptime(90_000), "1 d 1 h");
    }
}
