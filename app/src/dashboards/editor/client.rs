//! The editor's script (one small island): the panel form's live preview — the form as typed is
//! drawn by the server a moment after each change, with each field's error beside it — and
//! dragging panels on the layout grid, which only changes the grid's number fields (the form
//! then saves them as it does without JavaScript).

use leptos::prelude::*;

#[island]
pub fn EditorClient() -> impl IntoView {
    #[cfg(feature = "hydrate")]
    Effect::new(move |_| browser::start());
    view! { <span hidden></span> }
}

#[cfg(feature = "hydrate")]
mod browser {
    use std::{cell::Cell, rc::Rc};

    use leptos::task::spawn_local;
    use wasm_bindgen::{closure::Closure, JsCast};
    use web_sys::{
        Document, Element, Event, HtmlElement, HtmlFormElement, HtmlInputElement, PointerEvent,
    };

    use crate::dashboards::editor::Preview;

    /// How long typing must pause before the preview is drawn.
    const PREVIEW_DELAY_MS: i32 = 300;
    /// The layout grid's row height plus gap, as style/main.scss draws it.
    const ROW_STEP_PX: f64 = 20.0;
    const GAP_PX: f64 = 4.0;
    const COLUMNS: i32 = 24;

    fn document() -> Document {
        web_sys::window()
            .and_then(|w| w.document())
            .expect("a document")
    }

    pub fn start() {
        let document = document();
        if let Some(form) = document
            .get_element_by_id("panel-editor")
            .and_then(|f| f.dyn_into::<HtmlFormElement>().ok())
        {
            start_preview(form);
        }
        if let Some(grid) = document.get_element_by_id("layout-grid") {
            start_layout(grid);
        }
        // For the browser tests: the editor's script is listening.
        if let Some(body) = document.body() {
            let _ = body.set_attribute("data-editor", "ready");
        }
    }

    fn listen(target: &Element, event: &str, handler: impl FnMut(Event) + 'static) {
        let closure = Closure::<dyn FnMut(Event)>::new(handler);
        let _ = target.add_event_listener_with_callback(event, closure.as_ref().unchecked_ref());
        closure.forget();
    }

    // The live preview.

    fn start_preview(form: HtmlFormElement) {
        let generation = Rc::new(Cell::new(0u32));
        let timer = Rc::new(Cell::new(None::<i32>));
        let on_change = {
            let form = form.clone();
            move |_: Event| {
                let Some(window) = web_sys::window() else {
                    return;
                };
                if let Some(id) = timer.take() {
                    window.clear_timeout_with_handle(id);
                }
                generation.set(generation.get() + 1);
                let (form, generation) = (form.clone(), generation.clone());
                let mine = generation.get();
                let run = Closure::once_into_js(move || {
                    spawn_local(async move { refresh(&form, mine, &generation).await })
                });
                timer.set(
                    window
                        .set_timeout_with_callback_and_timeout_and_arguments_0(
                            run.unchecked_ref(),
                            PREVIEW_DELAY_MS,
                        )
                        .ok(),
                );
            }
        };
        let on_change = Rc::new(std::cell::RefCell::new(on_change));
        // The server drew the first preview for a guessed width: draw it again for this one.
        (on_change.borrow_mut())(Event::new("input").expect("an event"));
        for event in ["input", "change"] {
            let handler = on_change.clone();
            listen(&form, event, move |e| (handler.borrow_mut())(e));
        }
    }

    async fn refresh(form: &HtmlFormElement, mine: u32, generation: &Cell<u32>) {
        let document = document();
        let Some(body) = document.get_element_by_id("panel-preview") else {
            return;
        };
        let Ok(data) = web_sys::FormData::new_with_form(form) else {
            return;
        };
        let Ok(params) = web_sys::UrlSearchParams::new_with_str_sequence_sequence(&data) else {
            return;
        };
        let width = body.client_width().max(280);
        params.set("width", &width.to_string());
        let Ok(text) = post("/rpc/preview_panel", String::from(params.to_string())).await else {
            return;
        };
        // An answer to an earlier change than the latest is dropped.
        if generation.get() != mine {
            return;
        }
        let Ok(preview) = serde_json::from_str::<Preview>(&text) else {
            return;
        };
        body.set_inner_html(&preview.html);
        show_errors(form, &preview.errors);
        let value = |name: &str| {
            form.query_selector(&format!("[name=\"{name}\"]"))
                .ok()
                .flatten()
                .and_then(|e| e.dyn_into::<HtmlInputElement>().ok())
                .map(|i| i.value())
        };
        if let Some(frame) = document.get_element_by_id("panel-preview-frame") {
            if let Ok(Some(title)) = frame.query_selector(".panel-title") {
                title.set_text_content(value("panel[title]").as_deref());
            }
            if let Some(kind) = form
                .query_selector("[name=\"panel[kind]\"]")
                .ok()
                .flatten()
                .and_then(|e| e.dyn_into::<web_sys::HtmlSelectElement>().ok())
            {
                frame.set_class_name(&format!("panel panel-{}", kind.value()));
                // The form shows the sections this type uses.
                form.set_class_name(&format!("card form editor-form kind-{}", kind.value()));
            }
        }
    }

    fn show_errors(form: &HtmlFormElement, errors: &[(String, String)]) {
        if let Ok(old) = form.query_selector_all(".field-error") {
            for i in 0..old.length() {
                if let Some(slot) = old.item(i).and_then(|n| n.dyn_into::<HtmlElement>().ok()) {
                    slot.set_hidden(true);
                    slot.set_text_content(None);
                }
            }
        }
        let list = document().get_element_by_id("preview-errors");
        if let Some(list) = &list {
            list.set_inner_html("");
        }
        for (field, message) in errors {
            let slot = form
                .query_selector(&format!(".field-error[data-field=\"{field}\"]"))
                .ok()
                .flatten()
                .and_then(|e| e.dyn_into::<HtmlElement>().ok());
            match (slot, &list) {
                (Some(slot), _) => {
                    slot.set_text_content(Some(message));
                    slot.set_hidden(false);
                }
                (None, Some(list)) => {
                    if let Ok(item) = document().create_element("li") {
                        item.set_text_content(Some(message));
                        let _ = list.append_child(&item);
                    }
                }
                (None, None) => {}
            }
        }
    }

    async fn post(url: &str, body: String) -> Result<String, ()> {
        let init = web_sys::RequestInit::new();
        init.set_method("POST");
        init.set_body(&body.into());
        let headers = web_sys::Headers::new().map_err(|_| ())?;
        let _ = headers.set("Content-Type", "application/x-www-form-urlencoded");
        let _ = headers.set("Accept", "application/json");
        init.set_headers(&headers);
        let window = web_sys::window().ok_or(())?;
        let response =
            wasm_bindgen_futures::JsFuture::from(window.fetch_with_str_and_init(url, &init))
                .await
                .map_err(|_| ())?
                .dyn_into::<web_sys::Response>()
                .map_err(|_| ())?;
        if !response.ok() {
            return Err(());
        }
        wasm_bindgen_futures::JsFuture::from(response.text().map_err(|_| ())?)
            .await
            .map_err(|_| ())?
            .as_string()
            .ok_or(())
    }

    // Dragging on the layout grid.

    /// The number field `dim` (x, y, w, h) of panel `id` in the layout table.
    fn field(id: &str, dim: &str) -> Option<HtmlInputElement> {
        document()
            .query_selector(&format!(
                "#layout-form tr[data-id=\"{id}\"] input[data-dim=\"{dim}\"]"
            ))
            .ok()
            .flatten()
            .and_then(|e| e.dyn_into::<HtmlInputElement>().ok())
    }

    fn read(id: &str) -> [i32; 4] {
        ["x", "y", "w", "h"].map(|d| {
            field(id, d)
                .and_then(|f| f.value().parse().ok())
                .unwrap_or(0)
        })
    }

    fn place(grid: &Element, id: &str, [x, y, w, h]: [i32; 4]) {
        for (dim, value) in [("x", x), ("y", y), ("w", w), ("h", h)] {
            if let Some(input) = field(id, dim) {
                input.set_value(&value.to_string());
            }
        }
        if let Ok(Some(block)) = grid.query_selector(&format!(".layout-box[data-id=\"{id}\"]")) {
            let style = format!(
                "grid-column:{} / span {w};grid-row:{} / span {h}",
                x + 1,
                y + 1
            );
            let _ = block.set_attribute("style", &style);
        }
    }

    struct Drag {
        id: String,
        resize: bool,
        start: (f64, f64),
        from: [i32; 4],
    }

    fn start_layout(grid: Element) {
        let drag: Rc<std::cell::RefCell<Option<Drag>>> = Rc::default();
        {
            let drag = drag.clone();
            listen(&grid, "pointerdown", move |event| {
                let Some(event) = event.dyn_ref::<PointerEvent>() else {
                    return;
                };
                let Some(target) = event.target().and_then(|t| t.dyn_into::<Element>().ok()) else {
                    return;
                };
                let Ok(Some(block)) = target.closest(".layout-box") else {
                    return;
                };
                let id = block.get_attribute("data-id").unwrap_or_default();
                event.prevent_default();
                let _ = block.set_pointer_capture(event.pointer_id());
                let _ = block.class_list().add_1("dragging");
                *drag.borrow_mut() = Some(Drag {
                    resize: target.class_list().contains("resize-handle"),
                    start: (event.client_x() as f64, event.client_y() as f64),
                    from: read(&id),
                    id,
                });
            });
        }
        {
            let (drag, grid_ref) = (drag.clone(), grid.clone());
            listen(&grid, "pointermove", move |event| {
                let Some(event) = event.dyn_ref::<PointerEvent>() else {
                    return;
                };
                let borrowed = drag.borrow();
                let Some(drag) = borrowed.as_ref() else {
                    return;
                };
                let column = (grid_ref.client_width() as f64 + GAP_PX) / COLUMNS as f64;
                let dx = ((event.client_x() as f64 - drag.start.0) / column).round() as i32;
                let dy = ((event.client_y() as f64 - drag.start.1) / ROW_STEP_PX).round() as i32;
                let [x, y, w, h] = drag.from;
                let next = if drag.resize {
                    [x, y, (w + dx).clamp(1, COLUMNS - x), (h + dy).clamp(1, 100)]
                } else {
                    [(x + dx).clamp(0, COLUMNS - w), (y + dy).max(0), w, h]
                };
                place(&grid_ref, &drag.id, next);
            });
        }
        for end in ["pointerup", "pointercancel"] {
            let (drag, grid_ref) = (drag.clone(), grid.clone());
            listen(&grid, end, move |_| {
                if let Some(done) = drag.borrow_mut().take() {
                    if let Ok(Some(block)) =
                        grid_ref.query_selector(&format!(".layout-box[data-id=\"{}\"]", done.id))
                    {
                        let _ = block.class_list().remove_1("dragging");
                    }
                }
            });
        }
        // Typing a number moves the box too.
        if let Some(form) = document().get_element_by_id("layout-form") {
            listen(&form, "input", move |event| {
                let Some(input) = event
                    .target()
                    .and_then(|t| t.dyn_into::<HtmlInputElement>().ok())
                else {
                    return;
                };
                let Ok(Some(row)) = input.closest("tr[data-id]") else {
                    return;
                };
                let id = row.get_attribute("data-id").unwrap_or_default();
                let [x, y, w, h] = read(&id);
                if let Ok(Some(block)) =
                    grid.query_selector(&format!(".layout-box[data-id=\"{id}\"]"))
                {
                    let style = format!(
                        "grid-column:{} / span {};grid-row:{} / span {}",
                        x.clamp(0, 23) + 1,
                        w.clamp(1, 24),
                        y.max(0) + 1,
                        h.clamp(1, 100)
                    );
                    let _ = block.set_attribute("style", &style);
                }
            });
        }
    }
}
