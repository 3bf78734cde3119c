//! Persistence for the authorization server: the storage contract as one object-safe trait per
//! aggregate ([`ClientStore`], [`UserStore`], [`CodeStore`], [`GrantStore`], [`RefreshStore`],
//! [`ReplayStore`], [`ArtifactStore`], [`ConsentStore`], [`SessionStore`], [`ThrottleStore`],
//! [`KeyStore`], [`UpstreamStore`], [`Maintenance`], [`AuditStore`]) whose sum is [`Store`], held by the server as
//! `Arc<dyn Store>`; its records; and the memory, SQLite and PostgreSQL backends chosen by
//! [`connect`]. With the `conformance` feature, `store::conformance` holds the suite every backend,
//! in-tree or not, is checked against.
//!
//! # Contract shared by every backend
//!
//! * **Time is passed in.** Every `now`, `exp` and `*_at` is Unix seconds supplied by the caller;
//!   no backend reads the clock. A value is expired when `now >= expires_at`.
//! * **Secrets arrive hashed (CODE-7, TOK-10).** Codes, refresh tokens, session ids, client
//!   secrets and single-use artifacts are keyed by the caller-computed base64url SHA-256 of the
//!   value (`*_hash` parameters). No method takes a raw secret, so none is ever persisted.
//! * **Atomic primitives (DUR-3, DOS-4).** [`CodeStore::consume_code`],
//!   [`RefreshStore::rotate_refresh`], [`GrantStore::revoke_grant`],
//!   [`ConsentStore::withdraw_consent`], [`ReplayStore::insert_jti_if_absent`],
//!   [`ClientStore::insert_client`],
//!   [`ArtifactStore::take_artifact`], [`ArtifactStore::swap_artifact`] and
//!   [`UpstreamStore::insert_upstream_link`] each decide and write
//!   in one atomic step, so N concurrent callers observe exactly one winner (CODE-3, RT-4);
//!   [`ThrottleStore::register_attempt`] counts and returns the count in one step, so N
//!   concurrent attempts see N different counts. Protocol code never reads, checks and then
//!   writes.
//! * **Durability (DUR-1, DUR-2).** When a method returns `Ok`, its effect is committed; the
//!   response may be sent.
//! * **Retention (DUR-4).** [`Maintenance::gc`] deletes only what can no longer matter: rotated
//!   refresh tokens stay until their family's absolute expiry, consumed codes stay
//!   [`CODE_RETENTION_SECS`] past expiry so a late replay still revokes the grant.

use std::sync::Arc;
use std::time::Duration;

mod audit_records;
mod denylist;
pub mod memory;
#[cfg(feature = "postgres")]
pub mod postgres;
mod records;
#[cfg(feature = "redis")]
pub mod redis;
#[cfg(any(feature = "sqlite", feature = "postgres"))]
mod sql;
#[cfg(feature = "sqlite")]
pub mod sqlite;
mod traits;
mod upstream_records;

#[cfg(any(test, feature = "conformance"))]
pub mod conformance;

pub use audit_records::{AuditFilter, AuditRecord, MAX_AUDIT_PAGE, StoredAuditRecord};
pub use denylist::Denylist;

pub use traits::{
    ArtifactStore, AuditStore, ClientStore, CodeStore, ConsentStore, DirectoryStore, GrantStore,
    KeyStore, Maintenance, MirrorStore, RefreshStore, ReplayStore, SessionStore, Store,
    ThrottleStore, UpstreamStore, UserStore,
};

/// Every storage trait, for calling store methods through `dyn Store`:
/// `use portcullis_server::store::prelude::*;`.
pub mod prelude {
    pub use super::traits::{
        ArtifactStore, AuditStore, ClientStore, CodeStore, ConsentStore, DirectoryStore,
        GrantStore, KeyStore, Maintenance, MirrorStore, RefreshStore, ReplayStore, SessionStore,
        Store, ThrottleStore, UpstreamStore, UserStore,
    };
}

pub use records::{
    ClientRecord, CodeRecord, ConsentRecord, ConsumeOutcome, GcReport, GrantRecord, GroupRecord,
    MirrorEntry, PreviousSecret, RefreshRecord, RefreshStatus, ReleaseFilter, RoleRecord,
    RotateOutcome, SessionRecord, SigningKeyRecord, UserRecord,
};
pub use upstream_records::{
    FederatedSignIn, LDAP_DEFAULT_GROUP_ATTRIBUTE, LDAP_DEFAULT_GROUP_FILTER,
    LDAP_DEFAULT_SUBJECT_ATTRIBUTE, LDAP_DEFAULT_TIMEOUT_SECS, LDAP_DEFAULT_USER_FILTER,
    LDAP_SUBJECT_DN, LdapGroups, LdapSettings, MAX_UPSTREAM_ID_LEN, UpstreamId, UpstreamIdError,
    UpstreamKind, UpstreamLinkRecord, UpstreamRecord,
};

/// How long a code is kept after its expiry so a replay is still recognised (CODE-2).
pub const CODE_RETENTION_SECS: i64 = 24 * 3600;

/// How long a grant without any live refresh or access token is kept after creation.
pub const GRANT_RETENTION_SECS: i64 = 24 * 3600;

/// How long login failures are kept by [`Maintenance::gc`]; throttle windows longer than this are
/// not supported.
pub const LOGIN_FAILURE_RETENTION_SECS: i64 = 24 * 3600;

/// Namespaces for [`ReplayStore::insert_jti_if_absent`] and the artifact methods. Single-use values
/// of different kinds never share a namespace, so one can never be redeemed as another (CODE-8).
pub mod namespace {
    /// `jti` of client assertions (`private_key_jwt`, `client_secret_jwt`).
    pub const CLIENT_ASSERTION: &str = "client_assertion";
    /// `jti` of DPoP proofs.
    pub const DPOP_PROOF: &str = "dpop_proof";
    /// Pushed authorization request `request_uri` values (hashed).
    pub const PAR_REQUEST_URI: &str = "par_request_uri";
    /// Consent / login interaction challenges (hashed).
    pub const CONSENT_CHALLENGE: &str = "consent_challenge";
    /// Device-authorization `device_code` values (hashed).
    pub const DEVICE_CODE: &str = "device_code";
    /// Device-authorization `user_code` values (hashed).
    pub const USER_CODE: &str = "user_code";
    /// E-mail verification link tokens (hashed).
    pub const EMAIL_VERIFICATION: &str = "email_verification";
    /// Password-reset link tokens (hashed).
    pub const PASSWORD_RESET: &str = "password_reset";
}

/// Errors of the storage layer.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// A unique key already exists (duplicate username, code hash, kid, artifact...).
    #[error("conflict: {0}")]
    Conflict(String),
    /// The addressed row does not exist (update of a missing record, or a refresh token / access
    /// token recorded against an unknown grant).
    #[error("not found")]
    NotFound,
    /// The grant a refresh or access token is being attached to is revoked (possibly by a
    /// concurrent reuse detection); the caller must not hand the token out.
    #[error("grant revoked")]
    GrantRevoked,
    /// The backend failed; logged and mapped to `server_error`, never shown to clients.
    #[error("storage backend error: {0}")]
    Backend(String),
    /// The database cannot be reached or did not answer in time (no connection within the
    /// acquire timeout, connection refused or lost, statement timeout, SQLite busy): a passing
    /// condition. Logged and answered 503 `temporarily_unavailable` with `Retry-After`; the
    /// pool reconnects by itself once the database is back.
    #[error("database unavailable: {0}")]
    Unavailable(String),
    /// A stored value does not parse (an unknown grant type, an invalid scope, a malformed
    /// document): the data was written by something else or damaged. Logged and mapped to
    /// `server_error` like [`StoreError::Backend`]; never read as an empty default.
    #[error("corrupt stored value: {0}")]
    Corrupt(String),
}

/// Result alias of the storage layer.
pub type StoreResult<T> = Result<T, StoreError>;

/// How long the SQL backends wait for their database before giving up with
/// [`StoreError::Unavailable`]. The memory store ignores them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectOptions {
    /// Longest wait for a connection from the pool, a new one included (default 3 s).
    pub acquire_timeout: Duration,
    /// Longest a statement may run: PostgreSQL's `statement_timeout` on every connection, and
    /// SQLite's busy timeout, the wait for another writer's lock (default 5 s).
    pub statement_timeout: Duration,
}

impl Default for ConnectOptions {
    fn default() -> Self {
        Self {
            acquire_timeout: Duration::from_secs(3),
            statement_timeout: Duration::from_secs(5),
        }
    }
}

/// Opens a backend chosen by URL scheme with the default [`ConnectOptions`]; see
/// [`connect_with`].
pub async fn connect(url: &str) -> StoreResult<Arc<dyn Store>> {
    connect_with(url, ConnectOptions::default()).await
}

/// Opens a backend chosen by URL scheme: `memory:`, `sqlite:...` (file created when missing;
/// `sqlite::memory:` for tests) or `postgres://` / `postgresql://`. Migrations are applied. A
/// PostgreSQL server that cannot be reached is [`StoreError::Unavailable`] naming the address and
/// the cause (e.g. connection refused).
///
/// The SQL backends exist only when their Cargo feature (`sqlite`, `postgres`) is enabled; a
/// URL for a backend left out of the build is refused with an error naming the feature.
// Without an SQL backend compiled in, only the memory store is left and it has no timeouts.
#[cfg_attr(
    not(any(feature = "sqlite", feature = "postgres")),
    allow(unused_variables)
)]
pub async fn connect_with(url: &str, options: ConnectOptions) -> StoreResult<Arc<dyn Store>> {
    let scheme = url.split(':').next().unwrap_or_default();
    match scheme {
        "memory" => Ok(Arc::new(memory::MemoryStore::new())),
        #[cfg(feature = "sqlite")]
        "sqlite" => Ok(Arc::new(
            sqlite::SqliteStore::connect_with(url, options).await?,
        )),
        #[cfg(not(feature = "sqlite"))]
        "sqlite" => Err(not_compiled_in("sqlite")),
        #[cfg(feature = "postgres")]
        "postgres" | "postgresql" => Ok(Arc::new(
            postgres::PostgresStore::connect_with(url, options).await?,
        )),
        #[cfg(not(feature = "postgres"))]
        "postgres" | "postgresql" => Err(not_compiled_in("postgres")),
        _ => Err(StoreError::Backend(format!(
            "unsupported store URL scheme `{scheme}` (expected memory:, sqlite: or postgres:)"
        ))),
    }
}

/// The error for a store URL whose backend this build does not include.
#[cfg(not(all(feature = "sqlite", feature = "postgres")))]
fn not_compiled_in(feature: &str) -> StoreError {
    StoreError::Backend(format!(
        "the `{feature}` store backend is not compiled into this build \
         (enable the `{feature}` feature of portcullis-server)"
    ))
}

/// The base64url SHA-256 digest of a secret value: the key under which the store keeps codes,
/// refresh tokens, session ids, client secrets and single-use artifacts (TOK-10).
pub fn secret_hash(value: &str) -> String {
    use base64::Engine as _;
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, value.as_bytes());
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(digest)
}

/// The conflict of inserting a client whose id is taken.
pub(crate) fn client_conflict(client: &ClientRecord) -> StoreError {
    StoreError::Conflict(format!("client `{}`", client.client_id))
}

/// Splits a space-separated scope and merges `add` into `existing`, keeping first order.
pub(crate) fn union_scope(existing: &str, add: &str) -> String {
    let mut out: Vec<&str> = Vec::new();
    for s in existing.split_whitespace().chain(add.split_whitespace()) {
        if !out.contains(&s) {
            out.push(s);
        }
    }
    out.join(" ")
}
