//! Tenants: the customers or business units that own data. Admins create, rename and
//! deactivate them here.

mod api;
#[cfg(feature = "ssr")]
pub mod repo;

use chrono::{DateTime, Utc};
use leptos::prelude::*;
use leptos_meta::Title;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::{
    components::{
        forms::{use_form_error, CsrfField, FieldError, FormError},
        load_error,
    },
    error::AppError,
};
pub use api::*;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Tenant {
    pub id: Uuid,
    pub name: String,
    pub active: bool,
    pub users: i64,
    pub tokens: i64,
    pub created_at: DateTime<Utc>,
}

/// 1–64 characters of letters, digits, spaces and `-_.`, trimmed.
pub fn validate_name(name: &str) -> Result<String, AppError> {
    let name = name.trim();
    if name.is_empty() {
        return Err(AppError::invalid("name", "is required"));
    }
    if name.chars().count() > 64 {
        return Err(AppError::invalid("name", "must be at most 64 characters"));
    }
    if let Some(bad) = name
        .chars()
        .find(|c| !(c.is_alphanumeric() || matches!(c, ' ' | '-' | '_' | '.')))
    {
        return Err(AppError::invalid(
            "name",
            format!("may not contain {bad:?}"),
        ));
    }
    Ok(name.to_string())
}

#[component]
pub fn TenantsPage() -> impl IntoView {
    let create = ServerAction::<CreateTenant>::new();
    let rename = ServerAction::<RenameTenant>::new();
    let set_active = ServerAction::<SetTenantActive>::new();
    let tenants = Resource::new(
        move || {
            (
                create.version().get(),
                rename.version().get(),
                set_active.version().get(),
            )
        },
        |_| list_tenants(),
    );
    let create_error = use_form_error("create_tenant", create);
    let rename_error = use_form_error("rename_tenant", rename);
    let active_error = use_form_error("set_tenant_active", set_active);

    view! {
        <Title text="Tenants"/>
        <div class="page-header">
            <div>
                <h1>"Tenants"</h1>
                <p class="muted">"Each tenant sees only its own metrics, dashboards, alerts and audit entries."</p>
            </div>
        </div>
        <section class="card">
            <h2>"New tenant"</h2>
            <ActionForm action=create attr:class="form inline" attr:id="create-tenant">
                <CsrfField/>
                <label class="field">
                    <span>"Name"</span>
                    <input name="name" required maxlength="64" placeholder="acme-corp"/>
                    <FieldError error=create_error field="name"/>
                </label>
                <button type="submit" class="button primary">"Create tenant"</button>
            </ActionForm>
            <FormError error=create_error fields=&["name"]/>
        </section>
        <FormError error=rename_error fields=&[]/>
        <FormError error=active_error fields=&[]/>
        <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                let tenants = match tenants.await {
                    Ok(tenants) => tenants,
                    Err(error) => return load_error(error),
                };
                view! {
                    <table class="table" id="tenants">
                        <thead><tr>
                            <th>"Name"</th><th>"Status"</th><th class="num">"Users"</th>
                            <th class="num">"Tokens"</th><th>"Created"</th><th></th>
                        </tr></thead>
                        <tbody>
                            {tenants.into_iter().map(|tenant| view! { <TenantRow tenant rename set_active/> }).collect_view()}
                        </tbody>
                    </table>
                }.into_any()
            })}
        </Transition>
    }
}

#[component]
fn TenantRow(
    tenant: Tenant,
    rename: ServerAction<RenameTenant>,
    set_active: ServerAction<SetTenantActive>,
) -> impl IntoView {
    let id = tenant.id.to_string();
    let (id_for_rename, name) = (id.clone(), tenant.name.clone());
    let next_active = (!tenant.active).to_string();
    view! {
        <tr data-tenant=tenant.name.clone()>
            <td>
                <ActionForm action=rename attr:class="form inline compact">
                    <CsrfField/>
                    <input type="hidden" name="id" value=id_for_rename/>
                    <input name="name" value=name aria-label="Tenant name" required maxlength="64"/>
                    <button type="submit" class="button subtle">"Rename"</button>
                </ActionForm>
            </td>
            <td>{active_pill(tenant.active)}</td>
            <td class="num">{tenant.users}</td>
            <td class="num">{tenant.tokens}</td>
            <td>{tenant.created_at.format("%Y-%m-%d").to_string()}</td>
            <td>
                <ActionForm action=set_active attr:class="form inline compact">
                    <CsrfField/>
                    <input type="hidden" name="id" value=id/>
                    <input type="hidden" name="active" value=next_active/>
                    <button type="submit" class="button subtle">{if tenant.active { "Deactivate" } else { "Activate" }}</button>
                </ActionForm>
            </td>
        </tr>
    }
}

pub fn active_pill(active: bool) -> impl IntoView {
    if active {
        view! { <span class="pill pill-healthy">"active"</span> }
    } else {
        view! { <span class="pill pill-unhealthy">"deactivated"</span> }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tenant_names_are_validated_with_the_field_named() {
        assert_eq!(validate_name("  Acme Corp ").unwrap(), "Acme Corp");
        assert_eq!(
            validate_name("").unwrap_err().for_field("name").unwrap(),
            "is required"
        );
        assert_eq!(
            validate_name("a/b").unwrap_err().for_field("name").unwrap(),
            "may not contain '/'"
        );
        assert!(validate_name(&"x".repeat(65)).is_err());
    }
}
