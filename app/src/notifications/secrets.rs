//! The secrets of notification configurations (SMTP passwords, Slack webhook URLs, PagerDuty
//! keys) are sealed at rest: XChaCha20-Poly1305 with a key derived from `MERIDIAN_SECRET_KEY`,
//! in the stored configuration, its audit entries and the outbox. They are never shown back:
//! an export writes Alertmanager's `<secret>` instead, and an import that keeps `<secret>` keeps
//! the stored value.

use std::sync::OnceLock;

use base64::{engine::general_purpose::STANDARD_NO_PAD, Engine as _};
use chacha20poly1305::{
    aead::{Aead, KeyInit},
    XChaCha20Poly1305, XNonce,
};
use notify::config::{ConfigFile, Integration, SECRET_PLACEHOLDER};
use rand::RngCore;
use sha2::{Digest, Sha256};

use crate::error::AppError;

static KEY: OnceLock<[u8; 32]> = OnceLock::new();
const SEALED: &str = "sealed:v1:";

/// Derives the sealing key from the installation's secret; once, at start.
pub fn install(secret_key: &[u8]) {
    let mut hash = Sha256::new();
    hash.update(b"meridian notification secrets\0");
    hash.update(secret_key);
    let _ = KEY.set(hash.finalize().into());
}

fn cipher() -> Result<XChaCha20Poly1305, AppError> {
    let key = KEY.get().ok_or_else(|| {
        tracing::error!("The notification secrets' key was not installed.");
        AppError::Internal
    })?;
    Ok(XChaCha20Poly1305::new(key.into()))
}

fn seal(value: &mut String) -> Result<(), AppError> {
    if value.is_empty() || value.starts_with(SEALED) {
        return Ok(());
    }
    let mut nonce = [0u8; 24];
    rand::thread_rng().fill_bytes(&mut nonce);
    let sealed = cipher()?
        .encrypt(XNonce::from_slice(&nonce), value.as_bytes())
        .map_err(|_| AppError::Internal)?;
    let mut bytes = nonce.to_vec();
    bytes.extend(sealed);
    *value = format!("{SEALED}{}", STANDARD_NO_PAD.encode(bytes));
    Ok(())
}

fn open(value: &mut String) -> Result<(), AppError> {
    let Some(encoded) = value.strip_prefix(SEALED) else {
        return Ok(());
    };
    let bytes = STANDARD_NO_PAD.decode(encoded).map_err(|_| AppError::Internal)?;
    if bytes.len() < 24 {
        return Err(AppError::Internal);
    }
    let (nonce, sealed) = bytes.split_at(24);
    let plain = cipher()?.decrypt(XNonce::from_slice(nonce), sealed).map_err(|_| {
        tracing::error!("A notification secret does not open: was MERIDIAN_SECRET_KEY changed?");
        AppError::Internal
    })?;
    *value = String::from_utf8(plain).map_err(|_| AppError::Internal)?;
    Ok(())
}

pub fn seal_file(file: &mut ConfigFile) -> Result<(), AppError> {
    file.secrets_mut().into_iter().try_for_each(|(_, v)| seal(v))
}

pub fn open_file(file: &mut ConfigFile) -> Result<(), AppError> {
    file.secrets_mut().into_iter().try_for_each(|(_, v)| open(v))
}

/// The file as it may be shown: every secret written as `<secret>`.
pub fn masked(file: &ConfigFile) -> ConfigFile {
    let mut shown = file.clone();
    for (_, value) in shown.secrets_mut() {
        if !value.is_empty() {
            *value = SECRET_PLACEHOLDER.to_string();
        }
    }
    shown
}

/// Puts the stored value (from `stored`, opened) where `new` says `<secret>`; a placeholder
/// with no stored value at its place is the field's error.
pub fn carry_over(new: &mut ConfigFile, stored: Option<&ConfigFile>) -> Result<(), AppError> {
    let mut old = stored.cloned().unwrap_or_default();
    let kept: std::collections::BTreeMap<String, String> =
        old.secrets_mut().into_iter().map(|(k, v)| (k, v.clone())).collect();
    for (place, value) in new.secrets_mut() {
        if value == SECRET_PLACEHOLDER {
            *value = kept.get(&place).cloned().ok_or_else(|| {
                AppError::invalid(
                    &place,
                    "<secret> stands for the stored value, and there is none here: write the secret itself",
                )
            })?;
        }
    }
    Ok(())
}

pub fn seal_integration(integration: &Integration) -> Result<Integration, AppError> {
    let mut sealed = integration.clone();
    sealed.secrets_mut().into_iter().try_for_each(seal)?;
    Ok(sealed)
}

pub fn open_integration(integration: &mut Integration) -> Result<(), AppError> {
    integration.secrets_mut().into_iter().try_for_each(open)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_sealed_masked_and_carried_over() {
        install(b"a test secret key of some length");
        let text = "route: {receiver: r}\nreceivers:\n  - name: r\n    email_configs:\n      - {to: a@b.c, from: m@b.c, smarthost: 'h:25', auth_username: u, auth_password: hunter2}\n";
        let mut file = notify::config::parse(text).unwrap().file;
        seal_file(&mut file).unwrap();
        let stored = serde_json::to_string(&file).unwrap();
        assert!(!stored.contains("hunter2") && stored.contains(SEALED), "{stored}");
        let shown = notify::config::to_yaml(&masked(&file));
        assert!(shown.contains("<secret>") && !shown.contains("hunter2") && !shown.contains(SEALED));
        let mut opened = file.clone();
        open_file(&mut opened).unwrap();
        // The export imported again keeps the password.
        let mut again = notify::config::parse(&shown).unwrap().file;
        carry_over(&mut again, Some(&opened)).unwrap();
        assert_eq!(again, opened);
        let mut fresh = notify::config::parse(&shown).unwrap().file;
        let error = carry_over(&mut fresh, None).unwrap_err();
        assert!(error.to_string().contains("receivers.r.email_configs[0].auth_password"), "{error}");
    }
}
