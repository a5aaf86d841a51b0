//! External data sources: a tenant whose metrics live in a Prometheus-compatible server
//! (Prometheus, Mimir, Cortex, Thanos) is read from there instead of the built-in store; the
//! Prometheus API and Explore then answer from it (crate::query::remote). Admins only.

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

/// A tenant and where its queries go. The bearer token never leaves the server: the page only
/// learns whether one is set.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TenantDatasource {
    pub tenant_id: Uuid,
    pub tenant_name: String,
    /// `None`: the built-in store.
    pub url: Option<String>,
    pub has_token: bool,
    pub org_id: Option<String>,
}

/// The base URL as typed: empty for the built-in store, else `http(s)://host[:port][/path]`
/// without a query or fragment; a trailing slash is dropped (API paths are appended).
pub fn parse_url(text: &str) -> Result<Option<String>, AppError> {
    let text = text.trim().trim_end_matches('/');
    if text.is_empty() {
        return Ok(None);
    }
    let rest = text
        .strip_prefix("http://")
        .or_else(|| text.strip_prefix("https://"));
    let invalid = |why: &str| Err(AppError::invalid("url", why));
    match rest {
        None => invalid("must start with http:// or https://"),
        Some(rest) if rest.is_empty() || rest.starts_with('/') => invalid("needs a host"),
        Some(_) if text.chars().any(|c| c.is_whitespace() || c.is_control()) => {
            invalid("must not contain spaces")
        }
        Some(_) if text.contains(['?', '#']) => invalid("must not have a query or fragment"),
        Some(_) => Ok(Some(text.to_string())),
    }
}

/// Mimir's and Cortex's tenant ids: letters, digits and `!-_.*'()`, `|` joining several.
pub fn parse_org_id(text: &str) -> Result<Option<String>, AppError> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    let allowed = |c: char| c.is_ascii_alphanumeric() || "!-_.*'()|".contains(c);
    if text.len() > 150 || !text.chars().all(allowed) {
        return Err(AppError::invalid(
            "org_id",
            "must be at most 150 letters, digits or !-_.*'() (| between several)",
        ));
    }
    Ok(Some(text.to_string()))
}

/// A bearer token goes into a header: visible ASCII, no spaces.
pub fn parse_token(text: &str) -> Result<Option<String>, AppError> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    if !text.chars().all(|c| c.is_ascii_graphic()) {
        return Err(AppError::invalid(
            "bearer_token",
            "must be printable ASCII without spaces",
        ));
    }
    Ok(Some(text.to_string()))
}

/// One row a tenant; the inputs belong to the row's form through their `form` attribute.
#[component]
fn DatasourceRow(
    source: TenantDatasource,
    save: ServerAction<SetTenantDatasource>,
    check: ServerAction<CheckTenantDatasource>,
) -> impl IntoView {
    let tenant = source.tenant_id.to_string();
    let form_id = format!("datasource-{tenant}");
    let check_tenant = tenant.clone();
    let token_hint = if source.has_token {
        "set: empty keeps it"
    } else {
        "none"
    };
    view! {
        <tr data-tenant=source.tenant_name.clone()>
            <td>{source.tenant_name.clone()}</td>
            <td><input name="url" form=form_id.clone() aria-label="URL" placeholder="built-in store"
                value=source.url.clone().unwrap_or_default()/></td>
            <td>
                <input name="bearer_token" type="password" form=form_id.clone() aria-label="Bearer token"
                    autocomplete="off" placeholder=token_hint/>
                {source.has_token.then(|| view! {
                    <label class="inline small"><input type="checkbox" name="remove_token" value="on" form=form_id.clone()/>" remove"</label>
                })}
            </td>
            <td><input name="org_id" form=form_id.clone() aria-label="X-Scope-OrgID"
                value=source.org_id.clone().unwrap_or_default()/></td>
            <td>
                <ActionForm action=save attr:class="form inline compact" attr:id=form_id.clone()>
                    <CsrfField/>
                    <input type="hidden" name="tenant" value=tenant.clone()/>
                    <button type="submit" class="button subtle">"Save"</button>
                </ActionForm>
                {source.url.is_some().then(|| {
                    view! {
                    <ActionForm action=check attr:class="form inline compact" attr:data-result="datasource-check">
                        <CsrfField/>
                        <input type="hidden" name="tenant" value=check_tenant/>
                        <button type="submit" class="button subtle check">"Test"</button>
                    </ActionForm>
                }})}
            </td>
        </tr>
    }
}

#[component]
pub fn DatasourcesPage() -> impl IntoView {
    let save = ServerAction::<SetTenantDatasource>::new();
    let check = ServerAction::<CheckTenantDatasource>::new();
    let data = Resource::new(move || save.version().get(), |_| list_tenant_datasources());
    let error = use_form_error("set_tenant_datasource", save);
    let check_error = use_form_error("check_tenant_datasource", check);
    view! {
        <Title text="Data sources"/>
        <div class="page-header">
            <div>
                <h1>"Data sources"</h1>
                <p class="muted">"Where each tenant's queries go. Empty: Meridian's own store. A URL: a Prometheus-compatible server (Prometheus, Mimir, Cortex, Thanos) answers the tenant's Prometheus API and Explore queries; Mimir and Cortex need the X-Scope-OrgID of the tenant there."</p>
            </div>
        </div>
        <FormError error fields=&[]/>
        // A test's answer goes here (the form enhancer fills it; without JavaScript a failed test
        // comes back in the URL).
        {move || {
            let failed = check_error.get().map(|e| e.to_string());
            let hidden = failed.is_none();
            view! { <p class="callout callout-error" role="status" id="datasource-check" hidden=hidden>{failed}</p> }
        }}
        <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                let sources = match data.await {
                    Ok(sources) => sources,
                    Err(error) => return load_error(error),
                };
                view! {
                    <table class="table" id="datasources">
                        <thead><tr>
                            <th>"Tenant"</th><th>"URL"</th><th>"Bearer token"</th><th>"X-Scope-OrgID"</th><th></th>
                        </tr></thead>
                        <tbody>
                            {sources.into_iter().map(|source| view! { <DatasourceRow source save check/> }).collect_view()}
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
    fn urls_are_checked_and_trimmed() {
        assert_eq!(parse_url(" ").unwrap(), None);
        assert_eq!(
            parse_url("http://127.0.0.1:9090/").unwrap().as_deref(),
            Some("http://127.0.0.1:9090")
        );
        assert_eq!(
            parse_url("https://mimir.example/prometheus")
                .unwrap()
                .as_deref(),
            Some("https://mimir.example/prometheus")
        );
        for bad in [
            "ftp://x",
            "http://",
            "http:///x",
            "http://a b",
            "http://x/?q=1",
            "x",
        ] {
            assert!(
                parse_url(bad).unwrap_err().for_field("url").is_some(),
                "{bad}"
            );
        }
    }

    #[test]
    fn org_ids_and_tokens_must_fit_a_header() {
        assert_eq!(
            parse_org_id("team-a|team_b").unwrap().as_deref(),
            Some("team-a|team_b")
        );
        assert!(parse_org_id("a b")
            .unwrap_err()
            .for_field("org_id")
            .is_some());
        assert_eq!(parse_token("").unwrap(), None);
        assert!(parse_token("abc\ndef")
            .unwrap_err()
            .for_field("bearer_token")
            .is_some());
    }
}
