//! Administration of the installation: tenants, users, API tokens, limits and
//! external data sources. Admins only.

pub mod datasources;
pub mod limits;
pub mod tenants;
pub mod tokens;
pub mod users;

use leptos::prelude::*;
use leptos_router::components::A;

use crate::auth::{RequireRole, Role};

/// The admin section: its own navigation around one of its pages. (Flat routes rather than a
/// nested `<Outlet/>`: nested route views lost the request's context during server rendering.)
#[component]
pub fn AdminLayout(children: ChildrenFn) -> impl IntoView {
    let children = StoredValue::new(children);
    view! {
        <RequireRole roles=&[Role::Admin]>
            <div class="admin">
                <nav class="sub-nav" aria-label="Administration">
                    <A href="/admin/tenants">"Tenants"</A>
                    <A href="/admin/users">"Users"</A>
                    <A href="/admin/tokens">"API tokens"</A>
                    <A href="/admin/limits">"Limits"</A>
                    <A href="/admin/datasources">"Data sources"</A>
                </nav>
                // Built once, not in a `move ||` closure: see `RequireRole`.
                {children.read_value()()}
            </div>
        </RequireRole>
    }
}
