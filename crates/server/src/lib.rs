//! Portcullis authorization server: OAuth 2.1 and OpenID Connect as an axum [`Router`], backed
//! by a [`store::Store`] and a [`Clock`].
//!
//! # Using the library
//!
//! ```no_run
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! use std::sync::Arc;
//! use portcullis_jose::SystemClock;
//! use portcullis_server::at_rest::{Kek, KeyEncryption};
//! use portcullis_server::config::{ServerConfig, ServerSettings, ClientConfig};
//! use portcullis_server::{Server, admin, store};
//!
//! let mut settings = ServerSettings::new("http://127.0.0.1:8080");
//! // Private signing keys and the client-secret pepper are sealed in the store under this
//! // key-encryption key, kept outside the database.
//! let kek = Kek::parse(&std::env::var("PORTCULLIS_KEY_ENCRYPTION_KEY")?)?;
//! settings.key_encryption = KeyEncryption::sealed(kek, None);
//! let config = ServerConfig::new(settings)?;
//! let store = store::connect("memory:").await?;
//! let clock = Arc::new(SystemClock);
//! admin::add_client(store.as_ref(), clock.as_ref(), &config, ClientConfig {
//!     client_id: "svc".into(),
//!     secret: Some(portcullis_types::ClientSecret::new("a-long-random-client-secret")),
//!     grant_types: vec![portcullis_types::GrantType::ClientCredentials],
//!     scope: Some("orders:read".into()),
//!     ..ClientConfig::default()
//! }).await?;
//! let server = Server::new(config, store, clock).await?;
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:8080").await?;
//! axum::serve(
//!     listener,
//!     server.router().into_make_service_with_connect_info::<std::net::SocketAddr>(),
//! ).await?;
//! # Ok(()) }
//! ```
//!
//! Serve with `into_make_service_with_connect_info::<SocketAddr>()` so the login throttle can
//! count failures per client address (without it only the per-account limit applies).
//!
//! # Public surface
//! * [`Server`]: `Server::new(config, store, clock).await`, [`Server::router`].
//! * [`config`]: [`config::ServerSettings`] → [`config::ServerConfig::new`] (validated),
//!   [`config::ClientConfig`] (a client to register).
//! * [`admin`]: clients, users, roles and groups, upstream identity providers
//!   ([`admin::put_upstream`]), keys and the re-encryption of secrets for the command line.
//! * [`at_rest`]: the key-encryption key ([`at_rest::Kek`]) and how secrets are kept in the
//!   store ([`at_rest::KeyEncryption`]).
//! * [`store`]: the storage trait and backends.
//! * [`theme`]: the themes of the end-user pages ([`theme::ThemeSet`], read from a theme
//!   directory by the binary and validated here).
//!
//! # Cargo features
//! All on by default: `sqlite` and `postgres` (the SQL store backends, see [`store::connect`])
//! and `redis` (the mirror of revoked `jti`s for resource servers, `ServerConfig::redis_url`).
//! The memory store is always there. A build without `redis` refuses to start when a Redis URL
//! is configured instead of silently not publishing revocations.
//!
//! # Endpoints
//! `/.well-known/openid-configuration`, `/.well-known/oauth-authorization-server`,
//! `/.well-known/jwks.json`, `/authorize` (GET, POST), `/login`, `/consent`, `/account`,
//! `/account/withdraw`, `/account/password`, `/account/sign-out-everywhere`, `/account/delete`,
//! `/register` and `/register/verify` (sign-up, when on), `/password/forgot` and
//! `/password/reset` (with an SMTP relay), `/token`, `/device_authorization`, `/device` (GET, POST),
//! `/device/login`, `/userinfo` (GET, POST), `/revoke`, `/introspect`, `/logout`
//! (GET, POST), `/logout/done`, `/upstream/{id}/start` and `/upstream/{id}/callback` (signing
//! in through an upstream OpenID provider or GitHub), `/upstream/{id}/login` (the password form
//! of a directory upstream), `/healthz`, `/readyz`, and the page assets
//! `/assets/portcullis.css` and `/assets/theme/{theme}/{version}/{file}`.

#![forbid(unsafe_code)]
#![warn(unreachable_pub, missing_docs)]

use std::sync::Arc;

use axum::Router;
use portcullis_jose::Clock;

pub mod admin;
pub mod admin_api;
pub mod admin_console;
pub mod at_rest;
pub mod audit_sink;
pub mod config;
pub(crate) mod domain;
pub(crate) mod hashing;
pub(crate) mod http;
pub(crate) mod i18n;
pub(crate) mod keys;
pub(crate) mod mail;
pub(crate) mod state;
pub mod store;
pub mod theme;
pub(crate) mod token_hook;
pub(crate) mod trace_context;
pub(crate) mod ui;
pub(crate) mod upstream;
pub(crate) mod validation_cache;

pub use domain::ProtocolError;
pub use domain::denylist::SyncReport;

/// PKCE (RFC 7636) as the server checks it, for clients and tools such as `portcullis serve
/// --dev`.
pub mod pkce {
    pub use crate::domain::pkce::s256_challenge;
}

/// High-entropy random values made the way the server makes its own (tokens, ids, secrets).
pub mod secrets {
    pub use crate::domain::secrets::{random_id, random_token};
}

use config::ServerConfig;
use state::AppState;
use store::Store;

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StartError {
    /// Loading or generating the signing keys failed.
    #[error("signing keys: {0}")]
    Keys(String),
    /// The Redis denylist could not be reached, or this build has no Redis support (the
    /// `redis` feature is off) while a Redis URL is configured.
    #[error("redis: {0}")]
    Redis(String),
    /// The password-hashing worker threads could not be started.
    #[error("password hashing workers: {0}")]
    Workers(String),
    /// The client-secret pepper could not be read or made (e.g. the key-encryption key that
    /// sealed it is not configured).
    #[error("client-secret pepper: {0}")]
    Pepper(String),
    /// The HTTP client of the token hooks could not be built (e.g. no TLS roots).
    #[error("token hooks: {0}")]
    TokenHooks(String),
    /// The SMTP relay settings cannot make a transport.
    #[error("mail: {0}")]
    Mail(String),
}

/// Connects the Redis denylist mirror when `redis_url` is configured.
#[cfg(feature = "redis")]
async fn connect_denylist(
    config: &ServerConfig,
) -> Result<Option<Arc<dyn store::Denylist>>, StartError> {
    let Some(url) = &config.redis_url else {
        return Ok(None);
    };
    let denylist = store::redis::RedisDenylist::connect(url, &config.issuer)
        .await
        .map_err(|e| StartError::Redis(e.to_string()))?;
    Ok(Some(Arc::new(denylist)))
}

/// Without the `redis` feature a configured Redis URL is an error rather than silently ignored:
/// resource servers would otherwise keep accepting revoked tokens.
#[cfg(not(feature = "redis"))]
async fn connect_denylist(
    config: &ServerConfig,
) -> Result<Option<Arc<dyn store::Denylist>>, StartError> {
    match &config.redis_url {
        Some(_) => Err(StartError::Redis(
            "Redis support is not compiled into this build (enable the `redis` feature)".into(),
        )),
        None => Ok(None),
    }
}

/// A configured authorization server.
#[derive(Debug, Clone)]
pub struct Server {
    state: Arc<AppState>,
}

impl Server {
    /// Prepares the server: generates the first signing keys when the store has none, loads the
    /// key cache and, when configured, connects the Redis denylist writer.
    pub async fn new(
        config: ServerConfig,
        store: Arc<dyn Store>,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, StartError> {
        let config = Arc::new(config);
        let keys =
            keys::KeyManager::load(Arc::clone(&store), Arc::clone(&clock), Arc::clone(&config))
                .await
                .map_err(|e| StartError::Keys(e.to_string()))?;
        let pepper = at_rest::pepper::load_or_create(store.as_ref(), &config.key_encryption)
            .await
            .map_err(|e| StartError::Pepper(e.to_string()))?;
        let denylist = connect_denylist(&config).await?;
        let passwords = hashing::PasswordPool::start(hashing::PoolSettings {
            memory_budget_bytes: config.password_hash_memory_bytes,
            max_workers: hashing::PoolSettings::cores(),
            queue: config.password_hash_queue,
            per_addr: config.password_attempts_per_addr,
        })
        .map_err(|e| StartError::Workers(e.to_string()))?;
        let hook_client = if config.token_hooks.is_empty() {
            None
        } else {
            Some(token_hook::http_client().map_err(|e| StartError::TokenHooks(e.to_string()))?)
        };
        let mail = match &config.self_service.smtp {
            Some(smtp) => mail::Mailer::start(smtp).map_err(|e| StartError::Mail(e.to_string()))?,
            None => mail::Mailer::disabled(),
        };
        let upstream_http =
            upstream::Fetcher::new().map_err(|e| StartError::Workers(e.to_string()))?;
        let verifier = domain::verify::TokenVerifier::new(&config.issuer);
        Ok(Self {
            state: Arc::new(AppState {
                verifier,
                config,
                store,
                clock,
                keys,
                pepper,
                clients: state::ClientCache::default(),
                client_throttle: state::ClientThrottle::default(),
                device_throttle: state::DeviceThrottle::default(),
                denylist,
                mirror_health: domain::denylist::MirrorHealth::default(),
                passwords,
                validation: validation_cache::ValidationCache::default(),
                hook_client,
                upstream_http,
                upstream_docs: upstream::ProviderDocs::default(),
                mail,
            }),
        })
    }

    /// The axum router serving every endpoint.
    pub fn router(&self) -> Router {
        http::router(Arc::clone(&self.state))
    }

    /// The admin REST API (`/admin/v1`, see [`admin_api`]) for the admin listener, sharing this
    /// server's state; fails only if the issuer cannot be a guard's issuer.
    pub fn admin_router(&self) -> Result<Router, portcullis_guard::ConfigError> {
        admin_api::router(&self.state)
    }

    /// The admin console's routes under [`admin_console::CONSOLE_PATH`], for the admin
    /// listener reached at `admin_base_url` (its redirect URI is
    /// [`admin_console::console_redirect_uri`] of it). The console signs in as the client
    /// [`admin_console::CONSOLE_CLIENT_ID`], which [`admin::register_console_client`] registers.
    pub fn admin_console_router(
        &self,
        admin_base_url: &str,
    ) -> Result<Router, portcullis_guard::ConfigError> {
        admin_console::router(&self.state, admin_base_url)
    }

    /// The validated configuration.
    pub fn config(&self) -> &ServerConfig {
        &self.state.config
    }

    /// The store.
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.state.store
    }

    /// Keeps the resource servers' denylist mirror (Redis) whole: refills it from the store when
    /// it lost its contents and delivers the revocations queued while it was out of reach. Run
    /// it every few seconds ([`Server::sync_denylist_periodically`]); nothing to do without a
    /// mirror.
    pub async fn sync_denylist(&self) -> Result<domain::denylist::SyncReport, store::StoreError> {
        domain::denylist::sync(&self.state).await
    }

    /// Runs [`Server::sync_denylist`] every `interval` for ever (spawn it; it returns at once
    /// when no mirror is configured).
    pub async fn sync_denylist_periodically(self, interval: std::time::Duration) {
        if self.state.denylist.is_none() {
            return;
        }
        loop {
            if let Err(error) = self.sync_denylist().await {
                tracing::warn!(%error, "denylist mirror sync failed");
            }
            tokio::time::sleep(interval).await;
        }
    }

    /// Deletes expired state from the store, and the audit events older than
    /// [`ServerSettings::audit_retention_secs`](config::ServerSettings::audit_retention_secs) (call
    /// periodically, e.g. every few minutes).
    pub async fn gc(&self) -> Result<store::GcReport, store::StoreError> {
        let report = admin::collect_garbage(
            self.state.store.as_ref(),
            self.state.now(),
            self.state.config.audit_retention_secs,
        )
        .await?;
        metrics::counter!("portcullis_gc_runs_total").increment(1);
        metrics::counter!("portcullis_gc_deleted_rows_total").increment(report.deleted);
        Ok(report)
    }
}
