//! The administration commands scripts rely on: `create-admin`, `tenant create`,
//! `token create`, `audit verify`, `slo generate`. Results go to stdout, logs to stderr.

use std::io::IsTerminal;

use anyhow::{bail, Context as _};
use sqlx::PgPool;

use app::{
    admin::{
        tenants::repo as tenants,
        tokens::{parse_expiry, repo as tokens},
        users::{repo as users, UserChange},
    },
    auth::Role,
    error::AppError,
    ssr::{
        audit::verify_chain,
        request::RequestMeta,
        scope::{Scope, TokenScope},
    },
};

fn system() -> Scope {
    Scope::system(RequestMeta {
        user_agent: "meridian-cli".into(),
        ..RequestMeta::default()
    })
}

/// Turns a validation error into a message that names the field, as the web forms do.
fn explain(error: AppError) -> anyhow::Error {
    match error {
        AppError::Invalid { field, message } => anyhow::anyhow!("{field}: {message}"),
        other => anyhow::anyhow!("{other}"),
    }
}

pub async fn create_admin(pool: &PgPool, email: &str) -> anyhow::Result<()> {
    let password = match std::env::var("MERIDIAN_ADMIN_PASSWORD") {
        Ok(password) => password,
        Err(_) if std::io::stdin().is_terminal() => {
            rpassword::prompt_password("Password for the new admin: ")?
        }
        Err(_) => bail!("set MERIDIAN_ADMIN_PASSWORD (no terminal to ask for the password)"),
    };
    let change = UserChange::parse(email, "", Role::Admin.as_str(), "", "").map_err(explain)?;
    let scope = system();
    let admin = scope.require_admin().map_err(explain)?;
    let user = users::create_user(&admin, pool, change, password)
        .await
        .map_err(explain)?;
    println!("{}", user.id);
    Ok(())
}

pub async fn create_tenant(pool: &PgPool, name: &str) -> anyhow::Result<()> {
    let scope = system();
    let tenant = tenants::create_tenant(&scope.require_admin().map_err(explain)?, pool, name)
        .await
        .map_err(explain)?;
    println!("{}", tenant.id);
    Ok(())
}

pub async fn create_token(
    pool: &PgPool,
    tenant: &str,
    scopes: &[String],
    name: &str,
    expires_on: Option<&str>,
) -> anyhow::Result<()> {
    let scope = system();
    let admin = scope.require_admin().map_err(explain)?;
    let found = tenants::find_tenant_by_name(&scope, pool, tenant)
        .await
        .map_err(explain)?
        .with_context(|| format!("tenant: no tenant named {tenant:?}"))?;
    let scopes = scopes
        .iter()
        .map(|s| {
            TokenScope::parse(s.trim())
                .with_context(|| format!("scopes: {s:?} is not one of ingest, read, write"))
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let expires_at = parse_expiry(expires_on.unwrap_or_default()).map_err(explain)?;
    let created = tokens::create_token(&admin, pool, found.id, name, &scopes, expires_at)
        .await
        .map_err(explain)?;
    println!("{}", created.secret);
    Ok(())
}

/// Prints the result; `Ok(false)` when the chain is broken (the caller exits non-zero).
pub async fn verify_audit(pool: &PgPool) -> anyhow::Result<bool> {
    let scope = system();
    let report = verify_chain(&scope.require_admin().map_err(explain)?, pool).await?;
    match &report.first_broken {
        None => println!("Audit trail intact: {} entries verified.", report.checked),
        Some(link) => println!(
            "Audit trail BROKEN at entry {}: {} ({} entries verified before it).",
            link.id, link.reason, report.checked
        ),
    }
    Ok(report.intact)
}

/// `slo generate`: the rules Sloth would generate for the spec in `file`, on stdout; its
/// problems, each with its line, on stderr (exit 1).
pub fn generate_slo_rules(
    file: &std::path::Path,
    period: &str,
    extra_labels: &[String],
) -> anyhow::Result<std::process::ExitCode> {
    let text = std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?;
    let period_days = match slo::Window::parse(period, slo::Tz::UTC) {
        Ok(slo::Window::Rolling { days }) => days,
        _ => bail!("--period {period:?}: give a number of days, as Sloth does (\"30d\")"),
    };
    let mut options = slo::sloth::Options { period_days, ..Default::default() };
    for label in extra_labels {
        let Some((name, value)) = label.split_once('=') else {
            bail!("--extra-labels {label:?}: give name=value");
        };
        options.extra_labels.insert(name.trim().into(), value.trim().into());
    }
    match slo::sloth::generate(&text, &options) {
        Ok(rules) => {
            print!("{rules}");
            Ok(std::process::ExitCode::SUCCESS)
        }
        Err(problems) => {
            for problem in problems {
                eprintln!("{}: {problem}", file.display());
            }
            Ok(std::process::ExitCode::FAILURE)
        }
    }
}
