//! Where the key-encryption key (KEK) comes from and the start-up rule without one: the current
//! and previous KEK from `PORTCULLIS_KEY_ENCRYPTION_KEY[_PREVIOUS]` or the files named in
//! `[keys]`; without a KEK only `serve --dev` or an explicit opt-out may keep keys in plaintext.

use anyhow::{Context as _, anyhow, bail};
use portcullis_server::at_rest::{Kek, KeyEncryption};
use std::path::{Path, PathBuf};

/// The current KEK (base64url or base64 of 32 bytes).
pub const KEK_ENV: &str = "PORTCULLIS_KEY_ENCRYPTION_KEY";
/// The previous KEK, still accepted for reading during a rotation.
pub const KEK_PREVIOUS_ENV: &str = "PORTCULLIS_KEY_ENCRYPTION_KEY_PREVIOUS";
/// `1`/`true`/`yes`: keep private keys in plaintext without `--dev`.
pub const ALLOW_PLAINTEXT_ENV: &str = "PORTCULLIS_ALLOW_PLAINTEXT_KEYS";

/// What the `[keys]` section says about encryption at rest (paths relative to the config file).
#[derive(Debug, Default, Clone)]
pub struct FileSettings {
    /// `encryption_key_file`.
    pub current: Option<PathBuf>,
    /// `encryption_key_previous_file`.
    pub previous: Option<PathBuf>,
    /// `allow_plaintext`.
    pub allow_plaintext: Option<bool>,
}

/// Reads the KEKs (environment first, then the files) and applies the start-up rule: a KEK,
/// else development mode or an explicit opt-out, else an error that says how to fix it.
pub fn resolve(file: &FileSettings, base_dir: &Path, dev: bool) -> anyhow::Result<KeyEncryption> {
    let current = kek(KEK_ENV, file.current.as_deref(), base_dir)?;
    let previous = kek(KEK_PREVIOUS_ENV, file.previous.as_deref(), base_dir)?;
    match (current, previous) {
        (Some(current), previous) => {
            if previous.as_ref().is_some_and(|p| p.id() == current.id()) {
                bail!("the previous key-encryption key is the current one");
            }
            Ok(KeyEncryption::sealed(current, previous))
        }
        (None, Some(_)) => bail!(
            "a previous key-encryption key is set without a current one: set {KEK_ENV} (or \
             [keys] encryption_key_file) to the new key"
        ),
        (None, None) => {
            let allowed = match allow_plaintext_env()? {
                Some(v) => v,
                None => file.allow_plaintext.unwrap_or(false),
            };
            if dev || allowed {
                tracing::warn!(
                    "no key-encryption key: private signing keys and the client-secret pepper are \
                     stored in plaintext in the database ({})",
                    if dev {
                        "--dev"
                    } else {
                        "allowed by allow_plaintext"
                    }
                );
                return Ok(KeyEncryption::Plaintext);
            }
            bail!(
                "no key-encryption key is configured, so private signing keys would be stored in \
                 plaintext in the database. Generate one with `portcullis keys generate-kek` (or \
                 `openssl rand -base64 32`) and set {KEK_ENV}, or put it in a file named by \
                 `[keys] encryption_key_file`. To store keys in plaintext knowingly, set \
                 `[keys] allow_plaintext = true` or {ALLOW_PLAINTEXT_ENV}=1 (`serve --dev` \
                 allows it for development)"
            )
        }
    }
}

/// A KEK from the variable `var` or, when unset, from `path`.
fn kek(var: &str, path: Option<&Path>, base_dir: &Path) -> anyhow::Result<Option<Kek>> {
    if let Ok(text) = std::env::var(var) {
        return Kek::parse(&text)
            .map(Some)
            .map_err(|e| anyhow!("{var}: {e}"));
    }
    let Some(path) = path else {
        return Ok(None);
    };
    let path = base_dir.join(path);
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("reading the key-encryption key {}", path.display()))?;
    Kek::parse(&text)
        .map(Some)
        .map_err(|e| anyhow!("{}: {e}", path.display()))
}

/// `PORTCULLIS_ALLOW_PLAINTEXT_KEYS`, when set.
fn allow_plaintext_env() -> anyhow::Result<Option<bool>> {
    let Ok(value) = std::env::var(ALLOW_PLAINTEXT_ENV) else {
        return Ok(None);
    };
    match value.trim().to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Ok(Some(true)),
        "" | "0" | "false" | "no" | "off" => Ok(Some(false)),
        other => bail!("{ALLOW_PLAINTEXT_ENV}: expected 1 or 0, not {other:?}"),
    }
}
