//! Validated, immutable server configuration built in code (the CLI owns file/env/flag parsing),
//! and the description of a client to register ([`ClientConfig`]).

use std::collections::BTreeMap;
use std::fmt;
use std::ops::Deref;

use portcullis_jose::Algorithm;
use portcullis_types::{
    ClientId, ClientSecret, GrantType, RedirectUri, RoleName, Scope, TokenEndpointAuthMethod,
};

use crate::at_rest::{KeyEncryption, Pepper};
use crate::store::{ClientRecord, ReleaseFilter};
use crate::theme::{ThemeName, ThemeSet};

pub(crate) mod redirect;
mod self_service;
pub(crate) mod token_hook;

pub use self_service::{PasswordPolicy, SelfServiceSettings, SmtpSettings, SmtpTls};

pub use token_hook::{
    DEFAULT_MAX_RESPONSE_BYTES, DEFAULT_TIMEOUT_MS, MAX_RESPONSE_BYTES_CAP, MAX_TIMEOUT_MS,
    MIN_SECRET_LEN, OnFailure, TokenHookSettings, TokenKind,
};

/// A configuration value that cannot be used, naming the setting.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid setting `{setting}`: {reason}")]
pub struct ConfigError {
    /// The setting's name as the CLI spells it.
    pub setting: &'static str,
    /// What is wrong with it.
    pub reason: String,
}

impl ConfigError {
    pub(crate) fn new(setting: &'static str, reason: impl Into<String>) -> Self {
        Self {
            setting,
            reason: reason.into(),
        }
    }
}

/// Failed-login throttling (per account and per client address).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ThrottleSettings {
    /// Failures allowed within the window before further attempts are refused.
    pub max_failures: u32,
    /// Window length in seconds.
    pub window_secs: i64,
}

/// Limits on `POST /device_authorization`, which writes state for every call (RFC 8628 §5.2
/// leaves them to the server). Counted on each node; a device code counts as pending from its
/// issue until it expires. Beyond a limit the answer is `503` `temporarily_unavailable` with
/// `Retry-After`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeviceLimits {
    /// Requests per client address within any 60 seconds (default 10).
    pub per_address_per_minute: u32,
    /// Pending device codes per client address (default 20).
    pub max_pending_per_address: u32,
    /// Pending device codes per client (default 1000).
    pub max_pending_per_client: u32,
}

/// The raw settings with secure defaults; turn them into a [`ServerConfig`] with
/// [`ServerConfig::new`], which validates them.
#[derive(Debug, Clone)]
pub struct ServerSettings {
    /// The issuer identifier, e.g. `https://id.example` (no path, query or fragment; the
    /// router serves every endpoint at the root of this origin).
    pub issuer: String,
    /// Access-token lifetime in seconds (default 900).
    pub access_token_ttl: i64,
    /// Refresh-token inactivity lifetime in seconds (default 7 days).
    pub refresh_token_ttl: i64,
    /// Refresh-token family absolute lifetime in seconds (default 30 days, RT-7).
    pub refresh_token_absolute_ttl: i64,
    /// Authorization-code lifetime in seconds (default 60, at most 600).
    pub code_ttl: i64,
    /// ID-token lifetime in seconds (default 900).
    pub id_token_ttl: i64,
    /// Browser session lifetime in seconds (default 8 hours).
    pub session_ttl: i64,
    /// Access-token signing algorithm: ES256 (default), RS256, PS256 or EdDSA.
    pub access_token_alg: Algorithm,
    /// Default ID-token signing algorithm (RS256).
    pub id_token_alg: Algorithm,
    /// Further algorithms to keep keys for (clients may register them for ID tokens).
    pub extra_algs: Vec<Algorithm>,
    /// Seconds between publishing a rotated key and signing with it (default 1 hour; at least
    /// [`min_key_rotation_delay`] of `key_reload_interval`, i.e. the reload interval plus
    /// [`JWKS_MAX_AGE_SECS`]).
    pub key_rotation_delay: i64,
    /// Seconds between reloads of the signing keys from the store (default 60).
    pub key_reload_interval: i64,
    /// Rotate the signing keys on their own every this many seconds (publish before use, as
    /// `portcullis keys rotate`); `None` (the default) rotates only on request. At least one
    /// hour and more than `key_rotation_delay`.
    pub key_rotate_every: Option<i64>,
    /// Seconds a client record is cached in memory (default 10).
    pub client_cache_ttl: i64,
    /// Seconds a user record read for userinfo is cached in memory (default 5; 0 turns the
    /// cache off): a user changed or removed by another process is seen within this time.
    pub user_cache_ttl: i64,
    /// Failed sign-ins per account (default 5 in 15 minutes); a success clears them.
    pub login_throttle: ThrottleSettings,
    /// Failed sign-ins per client address, whatever the account (default 20 in 5 minutes): higher
    /// than the account's, so that people sharing an address (an office, a proxy, everyone on
    /// 127.0.0.1 in development) do not lock each other out after a few typos, and shorter, so
    /// the lock decays sooner. A success from the address clears it.
    pub login_address_throttle: ThrottleSettings,
    /// Client-authentication failures tolerated per client id and window at the back-channel
    /// endpoints before further attempts are refused (this node only).
    pub client_auth_throttle: ThrottleSettings,
    /// Require PKCE S256 for every client (default true).
    pub require_pkce: bool,
    /// Audience of access tokens for clients without a configured audience (default: the issuer).
    pub default_audience: Option<String>,
    /// Redis URL; when set every revoked `jti` is also written there for resource servers.
    pub redis_url: Option<String>,
    /// Development mode (only informational for the server library).
    pub dev: bool,
    /// Maximum request body size in bytes at the form endpoints (default 64 KiB).
    pub max_body_bytes: usize,
    /// Lifetime of device and user codes in seconds (RFC 8628; default 600, at most 1800).
    pub device_code_ttl: i64,
    /// Minimum seconds between device-code polls (RFC 8628 `interval`; default 5).
    pub device_poll_interval: i64,
    /// Rate and pending-code limits of the device authorization endpoint.
    pub device_limits: DeviceLimits,
    /// Seconds a request may take before the server gives up on it and answers
    /// `408 Request Timeout` with an empty body (default 30). Reading the body is part of the
    /// request, so this also bounds a slow body.
    pub request_timeout_secs: u64,
    /// Seconds a connection may take to send a request's headers, counted from the moment it
    /// opens or finished its previous response; also the keep-alive idle timeout. The
    /// connection is closed then (default 10; used by the `portcullis serve` listener).
    pub header_read_timeout_secs: u64,
    /// Seconds between garbage collections of expired state by `portcullis serve` (default
    /// 300; each wait is jittered by up to a fifth either way; 0 turns the task off, e.g. when
    /// `portcullis gc` runs from cron instead).
    pub gc_interval_secs: u64,
    /// Seconds stored audit events are kept; the garbage collection deletes older ones
    /// (default 90 days).
    pub audit_retention_secs: i64,
    /// Most connections open at once; more are accepted and closed at once. `None` (the
    /// default) lets `portcullis serve` derive it from the process's file-descriptor limit.
    pub max_connections: Option<usize>,
    /// Reverse proxies whose `X-Forwarded-For` is believed (RS-14; default none). A request
    /// from one of these ranges is attributed to the last address in `X-Forwarded-For` that is
    /// not itself a trusted proxy; from anywhere else the header is ignored and the peer
    /// address counts. The address feeds the login and client-authentication throttles.
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// Time every request for the request metrics (`portcullis_http_*`; default off).
    /// `portcullis serve --admin-listen` turns it on with the Prometheus recorder; off, the
    /// router has no metrics layer at all, so a server that exports nothing pays nothing.
    pub request_metrics: bool,
    /// Memory in bytes that password hashing may hold at once (default 64 MiB): one hashing
    /// worker per 19 MiB argon2id hash that fits, at least one.
    pub password_hash_memory_bytes: u64,
    /// Sign-in attempts that may wait for a hashing worker (default 64); beyond that, sign-in
    /// answers 503 with `Retry-After` at once.
    pub password_hash_queue: usize,
    /// Sign-in attempts one client address may have waiting or running at once (default 4).
    pub password_attempts_per_addr: u32,
    /// How private signing keys and the client-secret pepper are kept in the store (default
    /// [`KeyEncryption::Plaintext`]; `portcullis serve` requires a key-encryption key outside
    /// development unless plaintext is explicitly allowed).
    pub key_encryption: KeyEncryption,
    /// Custom scopes and the user attributes each releases into ID tokens and userinfo, e.g.
    /// `hr` → `department`, `employee_id` (default none). The standard scopes (`profile`,
    /// `email`, `address`, `phone`) release their OpenID Connect claims without configuration.
    pub scope_claims: BTreeMap<String, Vec<String>>,
    /// Endpoints asked for extra claims before a token is signed, in this order (default none;
    /// see [`TokenHookSettings`]).
    pub token_hooks: Vec<TokenHookSettings>,
    /// Whether the login page offers the password form (default `true`). Off, users sign in
    /// only through upstream providers (`[login] password = false`).
    pub password_login: bool,
    /// Sign-up, e-mail verification, password reset by mail and the password policy (see
    /// [`SelfServiceSettings`]; sign-up is off by default).
    pub self_service: SelfServiceSettings,
    /// The themes of the end-user pages: the deployment's and the named ones clients select
    /// (default: the built-in look).
    pub themes: ThemeSet,
}

impl ServerSettings {
    /// Defaults for `issuer`.
    pub fn new(issuer: impl Into<String>) -> Self {
        Self {
            issuer: issuer.into(),
            access_token_ttl: 900,
            refresh_token_ttl: 7 * 24 * 3600,
            refresh_token_absolute_ttl: 30 * 24 * 3600,
            code_ttl: 60,
            id_token_ttl: 900,
            session_ttl: 8 * 3600,
            access_token_alg: Algorithm::ES256,
            id_token_alg: Algorithm::RS256,
            extra_algs: Vec::new(),
            key_rotation_delay: 3600,
            key_reload_interval: 60,
            key_rotate_every: None,
            client_cache_ttl: 10,
            user_cache_ttl: 5,
            login_throttle: ThrottleSettings {
                max_failures: 5,
                window_secs: 900,
            },
            login_address_throttle: ThrottleSettings {
                max_failures: 20,
                window_secs: 300,
            },
            client_auth_throttle: ThrottleSettings {
                max_failures: 20,
                window_secs: 60,
            },
            require_pkce: true,
            default_audience: None,
            redis_url: None,
            dev: false,
            max_body_bytes: 64 * 1024,
            device_code_ttl: 600,
            device_poll_interval: 5,
            device_limits: DeviceLimits {
                per_address_per_minute: 10,
                max_pending_per_address: 20,
                max_pending_per_client: 1000,
            },
            request_timeout_secs: 30,
            header_read_timeout_secs: 10,
            trusted_proxies: Vec::new(),
            request_metrics: false,
            gc_interval_secs: 300,
            audit_retention_secs: DEFAULT_AUDIT_RETENTION_SECS,
            max_connections: None,
            password_hash_memory_bytes: 64 * 1024 * 1024,
            password_hash_queue: 64,
            password_attempts_per_addr: 4,
            key_encryption: KeyEncryption::Plaintext,
            scope_claims: BTreeMap::new(),
            token_hooks: Vec::new(),
            password_login: true,
            self_service: SelfServiceSettings::default(),
            themes: ThemeSet::default(),
        }
    }
}

/// Validated configuration. Read its settings through `Deref`; it cannot be changed.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    settings: ServerSettings,
    algs: Vec<Algorithm>,
}

/// Algorithms the server can sign with.
pub const SIGNING_ALGS: [Algorithm; 4] = [
    Algorithm::ES256,
    Algorithm::RS256,
    Algorithm::PS256,
    Algorithm::EdDSA,
];

/// Seconds a client or resource server may cache the JWK Set: its `Cache-Control: max-age`, and
/// the time the portcullis guard keeps it by default (its lower bound on `max-age`).
pub const JWKS_MAX_AGE_SECS: i64 = 60;

/// How long stored audit events are kept by default: 90 days.
pub const DEFAULT_AUDIT_RETENTION_SECS: i64 = 90 * 86_400;

/// The least `key_rotation_delay` for `key_reload_interval`: every node reloads its keys within
/// the interval and publishes the new key, then every cached copy of the old JWK Set expires
/// within [`JWKS_MAX_AGE_SECS`], so no token is signed with a key a verifier cannot find yet.
pub fn min_key_rotation_delay(key_reload_interval: i64) -> i64 {
    key_reload_interval.saturating_add(JWKS_MAX_AGE_SECS)
}

fn positive(setting: &'static str, v: i64) -> Result<(), ConfigError> {
    if v <= 0 {
        return Err(ConfigError::new(
            setting,
            "must be a positive number of seconds",
        ));
    }
    Ok(())
}

impl ServerConfig {
    /// Validates `settings`.
    pub fn new(settings: ServerSettings) -> Result<Self, ConfigError> {
        let issuer = url::Url::parse(&settings.issuer)
            .map_err(|e| ConfigError::new("issuer", format!("not a URL: {e}")))?;
        if !matches!(issuer.scheme(), "https" | "http") {
            return Err(ConfigError::new(
                "issuer",
                "must use https (or http for development)",
            ));
        }
        if settings.issuer.contains('?') || settings.issuer.contains('#') {
            return Err(ConfigError::new(
                "issuer",
                "must not have a query or fragment",
            ));
        }
        if settings.issuer.ends_with('/') {
            return Err(ConfigError::new("issuer", "must not end with a slash"));
        }
        if issuer.path() != "/" {
            return Err(ConfigError::new(
                "issuer",
                "must not have a path: the server is served at the root of its origin",
            ));
        }
        if issuer.host_str().is_none_or(str::is_empty) {
            return Err(ConfigError::new("issuer", "must have a host"));
        }
        check_scope_claims(&settings.scope_claims)?;
        positive("access_token_ttl", settings.access_token_ttl)?;
        positive("refresh_token_ttl", settings.refresh_token_ttl)?;
        positive(
            "refresh_token_absolute_ttl",
            settings.refresh_token_absolute_ttl,
        )?;
        positive("code_ttl", settings.code_ttl)?;
        positive("id_token_ttl", settings.id_token_ttl)?;
        positive("session_ttl", settings.session_ttl)?;
        positive("key_reload_interval", settings.key_reload_interval)?;
        if settings.code_ttl > 600 {
            return Err(ConfigError::new("code_ttl", "must be at most 600 seconds"));
        }
        if let Some(every) = settings.key_rotate_every
            && (every < 3600 || every <= settings.key_rotation_delay)
        {
            return Err(ConfigError::new(
                "rotate_every",
                format!(
                    "must be at least 3600 seconds and more than the rotation delay ({} s): a \
                     key must sign for a while before the next one replaces it",
                    settings.key_rotation_delay
                ),
            ));
        }
        let min_delay = min_key_rotation_delay(settings.key_reload_interval);
        if settings.key_rotation_delay < min_delay {
            return Err(ConfigError::new(
                "key_rotation_delay",
                format!(
                    "must be at least {min_delay} seconds (key_reload_interval {} + {JWKS_MAX_AGE_SECS}): \
                     a rotated key must be published by every node, each of which reloads keys \
                     every key_reload_interval seconds, and fetched by resource servers, which \
                     cache the JWKS for its max-age of {JWKS_MAX_AGE_SECS} seconds (the \
                     portcullis-guard default; a guard configured with a longer cache lifetime \
                     needs a longer delay), before any node signs with it",
                    settings.key_reload_interval
                ),
            ));
        }
        if settings.client_cache_ttl < 0 {
            return Err(ConfigError::new("client_cache_ttl", "must not be negative"));
        }
        if settings.user_cache_ttl < 0 {
            return Err(ConfigError::new("user_cache_ttl", "must not be negative"));
        }
        if settings.login_throttle.max_failures == 0 || settings.login_throttle.window_secs <= 0 {
            return Err(ConfigError::new(
                "login_throttle",
                "needs max_failures > 0 and a window",
            ));
        }
        let address = settings.login_address_throttle;
        if address.max_failures == 0 || address.window_secs <= 0 {
            return Err(ConfigError::new(
                "login_address_throttle",
                "needs max_failures > 0 and a window",
            ));
        }
        if settings.client_auth_throttle.max_failures == 0
            || settings.client_auth_throttle.window_secs <= 0
        {
            return Err(ConfigError::new(
                "client_auth_throttle",
                "needs max_failures > 0 and a window",
            ));
        }
        positive("device_code_ttl", settings.device_code_ttl)?;
        positive("device_poll_interval", settings.device_poll_interval)?;
        if settings.device_code_ttl > 1800 {
            return Err(ConfigError::new(
                "device_code_ttl",
                "must be at most 1800 seconds",
            ));
        }
        let limits = settings.device_limits;
        if limits.per_address_per_minute == 0
            || limits.max_pending_per_address == 0
            || limits.max_pending_per_client == 0
        {
            return Err(ConfigError::new("device_limits", "must all be positive"));
        }
        if settings.request_timeout_secs == 0 {
            return Err(ConfigError::new("request_timeout_secs", "must be positive"));
        }
        if settings.header_read_timeout_secs == 0 {
            return Err(ConfigError::new(
                "header_read_timeout_secs",
                "must be positive",
            ));
        }
        if settings.audit_retention_secs <= 0 {
            return Err(ConfigError::new("audit_retention_days", "must be positive"));
        }
        if settings.max_connections == Some(0) {
            return Err(ConfigError::new("max_connections", "must be positive"));
        }
        if settings.password_hash_queue == 0 {
            return Err(ConfigError::new(
                "password_hash_queue",
                "must be at least 1",
            ));
        }
        if settings.password_attempts_per_addr == 0 {
            return Err(ConfigError::new(
                "password_attempts_per_addr",
                "must be at least 1",
            ));
        }
        if settings.max_body_bytes < 1024 {
            return Err(ConfigError::new("max_body_bytes", "must be at least 1024"));
        }
        settings.self_service.validate()?;
        for hook in &settings.token_hooks {
            hook.validate()?;
        }
        let mut algs = Vec::new();
        for (setting, alg) in std::iter::once(("access_token_alg", settings.access_token_alg))
            .chain(std::iter::once(("id_token_alg", settings.id_token_alg)))
            .chain(settings.extra_algs.iter().map(|a| ("extra_algs", *a)))
        {
            if !SIGNING_ALGS.contains(&alg) {
                return Err(ConfigError::new(
                    setting,
                    format!(
                        "{} is not supported (ES256, RS256, PS256, EdDSA)",
                        alg.as_str()
                    ),
                ));
            }
            if !algs.contains(&alg) {
                algs.push(alg);
            }
        }
        // OIDC requires RS256 to be offered.
        if !algs.contains(&Algorithm::RS256) {
            algs.push(Algorithm::RS256);
        }
        Ok(Self { settings, algs })
    }

    /// Every algorithm the server keeps an active key for.
    pub fn signing_algs(&self) -> &[Algorithm] {
        &self.algs
    }

    /// The audience of access tokens for clients without one.
    pub fn default_audience(&self) -> &str {
        self.settings
            .default_audience
            .as_deref()
            .unwrap_or(&self.settings.issuer)
    }

    /// `issuer` joined with `path`.
    pub fn endpoint(&self, path: &str) -> String {
        format!("{}{path}", self.settings.issuer)
    }

    /// Whether the issuer is https (cookies get `Secure` and the `__Host-` prefix).
    pub fn secure_cookies(&self) -> bool {
        self.settings.issuer.starts_with("https://")
    }

    /// The longest lifetime of a token signed with a key (for key retirement).
    pub fn max_signed_token_ttl(&self) -> i64 {
        self.settings
            .access_token_ttl
            .max(self.settings.id_token_ttl)
    }
}

impl Deref for ServerConfig {
    type Target = ServerSettings;
    fn deref(&self) -> &ServerSettings {
        &self.settings
    }
}

/// Checks the custom scopes: each a valid scope token that is not a standard scope, each claim a
/// valid attribute name.
fn check_scope_claims(scope_claims: &BTreeMap<String, Vec<String>>) -> Result<(), ConfigError> {
    for (scope, claims) in scope_claims {
        if Scope::parse(scope).map_or(true, |s| s.iter().count() != 1) {
            return Err(ConfigError::new(
                "scope_claims",
                format!("`{scope}` is not a single scope token"),
            ));
        }
        if crate::domain::identity::STANDARD_SCOPES.contains(&scope.as_str()) {
            return Err(ConfigError::new(
                "scope_claims",
                format!("`{scope}` is a standard scope; its claims are fixed by OpenID Connect"),
            ));
        }
        for claim in claims {
            crate::domain::identity::check_attribute_name(claim)
                .map_err(|e| ConfigError::new("scope_claims", format!("scope `{scope}`: {e}")))?;
        }
    }
    Ok(())
}

/// A client to register (from the CLI or a config file).
#[derive(Clone, Default)]
pub struct ClientConfig {
    /// The client id.
    pub client_id: ClientId,
    /// The secret for a confidential client; `None` for a public client.
    pub secret: Option<ClientSecret>,
    /// `client_secret_basic` (default with a secret), `client_secret_post`, `private_key_jwt`
    /// or `none` (default without a secret).
    pub auth_method: Option<TokenEndpointAuthMethod>,
    /// Redirect URIs (RED-3, RED-4 checked).
    pub redirect_uris: Vec<RedirectUri>,
    /// Post-logout redirect URIs.
    pub post_logout_redirect_uris: Vec<RedirectUri>,
    /// Grant types (default `authorization_code, refresh_token`).
    pub grant_types: Vec<GrantType>,
    /// Allowed scopes, space-separated (default `openid profile email`).
    pub scope: Option<String>,
    /// Access-token audiences.
    pub audience: Vec<String>,
    /// Access-token lifetime override.
    pub access_token_ttl: Option<i64>,
    /// Refresh-token lifetime override.
    pub refresh_token_ttl: Option<i64>,
    /// ID-token signing algorithm.
    pub id_token_signed_response_alg: Option<String>,
    /// JWK Set (JSON) for `private_key_jwt`.
    pub jwks: Option<String>,
    /// Display name.
    pub name: Option<String>,
    /// Audiences the client may obtain through token exchange (RFC 8693); empty: none.
    pub exchange_audiences: Vec<String>,
    /// Whether the client may exchange without an `actor_token` (impersonation: the issued token
    /// names no actor). Off by default, so exchanges are delegations recording `act`.
    pub exchange_impersonation: bool,
    /// Roles of the client itself as a service account (each must exist).
    pub roles: Vec<RoleName>,
    /// Which of a user's roles its access tokens carry (default none).
    pub token_roles: ReleaseFilter,
    /// Which of a user's groups its access tokens carry (default none).
    pub token_groups: ReleaseFilter,
    /// Refresh-token grace window in seconds (RT-5; default off, at most
    /// [`MAX_REFRESH_GRACE_SECS`]).
    pub refresh_grace_secs: Option<i64>,
    /// The named theme of its pages (one of [`ServerSettings::themes`]; default the
    /// deployment's).
    pub theme: Option<ThemeName>,
}

/// The longest refresh-token grace window a client may have, in seconds.
pub const MAX_REFRESH_GRACE_SECS: i64 = 60;

impl fmt::Debug for ClientConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientConfig")
            .field("client_id", &self.client_id)
            .field("secret", &self.secret.as_ref().map(|_| "<redacted>"))
            .field("auth_method", &self.auth_method)
            .field("redirect_uris", &self.redirect_uris)
            .field("grant_types", &self.grant_types)
            .field("scope", &self.scope)
            .finish_non_exhaustive()
    }
}

impl ClientConfig {
    /// Validates the description and turns it into a store record (the secret is stored as its
    /// keyed digest under `pepper`).
    pub(crate) fn into_record(
        self,
        now: i64,
        pepper: &Pepper,
    ) -> Result<ClientRecord, ConfigError> {
        let id = self.client_id.as_str();
        if id.is_empty() || id.len() > 255 || !id.chars().all(|c| c.is_ascii_graphic()) {
            return Err(ConfigError::new(
                "client_id",
                "must be 1-255 visible ASCII characters",
            ));
        }
        let auth_method = match (&self.auth_method, &self.secret) {
            (Some(m), _) => *m,
            (None, Some(_)) => TokenEndpointAuthMethod::ClientSecretBasic,
            (None, None) if self.jwks.is_some() => TokenEndpointAuthMethod::PrivateKeyJwt,
            (None, None) => TokenEndpointAuthMethod::None,
        };
        match auth_method {
            TokenEndpointAuthMethod::ClientSecretBasic
            | TokenEndpointAuthMethod::ClientSecretPost => {
                let Some(secret) = &self.secret else {
                    return Err(ConfigError::new("secret", "required for this auth method"));
                };
                if secret.secret().len() < 16 {
                    return Err(ConfigError::new("secret", "must be at least 16 characters"));
                }
            }
            TokenEndpointAuthMethod::PrivateKeyJwt => {
                let Some(jwks) = &self.jwks else {
                    return Err(ConfigError::new("jwks", "required for private_key_jwt"));
                };
                let set: portcullis_jose::JwkSet = serde_json::from_str(jwks)
                    .map_err(|e| ConfigError::new("jwks", format!("not a JWK Set: {e}")))?;
                if set.keys.iter().any(portcullis_jose::Jwk::is_private) {
                    return Err(ConfigError::new("jwks", "must contain public keys only"));
                }
                if self.secret.is_some() {
                    return Err(ConfigError::new("secret", "not used with private_key_jwt"));
                }
            }
            TokenEndpointAuthMethod::None => {
                if self.secret.is_some() {
                    return Err(ConfigError::new(
                        "auth_method",
                        "`none` cannot have a secret",
                    ));
                }
            }
        }
        let public = !auth_method.is_confidential();
        let grant_types = if self.grant_types.is_empty() {
            vec![GrantType::AuthorizationCode, GrantType::RefreshToken]
        } else {
            self.grant_types.clone()
        };
        if public && grant_types.contains(&GrantType::ClientCredentials) {
            return Err(ConfigError::new(
                "grant_types",
                "client_credentials needs a confidential client",
            ));
        }
        let exchanges = grant_types.contains(&GrantType::TokenExchange);
        if exchanges && public {
            return Err(ConfigError::new(
                "grant_types",
                "token exchange needs a confidential client",
            ));
        }
        if !exchanges && (!self.exchange_audiences.is_empty() || self.exchange_impersonation) {
            return Err(ConfigError::new(
                "exchange_audiences",
                "needs the token-exchange grant type",
            ));
        }
        if self
            .exchange_audiences
            .iter()
            .any(|a| a.is_empty() || !a.chars().all(|c| c.is_ascii_graphic()))
        {
            return Err(ConfigError::new(
                "exchange_audiences",
                "each audience must be visible ASCII characters",
            ));
        }
        if grant_types.contains(&GrantType::AuthorizationCode) && self.redirect_uris.is_empty() {
            return Err(ConfigError::new(
                "redirect_uris",
                "authorization_code needs at least one redirect URI",
            ));
        }
        for uri in self
            .redirect_uris
            .iter()
            .chain(&self.post_logout_redirect_uris)
        {
            redirect::validate_registration(uri.as_str()).map_err(|e| {
                ConfigError::new("redirect_uris", format!("{:?}: {e}", uri.as_str()))
            })?;
        }
        let scope = Scope::parse(self.scope.as_deref().unwrap_or("openid profile email"))
            .map_err(|e| ConfigError::new("scope", e.to_string()))?;
        let id_token_signed_response_alg = match &self.id_token_signed_response_alg {
            Some(alg) => {
                let parsed: Algorithm = alg
                    .parse()
                    .map_err(|_| ConfigError::new("id_token_signed_response_alg", "unknown"))?;
                if !SIGNING_ALGS.contains(&parsed) {
                    return Err(ConfigError::new(
                        "id_token_signed_response_alg",
                        "must be ES256, RS256, PS256 or EdDSA",
                    ));
                }
                Some(parsed)
            }
            None => None,
        };
        let refresh_grace_secs = self.refresh_grace_secs.unwrap_or(0);
        if !(0..=MAX_REFRESH_GRACE_SECS).contains(&refresh_grace_secs) {
            return Err(ConfigError::new(
                "refresh_grace_secs",
                format!("must be 0 (off) to {MAX_REFRESH_GRACE_SECS} seconds"),
            ));
        }
        for (setting, ttl) in [
            ("access_token_ttl", self.access_token_ttl),
            ("refresh_token_ttl", self.refresh_token_ttl),
        ] {
            if ttl.is_some_and(|t| t <= 0) {
                return Err(ConfigError::new(setting, "must be positive"));
            }
        }
        Ok(ClientRecord {
            client_id: self.client_id.clone(),
            secret_hash: self.secret.as_ref().map(|s| pepper.digest(s.secret())),
            token_endpoint_auth_method: auth_method,
            redirect_uris: self.redirect_uris,
            post_logout_redirect_uris: self.post_logout_redirect_uris,
            grant_types,
            scope,
            audience: self.audience,
            access_token_ttl: self.access_token_ttl,
            refresh_token_ttl: self.refresh_token_ttl,
            id_token_signed_response_alg,
            jwks: self.jwks,
            exchange_audiences: self.exchange_audiences,
            exchange_impersonation: self.exchange_impersonation,
            name: self.name,
            roles: self.roles,
            token_roles: self.token_roles,
            token_groups: self.token_groups,
            refresh_grace_secs,
            theme: self.theme.map(|t| t.as_str().to_owned()),
            previous_secret: None,
            created_at: now,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pepper() -> Pepper {
        Pepper::from_bytes(&[3; 32])
    }

    #[test]
    fn defaults_validate() {
        let c = ServerConfig::new(ServerSettings::new("http://127.0.0.1:8080")).unwrap();
        assert_eq!(c.access_token_ttl, 900);
        assert_eq!(c.signing_algs(), &[Algorithm::ES256, Algorithm::RS256]);
        assert_eq!(c.endpoint("/token"), "http://127.0.0.1:8080/token");
        assert!(!c.secure_cookies());
    }

    #[test]
    fn code_6_code_ttl_capped() {
        let mut s = ServerSettings::new("https://id.example");
        s.code_ttl = 601;
        assert_eq!(ServerConfig::new(s).unwrap_err().setting, "code_ttl");
    }

    #[test]
    fn key_3_rotation_delay_covers_reload_and_jwks_cache() {
        let with = |delay: i64, reload: i64| {
            let mut s = ServerSettings::new("https://id.example");
            s.key_rotation_delay = delay;
            s.key_reload_interval = reload;
            ServerConfig::new(s)
        };
        // Default reload interval (60) plus the JWKS max-age (60).
        let err = with(119, 60).unwrap_err();
        assert_eq!(err.setting, "key_rotation_delay");
        assert!(
            err.reason.contains("at least 120 seconds"),
            "{}",
            err.reason
        );
        assert!(err.reason.contains("key_reload_interval"), "{}", err.reason);
        with(120, 60).unwrap();
        for refused in [0, 10, -1] {
            assert!(with(refused, 60).is_err(), "{refused}");
        }
        // A faster reload allows a shorter delay, never below the JWKS cache lifetime.
        assert!(with(60, 1).is_err());
        with(61, 1).unwrap();
        assert_eq!(min_key_rotation_delay(1), 1 + JWKS_MAX_AGE_SECS);
    }

    #[test]
    fn issuer_checked() {
        for bad in [
            "id.example",
            "ftp://x",
            "https://x/?a=1",
            "https://x/",
            "https://x/tenant",
        ] {
            assert!(
                ServerConfig::new(ServerSettings::new(bad)).is_err(),
                "{bad}"
            );
        }
    }

    #[test]
    fn symmetric_alg_refused() {
        let mut s = ServerSettings::new("https://id.example");
        s.access_token_alg = Algorithm::HS256;
        assert_eq!(
            ServerConfig::new(s).unwrap_err().setting,
            "access_token_alg"
        );
    }

    #[test]
    fn red_3_client_with_http_redirect_refused() {
        let c = ClientConfig {
            client_id: "app".into(),
            redirect_uris: vec!["http://app.example/cb".into()],
            ..ClientConfig::default()
        };
        assert_eq!(
            c.into_record(0, &pepper()).unwrap_err().setting,
            "redirect_uris"
        );
    }

    #[test]
    fn client_record_digests_secret() {
        let c = ClientConfig {
            client_id: "svc".into(),
            secret: Some(ClientSecret::new("0123456789abcdef0123")),
            grant_types: vec![GrantType::ClientCredentials],
            scope: Some("orders:read".into()),
            ..ClientConfig::default()
        };
        let rec = c.into_record(5, &pepper()).unwrap();
        assert_eq!(
            rec.token_endpoint_auth_method.as_str(),
            "client_secret_basic"
        );
        assert_eq!(
            rec.secret_hash.as_deref(),
            Some(pepper().digest("0123456789abcdef0123").as_str())
        );
    }

    #[test]
    fn client_id_is_stored_as_a_plain_string() {
        let c = ClientConfig {
            client_id: "svc".into(),
            secret: Some(ClientSecret::new("0123456789abcdef0123")),
            grant_types: vec![GrantType::ClientCredentials],
            ..ClientConfig::default()
        };
        let rec = c.into_record(5, &pepper()).unwrap();
        let doc = serde_json::to_value(&rec).unwrap();
        assert_eq!(doc["client_id"], serde_json::json!("svc"));
        let back: ClientRecord = serde_json::from_value(doc).unwrap();
        assert_eq!(back.client_id, "svc");
        assert_ne!(back.client_id, "SVC");
    }

    #[test]
    fn exchange_policy_reaches_the_record() {
        let c = ClientConfig {
            client_id: "orders-api".into(),
            secret: Some(ClientSecret::new("0123456789abcdef0123")),
            grant_types: vec![GrantType::TokenExchange],
            exchange_audiences: vec!["payments-api".into()],
            ..ClientConfig::default()
        };
        let rec = c.into_record(0, &pepper()).unwrap();
        assert_eq!(rec.exchange_audiences, vec!["payments-api".to_owned()]);
        assert!(!rec.exchange_impersonation);
        let public = ClientConfig {
            client_id: "spa".into(),
            grant_types: vec![GrantType::TokenExchange],
            ..ClientConfig::default()
        };
        assert_eq!(
            public.into_record(0, &pepper()).unwrap_err().setting,
            "grant_types"
        );
        let without_grant = ClientConfig {
            client_id: "svc".into(),
            secret: Some(ClientSecret::new("0123456789abcdef0123")),
            grant_types: vec![GrantType::ClientCredentials],
            exchange_audiences: vec!["payments-api".into()],
            ..ClientConfig::default()
        };
        assert_eq!(
            without_grant.into_record(0, &pepper()).unwrap_err().setting,
            "exchange_audiences"
        );
    }

    #[test]
    fn tok_7_public_client_cannot_use_client_credentials() {
        let c = ClientConfig {
            client_id: "spa".into(),
            grant_types: vec![GrantType::ClientCredentials],
            ..ClientConfig::default()
        };
        assert_eq!(
            c.into_record(0, &pepper()).unwrap_err().setting,
            "grant_types"
        );
    }
}
