//! Widgets shared by every feature: the header, status pills, forms, error pages.

pub mod enhance;
pub mod forms;

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::{
    components::{Redirect, A},
    hooks::use_location,
};

use crate::{
    auth::{use_current_user, LogoutButton, Role},
    health::HealthStatus,
};

/// The product header. Features add their navigation link here when their page exists.
#[component]
pub fn AppHeader() -> impl IntoView {
    let user = use_current_user();
    view! {
        <header class="app-header">
            <a class="brand" href="/">
                <span class="brand-mark" aria-hidden="true"></span>
                "Meridian"
            </a>
            <Suspense>
                {move || Suspend::new(async move {
                    user.await.ok().flatten().map(|user| {
                        let admin = user.role == Role::Admin;
                        let explorer = matches!(user.role, Role::Admin | Role::TenantEditor);
                        let who = match &user.tenant_name {
                            Some(tenant) => format!("{} · {}", user.email, tenant),
                            None => user.email.clone(),
                        };
                        view! {
                            <nav class="main-nav" aria-label="Main">
                                <A href="/dashboards">"Dashboards"</A>
                                <A href="/alerts">"Alerts"</A>
                                <A href="/alerting/notifications">"Notifications"</A>
                                {explorer.then(|| view! { <A href="/explore">"Explore"</A> })}
                                <A href="/scrape">"Scrape jobs"</A>
                                <A href="/audit">"Audit"</A>
                                <A href="/status">"Status"</A>
                                {admin.then(|| view! { <A href="/admin">"Admin"</A> })}
                            </nav>
                            <div class="user-menu">
                                <crate::notifications::UnreadBadge/>
                                <span class="who" title=user.role.as_str()>
                                    {who}
                                    <span class="tag">{user.role.as_str()}</span>
                                </span>
                                <LogoutButton csrf_token=user.csrf_token.clone()/>
                            </div>
                        }
                    })
                })}
            </Suspense>
        </header>
    }
}

#[component]
pub fn StatusPill(status: HealthStatus) -> impl IntoView {
    view! { <span class=format!("pill pill-{}", status.as_str())>{status.as_str()}</span> }
}

fn set_status(_code: u16) {
    #[cfg(feature = "ssr")]
    if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
        response.set_status(axum::http::StatusCode::from_u16(_code).expect("a valid status"));
    }
}

#[component]
pub fn NotFound() -> impl IntoView {
    set_status(404);
    view! {
        <Title text="Not found"/>
        <section class="page narrow">
            <h1>"Page not found"</h1>
            <p class="muted">"There is nothing at this address."</p>
            <p><a href="/">"Back to your start page"</a></p>
        </section>
    }
}

#[component]
pub fn Forbidden() -> impl IntoView {
    set_status(403);
    view! {
        <Title text="Not allowed"/>
        <section class="page narrow forbidden">
            <h1>"Not allowed"</h1>
            <p class="muted">"Your role does not give access to this page. Ask an administrator if you need it."</p>
            <p><a href="/">"Back to your start page"</a></p>
        </section>
    }
}

/// Sends a visitor who is not signed in to the login page, and back here afterwards.
#[component]
pub fn ToLogin() -> impl IntoView {
    let location = use_location();
    let search = location.search.get_untracked();
    let next = match search.trim_start_matches('?') {
        "" => location.pathname.get_untracked(),
        query => format!("{}?{query}", location.pathname.get_untracked()),
    };
    let path = if next == "/" {
        "/login".to_string()
    } else {
        format!("/login?next={}", crate::url::encode(&next))
    };
    view! { <Redirect path/> }
}

/// What a page shows when its data cannot be loaded, with the matching HTTP status.
pub fn load_error(error: crate::error::AppError) -> AnyView {
    use crate::error::AppError;
    match error {
        AppError::Unauthorized => view! { <ToLogin/> }.into_any(),
        AppError::Forbidden => view! { <Forbidden/> }.into_any(),
        AppError::NotFound => view! { <NotFound/> }.into_any(),
        // A wrong filter or field: "field: message".
        other => view! { <p class="callout callout-error" role="alert">{other.to_string()}</p> }
            .into_any(),
    }
}
