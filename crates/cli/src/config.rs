//! Configuration in three stages: the raw TOML file (versioned, unknown keys refused), layered
//! with `PORTCULLIS_*` environment variables and flags, then validated into a `ServerConfig`.

use crate::key_encryption;
use anyhow::{Context as _, anyhow, bail};
use portcullis_jose::Algorithm;
use portcullis_server::at_rest::KeyEncryption;
use portcullis_server::config::{ClientConfig, ServerConfig, ServerSettings, ThrottleSettings};
use portcullis_server::store::{ConnectOptions, ReleaseFilter};
use portcullis_server::theme::ThemeName;
use portcullis_types::{ClientSecret, GrantType, GroupName, RoleName, TokenEndpointAuthMethod};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Default issuer identifier.
pub const DEFAULT_ISSUER: &str = "http://127.0.0.1:8080";
/// Default listen address.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8080";
/// Default database URL (the file is created when missing).
pub const DEFAULT_DATABASE: &str = "sqlite://portcullis.db";
/// The only config file version this build reads.
pub const CONFIG_VERSION: u32 = 1;

/// The TOML file, as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawConfig {
    /// Must be 1.
    pub version: u32,
    /// Issuer identifier.
    pub issuer: Option<String>,
    /// Listen address.
    pub listen: Option<String>,
    /// Database URL.
    pub database: Option<String>,
    /// Redis URL for the revoked-token denylist.
    pub redis: Option<String>,
    /// Token lifetimes and algorithms.
    pub tokens: Option<RawTokens>,
    /// Signing-key rotation.
    pub keys: Option<RawKeys>,
    /// Browser sessions.
    pub session: Option<RawSession>,
    /// Security switches.
    pub security: Option<RawSecurity>,
    /// Connection and request limits of the HTTP listener.
    pub http: Option<RawHttp>,
    /// Limits of the device authorization endpoint.
    pub device_limits: Option<RawDeviceLimits>,
    /// Garbage collection of expired state.
    pub gc: Option<RawGc>,
    /// How long to wait for the database.
    pub database_pool: Option<RawDatabasePool>,
    /// Failed-login throttle.
    pub login_throttle: Option<RawThrottle>,
    /// `[login_address_throttle]`
    pub login_address_throttle: Option<RawThrottle>,
    /// The bounded password-hashing workers.
    pub password_hashing: Option<RawPasswordHashing>,
    /// Client-authentication failure throttle.
    pub client_auth_throttle: Option<RawThrottle>,
    /// Clients registered (or updated) at start.
    #[serde(default)]
    pub clients: Vec<RawClient>,
    /// Users created at start when missing.
    #[serde(default)]
    pub users: Vec<RawUser>,
    /// Roles created at start when missing.
    #[serde(default)]
    pub roles: Vec<RawRole>,
    /// Groups created at start when missing.
    #[serde(default)]
    pub groups: Vec<RawGroup>,
    /// Custom scopes and the user attributes each releases (`[scopes.hr] claims = [...]`).
    #[serde(default)]
    pub scopes: BTreeMap<String, RawScope>,
    /// Endpoints asked for extra claims before a token is signed.
    #[serde(default)]
    pub token_hooks: Vec<crate::token_hooks::RawTokenHook>,
    /// The login page.
    pub login: Option<RawLogin>,
    /// Upstream identity providers, saved (replaced) at start.
    #[serde(default)]
    pub upstreams: Vec<crate::upstreams::RawUpstream>,
    /// Self-service sign-up, verification and password reset.
    pub registration: Option<crate::self_service::RawRegistration>,
    /// The password policy.
    pub password_policy: Option<crate::self_service::RawPasswordPolicy>,
    /// The SMTP relay of self-service mail.
    pub smtp: Option<crate::self_service::RawSmtp>,
    /// The themes of the end-user pages.
    pub theme: Option<RawTheme>,
}

/// `[theme]`
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawTheme {
    /// The theme directory (relative to the config file): the deployment theme, and a named
    /// theme per subdirectory.
    pub dir: PathBuf,
}

/// `[login]`
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawLogin {
    /// Whether the login page offers the password form (default true).
    pub password: Option<bool>,
}

/// `[[roles]]`
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRole {
    /// The role's name, e.g. `orders:read`.
    pub name: RoleName,
    /// What the role allows.
    pub description: Option<String>,
}

/// `[[groups]]`
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawGroup {
    /// The group's name.
    pub name: GroupName,
    /// Roles every member holds.
    #[serde(default)]
    pub roles: Vec<RoleName>,
}

/// `[scopes.NAME]`
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawScope {
    /// User attributes the scope releases into ID tokens and userinfo.
    #[serde(default)]
    pub claims: Vec<String>,
}

/// `[tokens]`
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawTokens {
    /// Access-token lifetime, seconds.
    pub access_token_ttl: Option<i64>,
    /// Refresh-token inactivity lifetime, seconds.
    pub refresh_token_ttl: Option<i64>,
    /// Refresh-token family absolute lifetime, seconds.
    pub refresh_token_absolute_ttl: Option<i64>,
    /// Authorization-code lifetime, seconds.
    pub code_ttl: Option<i64>,
    /// ID-token lifetime, seconds.
    pub id_token_ttl: Option<i64>,
    /// Access-token signing algorithm.
    pub access_token_alg: Option<String>,
    /// Default ID-token signing algorithm.
    pub id_token_alg: Option<String>,
    /// More algorithms to keep keys for.
    pub extra_algs: Option<Vec<String>>,
    /// Audience of access tokens for clients without one.
    pub default_audience: Option<String>,
    /// Device and user code lifetime (RFC 8628), seconds.
    pub device_code_ttl: Option<i64>,
    /// Minimum seconds between device-code polls.
    pub device_poll_interval: Option<i64>,
}

/// `[keys]`
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawKeys {
    /// Seconds between publishing a rotated key and signing with it (at least
    /// `reload_interval` + 60, the JWKS cache lifetime).
    pub rotation_delay: Option<i64>,
    /// Seconds between key reloads from the store.
    pub reload_interval: Option<i64>,
    /// Rotate the signing keys every this many seconds (e.g. 7776000 for 90 days).
    pub rotate_every: Option<i64>,
    /// File holding the key-encryption key (base64 or base64url of 32 bytes).
    pub encryption_key_file: Option<PathBuf>,
    /// File holding the previous key-encryption key, accepted for reading during a rotation.
    pub encryption_key_previous_file: Option<PathBuf>,
    /// Store private keys in plaintext when no key-encryption key is configured.
    pub allow_plaintext: Option<bool>,
}

/// `[session]`
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSession {
    /// Browser session lifetime, seconds.
    pub ttl: Option<i64>,
}

/// `[security]`
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSecurity {
    /// Require PKCE S256 for every client.
    pub require_pkce: Option<bool>,
    /// Maximum form body size, bytes.
    pub max_body_bytes: Option<usize>,
    /// Seconds a client record is cached.
    pub client_cache_ttl: Option<i64>,
    /// Seconds a user record is cached for userinfo.
    pub user_cache_ttl: Option<i64>,
}

/// `[http]`
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawHttp {
    /// Seconds allowed for a request's headers (and idle keep-alive time).
    pub header_read_timeout_secs: Option<u64>,
    /// Seconds a request, body included, may take.
    pub request_timeout_secs: Option<u64>,
    /// Most connections open at once.
    pub max_connections: Option<usize>,
    /// Reverse proxies (addresses or CIDR ranges) whose `X-Forwarded-For` is believed.
    pub trusted_proxies: Option<Vec<String>>,
}

/// `[gc]`
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawGc {
    /// Seconds between collections in `serve` (0: never).
    pub interval_secs: Option<u64>,
    /// Days stored audit events are kept (default 90).
    pub audit_retention_days: Option<u32>,
}

/// `[database_pool]`
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawDatabasePool {
    /// Seconds a request waits for a database connection before answering 503 (default 3).
    pub acquire_timeout_secs: Option<u64>,
    /// Seconds a statement may run (PostgreSQL `statement_timeout`) or wait for the SQLite write
    /// lock (default 5).
    pub statement_timeout_secs: Option<u64>,
}

/// `[device_limits]`
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawDeviceLimits {
    /// Requests per client address within any 60 seconds.
    pub per_address_per_minute: Option<u32>,
    /// Pending device codes per client address.
    pub max_pending_per_address: Option<u32>,
    /// Pending device codes per client.
    pub max_pending_per_client: Option<u32>,
}

/// `[login_throttle]` / `[login_address_throttle]` / `[client_auth_throttle]`
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawThrottle {
    /// Failures allowed within the window.
    pub max_failures: Option<u32>,
    /// Window length, seconds.
    pub window_secs: Option<i64>,
}

/// `[password_hashing]`
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawPasswordHashing {
    /// Memory the argon2id workers may hold at once, MiB (one worker per 19 MiB).
    pub memory_budget_mib: Option<u64>,
    /// Sign-in attempts that may wait for a worker before 503 is answered.
    pub queue: Option<usize>,
    /// Sign-in attempts one client address may have in progress at once.
    pub per_addr: Option<u32>,
}

/// `[[clients]]`
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawClient {
    /// Client id.
    pub id: String,
    /// Secret of a confidential client (prefer `secret_env`).
    pub secret: Option<String>,
    /// Name of an environment variable holding the secret.
    pub secret_env: Option<String>,
    /// A public client (no secret).
    #[serde(default)]
    pub public: bool,
    /// Redirect URIs.
    #[serde(default)]
    pub redirect_uris: Vec<String>,
    /// Post-logout redirect URIs.
    #[serde(default)]
    pub post_logout_redirect_uris: Vec<String>,
    /// Grant types by their RFC names.
    #[serde(default)]
    pub grant_types: Vec<GrantType>,
    /// Allowed scopes, space-separated.
    pub scope: Option<String>,
    /// Token endpoint authentication method.
    pub auth_method: Option<TokenEndpointAuthMethod>,
    /// Access-token audiences.
    #[serde(default)]
    pub audience: Vec<String>,
    /// Access-token lifetime override, seconds.
    pub access_token_ttl: Option<i64>,
    /// Refresh-token lifetime override, seconds.
    pub refresh_token_ttl: Option<i64>,
    /// ID-token signing algorithm.
    pub id_token_signed_response_alg: Option<String>,
    /// Path of a JWK Set file (public keys) for `private_key_jwt`.
    pub jwks_file: Option<PathBuf>,
    /// Display name.
    pub name: Option<String>,
    /// Audiences the client may obtain by token exchange (RFC 8693).
    #[serde(default)]
    pub exchange_audiences: Vec<String>,
    /// Allow token exchange without an actor token (impersonation).
    #[serde(default)]
    pub exchange_impersonation: bool,
    /// Roles of the client itself as a service account.
    #[serde(default)]
    pub roles: Vec<RoleName>,
    /// Which of a user's roles its access tokens carry: `all`, `none` (default) or `PREFIX*`.
    pub token_roles: Option<String>,
    /// Which of a user's groups its access tokens carry: `all`, `none` (default) or `PREFIX*`.
    pub token_groups: Option<String>,
    /// Refresh-token grace window, seconds (0 to 60; default off).
    pub refresh_grace_secs: Option<i64>,
    /// The named theme of its pages (a subdirectory of the theme directory).
    pub theme: Option<String>,
}

/// `[[users]]`
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawUser {
    /// Login name.
    pub username: String,
    /// E-mail address.
    pub email: Option<String>,
    /// Display name.
    pub name: Option<String>,
    /// Name of an environment variable holding the initial password.
    pub password_env: String,
    /// Roles held directly.
    #[serde(default)]
    pub roles: Vec<RoleName>,
    /// Groups.
    #[serde(default)]
    pub groups: Vec<GroupName>,
    /// Attributes (`given_name`, `locale`, `address.country`, `department`, ...).
    #[serde(default)]
    pub attributes: BTreeMap<String, String>,
}

/// A user to create at start.
#[derive(Debug)]
pub struct UserSeed {
    /// Login name.
    pub username: String,
    /// E-mail address.
    pub email: Option<String>,
    /// Display name.
    pub name: Option<String>,
    /// The password.
    pub password: portcullis_types::secret::Password,
    /// Roles held directly.
    pub roles: Vec<RoleName>,
    /// Groups.
    pub groups: Vec<GroupName>,
    /// Attributes.
    pub attributes: BTreeMap<String, String>,
}

impl UserSeed {
    /// What `admin::add_user` creates.
    pub fn to_new_user(&self) -> portcullis_server::admin::NewUser {
        let mut new =
            portcullis_server::admin::NewUser::new(self.username.clone(), self.password.clone());
        new.email.clone_from(&self.email);
        new.name.clone_from(&self.name);
        new.roles.clone_from(&self.roles);
        new.groups.clone_from(&self.groups);
        new.attributes.clone_from(&self.attributes);
        new
    }
}

/// Reads and parses a config file; errors name the file and the offending key.
pub fn load_file(path: &Path) -> anyhow::Result<RawConfig> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading config file {}", path.display()))?;
    parse(&text).map_err(|e| anyhow!("{}: {e}", path.display()))
}

/// Parses config text.
pub fn parse(text: &str) -> anyhow::Result<RawConfig> {
    let raw: RawConfig =
        toml::from_str(text).map_err(|e| anyhow!("{}", e.to_string().trim_end()))?;
    if raw.version != CONFIG_VERSION {
        bail!(
            "unsupported config `version = {}` (this build reads version {CONFIG_VERSION})",
            raw.version
        );
    }
    Ok(raw)
}

/// Values that can come from flags or the environment (clap merges those two; flags win).
#[derive(Debug, Default, Clone)]
pub struct Overrides {
    /// `--issuer` / `PORTCULLIS_ISSUER`.
    pub issuer: Option<String>,
    /// `--listen` / `PORTCULLIS_LISTEN`.
    pub listen: Option<String>,
    /// `--database` / `PORTCULLIS_DATABASE_URL`.
    pub database: Option<String>,
    /// `--db-acquire-timeout` / `PORTCULLIS_DB_ACQUIRE_TIMEOUT`.
    pub db_acquire_timeout_secs: Option<u64>,
    /// `--db-statement-timeout` / `PORTCULLIS_DB_STATEMENT_TIMEOUT`.
    pub db_statement_timeout_secs: Option<u64>,
    /// `--redis` / `PORTCULLIS_REDIS_URL`.
    pub redis: Option<String>,
    /// `--dev`.
    pub dev: bool,
    /// `--header-read-timeout` / `PORTCULLIS_HEADER_READ_TIMEOUT`.
    pub header_read_timeout_secs: Option<u64>,
    /// `--max-connections` / `PORTCULLIS_MAX_CONNECTIONS`.
    pub max_connections: Option<usize>,
    /// `--gc-interval` / `PORTCULLIS_GC_INTERVAL`.
    pub gc_interval_secs: Option<u64>,
    /// `--audit-retention-days` / `PORTCULLIS_AUDIT_RETENTION_DAYS`.
    pub audit_retention_days: Option<u32>,
    /// `--trusted-proxy` / `PORTCULLIS_TRUSTED_PROXIES`.
    pub trusted_proxies: Option<Vec<String>>,
    /// Set when `--admin-listen` exports metrics: time every request.
    pub request_metrics: bool,
    /// `--registration` / `PORTCULLIS_REGISTRATION`: open or close the sign-up page.
    pub registration: Option<bool>,
    /// `--theme-dir` / `PORTCULLIS_THEME_DIR`.
    pub theme_dir: Option<PathBuf>,
}

/// The fully layered configuration.
#[derive(Debug)]
pub struct Resolved {
    /// Address to bind.
    pub listen: String,
    /// Database URL.
    pub database: String,
    /// How long to wait for the database.
    pub database_pool: ConnectOptions,
    /// Validated server configuration.
    pub server: ServerConfig,
    /// Clients declared in the file.
    pub clients: Vec<ClientConfig>,
    /// Users declared in the file.
    pub users: Vec<UserSeed>,
    /// Roles declared in the file.
    pub roles: Vec<RawRole>,
    /// Groups declared in the file.
    pub groups: Vec<RawGroup>,
    /// Upstream identity providers declared in the file.
    pub upstreams: Vec<portcullis_server::admin::NewUpstream>,
}

/// The database timeouts of `[database_pool]`, each a positive number of seconds.
fn database_pool(raw: RawDatabasePool) -> anyhow::Result<ConnectOptions> {
    let mut options = ConnectOptions::default();
    for (name, value, slot) in [
        (
            "acquire_timeout_secs",
            raw.acquire_timeout_secs,
            &mut options.acquire_timeout,
        ),
        (
            "statement_timeout_secs",
            raw.statement_timeout_secs,
            &mut options.statement_timeout,
        ),
    ] {
        match value {
            Some(0) => bail!("database_pool.{name}: must be a positive number of seconds"),
            Some(secs) => *slot = std::time::Duration::from_secs(secs),
            None => {}
        }
    }
    Ok(options)
}

/// Parses trusted proxies: CIDR ranges (`10.0.0.0/8`) or single addresses (`192.0.2.7`).
fn parse_proxies(what: &str, items: &[String]) -> anyhow::Result<Vec<ipnet::IpNet>> {
    items
        .iter()
        .map(|item| {
            let item = item.trim();
            item.parse::<ipnet::IpNet>()
                .or_else(|_| item.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
                .map_err(|_| anyhow!("{what}: {item:?} is neither an IP address nor a CIDR range"))
        })
        .collect()
}

/// Layers defaults < file < env < flags and validates the result; the key-encryption key comes
/// from the environment or the files `[keys]` names, under the rule of [`key_encryption`].
pub fn resolve(file: Option<&Path>, overrides: &Overrides) -> anyhow::Result<Resolved> {
    let raw = match file {
        Some(path) => load_file(path)?,
        None => RawConfig {
            version: CONFIG_VERSION,
            ..RawConfig::default()
        },
    };
    let files = raw
        .keys
        .as_ref()
        .map(|k| key_encryption::FileSettings {
            current: k.encryption_key_file.clone(),
            previous: k.encryption_key_previous_file.clone(),
            allow_plaintext: k.allow_plaintext,
        })
        .unwrap_or_default();
    let encryption = key_encryption::resolve(&files, base_dir(file), overrides.dev)?;
    resolve_raw(raw, file, overrides, encryption)
}

/// The directory relative paths in the config file are resolved against.
fn base_dir(file: Option<&Path>) -> &Path {
    file.and_then(Path::parent)
        .unwrap_or_else(|| Path::new("."))
}

pub(crate) fn resolve_raw(
    raw: RawConfig,
    file: Option<&Path>,
    o: &Overrides,
    key_encryption: KeyEncryption,
) -> anyhow::Result<Resolved> {
    let listen = o
        .listen
        .clone()
        .or(raw.listen)
        .unwrap_or_else(|| DEFAULT_LISTEN.to_owned());
    let issuer = match o.issuer.clone().or(raw.issuer) {
        Some(issuer) => {
            warn_if_unreachable(&issuer, &listen);
            issuer
        }
        None => issuer_for_listen(&listen, o.dev)?,
    };
    let database = o
        .database
        .clone()
        .or(raw.database)
        .unwrap_or_else(|| DEFAULT_DATABASE.to_owned());

    let mut s = ServerSettings::new(issuer.trim_end_matches('/'));
    s.redis_url = o.redis.clone().or(raw.redis);
    s.request_metrics = o.request_metrics;
    s.dev = o.dev;
    s.key_encryption = key_encryption;
    if let Some(t) = raw.tokens {
        set(&mut s.access_token_ttl, t.access_token_ttl);
        set(&mut s.refresh_token_ttl, t.refresh_token_ttl);
        set(
            &mut s.refresh_token_absolute_ttl,
            t.refresh_token_absolute_ttl,
        );
        set(&mut s.code_ttl, t.code_ttl);
        set(&mut s.id_token_ttl, t.id_token_ttl);
        set(&mut s.device_code_ttl, t.device_code_ttl);
        set(&mut s.device_poll_interval, t.device_poll_interval);
        if let Some(alg) = t.access_token_alg {
            s.access_token_alg = parse_alg("tokens.access_token_alg", &alg)?;
        }
        if let Some(alg) = t.id_token_alg {
            s.id_token_alg = parse_alg("tokens.id_token_alg", &alg)?;
        }
        if let Some(algs) = t.extra_algs {
            s.extra_algs = algs
                .iter()
                .map(|a| parse_alg("tokens.extra_algs", a))
                .collect::<anyhow::Result<_>>()?;
        }
        if t.default_audience.is_some() {
            s.default_audience = t.default_audience;
        }
    }
    if let Some(k) = raw.keys {
        set(&mut s.key_rotation_delay, k.rotation_delay);
        set(&mut s.key_reload_interval, k.reload_interval);
        if k.rotate_every.is_some() {
            s.key_rotate_every = k.rotate_every;
        }
    }
    if let Some(session) = raw.session {
        set(&mut s.session_ttl, session.ttl);
    }
    if let Some(sec) = raw.security {
        set(&mut s.require_pkce, sec.require_pkce);
        set(&mut s.max_body_bytes, sec.max_body_bytes);
        set(&mut s.client_cache_ttl, sec.client_cache_ttl);
        set(&mut s.user_cache_ttl, sec.user_cache_ttl);
    }
    if let Some(h) = raw.http {
        set(&mut s.header_read_timeout_secs, h.header_read_timeout_secs);
        set(&mut s.request_timeout_secs, h.request_timeout_secs);
        if h.max_connections.is_some() {
            s.max_connections = h.max_connections;
        }
        if let Some(proxies) = h.trusted_proxies {
            s.trusted_proxies = parse_proxies("http.trusted_proxies", &proxies)?;
        }
    }
    if let Some(d) = raw.device_limits {
        let l = &mut s.device_limits;
        set(&mut l.per_address_per_minute, d.per_address_per_minute);
        set(&mut l.max_pending_per_address, d.max_pending_per_address);
        set(&mut l.max_pending_per_client, d.max_pending_per_client);
    }
    if let Some(g) = raw.gc {
        set(&mut s.gc_interval_secs, g.interval_secs);
        set(
            &mut s.audit_retention_secs,
            g.audit_retention_days.map(days_to_secs),
        );
    }
    set(&mut s.gc_interval_secs, o.gc_interval_secs);
    set(
        &mut s.audit_retention_secs,
        o.audit_retention_days.map(days_to_secs),
    );
    set(&mut s.header_read_timeout_secs, o.header_read_timeout_secs);
    if o.max_connections.is_some() {
        s.max_connections = o.max_connections;
    }
    if let Some(proxies) = &o.trusted_proxies {
        s.trusted_proxies = parse_proxies("--trusted-proxy", proxies)?;
    }
    if let Some(t) = raw.login_throttle {
        throttle(&mut s.login_throttle, t);
    }
    if let Some(t) = raw.login_address_throttle {
        throttle(&mut s.login_address_throttle, t);
    }
    if let Some(t) = raw.client_auth_throttle {
        throttle(&mut s.client_auth_throttle, t);
    }
    if let Some(p) = raw.password_hashing {
        if let Some(mib) = p.memory_budget_mib {
            s.password_hash_memory_bytes = mib.saturating_mul(1024 * 1024);
        }
        set(&mut s.password_hash_queue, p.queue);
        set(&mut s.password_attempts_per_addr, p.per_addr);
    }
    if let Some(password) = raw.login.as_ref().and_then(|l| l.password) {
        s.password_login = password;
    }
    s.scope_claims = raw
        .scopes
        .iter()
        .map(|(name, scope)| (name.clone(), scope.claims.clone()))
        .collect();
    s.token_hooks = raw
        .token_hooks
        .into_iter()
        .map(|h| crate::token_hooks::settings(h, base_dir(file)))
        .collect::<anyhow::Result<_>>()?;
    s.self_service = crate::self_service::settings(
        raw.registration,
        raw.password_policy,
        raw.smtp,
        o.registration,
    )?;
    let theme_dir = o
        .theme_dir
        .clone()
        .or_else(|| raw.theme.map(|t| base_dir(file).join(t.dir)));
    if let Some(dir) = theme_dir {
        s.themes = crate::theme::load(&dir)?;
    }
    let server = ServerConfig::new(s).map_err(|e| anyhow!("{e}"))?;

    let clients = raw
        .clients
        .into_iter()
        .map(|c| client_config(c, base_dir(file)))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let users = raw
        .users
        .into_iter()
        .map(|u| {
            let password = std::env::var(&u.password_env).with_context(|| {
                format!(
                    "users.{}: environment variable {} is not set",
                    u.username, u.password_env
                )
            })?;
            Ok(UserSeed {
                username: u.username,
                email: u.email,
                name: u.name,
                password: portcullis_types::secret::Password::new(password),
                roles: u.roles,
                groups: u.groups,
                attributes: u.attributes,
            })
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let upstreams = raw
        .upstreams
        .into_iter()
        .map(crate::upstreams::RawUpstream::resolve)
        .collect::<anyhow::Result<Vec<_>>>()?;
    let mut pool = raw.database_pool.unwrap_or_default();
    pool.acquire_timeout_secs = o.db_acquire_timeout_secs.or(pool.acquire_timeout_secs);
    pool.statement_timeout_secs = o.db_statement_timeout_secs.or(pool.statement_timeout_secs);
    let database_pool = database_pool(pool)?;
    Ok(Resolved {
        listen,
        database,
        database_pool,
        server,
        clients,
        users,
        roles: raw.roles,
        groups: raw.groups,
        upstreams,
    })
}

/// Without an explicit issuer, a loopback listen address gives `http://<listen>`; anything
/// else falls back to the default issuer.
/// Whether `url` names this machine (a loopback address, or `localhost`).
pub fn is_loopback_url(url: &url::Url) -> bool {
    match url.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(d)) => d == "localhost",
        None => false,
    }
}

/// Warns when the issuer names a loopback address on another port than the one the server
/// listens on: nothing on this machine reaches the server there unless something forwards.
fn warn_if_unreachable(issuer: &str, listen: &str) {
    let (Ok(url), Ok(addr)) = (
        url::Url::parse(issuer),
        listen.parse::<std::net::SocketAddr>(),
    ) else {
        return;
    };
    let loopback_host = is_loopback_url(&url);
    let port = url.port_or_known_default();
    if loopback_host && addr.port() != 0 && port != Some(addr.port()) {
        tracing::warn!(
            issuer,
            listen,
            "the issuer is a loopback URL on another port than the server listens on: clients \
             will not reach it there unless something forwards that port"
        );
    }
}

/// The issuer when none is given: `http://` and the listen address when that is a loopback
/// address (the server can only be reached there, so that is its name). Any other listen
/// address says nothing about the name clients use (a host name, a load balancer, TLS in
/// front), so outside `--dev` the issuer must be given; `--dev` uses `http://127.0.0.1` and
/// the listen port, with a warning. An ephemeral port (`:0`) cannot be named before binding:
/// the default issuer is kept, with a warning.
fn issuer_for_listen(listen: &str, dev: bool) -> anyhow::Result<String> {
    let addr = listen.parse::<std::net::SocketAddr>().ok();
    match addr {
        Some(a) if a.ip().is_loopback() && a.port() != 0 => return Ok(format!("http://{a}")),
        Some(a) if a.ip().is_loopback() => {
            tracing::warn!(
                issuer = DEFAULT_ISSUER,
                "listening on an ephemeral port: the issuer cannot follow it; pass --issuer"
            );
            return Ok(DEFAULT_ISSUER.to_owned());
        }
        _ => {}
    }
    if dev {
        let issuer = match addr {
            Some(a) => format!("http://127.0.0.1:{}", a.port()),
            None => DEFAULT_ISSUER.to_owned(),
        };
        tracing::warn!(
            %issuer,
            listen,
            "no --issuer: using a loopback issuer, which only this machine can reach; pass \
             --issuer with the URL clients use"
        );
        return Ok(issuer);
    }
    bail!(
        "--issuer is required when listening on {listen}: give the URL clients reach this \
         server by (the `iss` of every token), e.g. --issuer https://id.example.com or \
         PORTCULLIS_ISSUER; only a loopback --listen implies it"
    )
}

/// Days as seconds.
fn days_to_secs(days: u32) -> i64 {
    i64::from(days).saturating_mul(86_400)
}

fn set<T>(slot: &mut T, value: Option<T>) {
    if let Some(v) = value {
        *slot = v;
    }
}

fn throttle(slot: &mut ThrottleSettings, raw: RawThrottle) {
    set(&mut slot.max_failures, raw.max_failures);
    set(&mut slot.window_secs, raw.window_secs);
}

fn parse_alg(key: &str, value: &str) -> anyhow::Result<Algorithm> {
    value
        .parse()
        .map_err(|_| anyhow!("{key}: unknown algorithm {value:?}"))
}

fn client_config(raw: RawClient, base_dir: &Path) -> anyhow::Result<ClientConfig> {
    let id = raw.id.clone();
    let secret = match (raw.secret, raw.secret_env) {
        (Some(_), Some(_)) => bail!("clients.{id}: set `secret` or `secret_env`, not both"),
        (Some(s), None) => Some(s),
        (None, Some(var)) => Some(
            std::env::var(&var)
                .with_context(|| format!("clients.{id}: environment variable {var} is not set"))?,
        ),
        (None, None) => None,
    };
    if raw.public && secret.is_some() {
        bail!("clients.{id}: a public client has no secret");
    }
    if !raw.public && secret.is_none() && raw.jwks_file.is_none() {
        bail!("clients.{id}: set `secret`, `secret_env`, `jwks_file` or `public = true`");
    }
    let jwks = match raw.jwks_file {
        Some(path) => {
            let path = base_dir.join(path);
            Some(
                std::fs::read_to_string(&path)
                    .with_context(|| format!("clients.{id}: reading {}", path.display()))?,
            )
        }
        None => None,
    };
    Ok(ClientConfig {
        client_id: raw.id.into(),
        secret: secret.map(ClientSecret::new),
        auth_method: raw.auth_method,
        redirect_uris: raw.redirect_uris.into_iter().map(Into::into).collect(),
        post_logout_redirect_uris: raw
            .post_logout_redirect_uris
            .into_iter()
            .map(Into::into)
            .collect(),
        grant_types: raw.grant_types,
        scope: raw.scope,
        audience: raw.audience,
        access_token_ttl: raw.access_token_ttl,
        refresh_token_ttl: raw.refresh_token_ttl,
        id_token_signed_response_alg: raw.id_token_signed_response_alg,
        jwks,
        name: raw.name,
        exchange_audiences: raw.exchange_audiences,
        exchange_impersonation: raw.exchange_impersonation,
        roles: raw.roles,
        token_roles: release_filter(&id, "token_roles", raw.token_roles.as_deref())?,
        token_groups: release_filter(&id, "token_groups", raw.token_groups.as_deref())?,
        refresh_grace_secs: raw.refresh_grace_secs,
        theme: raw
            .theme
            .as_deref()
            .map(ThemeName::parse)
            .transpose()
            .map_err(|e| anyhow!("clients.{id}.theme: {e}"))?,
    })
}

/// Parses a client's `token_roles` / `token_groups` (`none` when absent).
fn release_filter(id: &str, key: &str, value: Option<&str>) -> anyhow::Result<ReleaseFilter> {
    value.map_or(Ok(ReleaseFilter::None), |v| {
        ReleaseFilter::parse(v).map_err(|e| anyhow!("clients.{id}.{key}: {e}"))
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    /// `resolve` without a file, with plaintext keys (the rule is tested through the binary).
    fn resolve_defaults(o: &Overrides) -> anyhow::Result<Resolved> {
        let raw = RawConfig {
            version: CONFIG_VERSION,
            ..RawConfig::default()
        };
        resolve_raw(raw, None, o, KeyEncryption::Plaintext)
    }

    #[test]
    fn defaults_apply_without_a_file() {
        let r = resolve_defaults(&Overrides::default()).unwrap();
        assert_eq!(r.listen, DEFAULT_LISTEN);
        assert_eq!(r.database, DEFAULT_DATABASE);
        assert_eq!(r.server.issuer, DEFAULT_ISSUER);
    }

    #[test]
    fn file_then_overrides() {
        let raw = parse(
            r#"
            version = 1
            issuer = "https://id.example"
            listen = "0.0.0.0:9000"
            [tokens]
            access_token_ttl = 300
            access_token_alg = "EdDSA"
            [login_throttle]
            max_failures = 3
            [[clients]]
            id = "svc"
            secret = "0123456789abcdef0123"
            grant_types = ["client_credentials"]
            scope = "orders:read"
            "#,
        )
        .unwrap();
        let o = Overrides {
            listen: Some("127.0.0.1:7000".into()),
            ..Overrides::default()
        };
        let r = resolve_raw(raw, None, &o, KeyEncryption::Plaintext).unwrap();
        assert_eq!(r.listen, "127.0.0.1:7000");
        assert_eq!(r.server.issuer, "https://id.example");
        assert_eq!(r.server.access_token_ttl, 300);
        assert_eq!(r.server.access_token_alg, Algorithm::EdDSA);
        assert_eq!(r.server.login_throttle.max_failures, 3);
        assert_eq!(r.clients.len(), 1);
    }

    #[test]
    fn rs_14_trusted_proxies_from_file_and_flag() {
        let raw = parse(
            "version = 1\n[http]\ntrusted_proxies = [\"10.0.0.0/8\", \"192.0.2.7\", \"2001:db8::/32\"]\n",
        )
        .unwrap();
        let r = resolve_raw(raw, None, &Overrides::default(), KeyEncryption::Plaintext).unwrap();
        let nets: Vec<String> = r
            .server
            .trusted_proxies
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(nets, ["10.0.0.0/8", "192.0.2.7/32", "2001:db8::/32"]);
        // The flag (or environment) replaces the file's list.
        let raw = parse("version = 1\n[http]\ntrusted_proxies = [\"10.0.0.0/8\"]\n").unwrap();
        let o = Overrides {
            trusted_proxies: Some(vec!["127.0.0.1".into()]),
            ..Overrides::default()
        };
        let r = resolve_raw(raw, None, &o, KeyEncryption::Plaintext).unwrap();
        assert_eq!(r.server.trusted_proxies.len(), 1);
        assert_eq!(r.server.trusted_proxies[0].to_string(), "127.0.0.1/32");
        // Nothing is trusted by default, and a typo is an error that names the value.
        let r = resolve_raw(
            parse("version = 1\n").unwrap(),
            None,
            &Overrides::default(),
            KeyEncryption::Plaintext,
        )
        .unwrap();
        assert!(r.server.trusted_proxies.is_empty());
        let raw = parse("version = 1\n[http]\ntrusted_proxies = [\"10.0.0.0/33\"]\n").unwrap();
        let err = resolve_raw(raw, None, &Overrides::default(), KeyEncryption::Plaintext)
            .unwrap_err()
            .to_string();
        assert!(err.contains("10.0.0.0/33"), "{err}");
    }

    #[test]
    fn the_issuer_follows_a_loopback_listen_and_is_required_for_any_other() {
        let listen = |addr: &str, dev: bool| Overrides {
            listen: Some(addr.into()),
            dev,
            ..Overrides::default()
        };
        let r = resolve_defaults(&listen("127.0.0.1:9000", false)).unwrap();
        assert_eq!(r.server.issuer, "http://127.0.0.1:9000");
        let r = resolve_defaults(&listen("[::1]:9000", false)).unwrap();
        assert_eq!(r.server.issuer, "http://[::1]:9000");
        for addr in ["0.0.0.0:8087", "192.0.2.7:8087", "[::]:8087"] {
            let err = resolve_defaults(&listen(addr, false))
                .unwrap_err()
                .to_string();
            assert!(err.contains("--issuer is required"), "{addr}: {err}");
            assert!(err.contains(addr), "{addr}: {err}");
            // Development falls back to a loopback issuer on the listen port.
            let r = resolve_defaults(&listen(addr, true)).unwrap();
            assert_eq!(r.server.issuer, "http://127.0.0.1:8087");
        }
        // An explicit issuer is taken as given, whatever the listen address.
        let o = Overrides {
            issuer: Some("https://id.example.com".into()),
            ..listen("0.0.0.0:8087", false)
        };
        assert_eq!(
            resolve_defaults(&o).unwrap().server.issuer,
            "https://id.example.com"
        );
    }

    #[test]
    fn the_login_page_and_upstreams_are_read() {
        // `PATH` is set in every test environment: the client secret is read from it.
        let raw = parse(
            "version = 1\n[login]\npassword = false\n[[upstreams]]\nid = \"github\"\n\
             kind = \"github\"\nclient_id = \"x\"\nclient_secret_env = \"PATH\"\n",
        )
        .unwrap();
        let r = resolve_raw(raw, None, &Overrides::default(), KeyEncryption::Plaintext).unwrap();
        assert!(!r.server.password_login);
        assert_eq!(r.upstreams[0].id.as_str(), "github");
        let r = resolve_defaults(&Overrides::default()).unwrap();
        assert!(r.server.password_login, "on by default");
        assert!(r.upstreams.is_empty());
    }

    #[test]
    fn roles_groups_scopes_and_client_filters_are_read_and_checked() {
        // `PATH` is set in every test environment: the password is read from it.
        let raw = parse(
            r#"
            version = 1
            [[roles]]
            name = "orders:read"
            description = "Read orders"
            [[groups]]
            name = "sales"
            roles = ["orders:read"]
            [scopes.hr]
            claims = ["department"]
            [[clients]]
            id = "web"
            secret = "0123456789abcdef0123"
            token_roles = "orders:*"
            token_groups = "all"
            [[users]]
            username = "ada"
            password_env = "PATH"
            roles = ["orders:read"]
            groups = ["sales"]
            attributes = { given_name = "Ada", "address.country" = "UK" }
            "#,
        )
        .unwrap();
        let r = resolve_raw(raw, None, &Overrides::default(), KeyEncryption::Plaintext).unwrap();
        assert_eq!(r.roles.len(), 1);
        assert_eq!(r.groups[0].roles[0].as_str(), "orders:read");
        assert_eq!(r.server.scope_claims["hr"], ["department"]);
        assert_eq!(
            r.clients[0].token_roles,
            ReleaseFilter::Prefix("orders:".into())
        );
        assert_eq!(r.clients[0].token_groups, ReleaseFilter::All);
        assert_eq!(r.users[0].attributes["address.country"], "UK");
        assert_eq!(r.users[0].groups[0].as_str(), "sales");

        let bad_role = parse("version = 1\n[[roles]]\nname = \"a b\"\n").unwrap_err();
        assert!(bad_role.to_string().contains("may hold only"), "{bad_role}");
        let bad_filter = parse(
            "version = 1\n[[clients]]\nid = \"a\"\npublic = true\ntoken_roles = \"orders\"\n",
        )
        .and_then(|raw| resolve_raw(raw, None, &Overrides::default(), KeyEncryption::Plaintext))
        .unwrap_err();
        assert!(
            bad_filter.to_string().contains("clients.a.token_roles"),
            "{bad_filter}"
        );
        let standard = parse("version = 1\n[scopes.email]\nclaims = [\"department\"]\n")
            .and_then(|raw| resolve_raw(raw, None, &Overrides::default(), KeyEncryption::Plaintext))
            .unwrap_err();
        assert!(
            standard.to_string().contains("standard scope"),
            "{standard}"
        );
    }

    #[test]
    fn key_3_rotate_every_is_read_and_checked() {
        let raw = parse("version = 1\n[keys]\nrotate_every = 7776000\n").unwrap();
        let r = resolve_raw(raw, None, &Overrides::default(), KeyEncryption::Plaintext).unwrap();
        assert_eq!(r.server.key_rotate_every, Some(7_776_000));
        let raw = parse("version = 1\n[keys]\nrotate_every = 600\n").unwrap();
        let err =
            resolve_raw(raw, None, &Overrides::default(), KeyEncryption::Plaintext).unwrap_err();
        assert!(err.to_string().contains("rotate_every"), "{err}");
    }

    #[test]
    fn unknown_keys_are_named() {
        let err = parse("version = 1\nissuer = \"https://x\"\nlisten_addr = \"x\"\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("listen_addr"), "{err}");
        let err = parse("version = 1\n[tokens]\naccess_ttl = 5\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("access_ttl"), "{err}");
        let err = parse("version = 1\n[[clients]]\nid = \"a\"\nsecrett = \"x\"\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("secrett"), "{err}");
    }

    #[test]
    fn unknown_grant_types_and_auth_methods_are_refused() {
        let err = format!(
            "{:#}",
            parse("version = 1\n[[clients]]\nid = \"a\"\ngrant_types = [\"implicit\"]\n")
                .unwrap_err()
        );
        assert!(err.contains("unknown grant type \"implicit\""), "{err}");
        let err = format!(
            "{:#}",
            parse("version = 1\n[[clients]]\nid = \"a\"\nauth_method = \"basic\"\n").unwrap_err()
        );
        assert!(err.contains("client_secret_basic"), "{err}");
        let raw = parse(
            "version = 1\n[[clients]]\nid = \"a\"\nauth_method = \"client_secret_post\"\n\
             grant_types = [\"urn:ietf:params:oauth:grant-type:device_code\"]\n",
        )
        .unwrap();
        assert_eq!(
            raw.clients[0].auth_method,
            Some(TokenEndpointAuthMethod::ClientSecretPost)
        );
        assert_eq!(raw.clients[0].grant_types, [GrantType::DeviceCode]);
    }

    /// The example shipped beside the README must keep working.
    #[test]
    fn example_config_file_resolves() {
        let text = include_str!("../../../portcullis.example.toml");
        let mut raw = parse(text).unwrap();
        for client in &mut raw.clients {
            if client.secret_env.is_some() {
                // The variables are not set here; resolve the same clients with inline secrets.
                client.secret_env = None;
                client.secret = Some(format!("{}-secret-0123456789", client.id));
            }
        }
        let r = resolve_raw(raw, None, &Overrides::default(), KeyEncryption::Plaintext).unwrap();
        assert_eq!(r.server.issuer, "http://127.0.0.1:8080");
        assert_eq!(r.server.access_token_ttl, 900);
        let ids: Vec<&str> = r.clients.iter().map(|c| c.client_id.as_str()).collect();
        assert_eq!(ids, ["web-app", "orders-api", "spa"]);
        assert!(r.clients.iter().any(|c| c.secret.is_none()));
        assert_eq!(r.database_pool, ConnectOptions::default());
    }

    #[test]
    fn database_timeouts_are_read_and_checked() {
        let resolve_text = |text: &str| {
            resolve_raw(
                parse(text).unwrap(),
                None,
                &Overrides::default(),
                KeyEncryption::Plaintext,
            )
        };
        let r = resolve_text(
            "version = 1\n[database_pool]\nacquire_timeout_secs = 1\nstatement_timeout_secs = 2\n",
        )
        .unwrap();
        assert_eq!(r.database_pool.acquire_timeout.as_secs(), 1);
        assert_eq!(r.database_pool.statement_timeout.as_secs(), 2);
        let err = resolve_text("version = 1\n[database_pool]\nstatement_timeout_secs = 0\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("statement_timeout_secs"), "{err}");
        // The flag (or its environment variable) wins over the file.
        let overrides = Overrides {
            db_acquire_timeout_secs: Some(7),
            ..Overrides::default()
        };
        let r = resolve_raw(
            parse("version = 1\n[database_pool]\nacquire_timeout_secs = 1\n").unwrap(),
            None,
            &overrides,
            KeyEncryption::Plaintext,
        )
        .unwrap();
        assert_eq!(r.database_pool.acquire_timeout.as_secs(), 7);
    }

    #[test]
    fn version_is_required_and_checked() {
        assert!(parse("issuer = \"https://x\"\n").is_err());
        let err = parse("version = 2\n").unwrap_err().to_string();
        assert!(err.contains("version"), "{err}");
    }

    #[test]
    fn invalid_values_name_the_setting() {
        let raw = parse("version = 1\n[tokens]\ncode_ttl = 9999\n").unwrap();
        let err = resolve_raw(raw, None, &Overrides::default(), KeyEncryption::Plaintext)
            .unwrap_err()
            .to_string();
        assert!(err.contains("code_ttl"), "{err}");
    }

    #[test]
    fn client_needs_a_credential_kind() {
        let raw = parse("version = 1\n[[clients]]\nid = \"a\"\n").unwrap();
        let err = resolve_raw(raw, None, &Overrides::default(), KeyEncryption::Plaintext)
            .unwrap_err()
            .to_string();
        assert!(err.contains("clients.a"), "{err}");
    }
}
