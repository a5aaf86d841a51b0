//! Meridian's user interface: the page shell, the routes and the features behind them.
#![recursion_limit = "256"]

pub mod admin;
pub mod alerting;
pub mod audit;
pub mod auth;
pub mod components;
pub mod dashboards;
pub mod error;
pub mod explore;
pub mod health;
pub mod notifications;
#[cfg(feature = "ssr")]
pub mod query;
pub mod scrape;
#[cfg(feature = "ssr")]
pub mod ssr;
pub mod url;

use leptos::prelude::*;
use leptos_meta::{provide_meta_context, Link, Meta, MetaTags, Title};
use leptos_router::{
    components::{Redirect, Route, Router, Routes},
    path, SsrMode,
};

use admin::{
    datasources::DatasourcesPage, limits::LimitsPage, tenants::TenantsPage, tokens::TokensPage,
    users::UsersPage, AdminLayout,
};
use alerting::{AlertRoute, AlertsRoute, RuleEditorRoute, RuleImportRoute, RulesRoute};
use notifications::{ContactPointsRoute, InboxRoute, PoliciesRoute, SilencesRoute, TemplatesRoute};
use audit::AuditRoute;
use auth::{get_current_user, Landing, LoginPage, RequireRole, UserResource};
use components::{enhance::FormEnhancer, AppHeader, NotFound};
use dashboards::{
    editor::NewDashboardRoute, DashboardImportRoute, DashboardRoute, DashboardsRoute,
};
use explore::ExploreRoute;
use health::StatusPage;
use scrape::ScrapeJobsPage;

/// The HTML document around every page; the server renders it, the browser hydrates `App`.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <AutoReload options=options.clone()/>
                // Islands: only the interactive parts of a page load code (dashboards::live,
                // the status page's auto-refresh); everything else is HTML from the server.
                <HydrationScripts options=options.clone() islands=true/>
                <link rel="stylesheet" id="leptos" href=format!("/{}/{}.css", options.site_pkg_dir, options.output_name)/>
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
    // Loaded once per page; signing in or out reloads the page.
    let user: UserResource = Resource::new(|| (), |_| get_current_user());
    provide_context(user);

    // Every page renders completely on the server before the first byte (SsrMode::Async), so
    // it works without JavaScript and its HTTP status (403, 404, redirect) is right.
    view! {
        <Link rel="icon" type_="image/svg+xml" href="/favicon.svg"/>
        <Meta name="color-scheme" content="light dark"/>
        <Title formatter=|page: String| format!("{page} · Meridian")/>
        <Router>
            <AppHeader/>
            <main class="content">
                <Routes fallback=NotFound>
                    <Route path=path!("") view=Landing ssr=SsrMode::Async/>
                    <Route path=path!("status") view=|| view! { <RequireRole><StatusPage/></RequireRole> } ssr=SsrMode::Async/>
                    <Route path=path!("dashboards") view=DashboardsRoute ssr=SsrMode::Async/>
                    <Route path=path!("dashboards/import") view=DashboardImportRoute ssr=SsrMode::Async/>
                    <Route path=path!("dashboard/new") view=NewDashboardRoute ssr=SsrMode::Async/>
                    <Route path=path!("d/:uid") view=DashboardRoute ssr=SsrMode::Async/>
                    <Route path=path!("d/:uid/:slug") view=DashboardRoute ssr=SsrMode::Async/>
                    <Route path=path!("login") view=LoginPage ssr=SsrMode::Async/>
                    <Route path=path!("audit") view=AuditRoute ssr=SsrMode::Async/>
                    <Route path=path!("alerts") view=AlertsRoute ssr=SsrMode::Async/>
                    <Route path=path!("alerts/:id") view=AlertRoute ssr=SsrMode::Async/>
                    <Route path=path!("alerting/list") view=RulesRoute ssr=SsrMode::Async/>
                    <Route path=path!("alerting/notifications") view=ContactPointsRoute ssr=SsrMode::Async/>
                    <Route path=path!("alerting/routes") view=PoliciesRoute ssr=SsrMode::Async/>
                    <Route path=path!("alerting/silences") view=SilencesRoute ssr=SsrMode::Async/>
                    <Route path=path!("alerting/templates") view=TemplatesRoute ssr=SsrMode::Async/>
                    <Route path=path!("inbox") view=InboxRoute ssr=SsrMode::Async/>
                    <Route path=path!("alerting/import") view=RuleImportRoute ssr=SsrMode::Async/>
                    <Route path=path!("alerting/new") view=RuleEditorRoute ssr=SsrMode::Async/>
                    <Route path=path!("alerting/edit") view=RuleEditorRoute ssr=SsrMode::Async/>
                    <Route path=path!("explore") view=ExploreRoute ssr=SsrMode::Async/>
                    <Route path=path!("scrape") view=|| view! { <RequireRole><ScrapeJobsPage/></RequireRole> } ssr=SsrMode::Async/>
                    <Route path=path!("admin") view=|| view! { <AdminLayout><Redirect path="/admin/tenants"/></AdminLayout> } ssr=SsrMode::Async/>
                    <Route path=path!("admin/tenants") view=|| view! { <AdminLayout><TenantsPage/></AdminLayout> } ssr=SsrMode::Async/>
                    <Route path=path!("admin/users") view=|| view! { <AdminLayout><UsersPage/></AdminLayout> } ssr=SsrMode::Async/>
                    <Route path=path!("admin/tokens") view=|| view! { <AdminLayout><TokensPage/></AdminLayout> } ssr=SsrMode::Async/>
                    <Route path=path!("admin/limits") view=|| view! { <AdminLayout><LimitsPage/></AdminLayout> } ssr=SsrMode::Async/>
                    <Route path=path!("admin/datasources") view=|| view! { <AdminLayout><DatasourcesPage/></AdminLayout> } ssr=SsrMode::Async/>
                </Routes>
            </main>
            <FormEnhancer/>
        </Router>
    }
}
