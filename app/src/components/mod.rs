//! Widgets shared by every feature: the header, status pills, the not-found page.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;

use crate::health::HealthStatus;

/// The product header. Features add their navigation link here when their page exists.
#[component]
pub fn AppHeader() -> impl IntoView {
    view! {
        <header class="app-header">
            <a class="brand" href="/">
                <span class="brand-mark" aria-hidden="true"></span>
                "Meridian"
            </a>
            <nav class="main-nav" aria-label="Main">
                <A href="/" exact=true>"Status"</A>
            </nav>
        </header>
    }
}

#[component]
pub fn StatusPill(status: HealthStatus) -> impl IntoView {
    view! { <span class=format!("pill pill-{}", status.as_str())>{status.as_str()}</span> }
}

#[component]
pub fn NotFound() -> impl IntoView {
    #[cfg(feature = "ssr")]
    if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
        response.set_status(axum::http::StatusCode::NOT_FOUND);
    }
    view! {
        <Title text="Not found"/>
        <section class="page narrow">
            <h1>"Page not found"</h1>
            <p class="muted">"There is nothing at this address."</p>
            <p><a href="/">"Back to the system status"</a></p>
        </section>
    }
}
