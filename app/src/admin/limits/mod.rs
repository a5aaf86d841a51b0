//! Per-tenant limits of the metric store: retention and ingestion limits, each either the
//! installation's default or the tenant's own value. Admins only.

mod api;
#[cfg(feature = "ssr")]
pub mod repo;

use leptos::prelude::*;
use leptos_meta::Title;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::{
    components::{
        forms::{use_form_error, CsrfField, FormError},
        load_error,
    },
    error::AppError,
};
pub use api::*;

/// The limits a tenant can override, as form field name, label, upper bound.
pub const LIMITS: [(&str, &str, i64); 6] = [
    ("retention_days", "Retention (days)", 3650),
    ("max_series", "Active series", 100_000_000),
    ("max_samples_per_second", "Samples/s", 100_000_000),
    ("max_labels_per_series", "Labels a series", 1000),
    ("max_label_name_length", "Label name length", 65_536),
    ("max_label_value_length", "Label value length", 65_536),
];

/// One value per entry of [`LIMITS`], in its order.
pub type LimitValues<T> = [T; 6];

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TenantLimits {
    pub tenant_id: Uuid,
    pub tenant_name: String,
    /// The tenant's own values; `None` takes the default.
    pub overrides: LimitValues<Option<i32>>,
    pub defaults: LimitValues<i64>,
}

/// A form value: empty for the default, else a whole number from 1 to the limit's bound.
pub fn parse_limit(index: usize, text: &str) -> Result<Option<i32>, AppError> {
    let (field, _, max) = LIMITS[index];
    let text = text.trim().replace(['_', ','], "");
    if text.is_empty() {
        return Ok(None);
    }
    match text.parse::<i64>() {
        Ok(n) if (1..=max).contains(&n) => Ok(Some(n as i32)),
        _ => Err(AppError::invalid(
            field,
            format!("must be a whole number from 1 to {max}, or empty for the default"),
        )),
    }
}

/// One row a tenant; the inputs sit in the table's cells and belong to the row's form through
/// their `form` attribute (a form cannot span cells).
#[component]
fn LimitsRow(limits: TenantLimits, save: ServerAction<SetTenantLimits>) -> impl IntoView {
    let tenant = limits.tenant_id.to_string();
    let form_id = format!("limits-{tenant}");
    view! {
        <tr data-tenant=limits.tenant_name.clone()>
            <td>{limits.tenant_name.clone()}</td>
            {LIMITS.iter().enumerate().map(|(i, (field, label, _))| view! {
                <td><input name=*field form=form_id.clone() inputmode="numeric" aria-label=*label
                    placeholder=limits.defaults[i].to_string()
                    value=limits.overrides[i].map(|v| v.to_string()).unwrap_or_default()/></td>
            }).collect_view()}
            <td>
                <ActionForm action=save attr:class="form inline compact" attr:id=form_id.clone()>
                    <CsrfField/>
                    <input type="hidden" name="tenant" value=tenant/>
                    <button type="submit" class="button subtle">"Save"</button>
                </ActionForm>
            </td>
        </tr>
    }
}

#[component]
pub fn LimitsPage() -> impl IntoView {
    let save = ServerAction::<SetTenantLimits>::new();
    let data = Resource::new(move || save.version().get(), |_| list_tenant_limits());
    let error = use_form_error("set_tenant_limits", save);
    view! {
        <Title text="Limits"/>
        <div class="page-header">
            <div>
                <h1>"Limits"</h1>
                <p class="muted">"What each tenant may store: an empty field takes the installation default (shown greyed). Over a limit, writers get 429 or 400 naming it, and the refusal is counted in meridian_discarded_samples_total."</p>
            </div>
        </div>
        <FormError error fields=&[]/>
        <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                let tenants = match data.await {
                    Ok(tenants) => tenants,
                    Err(error) => return load_error(error),
                };
                view! {
                    <table class="table" id="limits">
                        <thead><tr>
                            <th>"Tenant"</th>
                            {LIMITS.iter().map(|(_, label, _)| view! { <th>{*label}</th> }).collect_view()}
                            <th></th>
                        </tr></thead>
                        <tbody>
                            {tenants.into_iter().map(|limits| view! { <LimitsRow limits save/> }).collect_view()}
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

    #[test]
    fn empty_is_the_default_and_bounds_are_named() {
        assert_eq!(parse_limit(0, " ").unwrap(), None);
        assert_eq!(parse_limit(1, "1_000").unwrap(), Some(1000));
        assert_eq!(
            parse_limit(0, "0")
                .unwrap_err()
                .for_field("retention_days")
                .unwrap(),
            "must be a whole number from 1 to 3650, or empty for the default"
        );
        assert!(parse_limit(3, "many").is_err());
    }
}
