//! Forms that change something post to their server function (`/rpc/…`) and work without
//! JavaScript: the server answers with a redirect, back to the page, errors in its URL. With
//! JavaScript this one small island posts them in the background instead, so what was typed stays
//! in the form: an error appears beside its field (or in the form's error slot), and a success
//! reloads the page (or goes where the server function says, as signing in does). A form whose
//! `data-result` names an element shows its answer there instead of reloading (a check, say).

use leptos::prelude::*;

#[island]
pub fn FormEnhancer() -> impl IntoView {
    #[cfg(feature = "hydrate")]
    Effect::new(move |_| client::start());
    view! { <span hidden></span> }
}

#[cfg(feature = "hydrate")]
mod client {
    use leptos::task::spawn_local;
    use wasm_bindgen::{closure::Closure, JsCast};
    use web_sys::{Element, Event, HtmlElement, HtmlFormElement};

    use crate::error::AppError;

    pub fn start() {
        let Some(document) = web_sys::window().and_then(|w| w.document()) else {
            return;
        };
        let closure = Closure::<dyn FnMut(Event)>::new(on_submit);
        let _ =
            document.add_event_listener_with_callback("submit", closure.as_ref().unchecked_ref());
        closure.forget();
    }

    fn on_submit(event: Event) {
        let Some(form) = event
            .target()
            .and_then(|t| t.dyn_into::<HtmlFormElement>().ok())
        else {
            return;
        };
        let action = form.get_attribute("action").unwrap_or_default();
        if !form.method().eq_ignore_ascii_case("post") || !action.starts_with("/rpc/") {
            return;
        }
        event.prevent_default();
        let Ok(data) = web_sys::FormData::new_with_form(&form) else {
            return;
        };
        // The pressed button's name and value, as a plain submit sends them (`intent=save`).
        let submitter = event
            .dyn_ref::<web_sys::SubmitEvent>()
            .and_then(|e| e.submitter())
            .and_then(|b| {
                let name = b.get_attribute("name")?;
                Some((name, b.get_attribute("value").unwrap_or_default()))
            });
        if let Some((name, value)) = submitter {
            let _ = data.append_with_str(&name, &value);
        }
        let Ok(body) = web_sys::UrlSearchParams::new_with_str_sequence_sequence(&data) else {
            return;
        };
        busy(&form, true);
        spawn_local(async move {
            let answer = post(&action, String::from(body.to_string())).await;
            busy(&form, false);
            let result = form
                .get_attribute("data-result")
                .and_then(|id| web_sys::window()?.document()?.get_element_by_id(&id));
            match (answer, result) {
                (answer, Some(slot)) => show_result(&slot, answer),
                (Ok(text), None) => succeeded(&text),
                (Err(error), None) => show(&form, error),
            }
        });
    }

    async fn post(action: &str, body: String) -> Result<String, AppError> {
        let init = web_sys::RequestInit::new();
        init.set_method("POST");
        init.set_body(&body.into());
        let headers = web_sys::Headers::new().map_err(|_| AppError::Internal)?;
        let _ = headers.set("Content-Type", "application/x-www-form-urlencoded");
        let _ = headers.set("Accept", "application/json");
        init.set_headers(&headers);
        let window = web_sys::window().ok_or(AppError::Internal)?;
        let failed = |_| AppError::Request("the server could not be reached".into());
        let response =
            wasm_bindgen_futures::JsFuture::from(window.fetch_with_str_and_init(action, &init))
                .await
                .map_err(failed)?
                .dyn_into::<web_sys::Response>()
                .map_err(|_| AppError::Internal)?;
        let text =
            wasm_bindgen_futures::JsFuture::from(response.text().map_err(|_| AppError::Internal)?)
                .await
                .map_err(failed)?
                .as_string()
                .unwrap_or_default();
        if response.ok() {
            Ok(text)
        } else {
            Err(serde_json::from_str(&text).unwrap_or(AppError::Internal))
        }
    }

    /// A path answered (signing in) is where to go; anything else: the page again, without the
    /// error a plain post may have left in its address.
    fn succeeded(text: &str) {
        let Some(window) = web_sys::window() else {
            return;
        };
        let location = window.location();
        if let Ok(serde_json::Value::String(path)) = serde_json::from_str::<serde_json::Value>(text)
        {
            if path.starts_with('/') && !path.starts_with("//") {
                let _ = location.set_href(&path);
                return;
            }
        }
        let search = location.search().unwrap_or_default();
        let kept: Vec<&str> = search
            .trim_start_matches('?')
            .split('&')
            .filter(|p| {
                !p.is_empty()
                    && !["form=", "field=", "error="]
                        .iter()
                        .any(|k| p.starts_with(k))
            })
            .collect();
        let path = location.pathname().unwrap_or_default();
        let query = if kept.is_empty() {
            String::new()
        } else {
            format!("?{}", kept.join("&"))
        };
        let _ = location.replace(&format!("{path}{query}"));
    }

    /// The answer in its slot: a text answer as it is, an error as its message.
    fn show_result(slot: &Element, answer: Result<String, AppError>) {
        let (class, text) = match answer {
            Ok(text) => (
                "callout callout-ok",
                serde_json::from_str::<String>(&text).unwrap_or(text),
            ),
            Err(error) => ("callout callout-error", error.to_string()),
        };
        slot.set_class_name(class);
        slot.set_text_content(Some(&text));
        let _ = slot.remove_attribute("hidden");
    }

    fn busy(form: &HtmlFormElement, on: bool) {
        if let Ok(Some(button)) = form.query_selector("button[type=submit]") {
            let _ = if on {
                button.set_attribute("disabled", "")
            } else {
                button.remove_attribute("disabled")
            };
        }
    }

    /// The error beside its field when the form shows that field's errors, else above the form's
    /// buttons; earlier messages go.
    fn show(form: &HtmlFormElement, error: AppError) {
        if let Ok(old) = form.query_selector_all(".field-error, .form-error") {
            for i in 0..old.length() {
                if let Some(el) = old.item(i).and_then(|n| n.dyn_into::<HtmlElement>().ok()) {
                    el.set_hidden(true);
                    el.set_text_content(None);
                }
            }
        }
        let slot = match &error {
            AppError::Invalid { field, .. } if !field.is_empty() => form
                .query_selector(&format!(".field-error[data-field=\"{field}\"]"))
                .ok()
                .flatten(),
            _ => None,
        };
        let (slot, text) = match (slot, &error) {
            (Some(slot), AppError::Invalid { message, .. }) => (Some(slot), message.clone()),
            (_, AppError::Invalid { field, message }) if field.is_empty() => {
                (None, message.clone())
            }
            (_, AppError::Invalid { field, message }) => (None, format!("{field}: {message}")),
            (_, other) => (None, other.to_string()),
        };
        let slot = slot
            .or_else(|| nearest_form_error(form))
            .or_else(|| form_error_slot(form));
        if let Some(slot) = slot.and_then(|s| s.dyn_into::<HtmlElement>().ok()) {
            slot.set_text_content(Some(&text));
            slot.set_hidden(false);
        }
    }

    /// The error slot nearest the form: its own, else the closest one around it.
    fn nearest_form_error(form: &HtmlFormElement) -> Option<Element> {
        let mut scope: Option<Element> = Some(form.clone().into());
        while let Some(element) = scope {
            if let Ok(Some(found)) = element.query_selector(".form-error") {
                return Some(found);
            }
            scope = element.parent_element();
        }
        None
    }

    fn form_error_slot(form: &HtmlFormElement) -> Option<Element> {
        let document = web_sys::window()?.document()?;
        let slot = document.create_element("p").ok()?;
        slot.set_class_name("callout callout-error form-error");
        let _ = slot.set_attribute("role", "alert");
        let before = form.query_selector("button[type=submit]").ok().flatten();
        let parent = before
            .as_ref()
            .and_then(|b| b.parent_element())
            .unwrap_or_else(|| form.clone().into());
        let _ = parent.insert_before(&slot, before.as_ref().map(|b| b.as_ref()));
        Some(slot)
    }
}
