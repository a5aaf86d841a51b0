//! The browser bundle: hydrates the islands of the server-rendered page and nothing else.

// The islands' entry points are exported by `app`; nothing here names them, so the crate is
// linked explicitly.
extern crate app;

#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    // Islands: only the interactive parts of a page (dashboards::live, the status page's
    // auto-refresh) hydrate; the rest of every page is the server's HTML.
    leptos::mount::hydrate_islands();
    // Marks the end of hydration, so browser tests wait for it rather than for network silence.
    if let Some(body) = leptos::prelude::document().body() {
        let _ = body.set_attribute("data-hydrated", "");
    }
}
