//! Token hooks as configured: the HTTP endpoints asked for extra claims before an access or ID
//! token is signed, and the checks that make a hook's settings safe to use.

use portcullis_types::ClientId;
use portcullis_types::secret::TokenHookSecret;
use serde::{Deserialize, Serialize};

use super::ConfigError;
use super::redirect::is_loopback;

/// Default time a hook has to answer, milliseconds.
pub const DEFAULT_TIMEOUT_MS: u64 = 500;
/// The longest a hook may be given, milliseconds: every token request waits for it.
pub const MAX_TIMEOUT_MS: u64 = 5_000;
/// Default size limit of a hook's answer, bytes.
pub const DEFAULT_MAX_RESPONSE_BYTES: usize = 16 * 1024;
/// The largest answer a hook may be allowed, bytes.
pub const MAX_RESPONSE_BYTES_CAP: usize = 64 * 1024;
/// The shortest shared secret accepted: as long as the HMAC-SHA-256 output (RFC 2104 §3).
pub const MIN_SECRET_LEN: usize = 32;

/// The token a hook is asked about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TokenKind {
    /// An RFC 9068 access token.
    Access,
    /// An OpenID Connect ID token.
    Id,
}

impl TokenKind {
    /// The name in the configuration and in the hook's request.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Access => "access",
            Self::Id => "id",
        }
    }
}

/// What happens when a hook cannot be used: no answer in time, an error status, or an answer
/// that is not a valid claims object (a hook that explicitly refuses always refuses).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OnFailure {
    /// Refuse the token request with `503 temporarily_unavailable` (the default: a token never
    /// goes out without claims its resource servers may rely on).
    #[default]
    Deny,
    /// Issue the token without this hook's claims.
    Allow,
}

/// One token hook.
#[derive(Debug, Clone)]
pub struct TokenHookSettings {
    /// Where the server POSTs: `https://`, or `http://` on a loopback host.
    pub url: url::Url,
    /// The HMAC-SHA-256 key of the `Portcullis-Signature` header, shared with the hook (at least
    /// [`MIN_SECRET_LEN`] bytes).
    pub secret: TokenHookSecret,
    /// Milliseconds the hook has for its whole answer, connecting included (default
    /// [`DEFAULT_TIMEOUT_MS`], at most [`MAX_TIMEOUT_MS`]).
    pub timeout_ms: u64,
    /// What a failed hook means for the token request (default [`OnFailure::Deny`]).
    pub on_failure: OnFailure,
    /// The largest answer read, bytes (default [`DEFAULT_MAX_RESPONSE_BYTES`], at most
    /// [`MAX_RESPONSE_BYTES_CAP`]); a longer one is a failure.
    pub max_response_bytes: usize,
    /// The tokens the hook is called for (default both).
    pub tokens: Vec<TokenKind>,
    /// The clients whose tokens the hook is called for; empty: every client.
    pub clients: Vec<ClientId>,
}

impl TokenHookSettings {
    /// A hook at `url` with the defaults: both tokens, every client, 500 ms, 16 KiB, deny.
    pub fn new(url: url::Url, secret: TokenHookSecret) -> Self {
        Self {
            url,
            secret,
            timeout_ms: DEFAULT_TIMEOUT_MS,
            on_failure: OnFailure::Deny,
            max_response_bytes: DEFAULT_MAX_RESPONSE_BYTES,
            tokens: vec![TokenKind::Access, TokenKind::Id],
            clients: Vec::new(),
        }
    }

    /// Whether the hook is called for a `kind` token issued to `client_id`.
    pub(crate) fn applies(&self, kind: TokenKind, client_id: &ClientId) -> bool {
        self.tokens.contains(&kind) && (self.clients.is_empty() || self.clients.contains(client_id))
    }

    /// Checks the settings; `ConfigError::reason` names the hook by its URL's host.
    pub(crate) fn validate(&self) -> Result<(), ConfigError> {
        let err = |setting, reason: &str| {
            let host = self.url.host_str().unwrap_or("?");
            ConfigError::new(setting, format!("hook at {host}: {reason}"))
        };
        check_callback_url(&self.url).map_err(|reason| err("token_hooks.url", reason))?;
        if self.secret.secret().len() < MIN_SECRET_LEN {
            return Err(err(
                "token_hooks.secret",
                "must be at least 32 bytes (e.g. `openssl rand -hex 32`)",
            ));
        }
        if self.timeout_ms == 0 || self.timeout_ms > MAX_TIMEOUT_MS {
            return Err(err(
                "token_hooks.timeout_ms",
                "must be between 1 and 5000 milliseconds",
            ));
        }
        if self.max_response_bytes == 0 || self.max_response_bytes > MAX_RESPONSE_BYTES_CAP {
            return Err(err(
                "token_hooks.max_response_bytes",
                "must be between 1 and 65536 bytes",
            ));
        }
        if self.tokens.is_empty() {
            return Err(err(
                "token_hooks.tokens",
                "must name at least one of \"access\", \"id\"",
            ));
        }
        Ok(())
    }
}

/// The rules for a URL the server POSTs to (a token hook, the audit webhook): `https`, or
/// `http` on a loopback host; a host; no credentials (the receiver authenticates the server by
/// the signature); no fragment. The error says what is wrong.
pub(crate) fn check_callback_url(url: &url::Url) -> Result<(), &'static str> {
    match url.scheme() {
        "https" => {}
        "http" if is_loopback(url) => {}
        "http" => return Err("http is only allowed for a loopback host; use https"),
        _ => return Err("must be an https URL"),
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err("must have a host");
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(
            "must not carry credentials; the receiver authenticates the server by the signature",
        );
    }
    if url.fragment().is_some() {
        return Err("must not have a fragment");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "0123456789abcdef0123456789abcdef";

    fn hook(url: &str) -> TokenHookSettings {
        TokenHookSettings::new(url.parse().unwrap(), TokenHookSecret::new(SECRET))
    }

    #[test]
    fn https_anywhere_and_http_only_on_loopback() {
        for ok in [
            "https://claims.example/hook",
            "http://127.0.0.1:9000/hook",
            "http://[::1]/hook",
            "http://localhost:8081/",
            "http://LocalHost:8081/",
        ] {
            hook(ok).validate().unwrap();
        }
        for bad in [
            "http://claims.example/hook",
            "http://10.0.0.1/hook",
            "http://localhost.evil/hook",
            "ftp://claims.example/hook",
            "https://user:pass@claims.example/hook",
            "https://claims.example/hook#x",
        ] {
            assert_eq!(
                hook(bad).validate().unwrap_err().setting,
                "token_hooks.url",
                "{bad}"
            );
        }
    }

    #[test]
    fn jwt_16_short_secret_refused() {
        let mut h = hook("https://claims.example/hook");
        h.secret = TokenHookSecret::new("too-short");
        assert_eq!(h.validate().unwrap_err().setting, "token_hooks.secret");
    }

    #[test]
    fn limits_are_capped() {
        let mut h = hook("https://claims.example/hook");
        h.timeout_ms = MAX_TIMEOUT_MS + 1;
        assert_eq!(h.validate().unwrap_err().setting, "token_hooks.timeout_ms");
        h.timeout_ms = 0;
        assert_eq!(h.validate().unwrap_err().setting, "token_hooks.timeout_ms");
        h.timeout_ms = MAX_TIMEOUT_MS;
        h.max_response_bytes = MAX_RESPONSE_BYTES_CAP + 1;
        assert_eq!(
            h.validate().unwrap_err().setting,
            "token_hooks.max_response_bytes"
        );
        h.max_response_bytes = MAX_RESPONSE_BYTES_CAP;
        h.tokens.clear();
        assert_eq!(h.validate().unwrap_err().setting, "token_hooks.tokens");
    }

    #[test]
    fn debug_output_hides_the_secret() {
        let shown = format!("{:?}", hook("https://claims.example/hook"));
        assert!(!shown.contains(SECRET), "{shown}");
        assert!(shown.contains("redacted"), "{shown}");
    }

    #[test]
    fn applies_by_token_and_client() {
        let mut h = hook("https://claims.example/hook");
        let web = ClientId::from("web");
        assert!(h.applies(TokenKind::Id, &web));
        h.tokens = vec![TokenKind::Access];
        h.clients = vec![ClientId::from("svc")];
        assert!(!h.applies(TokenKind::Id, &ClientId::from("svc")));
        assert!(!h.applies(TokenKind::Access, &web));
        assert!(h.applies(TokenKind::Access, &ClientId::from("svc")));
    }
}
