//! The one script a dashboard page runs (a Leptos island around the server-drawn page). It turns
//! the page's links and GET forms into in-place redraws: the URL changes (so the view stays a
//! link), the server draws the new page body, the island swaps it in. It also runs the
//! auto-refresh, the hover crosshair shared by every time panel with each panel's values at that
//! moment, and drag-to-zoom. Without it the same links and forms load whole pages.

use leptos::prelude::*;

#[island]
pub fn LiveDashboard(uid: String, children: Children) -> impl IntoView {
    #[cfg(feature = "hydrate")]
    {
        let uid = uid.clone();
        Effect::new(move |_| client::start(uid.clone()));
    }
    view! { <div class="live-dashboard" data-live-uid=uid>{children()}</div> }
}

#[cfg(feature = "hydrate")]
mod client {
    use std::{cell::RefCell, rc::Rc};

    use leptos::task::spawn_local;
    use wasm_bindgen::{closure::Closure, JsCast};
    use web_sys::{Element, Event, HtmlElement, HtmlFormElement, HtmlSelectElement, MouseEvent};

    use crate::dashboards::{dashboard_series, render_dashboard, HoverData, HoverPanel};

    struct State {
        uid: String,
        root: Element,
        query: String,
        /// Each redraw gets a number; an answer to an older one is dropped.
        generation: u32,
        refresh: Option<i32>,
        hover: Option<Rc<HoverData>>,
        /// The query whose hover values are loaded or loading.
        hover_for: Option<String>,
        drag: Option<(Element, f64)>,
    }

    type Shared = Rc<RefCell<State>>;

    fn window() -> web_sys::Window {
        web_sys::window().expect("a browser window")
    }

    fn document() -> web_sys::Document {
        window().document().expect("a document")
    }

    pub fn start(uid: String) {
        let Some(root) = document().query_selector("[data-live-uid]").ok().flatten() else {
            return;
        };
        let query = window()
            .location()
            .search()
            .unwrap_or_default()
            .trim_start_matches('?')
            .to_string();
        let state: Shared = Rc::new(RefCell::new(State {
            uid,
            root: root.clone(),
            query,
            generation: 0,
            refresh: None,
            hover: None,
            hover_for: None,
            drag: None,
        }));
        remember_viewport();
        listen(&root, "click", &state, on_click);
        listen(&root, "submit", &state, on_submit);
        listen(&root, "change", &state, on_change);
        listen(&root, "mousemove", &state, on_move);
        listen(&root, "mouseleave", &state, |_, s| {
            hide_hover(&s.borrow().root)
        });
        listen(&root, "mousedown", &state, on_down);
        listen(&root, "mouseup", &state, on_up);
        let popstate = state.clone();
        let closure = Closure::<dyn FnMut(Event)>::new(move |_| {
            let query = window().location().search().unwrap_or_default();
            popstate.borrow_mut().query = query.trim_start_matches('?').to_string();
            redraw(&popstate);
        });
        let _ =
            window().add_event_listener_with_callback("popstate", closure.as_ref().unchecked_ref());
        closure.forget();
        schedule_refresh(&state);
        // The page was drawn for another width (a first visit, a resized window): draw it again.
        let drawn = dashboard(&root)
            .and_then(|d| d.get_attribute("data-width"))
            .and_then(|w| w.parse::<f64>().ok());
        let width = grid_width(&root);
        if drawn.is_some_and(|d| (d - width).abs() / width > 0.15) {
            redraw(&state);
        }
        let _ = root.set_attribute("data-live", "ready");
    }

    fn listen(root: &Element, event: &str, state: &Shared, handler: fn(Event, &Shared)) {
        let state = state.clone();
        let closure = Closure::<dyn FnMut(Event)>::new(move |e: Event| handler(e, &state));
        let _ = root.add_event_listener_with_callback(event, closure.as_ref().unchecked_ref());
        closure.forget();
    }

    fn dashboard(root: &Element) -> Option<Element> {
        root.query_selector(".dashboard").ok().flatten()
    }

    fn grid_width(root: &Element) -> f64 {
        root.query_selector(".dash-grid")
            .ok()
            .flatten()
            .map(|g| g.get_bounding_client_rect().width())
            .filter(|w| *w > 0.0)
            .unwrap_or_else(|| root.get_bounding_client_rect().width().max(320.0))
    }

    /// Cookies the server reads to draw the next page at this width and in this zone.
    fn remember_viewport() {
        let Some(root) = document().query_selector("[data-live-uid]").ok().flatten() else {
            return;
        };
        let width = grid_width(&root).round();
        let zone = js_zone();
        if let Some(doc) = document().dyn_ref::<web_sys::HtmlDocument>() {
            let _ = doc.set_cookie(&format!(
                "meridian_vw={width}; path=/; max-age=31536000; samesite=lax"
            ));
            if !zone.is_empty() {
                let _ = doc.set_cookie(&format!(
                    "meridian_tz={}; path=/; max-age=31536000; samesite=lax",
                    crate::url::encode(&zone)
                ));
            }
        }
    }

    fn js_zone() -> String {
        let options = web_sys::js_sys::Intl::DateTimeFormat::new(
            &web_sys::js_sys::Array::new(),
            &web_sys::js_sys::Object::new(),
        )
        .resolved_options();
        web_sys::js_sys::Reflect::get(&options, &"timeZone".into())
            .ok()
            .and_then(|z| z.as_string())
            .unwrap_or_default()
    }

    fn closest(event: &Event, selector: &str) -> Option<Element> {
        event
            .target()?
            .dyn_into::<Element>()
            .ok()?
            .closest(selector)
            .ok()
            .flatten()
    }

    fn on_click(event: Event, state: &Shared) {
        // An open drop-down closes when the click lands outside it, as menus do.
        let inside = closest(&event, "details.picker");
        if let Ok(open) = state
            .borrow()
            .root
            .query_selector_all("details.picker[open]")
        {
            for i in 0..open.length() {
                if let Some(details) = open.item(i).and_then(|n| n.dyn_into::<Element>().ok()) {
                    if inside.as_ref() != Some(&details) {
                        let _ = details.remove_attribute("open");
                    }
                }
            }
        }
        let Some(link) = closest(&event, "a[data-nav]") else {
            return;
        };
        let mouse = event.dyn_ref::<MouseEvent>();
        if mouse.is_some_and(|m| m.ctrl_key() || m.meta_key() || m.shift_key() || m.button() != 0) {
            return;
        }
        let Some(href) = link.get_attribute("href") else {
            return;
        };
        let Some(query) = href.strip_prefix('?') else {
            return;
        };
        event.prevent_default();
        if let Some(details) = link.closest("details").ok().flatten() {
            let _ = details.remove_attribute("open");
        }
        navigate(state, query.to_string());
    }

    fn form_query(form: &HtmlFormElement) -> String {
        let Ok(data) = web_sys::FormData::new_with_form(form) else {
            return String::new();
        };
        web_sys::UrlSearchParams::new_with_str_sequence_sequence(&data)
            .map(|p| String::from(p.to_string()))
            .unwrap_or_default()
    }

    fn on_submit(event: Event, state: &Shared) {
        let Some(form) = closest(&event, "form[data-live]") else {
            return;
        };
        let Ok(form) = form.dyn_into::<HtmlFormElement>() else {
            return;
        };
        event.prevent_default();
        if let Some(details) = form.closest("details").ok().flatten() {
            let _ = details.remove_attribute("open");
        }
        navigate(state, form_query(&form));
    }

    fn on_change(event: Event, state: &Shared) {
        let Some(select) = closest(&event, "select[data-autosubmit]") else {
            return;
        };
        let Some(form) = select.dyn_ref::<HtmlSelectElement>().and_then(|s| s.form()) else {
            return;
        };
        navigate(state, form_query(&form));
    }

    /// A new view: its URL goes into the history, and the page is drawn again.
    fn navigate(state: &Shared, query: String) {
        let _ = window().history().and_then(|h| {
            h.push_state_with_url(&wasm_bindgen::JsValue::NULL, "", Some(&format!("?{query}")))
        });
        state.borrow_mut().query = query;
        redraw(state);
    }

    fn redraw(state: &Shared) {
        let (uid, query, generation, root) = {
            let mut s = state.borrow_mut();
            s.generation += 1;
            (s.uid.clone(), s.query.clone(), s.generation, s.root.clone())
        };
        let width = grid_width(&root).round() as u32;
        let _ = root.set_attribute("aria-busy", "true");
        let state = state.clone();
        spawn_local(async move {
            let answer = render_dashboard(uid, query, Some(width)).await;
            if state.borrow().generation != generation {
                return;
            }
            let _ = root.remove_attribute("aria-busy");
            match answer {
                Ok(html) => {
                    if let Some(old) = dashboard(&root) {
                        old.set_outer_html(&html);
                    }
                    let mut s = state.borrow_mut();
                    s.hover = None;
                    s.hover_for = None;
                    drop(s);
                    let redraws = root
                        .get_attribute("data-redraws")
                        .and_then(|n| n.parse::<u32>().ok())
                        .unwrap_or(0);
                    let _ = root.set_attribute("data-redraws", &(redraws + 1).to_string());
                    remember_viewport();
                    schedule_refresh(&state);
                }
                Err(error) => leptos::logging::warn!("The dashboard could not be redrawn: {error}"),
            }
        });
    }

    /// Redraws every `refresh` (the URL's, else the dashboard's).
    fn schedule_refresh(state: &Shared) {
        let root = state.borrow().root.clone();
        if let Some(handle) = state.borrow_mut().refresh.take() {
            window().clear_interval_with_handle(handle);
        }
        let every = dashboard(&root)
            .and_then(|d| d.get_attribute("data-refresh"))
            .and_then(|r| duration_ms(&r));
        let Some(every) = every else { return };
        let again = state.clone();
        let closure = Closure::<dyn FnMut()>::new(move || redraw(&again));
        let handle = window().set_interval_with_callback_and_timeout_and_arguments_0(
            closure.as_ref().unchecked_ref(),
            every.max(1000.0) as i32,
        );
        closure.forget();
        state.borrow_mut().refresh = handle.ok();
    }

    /// `30s`, `1m`, `5m`, `1h` in milliseconds.
    fn duration_ms(text: &str) -> Option<f64> {
        let text = text.trim();
        let split = text.find(|c: char| !c.is_ascii_digit())?;
        let n: f64 = text[..split].parse().ok()?;
        let unit = match &text[split..] {
            "s" => 1_000.0,
            "m" => 60_000.0,
            "h" => 3_600_000.0,
            "d" => 86_400_000.0,
            _ => return None,
        };
        (n > 0.0).then_some(n * unit)
    }

    /// A chart's time axis on screen: (left px, right px, from ms, to ms).
    fn axis(chart: &Element) -> Option<(f64, f64, f64, f64)> {
        let number = |name: &str| chart.get_attribute(name)?.parse::<f64>().ok();
        let svg = chart.query_selector("svg").ok().flatten()?;
        let rect = svg.get_bounding_client_rect();
        let scale = rect.width() / number("data-width")?;
        Some((
            rect.left() + number("data-left")? * scale,
            rect.left() + number("data-right")? * scale,
            number("data-from")?,
            number("data-to")?,
        ))
    }

    fn time_at(chart: &Element, x: f64) -> Option<f64> {
        let (left, right, from, to) = axis(chart)?;
        (x >= left && x <= right && right > left)
            .then(|| from + (x - left) / (right - left) * (to - from))
    }

    fn on_move(event: Event, state: &Shared) {
        let Some(mouse) = event.dyn_ref::<MouseEvent>() else {
            return;
        };
        let x = mouse.client_x() as f64;
        if let Some((chart, start)) = state.borrow().drag.clone() {
            draw_selection(&chart, start, x);
        }
        let Some(chart) = closest(&event, ".panel[data-time] .chart") else {
            return hide_hover(&state.borrow().root);
        };
        let Some(t) = time_at(&chart, x) else {
            return hide_hover(&state.borrow().root);
        };
        show_hover(state, t);
    }

    fn hide_hover(root: &Element) {
        if let Ok(marks) = root.query_selector_all(".crosshair, .hover-box") {
            for i in 0..marks.length() {
                if let Some(el) = marks.item(i).and_then(|n| n.dyn_into::<HtmlElement>().ok()) {
                    let _ = el.style().set_property("display", "none");
                }
            }
        }
    }

    /// An element of `class` inside `parent`, made on first use.
    fn child(parent: &Element, class: &str) -> Option<HtmlElement> {
        if let Some(found) = parent
            .query_selector(&format!(":scope > .{class}"))
            .ok()
            .flatten()
        {
            return found.dyn_into().ok();
        }
        let el = document().create_element("div").ok()?;
        el.set_class_name(class);
        parent.append_child(&el).ok()?;
        el.dyn_into().ok()
    }

    /// The crosshair at `t` in every time panel, each with its values at that moment.
    fn show_hover(state: &Shared, t: f64) {
        let (root, data) = {
            let s = state.borrow();
            (s.root.clone(), s.hover.clone())
        };
        if data.is_none() {
            load_hover(state);
        }
        let Ok(charts) = root.query_selector_all(".panel[data-time] .chart") else {
            return;
        };
        for i in 0..charts.length() {
            let Some(chart) = charts.item(i).and_then(|n| n.dyn_into::<Element>().ok()) else {
                continue;
            };
            let Some((left, right, from, to)) = axis(&chart) else {
                continue;
            };
            if t < from || t > to {
                continue;
            }
            let chart_left = chart.get_bounding_client_rect().left();
            let x = left + (t - from) / (to - from) * (right - left) - chart_left;
            if let Some(line) = child(&chart, "crosshair") {
                let style = line.style();
                let _ = style.set_property("display", "block");
                let _ = style.set_property("left", &format!("{x:.1}px"));
            }
            let panel_id = chart
                .closest(".panel")
                .ok()
                .flatten()
                .and_then(|p| p.get_attribute("data-panel"))
                .and_then(|id| id.parse::<u32>().ok());
            let Some(boxed) = child(&chart, "hover-box") else {
                continue;
            };
            let html = match (&data, panel_id) {
                (Some(data), Some(id)) => {
                    hover_html(data, data.panels.iter().find(|p| p.id == id), t)
                }
                _ => format!("<b>{}</b>", local_time(&[], t)),
            };
            boxed.set_inner_html(&html);
            let style = boxed.style();
            let _ = style.set_property("display", "block");
            let width = chart.get_bounding_client_rect().width();
            let (side, at) = if x > width / 2.0 {
                ("right", width - x + 10.0)
            } else {
                ("left", x + 10.0)
            };
            let _ = style.remove_property(if side == "left" { "right" } else { "left" });
            let _ = style.set_property(side, &format!("{at:.0}px"));
        }
    }

    fn load_hover(state: &Shared) {
        let (uid, query, root) = {
            let s = state.borrow();
            if s.hover_for.as_ref() == Some(&s.query) {
                return;
            }
            (s.uid.clone(), s.query.clone(), s.root.clone())
        };
        state.borrow_mut().hover_for = Some(query.clone());
        let width = grid_width(&root).round() as u32;
        let state = state.clone();
        spawn_local(async move {
            if let Ok(data) = dashboard_series(uid, query.clone(), Some(width)).await {
                let mut s = state.borrow_mut();
                if s.query == query {
                    s.hover = Some(Rc::new(data));
                }
            }
        });
    }

    fn escape(text: &str) -> String {
        text.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
            .replace('"', "&quot;")
    }

    fn hover_html(data: &HoverData, panel: Option<&HoverPanel>, t: f64) -> String {
        let mut html = format!("<b>{}</b>", local_time(&data.offsets, t));
        let Some(panel) = panel else { return html };
        for series in &panel.series {
            let Some(value) = nearest(&series.points, t as i64, panel.step.max(1)) else {
                continue;
            };
            html.push_str(&format!(
                r#"<div class="hover-row"><span class="swatch" style="background:{}"></span><span class="hover-name">{}</span><span class="hover-value">{}</span></div>"#,
                escape(&series.color),
                escape(&series.name),
                escape(value)
            ));
        }
        html
    }

    /// The value of the point nearest `t`, if it is within a step.
    fn nearest(points: &[(i64, String)], t: i64, step: i64) -> Option<&str> {
        let i = points.partition_point(|p| p.0 < t);
        [i.checked_sub(1), Some(i)]
            .into_iter()
            .flatten()
            .filter_map(|i| points.get(i))
            .min_by_key(|p| (p.0 - t).abs())
            .filter(|p| (p.0 - t).abs() <= step)
            .map(|p| p.1.as_str())
    }

    /// `2026-12-04 14:05:30` in the dashboard's zone, from the offsets the server sent.
    fn local_time(offsets: &[(i64, i32)], t: f64) -> String {
        let t = t as i64;
        let offset = offsets
            .iter()
            .take_while(|(at, _)| *at <= t)
            .last()
            .or(offsets.first())
            .map_or(0, |o| o.1);
        let local = t.div_euclid(1000) + offset as i64;
        let (days, secs) = (local.div_euclid(86_400), local.rem_euclid(86_400));
        let (y, m, d) = civil(days);
        format!(
            "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02}",
            secs / 3600,
            secs / 60 % 60,
            secs % 60
        )
    }

    /// Year, month, day of a day count since 1970-01-01 (Howard Hinnant's algorithm).
    fn civil(days: i64) -> (i64, i64, i64) {
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z - era * 146_097;
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let d = doy - (153 * mp + 2) / 5 + 1;
        let m = if mp < 10 { mp + 3 } else { mp - 9 };
        (yoe + era * 400 + i64::from(m <= 2), m, d)
    }

    fn on_down(event: Event, state: &Shared) {
        let Some(mouse) = event.dyn_ref::<MouseEvent>() else {
            return;
        };
        let Some(chart) = closest(&event, ".panel[data-time] .chart") else {
            return;
        };
        let x = mouse.client_x() as f64;
        if time_at(&chart, x).is_some() && mouse.button() == 0 {
            event.prevent_default();
            state.borrow_mut().drag = Some((chart, x));
        }
    }

    fn draw_selection(chart: &Element, start: f64, x: f64) {
        let Some(selection) = child(chart, "zoom-selection") else {
            return;
        };
        let left = chart.get_bounding_client_rect().left();
        let style = selection.style();
        let _ = style.set_property("display", "block");
        let _ = style.set_property("left", &format!("{:.0}px", start.min(x) - left));
        let _ = style.set_property("width", &format!("{:.0}px", (x - start).abs()));
    }

    fn on_up(event: Event, state: &Shared) {
        let Some((chart, start)) = state.borrow_mut().drag.take() else {
            return;
        };
        if let Some(selection) = child(&chart, "zoom-selection") {
            let _ = selection.style().set_property("display", "none");
        }
        let Some(mouse) = event.dyn_ref::<MouseEvent>() else {
            return;
        };
        let end = mouse.client_x() as f64;
        if (end - start).abs() < 5.0 {
            return;
        }
        let Some((left, right, _, _)) = axis(&chart) else {
            return;
        };
        let clamp = |x: f64| x.clamp(left, right);
        let (Some(a), Some(b)) = (time_at(&chart, clamp(start)), time_at(&chart, clamp(end)))
        else {
            return;
        };
        let (from, to) = (a.min(b).round() as i64, a.max(b).round() as i64);
        let query = state.borrow().query.clone();
        let mut pairs: Vec<String> = query
            .split('&')
            .filter(|p| !p.is_empty() && !p.starts_with("from=") && !p.starts_with("to="))
            .map(str::to_string)
            .collect();
        pairs.push(format!("from={from}"));
        pairs.push(format!("to={to}"));
        navigate(state, pairs.join("&"));
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn local_times_follow_the_offsets() {
            assert_eq!(local_time(&[(0, 3600)], 0.0), "1970-01-01 01:00:00");
            assert_eq!(civil(20_791), (2026, 12, 4));
        }
    }
}
