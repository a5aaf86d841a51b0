//! A dashboard prepared for one viewer and one URL: the model (read in the viewer's scope), the
//! time span and zone, the tenants its panels run in, the variables; then the whole page's
//! panels drawn at once, or one panel's data for CSV, SVG and hover values.

use std::time::Instant;

use uuid::Uuid;
use viz::{
    model::{Dashboard, Panel, CELL_GAP_PX, GRID_COLUMNS},
    time::{self, Tz},
};

use super::{
    query_string,
    render::{self, Frame},
    repo::{self, StoredDashboard},
    run::{self, PanelData, Request, Span, Tenants},
    vars::{self, Resolved},
    DashboardView, PanelView, TimeView,
};
use crate::{
    admin::tenants,
    error::AppError,
    scrape::repo::SYSTEM_TENANT,
    ssr::{scope::Scope, AppState},
};

/// The grid's width when the page does not say (a laptop's content width).
pub const DEFAULT_WIDTH_PX: u32 = 1400;
/// Below this width panels stack, one a row, as on a phone.
pub const STACK_BELOW_PX: u32 = 720;
/// A panel's padding and header, which its body does not get.
const PANEL_CHROME_W: u32 = 20;
const PANEL_CHROME_H: u32 = 44;

pub struct Prepared {
    pub stored: StoredDashboard,
    pub request: Request,
    pub span: Span,
    pub tenants: Tenants,
    pub resolved: Resolved,
    pub width: u32,
    pub time: TimeView,
    /// The viewer may change the dashboard.
    pub editable: bool,
    /// Whose view it is: panels that read more than metrics (the alert list) read in it.
    pub scope: Scope,
}

/// The `tenant` label of a global panel's series comes from here, never from the data.
async fn visible_tenants(scope: &Scope, state: &AppState) -> Result<Vec<(Uuid, String)>, AppError> {
    Ok(tenants::repo::list_tenants(scope, &state.pool)
        .await?
        .into_iter()
        .filter(|t| t.active)
        .map(|t| (t.id, t.name))
        .collect())
}

fn local(ms: i64, tz: Tz) -> String {
    time::format_ms(ms, tz, "%Y-%m-%d %H:%M:%S")
}

/// The span from the URL (else the dashboard's default), in the chosen zone.
fn span_of(
    model: &Dashboard,
    request: &Request,
    browser: Option<Tz>,
    notices: &mut Vec<String>,
) -> (Span, TimeView) {
    let zone = request
        .get("timezone")
        .unwrap_or(&model.timezone)
        .to_string();
    let tz = time::parse_zone(&zone, browser).unwrap_or_else(|e| {
        notices.push(e.to_string());
        Tz::UTC
    });
    let now = chrono::Utc::now().timestamp_millis();
    let mut parse = |text: &str, fallback: &str, up: bool| {
        time::parse_time(text, now, up, tz)
            .map(|ms| (text.to_string(), ms))
            .unwrap_or_else(|e| {
                notices.push(e.to_string());
                let ms = time::parse_time(fallback, now, up, tz).unwrap_or(now);
                (fallback.to_string(), ms)
            })
    };
    let default = &model.time;
    let (mut from_text, mut from) = parse(
        request.get("from").unwrap_or(&default.from),
        "now-6h",
        false,
    );
    let (mut to_text, mut to) = parse(request.get("to").unwrap_or(&default.to), "now", true);
    if from >= to {
        notices.push(format!(
            "the range {from_text} to {to_text} is empty; showing the last 6 hours"
        ));
        (from_text, from, to_text, to) = ("now-6h".into(), now - 6 * 3_600_000, "now".into(), now);
    }
    let view = TimeView {
        label: time::describe_range(&from_text, &to_text, tz),
        from: from_text,
        to: to_text,
        zone,
        zone_name: tz.name().to_string(),
        from_ms: from,
        to_ms: to,
        from_local: local(from, tz),
        to_local: local(to, tz),
    };
    (Span { from, to, tz }, view)
}

/// Reads the dashboard in the viewer's scope and resolves time, tenants and variables.
pub async fn prepare(
    state: &AppState,
    scope: &Scope,
    uid: &str,
    query: &str,
    width: u32,
    browser: Option<Tz>,
) -> Result<Prepared, AppError> {
    let stored = repo::get(scope, &state.pool, uid).await?;
    prepare_stored(state, scope, stored, query, width, browser).await
}

/// The same for a dashboard already read in the viewer's scope (the editor's preview).
pub async fn prepare_stored(
    state: &AppState,
    scope: &Scope,
    stored: StoredDashboard,
    query: &str,
    width: u32,
    browser: Option<Tz>,
) -> Result<Prepared, AppError> {
    let request = Request::parse(query);
    let mut resolved = Resolved::default();
    let (span, time) = span_of(&stored.model, &request, browser, &mut resolved.notices);
    let visible = visible_tenants(scope, state).await?;
    let global = stored.record.tenant_id.is_none();
    let mut tenants = Tenants {
        selected: Vec::new(),
        visible: visible.clone(),
        global,
    };
    match stored.record.tenant_id {
        Some(owner) => {
            tenants.selected = visible
                .iter()
                .filter(|(id, _)| *id == owner)
                .cloned()
                .collect();
        }
        None => {
            let names: Vec<String> = visible
                .iter()
                .map(|(_, n)| n.clone())
                .filter(|n| n != SYSTEM_TENANT)
                .collect();
            let mut variable = vars::tenant_variable(&names);
            // One tenant to choose from is no choice: the picker is not shown.
            if names.len() < 2 {
                variable.hide = 2;
            }
            vars::resolve(state, &tenants, &[variable], &request, &span, &mut resolved).await;
            let chosen = &resolved.values[vars::TENANT_VARIABLE].values;
            tenants.selected = visible
                .iter()
                .filter(|(_, n)| chosen.contains(n))
                .cloned()
                .collect();
        }
    }
    let variables = stored.model.templating.list.clone();
    vars::resolve(state, &tenants, &variables, &request, &span, &mut resolved).await;
    let editable = repo::require_writer(scope, stored.record.tenant_id).is_ok();
    Ok(Prepared {
        editable,
        scope: scope.clone(),
        stored,
        request,
        span,
        tenants,
        resolved,
        width: width.clamp(280, 8000),
        time,
    })
}

impl Prepared {
    /// The query string that reproduces this view.
    pub fn query(&self) -> String {
        let mut pairs = vec![
            ("from".to_string(), self.time.from.clone()),
            ("to".to_string(), self.time.to.clone()),
        ];
        if let Some(zone) = self.request.get("timezone") {
            pairs.push(("timezone".into(), zone.into()));
        }
        if let Some(refresh) = self.request.get("refresh") {
            pairs.push(("refresh".into(), refresh.into()));
        }
        for variable in &self.resolved.views {
            for value in &variable.selected {
                pairs.push((format!("var-{}", variable.name), value.clone()));
            }
        }
        for (k, v) in &self.request.pairs {
            if k.starts_with("sort-") {
                pairs.push((k.clone(), v.clone()));
            }
        }
        query_string(&pairs)
    }

    /// A panel's body size in pixels on this page.
    pub fn body_size(&self, panel: &Panel, alone: bool) -> (u32, u32) {
        let grid = self.width;
        let width = if alone || grid < STACK_BELOW_PX {
            grid
        } else {
            let column = (grid - (GRID_COLUMNS - 1) * CELL_GAP_PX) as f64 / GRID_COLUMNS as f64;
            let w = panel.grid_pos.w.clamp(1, GRID_COLUMNS);
            (column * w as f64 + ((w - 1) * CELL_GAP_PX) as f64) as u32
        };
        let height = if alone {
            560
        } else {
            panel.grid_pos.height_px()
        };
        (
            width.saturating_sub(PANEL_CHROME_W).max(80),
            height.saturating_sub(PANEL_CHROME_H).max(40),
        )
    }

    /// The data of `panels`, each drawn at its width, their queries run together.
    pub async fn data_of(&self, state: &AppState, panels: &[(&Panel, u32)]) -> Vec<PanelData> {
        let queried: Vec<(&Panel, u32)> = panels
            .iter()
            .copied()
            .filter(|(p, _)| run::runs_queries(p))
            .collect();
        let mut answers = run::run_panels(
            state,
            &self.tenants,
            &queried,
            &self.resolved.values,
            &self.span,
        )
        .await
        .into_iter();
        let mut data = Vec::with_capacity(panels.len());
        for (p, _) in panels {
            data.push(if p.kind == "alertlist" {
                self.alert_list(state, p).await
            } else if run::runs_queries(p) {
                answers.next().unwrap_or_default()
            } else {
                PanelData::default()
            });
        }
        data
    }

    /// An alert list panel's alerts (Grafana's `alertlist`): the pending and firing alerts of
    /// the dashboard's tenants, at most `options.maxItems`.
    async fn alert_list(&self, state: &AppState, panel: &Panel) -> PanelData {
        let tenants: Vec<Uuid> = self.tenants.selected.iter().map(|(id, _)| *id).collect();
        let limit = panel
            .options
            .get("maxItems")
            .and_then(|v| v.as_i64())
            .unwrap_or(10)
            .clamp(1, 100);
        match crate::alerting::history::current(&self.scope, &state.pool, &tenants, limit).await {
            Ok(alerts) => PanelData {
                alerts,
                ..PanelData::default()
            },
            Err(error) => {
                tracing::warn!(error = %error, "Could not read the alerts of an alert list panel.");
                PanelData {
                    errors: vec!["the alerts could not be read; it has been logged".into()],
                    ..PanelData::default()
                }
            }
        }
    }

    pub async fn data(&self, state: &AppState, panel: &Panel, width: u32) -> PanelData {
        self.data_of(state, &[(panel, width)])
            .await
            .pop()
            .unwrap_or_default()
    }

    pub fn frame<'a>(&'a self, (width, height): (u32, u32), query: &'a str) -> Frame<'a> {
        Frame {
            width,
            height,
            from: self.span.from,
            to: self.span.to,
            tz: self.span.tz,
            query,
            text_values: &self.resolved.values,
        }
    }

    /// The panels the page shows: all (in grid order), or only the one in `viewPanel`.
    pub fn shown(&self) -> Vec<&Panel> {
        let model = &self.stored.model;
        match self.view_panel() {
            Some(id) => model.panel(id).into_iter().collect(),
            None => model.visible_panels(),
        }
    }

    pub fn view_panel(&self) -> Option<u32> {
        self.request.get("viewPanel").and_then(|v| v.parse().ok())
    }

    /// Every shown panel, queried and drawn, all at once.
    pub async fn view(&self, state: &AppState) -> DashboardView {
        let began = Instant::now();
        let query = self.query();
        let alone = self.view_panel().is_some();
        let panels = self.shown();
        let sized: Vec<(&Panel, (u32, u32))> = panels
            .iter()
            .map(|p| (*p, self.body_size(p, alone)))
            .collect();
        let widths: Vec<(&Panel, u32)> = sized.iter().map(|(p, size)| (*p, size.0)).collect();
        let data = self.data_of(state, &widths).await;
        let drawn: Vec<PanelView> = sized
            .iter()
            .zip(&data)
            .map(|((panel, size), data)| PanelView {
                id: panel.id,
                kind: panel.kind.clone(),
                title: panel.title.clone(),
                description: panel.description.clone(),
                x: panel.grid_pos.x,
                y: panel.grid_pos.y,
                w: panel.grid_pos.w.clamp(1, GRID_COLUMNS),
                h: panel.grid_pos.h.max(2),
                html: render::panel_html(panel, data, &self.frame(*size, &query)),
                time: matches!(
                    panel.kind.as_str(),
                    "timeseries" | "graph" | "heatmap" | "state-timeline" | "status-history"
                ),
                notes: self.stored.notes.for_panel(panel.id).to_vec(),
            })
            .collect();
        let model = &self.stored.model;
        DashboardView {
            uid: model.uid.clone(),
            title: model.title.clone(),
            description: model.description.clone(),
            tags: model.tags.clone(),
            owner: match (&self.stored.record.tenant_name, &self.tenants.selected[..]) {
                (Some(owner), _) => owner.clone(),
                (None, [(_, only)]) => only.clone(),
                (None, _) => "All your tenants".into(),
            },
            time: self.time.clone(),
            refresh: self
                .request
                .get("refresh")
                .unwrap_or(&model.refresh)
                .to_string(),
            variables: self.resolved.views.clone(),
            panels: drawn,
            view_panel: self.view_panel(),
            kiosk: self.request.has("kiosk"),
            notices: self.resolved.notices.clone(),
            query,
            width: self.width,
            elapsed_ms: began.elapsed().as_secs_f64() * 1000.0,
            editable: self.editable && !self.request.has("kiosk"),
        }
    }
}

/// The time series panels' series at their step, for the hover values.
pub async fn hover(prepared: &Prepared, state: &AppState) -> super::HoverData {
    let panels: Vec<&Panel> = prepared
        .shown()
        .into_iter()
        .filter(|p| matches!(p.kind.as_str(), "timeseries" | "graph"))
        .collect();
    let alone = prepared.view_panel().is_some();
    let widths: Vec<(&Panel, u32)> = panels
        .iter()
        .map(|p| (*p, prepared.body_size(p, alone).0))
        .collect();
    let data = prepared.data_of(state, &widths).await;
    let answers: Vec<super::HoverPanel> = panels
        .iter()
        .zip(&data)
        .map(|(panel, data)| {
            let styled = render::style(panel, &data.series);
            super::HoverPanel {
                id: panel.id,
                step: data.step,
                series: styled
                    .iter()
                    .take(render::series_cap(panel))
                    .map(|s| super::HoverSeries {
                        name: s.name.clone(),
                        color: s.color.clone(),
                        points: s
                            .series
                            .points
                            .iter()
                            .filter(|(_, v)| v.is_finite())
                            .map(|(t, v)| {
                                (*t, s.field.display(Some(*v), (0.0, 1.0), &s.color).text)
                            })
                            .collect(),
                    })
                    .collect(),
            }
        })
        .collect();
    super::HoverData {
        panels: answers,
        offsets: time::offsets(prepared.span.from, prepared.span.to, prepared.span.tz),
    }
}

/// A panel of this dashboard, or `NotFound`.
pub fn panel(prepared: &Prepared, id: u32) -> Result<&Panel, AppError> {
    prepared
        .stored
        .model
        .panel(id)
        .filter(|p| p.kind != "row")
        .ok_or(AppError::NotFound)
}

fn csv_field(text: &str) -> String {
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_string()
    }
}

/// A panel's data as CSV, times in the dashboard's zone: a column a series (with a `Time`
/// column) for time panels, a column a label and one for the value for tables.
pub async fn csv(prepared: &Prepared, state: &AppState, id: u32) -> Result<String, AppError> {
    let panel = panel(prepared, id)?;
    let size = prepared.body_size(panel, false);
    let data = prepared.data(state, panel, size.0).await;
    let styled = render::style(panel, &data.series);
    let mut out = String::new();
    if panel.kind == "table" || panel.targets.iter().all(|t| run::instant(panel, t)) {
        let mut names: Vec<&str> = data
            .series
            .iter()
            .flat_map(|s| s.labels.iter().map(|(n, _)| n))
            .collect();
        names.sort_unstable();
        names.dedup();
        let header: Vec<String> = names
            .iter()
            .map(|n| csv_field(n))
            .chain(["Time".into(), "Value".into()])
            .collect();
        out.push_str(&header.join(","));
        out.push('\n');
        for s in &data.series {
            for (t, v) in &s.points {
                let mut row: Vec<String> = names
                    .iter()
                    .map(|n| csv_field(s.labels.get(n).unwrap_or("")))
                    .collect();
                row.push(time::format_ms(*t, prepared.span.tz, "%Y-%m-%d %H:%M:%S"));
                row.push(promql::format_float(*v));
                out.push_str(&row.join(","));
                out.push('\n');
            }
        }
        return Ok(out);
    }
    let mut times: Vec<i64> = data
        .series
        .iter()
        .flat_map(|s| s.points.iter().map(|p| p.0))
        .collect();
    times.sort_unstable();
    times.dedup();
    let header: Vec<String> = std::iter::once("Time".to_string())
        .chain(styled.iter().map(|s| csv_field(&s.name)))
        .collect();
    out.push_str(&header.join(","));
    out.push('\n');
    let mut cursors = vec![0usize; styled.len()];
    for t in times {
        let mut row = vec![time::format_ms(t, prepared.span.tz, "%Y-%m-%d %H:%M:%S")];
        for (s, cursor) in styled.iter().zip(cursors.iter_mut()) {
            let points = &s.series.points;
            while *cursor < points.len() && points[*cursor].0 < t {
                *cursor += 1;
            }
            row.push(match points.get(*cursor) {
                Some((pt, v)) if *pt == t => promql::format_float(*v),
                _ => String::new(),
            });
        }
        out.push_str(&row.join(","));
        out.push('\n');
    }
    Ok(out)
}

/// A panel's chart as a standalone SVG document (with the styles the page would give it).
pub async fn chart_svg(prepared: &Prepared, state: &AppState, id: u32) -> Result<String, AppError> {
    let panel = panel(prepared, id)?;
    let size = prepared.body_size(panel, false);
    let data = prepared.data(state, panel, size.0).await;
    let query = prepared.query();
    let html = render::panel_html(panel, &data, &prepared.frame(size, &query));
    let (Some(start), Some(end)) = (html.find("<svg"), html.find("</svg>")) else {
        return Err(AppError::invalid(
            "panel",
            "this panel has no chart to download",
        ));
    };
    let svg = &html[start..end + "</svg>".len()];
    let style = "<style>text{fill:#5d6776;font-family:sans-serif}polyline{stroke:#dde1e7}</style>";
    let open_end = svg.find('>').map_or(0, |i| i + 1);
    Ok(format!("{}{style}{}", &svg[..open_end], &svg[open_end..]))
}

/// Every query the shown panels run, with the variables put in and the span each covers: what
/// a Prometheus behind Grafana would be asked for the same page (the benchmark asks it).
pub fn queries(prepared: &Prepared) -> Vec<(String, (i64, i64, i64))> {
    let alone = prepared.view_panel().is_some();
    prepared
        .shown()
        .into_iter()
        .filter(|p| run::runs_queries(p))
        .flat_map(|panel| {
            let width = prepared.body_size(panel, alone).0;
            let (_, planned) = run::plan(panel, &prepared.resolved.values, &prepared.span, width);
            planned
                .into_iter()
                .filter_map(|p| p.expr.ok().map(|expr| (expr, p.span)))
                .collect::<Vec<_>>()
        })
        .collect()
}
