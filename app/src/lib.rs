//! Meridian's user interface: the page shell, the routes and the features behind them.
#![recursion_limit = "256"]

pub mod components;
pub mod health;
#[cfg(feature = "ssr")]
pub mod ssr;

use leptos::prelude::*;
use leptos_meta::{provide_meta_context, Link, Meta, MetaTags, Stylesheet, Title};
use leptos_router::{
    components::{Route, Router, Routes},
    path, SsrMode,
};

use components::{AppHeader, NotFound};
use health::HomePage;

/// The HTML document around every page; the server renders it, the browser hydrates `App`.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <AutoReload options=options.clone()/>
                <HydrationScripts options/>
                <MetaTags/>
            </head>
            <body>
                <App/>
            </body>
        </html>
    }
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();

    view! {
        <Stylesheet id="leptos" href="/pkg/meridian.css"/>
        <Link rel="icon" type_="image/svg+xml" href="/favicon.svg"/>
        <Meta name="color-scheme" content="light dark"/>
        <Title formatter=|page: String| format!("{page} · Meridian")/>
        <Router>
            <AppHeader/>
            <main class="content">
                <Routes fallback=NotFound>
                    // Async: the status is in the first byte of HTML, so it works without JavaScript.
                    <Route path=path!("") view=HomePage ssr=SsrMode::Async/>
                </Routes>
            </main>
        </Router>
    }
}
