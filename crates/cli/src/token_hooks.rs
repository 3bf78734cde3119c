//! `[[token_hooks]]`: endpoints asked for extra claims before a token is signed. The shared
//! secret comes from an environment variable or a file, never from the config file itself.

use anyhow::{Context as _, anyhow, bail};
use portcullis_server::config::{OnFailure, TokenHookSettings, TokenKind};
use portcullis_types::ClientId;
use portcullis_types::secret::TokenHookSecret;
use serde::Deserialize;
use std::path::{Path, PathBuf};

/// `[[token_hooks]]`, as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawTokenHook {
    /// `https://…`, or `http://` on a loopback host.
    pub url: String,
    /// Name of an environment variable holding the shared secret.
    pub secret_env: Option<String>,
    /// File holding the shared secret (relative to the config file; a trailing newline is
    /// ignored).
    pub secret_file: Option<PathBuf>,
    /// Milliseconds the hook has to answer (default 500, at most 5000).
    pub timeout_ms: Option<u64>,
    /// `deny` (default) or `allow`.
    pub on_failure: Option<OnFailure>,
    /// Largest answer read, bytes (default 16384, at most 65536).
    pub max_response_bytes: Option<usize>,
    /// `["access"]`, `["id"]` or both (default).
    pub tokens: Option<Vec<TokenKind>>,
    /// Only tokens for these clients (default: every client).
    pub clients: Option<Vec<String>>,
}

/// The hook's settings, its secret read; `ServerConfig::new` checks the rest.
pub fn settings(raw: RawTokenHook, base_dir: &Path) -> anyhow::Result<TokenHookSettings> {
    let url: url::Url = raw
        .url
        .parse()
        .map_err(|e| anyhow!("token_hooks: url {:?} is not a URL: {e}", raw.url))?;
    let name = url.host_str().unwrap_or("?").to_owned();
    let secret = match (raw.secret_env, raw.secret_file) {
        (Some(_), Some(_)) => {
            bail!("token_hooks ({name}): set `secret_env` or `secret_file`, not both")
        }
        (Some(var), None) => std::env::var(&var).with_context(|| {
            format!("token_hooks ({name}): environment variable {var} is not set")
        })?,
        (None, Some(path)) => {
            let path = base_dir.join(path);
            let text = std::fs::read_to_string(&path)
                .with_context(|| format!("token_hooks ({name}): reading {}", path.display()))?;
            text.trim_end_matches(['\n', '\r']).to_owned()
        }
        (None, None) => bail!(
            "token_hooks ({name}): the shared secret is required: set `secret_env` (an \
             environment variable) or `secret_file`"
        ),
    };
    let mut hook = TokenHookSettings::new(url, TokenHookSecret::new(secret));
    if let Some(ms) = raw.timeout_ms {
        hook.timeout_ms = ms;
    }
    if let Some(policy) = raw.on_failure {
        hook.on_failure = policy;
    }
    if let Some(bytes) = raw.max_response_bytes {
        hook.max_response_bytes = bytes;
    }
    if let Some(tokens) = raw.tokens {
        hook.tokens = tokens;
    }
    if let Some(clients) = raw.clients {
        hook.clients = clients.into_iter().map(ClientId::from).collect();
    }
    Ok(hook)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use crate::config::{Overrides, parse};
    use portcullis_server::at_rest::KeyEncryption;

    const SECRET: &str = "0123456789abcdef0123456789abcdef";

    fn resolve(text: &str, dir: &Path) -> anyhow::Result<crate::config::Resolved> {
        let raw = parse(text)?;
        let file = dir.join("portcullis.toml");
        crate::config::resolve_raw(
            raw,
            Some(&file),
            &Overrides::default(),
            KeyEncryption::Plaintext,
        )
    }

    fn secret_dir() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("hook-secret"), format!("{SECRET}\n")).unwrap();
        dir
    }

    #[test]
    fn a_hook_is_read_with_its_settings_and_defaults() {
        let dir = secret_dir();
        let r = resolve(
            r#"
            version = 1
            [[token_hooks]]
            url = "https://claims.example/hook"
            secret_file = "hook-secret"
            timeout_ms = 250
            on_failure = "allow"
            max_response_bytes = 4096
            tokens = ["access"]
            clients = ["web-app"]
            [[token_hooks]]
            url = "http://127.0.0.1:9000/hook"
            secret_file = "hook-secret"
            "#,
            dir.path(),
        )
        .unwrap();
        let [first, second] = r.server.token_hooks.as_slice() else {
            panic!("two hooks expected");
        };
        assert_eq!(first.url.as_str(), "https://claims.example/hook");
        assert_eq!(
            first.secret.secret(),
            SECRET,
            "the trailing newline is dropped"
        );
        assert_eq!(first.timeout_ms, 250);
        assert_eq!(first.on_failure, OnFailure::Allow);
        assert_eq!(first.max_response_bytes, 4096);
        assert_eq!(first.tokens, [TokenKind::Access]);
        assert_eq!(first.clients, [ClientId::from("web-app")]);
        assert_eq!(second.timeout_ms, 500);
        assert_eq!(second.on_failure, OnFailure::Deny);
        assert_eq!(second.max_response_bytes, 16 * 1024);
        assert_eq!(second.tokens, [TokenKind::Access, TokenKind::Id]);
        assert!(second.clients.is_empty());
        assert!(!format!("{:?}", r.server).contains(SECRET));
    }

    #[test]
    fn bad_urls_are_refused() {
        let dir = secret_dir();
        for (url, expected) in [
            ("claims.example/hook", "not a URL"),
            ("http://claims.example/hook", "loopback"),
            ("http://192.0.2.7/hook", "loopback"),
            ("ftp://claims.example/hook", "https"),
            ("https://user:pw@claims.example/hook", "credentials"),
        ] {
            let text = format!(
                "version = 1\n[[token_hooks]]\nurl = \"{url}\"\nsecret_file = \"hook-secret\"\n"
            );
            let err = format!("{:#}", resolve(&text, dir.path()).unwrap_err());
            assert!(err.contains(expected), "{url}: {err}");
        }
    }

    #[test]
    fn the_secret_is_required_from_one_place() {
        let dir = secret_dir();
        let hook = "version = 1\n[[token_hooks]]\nurl = \"https://claims.example/hook\"\n";
        let err = format!("{:#}", resolve(hook, dir.path()).unwrap_err());
        assert!(err.contains("shared secret is required"), "{err}");
        let both = format!("{hook}secret_file = \"hook-secret\"\nsecret_env = \"X\"\n");
        let err = format!("{:#}", resolve(&both, dir.path()).unwrap_err());
        assert!(err.contains("not both"), "{err}");
        let unset = format!("{hook}secret_env = \"PORTCULLIS_TEST_UNSET_HOOK_SECRET\"\n");
        let err = format!("{:#}", resolve(&unset, dir.path()).unwrap_err());
        assert!(err.contains("PORTCULLIS_TEST_UNSET_HOOK_SECRET"), "{err}");
        let missing = format!("{hook}secret_file = \"nope\"\n");
        let err = format!("{:#}", resolve(&missing, dir.path()).unwrap_err());
        assert!(err.contains("reading"), "{err}");
        // An inline secret is not a setting: secrets stay out of the file.
        let inline = format!("{hook}secret = \"{SECRET}\"\n");
        let err = format!("{:#}", parse(&inline).unwrap_err());
        assert!(err.contains("secret"), "{err}");
    }

    #[test]
    fn jwt_16_short_secret_and_limits_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("short"), "short-secret").unwrap();
        let text = "version = 1\n[[token_hooks]]\nurl = \"https://claims.example/hook\"\n\
                    secret_file = \"short\"\n";
        let err = format!("{:#}", resolve(text, dir.path()).unwrap_err());
        assert!(err.contains("token_hooks.secret"), "{err}");
        assert!(
            !err.contains("short-secret"),
            "the secret is not echoed: {err}"
        );
        let dir = secret_dir();
        for (line, setting) in [
            ("timeout_ms = 60000", "token_hooks.timeout_ms"),
            (
                "max_response_bytes = 10000000",
                "token_hooks.max_response_bytes",
            ),
            ("tokens = []", "token_hooks.tokens"),
        ] {
            let text = format!(
                "version = 1\n[[token_hooks]]\nurl = \"https://claims.example/hook\"\n\
                 secret_file = \"hook-secret\"\n{line}\n"
            );
            let err = format!("{:#}", resolve(&text, dir.path()).unwrap_err());
            assert!(err.contains(setting), "{line}: {err}");
        }
        for line in ["on_failure = \"ignore\"", "tokens = [\"refresh\"]"] {
            let text = format!(
                "version = 1\n[[token_hooks]]\nurl = \"https://claims.example/hook\"\n\
                 secret_file = \"hook-secret\"\n{line}\n"
            );
            assert!(parse(&text).is_err(), "{line}");
        }
    }
}
