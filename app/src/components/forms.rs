//! Form helpers: errors beside their fields (from the action with JavaScript, from the URL after
//! a plain post) and the CSRF field every changing form carries.

use leptos::{prelude::*, server_fn::ServerFn};
use leptos_router::hooks::use_query_map;

use crate::{auth::use_current_user, error::AppError};

/// The latest error of the form `form`, whichever way it was submitted.
pub fn use_form_error<S>(form: &'static str, action: ServerAction<S>) -> Signal<Option<AppError>>
where
    S: ServerFn<Error = AppError> + Clone + Send + Sync + 'static,
    S::Output: Clone + Send + Sync + 'static,
{
    let query = use_query_map();
    Signal::derive(move || {
        if let Some(result) = action.value().get() {
            return result.err();
        }
        let query = query.read();
        (query.get("form").as_deref() == Some(form)).then(|| AppError::Invalid {
            field: query.get("field").unwrap_or_default(),
            message: query.get("error").unwrap_or_default(),
        })
    })
}

/// The error of `field`, beside it; empty and hidden until there is one (so the form enhancer
/// can fill it).
#[component]
pub fn FieldError(error: Signal<Option<AppError>>, #[prop(into)] field: String) -> impl IntoView {
    move || {
        let message = error.get().and_then(|e| e.for_field(&field));
        let hidden = message.is_none();
        view! { <span class="field-error" data-field=field.clone() role="alert" hidden=hidden>{message}</span> }
    }
}

/// The error that is not about one of `fields`: permission, conflict, server trouble.
#[component]
pub fn FormError(
    error: Signal<Option<AppError>>,
    fields: &'static [&'static str],
) -> impl IntoView {
    move || {
        let message = error
            .get()
            .filter(|e| !fields.iter().any(|field| e.for_field(field).is_some()))
            .map(|e| match e {
                AppError::Invalid { field, message } if field.is_empty() => message,
                AppError::Invalid { field, message } => format!("{field}: {message}"),
                other => other.to_string(),
            });
        let hidden = message.is_none();
        view! { <p class="callout callout-error form-error" role="alert" hidden=hidden>{message}</p> }
    }
}

/// The session's CSRF token as a hidden field.
#[component]
pub fn CsrfField() -> impl IntoView {
    let user = use_current_user();
    let token = move || {
        user.get()
            .and_then(Result::ok)
            .flatten()
            .map(|u| u.csrf_token)
            .unwrap_or_default()
    };
    view! { <input type="hidden" name="csrf" value=token/> }
}
