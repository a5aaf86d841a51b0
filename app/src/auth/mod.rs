//! Signing in and out, the roles, and who the current user is.

mod api;
#[cfg(feature = "ssr")]
pub mod ssr;

use leptos::{either::Either, prelude::*};
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;
use serde::{Deserialize, Serialize};

use crate::components::forms::{use_form_error, FieldError, FormError};
pub use api::{get_current_user, login, logout, GetCurrentUser, Login, Logout};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Role {
    Admin,
    Manager,
    TenantEditor,
    TenantViewer,
}

impl Role {
    pub const ALL: [Role; 4] = [
        Role::Admin,
        Role::Manager,
        Role::TenantEditor,
        Role::TenantViewer,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Manager => "manager",
            Role::TenantEditor => "tenant-editor",
            Role::TenantViewer => "tenant-viewer",
        }
    }

    pub fn parse(name: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|role| role.as_str() == name)
    }

    /// Tenant roles belong to one tenant; admins and managers to none.
    pub fn is_tenant_role(self) -> bool {
        matches!(self, Role::TenantEditor | Role::TenantViewer)
    }
}

/// What the browser may know of the signed-in user.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CurrentUser {
    pub email: String,
    pub display_name: String,
    pub role: Role,
    pub tenant_name: Option<String>,
    /// Sent back with every change, so another site cannot make the browser post one.
    pub csrf_token: String,
}

/// The current user as loaded by the shell; pages read it from context.
pub type UserResource = Resource<Result<Option<CurrentUser>, crate::error::AppError>>;

pub fn use_current_user() -> UserResource {
    expect_context::<UserResource>()
}

/// A local path to go to after signing in; anything else (another host, `//evil`) goes home.
pub fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(path) if path.starts_with('/') && !path.starts_with("//") && !path.contains('\\') => {
            path.to_string()
        }
        _ => "/".to_string(),
    }
}

#[component]
pub fn LoginPage() -> impl IntoView {
    let action = ServerAction::<Login>::new();
    let error = use_form_error("login", action);
    let query = use_query_map();
    let next = move || query.read().get("next").unwrap_or_default();

    view! {
        <Title text="Sign in"/>
        <section class="login">
            <div class="card login-card">
                <h1>"Sign in to Meridian"</h1>
                <ActionForm action attr:class="form" attr:id="login-form">
                    <input type="hidden" name="next" value=next/>
                    <label class="field">
                        <span>"Email"</span>
                        <input type="email" name="email" autocomplete="username" required autofocus/>
                        <FieldError error field="email"/>
                    </label>
                    <label class="field">
                        <span>"Password"</span>
                        <input type="password" name="password" autocomplete="current-password" required/>
                        <FieldError error field="password"/>
                    </label>
                    <FormError error fields=&["email", "password"]/>
                    <button type="submit" class="button primary">"Sign in"</button>
                </ActionForm>
            </div>
        </section>
    }
}

/// The sign-out button in the header: a form, so it works without JavaScript too (the form
/// enhancer follows the path the server function answers).
#[component]
pub fn LogoutButton(csrf_token: String) -> impl IntoView {
    let action = ServerAction::<Logout>::new();
    view! {
        <ActionForm action attr:class="logout">
            <input type="hidden" name="csrf" value=csrf_token/>
            <button type="submit" class="button subtle">"Sign out"</button>
        </ActionForm>
    }
}

/// Shows `children` to a signed-in user with one of `roles` (all roles when empty); sends
/// everybody else to the login page or shows them the forbidden page.
#[component]
pub fn RequireRole(
    #[prop(optional)] roles: &'static [Role],
    children: ChildrenFn,
) -> impl IntoView {
    let user = use_current_user();
    let children = StoredValue::new(children);
    // A bare `Suspend`, not `move || Suspend::new(..)`. On the server leptos calls a reactive
    // closure twice, in a dry run that starts resource loads and then in the real render. When
    // the user had already loaded by the dry run, the page was built twice and its resources
    // numbered twice; the browser, building it once, hydrated against the first copy's data and
    // panicked. A `Suspend` keeps what its dry run built. The user never changes on a page
    // (signing in or out reloads it), so there is nothing to react to.
    view! {
        <Suspense>
            {Suspend::new(async move {
                match user.await {
                    Ok(Some(user)) if roles.is_empty() || roles.contains(&user.role) => {
                        Either::Left(children.read_value()())
                    }
                    Ok(Some(_)) => Either::Right(Either::Left(view! { <crate::components::Forbidden/> })),
                    _ => Either::Right(Either::Right(view! { <crate::components::ToLogin/> })),
                }
            })}
        </Suspense>
    }
}

/// Where each role lands: admins on the dashboards list, managers on the Executive dashboard,
/// tenant users on their tenant's overview. Not signed in: the login page.
pub fn landing_path(role: Role) -> &'static str {
    match role {
        Role::Admin => "/dashboards",
        Role::Manager => "/d/executive",
        Role::TenantEditor | Role::TenantViewer => "/d/tenant-overview",
    }
}

/// `/`: sends each signed-in user to their landing page.
#[component]
pub fn Landing() -> impl IntoView {
    let user = use_current_user();
    view! {
        <Suspense>
            {Suspend::new(async move {
                match user.await {
                    Ok(Some(user)) => Either::Left(view! { <leptos_router::components::Redirect path=landing_path(user.role)/> }),
                    _ => Either::Right(view! { <crate::components::ToLogin/> }),
                }
            })}
        </Suspense>
    }
}
