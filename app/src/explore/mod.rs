//! Explore: type a PromQL expression, see it as a table (an instant query) or a chart (a range
//! query) over the tenant's data, wherever it lives. For admins and tenant editors. The form is
//! a GET form, so a query is a link that can be shared and works without JavaScript; a syntax
//! error is shown under the expression, at its position.

mod api;
#[cfg(feature = "ssr")]
mod chart;
#[cfg(feature = "ssr")]
mod run;

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;
use serde::{Deserialize, Serialize};

use crate::{
    admin::tenants::list_tenants,
    auth::{use_current_user, RequireRole, Role},
    components::load_error,
};
pub use api::*;

/// Table rows shown at most; the page says how many there were.
pub const MAX_ROWS: usize = 1000;

/// The form, as query parameters; every field is text as typed.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ExploreRequest {
    pub tenant: Option<String>,
    pub expr: Option<String>,
    /// `graph` (a range query) or `table` (an instant query at `end`).
    pub mode: Option<String>,
    /// How far back from `end` the graph goes: `1h`, `30m`, `2d`.
    pub range: Option<String>,
    /// `YYYY-MM-DDTHH:MM` in UTC; empty is now.
    pub end: Option<String>,
    /// Seconds or a duration between points; empty picks about 250 points.
    pub step: Option<String>,
}

impl ExploreRequest {
    pub fn graph(&self) -> bool {
        self.mode.as_deref() != Some("table")
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Explored {
    Answer(ExploreAnswer),
    /// The expression does not parse; `offset` (bytes), `line` and `column` (1-based) say where.
    ParseError {
        message: String,
        offset: Option<usize>,
        line: usize,
        column: usize,
    },
    /// It parsed but could not be evaluated (Prometheus' execution, timeout or data source
    /// errors).
    Failed {
        message: String,
    },
    /// A field of the form is wrong (`range`, `step`, `end`, `tenant`, `expr`).
    Invalid {
        field: String,
        message: String,
    },
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ExploreAnswer {
    /// `scalar`, `string`, `vector` or `matrix`.
    pub kind: String,
    pub rows: Vec<Row>,
    /// The range answer drawn as SVG (server-rendered by plotters).
    pub chart: Option<String>,
    pub legend: Vec<LegendEntry>,
    /// Series in the answer (rows and chart may show fewer).
    pub total: usize,
    pub start: i64,
    pub end: i64,
    pub step: i64,
    pub elapsed_ms: f64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Row {
    pub series: String,
    pub value: String,
    pub time: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LegendEntry {
    pub color: String,
    pub series: String,
}

#[component]
pub fn ExploreRoute() -> impl IntoView {
    view! { <RequireRole roles=&[Role::Admin, Role::TenantEditor]><ExplorePage/></RequireRole> }
}

#[component]
fn ExplorePage() -> impl IntoView {
    let query = use_query_map();
    let request = Memo::new(move |_| {
        let q = query.read();
        ExploreRequest {
            tenant: q.get("tenant"),
            expr: q.get("expr"),
            mode: q.get("mode"),
            range: q.get("range"),
            end: q.get("end"),
            step: q.get("step"),
        }
    });
    let answer = Resource::new(
        move || request.get(),
        |request| async move {
            if request
                .expr
                .as_deref()
                .unwrap_or_default()
                .trim()
                .is_empty()
            {
                return Ok(None);
            }
            explore_query(request).await.map(Some)
        },
    );
    let user = use_current_user();
    // Admins choose the tenant; tenant editors query their own.
    let tenants = Resource::new(
        || (),
        move |_| async move {
            match user.await {
                Ok(Some(user)) if user.role == Role::Admin => list_tenants().await,
                _ => Ok(Vec::new()),
            }
        },
    );
    let field = move |get: fn(&ExploreRequest) -> Option<String>| {
        move || get(&request.get()).unwrap_or_default()
    };

    view! {
        <Title text="Explore"/>
        <div class="page-header">
            <div>
                <h1>"Explore"</h1>
                <p class="muted">"PromQL over one tenant's metrics: a table of the values at one moment, or a graph over a time range."</p>
            </div>
        </div>
        <form method="get" action="/explore" class="card form explore-form" id="explore-form">
            <Suspense>
                {move || Suspend::new(async move {
                    let tenants = tenants.await.unwrap_or_default();
                    let chosen = request.get_untracked().tenant.unwrap_or_default();
                    (!tenants.is_empty()).then(|| view! {
                        <label class="field"><span>"Tenant"</span>
                            <select name="tenant" required>
                                {tenants.into_iter().map(|t| {
                                    let id = t.id.to_string();
                                    let selected = id == chosen;
                                    view! { <option value=id selected=selected>{t.name}</option> }
                                }).collect_view()}
                            </select>
                        </label>
                    })
                })}
            </Suspense>
            <label class="field expression"><span>"Expression"</span>
                <textarea name="expr" rows="3" spellcheck="false" placeholder="sum by (job) (rate(http_requests_total[5m]))"
                    prop:value=field(|r| r.expr.clone())>{field(|r| r.expr.clone())}</textarea>
            </label>
            <div class="row">
                <label class="field"><span>"Show"</span>
                    <select name="mode">
                        <option value="graph" selected=move || request.get().graph()>"Graph"</option>
                        <option value="table" selected=move || !request.get().graph()>"Table"</option>
                    </select>
                </label>
                <label class="field"><span>"Range"</span><input name="range" placeholder="1h" value=field(|r| r.range.clone())/></label>
                <label class="field"><span>"End (UTC)"</span><input type="datetime-local" name="end" value=field(|r| r.end.clone())/></label>
                <label class="field"><span>"Step"</span><input name="step" placeholder="auto" value=field(|r| r.step.clone())/></label>
            </div>
            <div class="actions">
                <button type="submit" class="button primary">"Run query"</button>
            </div>
        </form>
        <Transition fallback=|| view! { <p class="muted">"Running…"</p> }>
            {move || Suspend::new(async move {
                let expr = request.get_untracked().expr.unwrap_or_default();
                match answer.await {
                    Ok(None) => view! { <p class="muted" id="explore-hint">"Enter an expression and run it."</p> }.into_any(),
                    Ok(Some(Explored::Answer(answer))) => view! { <Answer answer/> }.into_any(),
                    Ok(Some(Explored::ParseError { message, offset, .. })) => view! { <ParseErrorAt expr message offset/> }.into_any(),
                    Ok(Some(Explored::Failed { message })) => view! {
                        <p class="callout callout-error" role="alert" id="query-error">{message}</p>
                    }.into_any(),
                    Ok(Some(Explored::Invalid { field, message })) => view! {
                        <p class="callout callout-error" role="alert" id="query-error" data-field=field.clone()>{format!("{field}: {message}")}</p>
                    }.into_any(),
                    Err(error) => load_error(error),
                }
            })}
        </Transition>
    }
}

/// The message, and the line of the expression with a caret under the offending position.
#[component]
fn ParseErrorAt(expr: String, message: String, offset: Option<usize>) -> impl IntoView {
    let caret = offset.map(|offset| {
        let offset = offset.min(expr.len());
        let line_start = expr[..offset].rfind('\n').map_or(0, |i| i + 1);
        let line_end = expr[offset..].find('\n').map_or(expr.len(), |i| offset + i);
        let column = expr[line_start..offset].chars().count();
        format!("{}\n{}^", &expr[line_start..line_end], " ".repeat(column))
    });
    view! {
        <div class="callout callout-error" role="alert" id="parse-error">
            <p class="message">{message}</p>
            {caret.map(|caret| view! { <pre class="caret">{caret}</pre> })}
        </div>
    }
}

#[component]
fn Answer(answer: ExploreAnswer) -> impl IntoView {
    let shown = answer.rows.len().max(answer.legend.len());
    let summary = format!(
        "{} · {} · {:.0} ms{}",
        answer.kind,
        match answer.total {
            1 => "1 series".to_string(),
            n => format!("{n} series"),
        },
        answer.elapsed_ms,
        if answer.step > 0 {
            format!(" · step {}s", answer.step as f64 / 1000.0)
        } else {
            String::new()
        },
    );
    let cut = (answer.total > shown)
        .then(|| format!("Showing the first {shown} of {} series.", answer.total));
    match answer.chart {
        Some(svg) => view! {
            <section class="card explore-result" id="explore-graph">
                <p class="muted summary">{summary}</p>
                {cut.map(|text| view! { <p class="muted">{text}</p> })}
                <div class="chart" inner_html=svg></div>
                <ul class="legend">
                    {answer.legend.into_iter().map(|entry| view! {
                        <li><span class="swatch" style=format!("background:{}", entry.color)></span><code>{entry.series}</code></li>
                    }).collect_view()}
                </ul>
            </section>
        }.into_any(),
        None => view! {
            <section class="card explore-result" id="explore-table">
                <p class="muted summary">{summary}</p>
                {cut.map(|text| view! { <p class="muted">{text}</p> })}
                <table class="table">
                    <thead><tr><th>"Series"</th><th>"Value"</th><th>"Time"</th></tr></thead>
                    <tbody>
                        {answer.rows.into_iter().map(|row| view! {
                            <tr><td><code>{row.series}</code></td><td class="value">{row.value}</td><td class="muted">{row.time}</td></tr>
                        }).collect_view()}
                    </tbody>
                </table>
            </section>
        }.into_any(),
    }
}
