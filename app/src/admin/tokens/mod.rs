//! Per-tenant API tokens for machines: ingest, read and write scopes, optional expiry. The
//! secret is shown once at creation and stored only as a hash; lists show its prefix.

mod api;
#[cfg(feature = "ssr")]
pub mod repo;

use chrono::{DateTime, NaiveDate, Utc};
use leptos::prelude::*;
use leptos_meta::Title;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::tenants::list_tenants;
use crate::{
    components::{
        forms::{use_form_error, CsrfField, FieldError, FormError},
        load_error,
    },
    error::AppError,
};
pub use api::*;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ApiToken {
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub tenant_name: String,
    pub name: String,
    pub prefix: String,
    pub scopes: Vec<String>,
    pub expires_at: Option<DateTime<Utc>>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CreatedToken {
    pub token: ApiToken,
    pub secret: String,
}

/// `YYYY-MM-DD` (the token works through that day, UTC) or empty for no expiry.
pub fn parse_expiry(text: &str) -> Result<Option<DateTime<Utc>>, AppError> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    let day = NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .map_err(|_| AppError::invalid("expires_on", "must be a date like 2027-01-31"))?;
    let end = day
        .succ_opt()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .ok_or_else(|| AppError::invalid("expires_on", "is out of range"))?;
    Ok(Some(end.and_utc()))
}

fn when(at: Option<DateTime<Utc>>, none: &'static str) -> String {
    at.map(|t| t.format("%Y-%m-%d %H:%M").to_string())
        .unwrap_or_else(|| none.to_string())
}

#[component]
fn TokenRow(token: ApiToken, revoke: ServerAction<RevokeToken>) -> impl IntoView {
    let revoked = token.revoked_at.is_some();
    let id = token.id.to_string();
    view! {
        <tr data-token=token.name.clone()>
            <td>{token.tenant_name.clone()}</td>
            <td>{token.name.clone()}</td>
            <td><code>{format!("{}…", token.prefix)}</code></td>
            <td>{token.scopes.join(", ")}</td>
            <td>{when(token.expires_at, "never")}</td>
            <td>{when(token.last_used_at, "never")}</td>
            <td>{if revoked {
                view! { <span class="pill pill-unhealthy">"revoked"</span> }.into_any()
            } else {
                view! { <span class="pill pill-healthy">"active"</span> }.into_any()
            }}</td>
            <td>{(!revoked).then(|| view! {
                <ActionForm action=revoke attr:class="form inline compact">
                    <CsrfField/>
                    <input type="hidden" name="id" value=id/>
                    <button type="submit" class="button subtle danger">"Revoke"</button>
                </ActionForm>
            })}</td>
        </tr>
    }
}

#[component]
pub fn TokensPage() -> impl IntoView {
    let create = ServerAction::<CreateToken>::new();
    let revoke = ServerAction::<RevokeToken>::new();
    let data = Resource::new(
        move || (create.version().get(), revoke.version().get()),
        |_| async move { Ok::<_, AppError>((list_tokens().await?, list_tenants().await?)) },
    );
    let create_error = use_form_error("create_token", create);
    let created = Resource::new(|| (), |_| take_created_token());
    let revoke_error = use_form_error("revoke_token", revoke);
    let fields: &'static [&'static str] = &["tenant", "name", "scopes", "expires_on"];

    view! {
        <Title text="API tokens"/>
        <div class="page-header">
            <div>
                <h1>"API tokens"</h1>
                <p class="muted">"Machines authenticate with a tenant's token: ingest to push metrics, read to query, write to change configuration."</p>
            </div>
        </div>
        <Suspense>
            {move || Suspend::new(async move {
                created.await.ok().flatten().map(|created| view! {
                    <div class="callout callout-ok secret-once" id="new-token">
                        <p><strong>{format!("Token “{}” created.", created.token.name)}</strong>" Copy the secret now: it is not shown again."</p>
                        <code class="secret">{created.secret}</code>
                    </div>
                })
            })}
        </Suspense>
        <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                let (tokens, tenants) = match data.await {
                    Ok(data) => data,
                    Err(error) => return load_error(error),
                };
                view! {
                    <section class="card">
                        <h2>"New token"</h2>
                        <ActionForm action=create attr:class="form grid" attr:id="create-token">
                            <CsrfField/>
                            <label class="field"><span>"Tenant"</span>
                                <select name="tenant" required>
                                    <option value="">"— choose —"</option>
                                    {tenants.into_iter().filter(|t| t.active).map(|t| view! { <option value=t.id.to_string()>{t.name}</option> }).collect_view()}
                                </select>
                                <FieldError error=create_error field="tenant"/></label>
                            <label class="field"><span>"Name"</span>
                                <input name="name" required maxlength="64" placeholder="prometheus-eu-1"/>
                                <FieldError error=create_error field="name"/></label>
                            <fieldset class="field scopes"><legend>"Scopes"</legend>
                                <label><input type="checkbox" name="scope_ingest" checked/>" ingest"</label>
                                <label><input type="checkbox" name="scope_read"/>" read"</label>
                                <label><input type="checkbox" name="scope_write"/>" write"</label>
                                <FieldError error=create_error field="scopes"/></fieldset>
                            <label class="field"><span>"Expires (optional)"</span>
                                <input type="date" name="expires_on"/>
                                <FieldError error=create_error field="expires_on"/></label>
                            <div class="actions"><button type="submit" class="button primary">"Create token"</button></div>
                        </ActionForm>
                        <FormError error=create_error fields/>
                    </section>
                    <FormError error=revoke_error fields=&[]/>
                    <table class="table" id="tokens">
                        <thead><tr>
                            <th>"Tenant"</th><th>"Name"</th><th>"Token"</th><th>"Scopes"</th>
                            <th>"Expires"</th><th>"Last used"</th><th>"Status"</th><th></th>
                        </tr></thead>
                        <tbody>
                        {tokens.into_iter().map(|token| view! { <TokenRow token revoke/> }).collect_view()}
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
    fn expiry_is_the_end_of_the_given_day() {
        assert_eq!(parse_expiry("").unwrap(), None);
        assert_eq!(
            parse_expiry("2027-01-31").unwrap().unwrap().to_rfc3339(),
            "2027-02-01T00:00:00+00:00"
        );
        assert_eq!(
            parse_expiry("31/01/2027")
                .unwrap_err()
                .for_field("expires_on")
                .unwrap(),
            "must be a date like 2027-01-31"
        );
    }
}
