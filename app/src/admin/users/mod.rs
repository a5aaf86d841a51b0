//! Users and their roles. Admins create users with a first password, change their role and
//! tenant, reset passwords (which also lifts a lockout) and deactivate them.

mod api;
#[cfg(feature = "ssr")]
pub mod repo;

use chrono::{DateTime, Utc};
use leptos::prelude::*;
use leptos_meta::Title;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::tenants::{active_pill, list_tenants, Tenant};
use crate::{
    auth::Role,
    components::{
        forms::{use_form_error, CsrfField, FieldError, FormError},
        load_error,
    },
    error::AppError,
};
pub use api::*;

/// A user as admins see it. There is deliberately no password hash here.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct User {
    pub id: Uuid,
    pub email: String,
    pub display_name: String,
    pub role: Role,
    pub tenant_id: Option<Uuid>,
    pub tenant_name: Option<String>,
    /// For managers: the tenants they may see; empty means all.
    pub managed_tenants: Vec<String>,
    pub active: bool,
    pub locked: bool,
    pub last_login_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

/// A validated create or update of a user, from the form's fields.
#[derive(Clone, Debug, PartialEq)]
pub struct UserChange {
    pub email: String,
    pub display_name: String,
    pub role: Role,
    pub tenant: Option<Uuid>,
    pub managed_tenants: Vec<String>,
}

impl UserChange {
    pub fn parse(
        email: &str,
        display_name: &str,
        role: &str,
        tenant: &str,
        managed: &str,
    ) -> Result<UserChange, AppError> {
        let email = validate_email(email)?;
        let display_name = display_name.trim().to_string();
        if display_name.chars().count() > 100 {
            return Err(AppError::invalid(
                "display_name",
                "must be at most 100 characters",
            ));
        }
        let role = Role::parse(role.trim()).ok_or_else(|| {
            AppError::invalid(
                "role",
                "must be one of admin, manager, tenant-editor, tenant-viewer",
            )
        })?;
        let tenant = match tenant.trim() {
            "" => None,
            id => Some(
                id.parse::<Uuid>()
                    .map_err(|_| AppError::invalid("tenant", "is not a tenant id"))?,
            ),
        };
        match (role.is_tenant_role(), tenant) {
            (true, None) => {
                return Err(AppError::invalid("tenant", "is required for tenant roles"))
            }
            (false, Some(_)) => {
                return Err(AppError::invalid(
                    "tenant",
                    "admins and managers belong to no tenant",
                ))
            }
            _ => {}
        }
        let managed_tenants: Vec<String> = managed
            .split(',')
            .map(str::trim)
            .filter(|name| !name.is_empty())
            .map(str::to_string)
            .collect();
        if role != Role::Manager && !managed_tenants.is_empty() {
            return Err(AppError::invalid(
                "managed_tenants",
                "only managers have assigned tenants",
            ));
        }
        Ok(UserChange {
            email,
            display_name,
            role,
            tenant,
            managed_tenants,
        })
    }
}

/// One `@` with something on both sides and a dot in the domain; stored as typed (trimmed),
/// compared without case.
pub fn validate_email(email: &str) -> Result<String, AppError> {
    let email = email.trim();
    let valid = match email.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && !domain.contains('@')
                && !email.chars().any(char::is_whitespace)
        }
        None => false,
    };
    if !valid || email.len() > 254 {
        return Err(AppError::invalid("email", "is not an email address"));
    }
    Ok(email.to_string())
}

#[component]
fn TenantOptions(tenants: Vec<Tenant>, selected: Option<Uuid>) -> impl IntoView {
    view! {
        <option value="" selected=selected.is_none()>"— none (admins, managers) —"</option>
        {tenants.into_iter().map(|t| {
            let is_selected = selected == Some(t.id);
            view! { <option value=t.id.to_string() selected=is_selected>{t.name}</option> }
        }).collect_view()}
    }
}

#[component]
fn RoleOptions(selected: Role) -> impl IntoView {
    Role::ALL
        .into_iter()
        .map(|role| view! { <option value=role.as_str() selected=role == selected>{role.as_str()}</option> })
        .collect_view()
}

#[component]
fn UserRow(
    user: User,
    tenants: Vec<Tenant>,
    update: ServerAction<UpdateUser>,
    reset: ServerAction<ResetPassword>,
    set_active: ServerAction<SetUserActive>,
) -> impl IntoView {
    let id = user.id.to_string();
    let (id_update, id_reset) = (id.clone(), id.clone());
    let (email, display_name, managed) = (
        user.email.clone(),
        user.display_name.clone(),
        user.managed_tenants.join(", "),
    );
    let next_active = (!user.active).to_string();
    let last_login = user
        .last_login_at
        .map(|t| t.format("%Y-%m-%d %H:%M").to_string())
        .unwrap_or_else(|| "never".into());
    view! {
        <tr data-user=user.email.clone()>
            <td><strong>{user.email.clone()}</strong><br/><span class="muted">{user.display_name.clone()}</span></td>
            <td>
                <ActionForm action=update attr:class="form inline compact">
                    <CsrfField/>
                    <input type="hidden" name="id" value=id_update/>
                    <input type="hidden" name="email" value=email/>
                    <input type="hidden" name="display_name" value=display_name/>
                    <select name="role" aria-label="Role"><RoleOptions selected=user.role/></select>
                    <select name="tenant" aria-label="Tenant"><TenantOptions tenants selected=user.tenant_id/></select>
                    <input name="managed_tenants" aria-label="Managed tenants" placeholder="managed tenants" value=managed/>
                    <button type="submit" class="button subtle">"Save"</button>
                </ActionForm>
            </td>
            <td>{active_pill(user.active)}{user.locked.then(|| view! { <span class="pill pill-degraded">"locked"</span> })}</td>
            <td>{last_login}</td>
            <td>
                <ActionForm action=reset attr:class="form inline compact">
                    <CsrfField/>
                    <input type="hidden" name="id" value=id_reset/>
                    <input type="password" name="password" aria-label="New password" placeholder="new password" minlength="12" autocomplete="new-password"/>
                    <button type="submit" class="button subtle">"Reset"</button>
                </ActionForm>
            </td>
            <td>
                <ActionForm action=set_active attr:class="form inline compact">
                    <CsrfField/>
                    <input type="hidden" name="id" value=id/>
                    <input type="hidden" name="active" value=next_active/>
                    <button type="submit" class="button subtle">{if user.active { "Deactivate" } else { "Activate" }}</button>
                </ActionForm>
            </td>
        </tr>
    }
}

#[component]
pub fn UsersPage() -> impl IntoView {
    let create = ServerAction::<CreateUser>::new();
    let update = ServerAction::<UpdateUser>::new();
    let reset = ServerAction::<ResetPassword>::new();
    let set_active = ServerAction::<SetUserActive>::new();
    let data = Resource::new(
        move || {
            (
                create.version().get(),
                update.version().get(),
                reset.version().get(),
                set_active.version().get(),
            )
        },
        |_| async move { Ok::<_, AppError>((list_users().await?, list_tenants().await?)) },
    );
    let create_error = use_form_error("create_user", create);
    let update_error = use_form_error("update_user", update);
    let reset_error = use_form_error("reset_password", reset);
    let active_error = use_form_error("set_user_active", set_active);
    let create_fields: &'static [&'static str] = &[
        "email",
        "display_name",
        "role",
        "tenant",
        "managed_tenants",
        "password",
    ];

    view! {
        <Title text="Users"/>
        <div class="page-header">
            <div>
                <h1>"Users"</h1>
                <p class="muted">"Admins manage everything; managers read every tenant or their assigned ones; tenant editors and viewers work in their own tenant."</p>
            </div>
        </div>
        <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                let (users, tenants) = match data.await {
                    Ok(data) => data,
                    Err(error) => return load_error(error),
                };
                let tenants_for_create = tenants.clone();
                view! {
                    <section class="card">
                        <h2>"New user"</h2>
                        <ActionForm action=create attr:class="form grid" attr:id="create-user">
                            <CsrfField/>
                            <label class="field"><span>"Email"</span>
                                <input type="email" name="email" required/>
                                <FieldError error=create_error field="email"/></label>
                            <label class="field"><span>"Name"</span>
                                <input name="display_name" maxlength="100"/>
                                <FieldError error=create_error field="display_name"/></label>
                            <label class="field"><span>"Role"</span>
                                <select name="role"><RoleOptions selected=Role::TenantViewer/></select>
                                <FieldError error=create_error field="role"/></label>
                            <label class="field"><span>"Tenant"</span>
                                <select name="tenant"><TenantOptions tenants=tenants_for_create selected=None/></select>
                                <FieldError error=create_error field="tenant"/></label>
                            <label class="field"><span>"Managed tenants (managers; names, comma-separated; empty = all)"</span>
                                <input name="managed_tenants"/>
                                <FieldError error=create_error field="managed_tenants"/></label>
                            <label class="field"><span>"First password (at least 12 characters)"</span>
                                <input type="password" name="password" autocomplete="new-password" required minlength="12"/>
                                <FieldError error=create_error field="password"/></label>
                            <div class="actions"><button type="submit" class="button primary">"Create user"</button></div>
                        </ActionForm>
                        <FormError error=create_error fields=create_fields/>
                    </section>
                    <FormError error=update_error fields=&[]/>
                    <FormError error=reset_error fields=&[]/>
                    <FormError error=active_error fields=&[]/>
                    <table class="table" id="users">
                        <thead><tr>
                            <th>"User"</th><th>"Role and tenant"</th><th>"Status"</th><th>"Last login"</th><th>"Password"</th><th></th>
                        </tr></thead>
                        <tbody>
                        {users.into_iter().map(|user| view! { <UserRow user tenants=tenants.clone() update reset set_active/> }).collect_view()}
                        </tbody>
                    </table>
                }.into_any()
            })}
        </Transition>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field_of(result: Result<UserChange, AppError>) -> String {
        match result.unwrap_err() {
            AppError::Invalid { field, .. } => field,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn user_changes_are_validated_field_by_field() {
        let tenant = Uuid::new_v4().to_string();
        let ok =
            UserChange::parse(" Ada@Example.com ", "Ada", "tenant-viewer", &tenant, "").unwrap();
        assert_eq!(ok.email, "Ada@Example.com");
        assert_eq!(
            field_of(UserChange::parse("ada", "", "admin", "", "")),
            "email"
        );
        assert_eq!(
            field_of(UserChange::parse("a@b.c", "", "owner", "", "")),
            "role"
        );
        assert_eq!(
            field_of(UserChange::parse("a@b.c", "", "tenant-editor", "", "")),
            "tenant"
        );
        assert_eq!(
            field_of(UserChange::parse("a@b.c", "", "admin", &tenant, "")),
            "tenant"
        );
        assert_eq!(
            field_of(UserChange::parse("a@b.c", "", "admin", "", "acme")),
            "managed_tenants"
        );
        let manager = UserChange::parse("m@b.c", "", "manager", "", "acme, globex ,").unwrap();
        assert_eq!(manager.managed_tenants, ["acme", "globex"]);
    }
}
