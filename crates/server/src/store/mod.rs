//! Persistence for the authorization server: one object-safe [`Store`] trait of atomic primitives,
//! its records, and the memory, SQLite and PostgreSQL backends chosen by [`connect`].
//!
//! # Contract shared by every backend
//!
//! * **Time is passed in.** Every `now`, `exp` and `*_at` is Unix seconds supplied by the caller;
//!   no backend reads the clock. A value is expired when `now >= expires_at`.
//! * **Secrets arrive hashed (CODE-7, TOK-10).** Codes, refresh tokens, session ids, client
//!   secrets and single-use artifacts are keyed by the caller-computed base64url SHA-256 of the
//!   value (`*_hash` parameters). No method takes a raw secret, so none is ever persisted.
//! * **Atomic primitives (DUR-3).** [`Store::consume_code`], [`Store::rotate_refresh`],
//!   [`Store::revoke_grant`], [`Store::withdraw_consent`], [`Store::insert_jti_if_absent`],
//!   [`Store::take_artifact`] and [`Store::swap_artifact`] each decide and write in one atomic
//!   step, so N concurrent callers observe exactly one winner (CODE-3, RT-4). Protocol code never
//!   reads, checks and then writes.
//! * **Durability (DUR-1, DUR-2).** When a method returns `Ok`, its effect is committed; the
//!   response may be sent.
//! * **Retention (DUR-4).** [`Store::gc`] deletes only what can no longer matter: rotated
//!   refresh tokens stay until their family's absolute expiry, consumed codes stay
//!   [`CODE_RETENTION_SECS`] past expiry so a late replay still revokes the grant.

use std::sync::Arc;

use async_trait::async_trait;

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

#[cfg(test)]
mod conformance;

pub use denylist::Denylist;

pub use records::{
    ClientRecord, CodeRecord, ConsentRecord, ConsumeOutcome, GcReport, GrantRecord, RefreshRecord,
    RefreshStatus, RotateOutcome, SessionRecord, SigningKeyRecord, UserRecord,
};

/// How long a code is kept after its expiry so a replay is still recognised (CODE-2).
pub const CODE_RETENTION_SECS: i64 = 24 * 3600;

/// How long a grant without any live refresh or access token is kept after creation.
pub const GRANT_RETENTION_SECS: i64 = 24 * 3600;

/// How long login failures are kept by [`Store::gc`]; throttle windows longer than this are
/// not supported.
pub const LOGIN_FAILURE_RETENTION_SECS: i64 = 24 * 3600;

/// Namespaces for [`Store::insert_jti_if_absent`] and the artifact methods. Single-use values of
/// different kinds never share a namespace, so one can never be redeemed as another (CODE-8).
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
    /// A stored value does not parse (an unknown grant type, an invalid scope, a malformed
    /// document): the data was written by something else or damaged. Logged and mapped to
    /// `server_error` like [`StoreError::Backend`]; never read as an empty default.
    #[error("corrupt stored value: {0}")]
    Corrupt(String),
}

/// Result alias of the storage layer.
pub type StoreResult<T> = Result<T, StoreError>;

/// The storage interface the server holds as `Arc<dyn Store>`. See the module docs for the
/// contract (time passed in, hashes only, atomic primitives, durability).
#[async_trait]
pub trait Store: Send + Sync + std::fmt::Debug {
    // ----- clients -----

    /// Inserts or replaces a client.
    async fn put_client(&self, client: ClientRecord) -> StoreResult<()>;
    /// Fetches a client by id.
    async fn get_client(&self, client_id: &str) -> StoreResult<Option<ClientRecord>>;
    /// Lists all clients, ordered by `client_id`.
    async fn list_clients(&self) -> StoreResult<Vec<ClientRecord>>;
    /// Deletes a client; `true` if it existed.
    async fn delete_client(&self, client_id: &str) -> StoreResult<bool>;

    // ----- users -----

    /// Inserts or replaces the user with `user.id`; [`StoreError::Conflict`] if another user
    /// already has `user.username`.
    async fn put_user(&self, user: UserRecord) -> StoreResult<()>;
    /// Fetches a user by id (`sub`).
    async fn get_user(&self, id: &str) -> StoreResult<Option<UserRecord>>;
    /// Fetches a user by exact username.
    async fn get_user_by_username(&self, username: &str) -> StoreResult<Option<UserRecord>>;
    /// Lists all users, ordered by username.
    async fn list_users(&self) -> StoreResult<Vec<UserRecord>>;
    /// Deletes a user; `true` if it existed. Grants are not touched.
    async fn delete_user(&self, id: &str) -> StoreResult<bool>;

    // ----- authorization codes -----

    /// Stores a new code (its `consumed_at` is ignored and stored as `None`);
    /// [`StoreError::Conflict`] if the hash exists.
    async fn insert_code(&self, code: CodeRecord) -> StoreResult<()>;
    /// Atomically consumes a code (CODE-1, CODE-3): exactly one caller gets `Consumed`.
    async fn consume_code(
        &self,
        code_hash: &str,
        now: i64,
    ) -> StoreResult<ConsumeOutcome<CodeRecord>>;

    // ----- grants and the access-token ledger -----

    /// Stores a new grant (`revoked_at` ignored); [`StoreError::Conflict`] if the id exists.
    async fn insert_grant(&self, grant: GrantRecord) -> StoreResult<()>;
    /// Fetches a grant (revoked or not).
    async fn get_grant(&self, grant_id: &str) -> StoreResult<Option<GrantRecord>>;
    /// Lists a user's grants (revoked ones included), ordered by creation time.
    async fn list_grants(&self, user_id: &str) -> StoreResult<Vec<GrantRecord>>;
    /// In one transaction: marks the grant revoked, revokes all its refresh tokens and copies
    /// every recorded access-token jti of the grant into the denylist. `true` if the grant
    /// existed and was not yet revoked; idempotent.
    async fn revoke_grant(&self, grant_id: &str, now: i64) -> StoreResult<bool>;
    /// Records a grant-derived access token so grant revocation can denylist it. Errors with
    /// [`StoreError::NotFound`] for an unknown grant and [`StoreError::GrantRevoked`] (after
    /// denylisting the jti) for a revoked one. Not for client_credentials tokens.
    async fn record_access_token(&self, jti: &str, grant_id: &str, exp: i64) -> StoreResult<()>;
    /// The recorded access tokens of a grant as `(jti, exp)` pairs, sorted by jti, so that a
    /// revocation can be mirrored to the resource servers' denylist.
    async fn list_grant_access_tokens(&self, grant_id: &str) -> StoreResult<Vec<(String, i64)>>;
    /// The grant a recorded access token belongs to (until the ledger entry expires), so a
    /// token derived from it (token exchange) can be recorded against the same grant.
    async fn access_token_grant(&self, jti: &str) -> StoreResult<Option<String>>;

    // ----- refresh tokens -----

    /// Stores a new refresh token as `Active`. Errors with [`StoreError::NotFound`] for an
    /// unknown grant, [`StoreError::GrantRevoked`] for a revoked one, [`StoreError::Conflict`]
    /// for a duplicate hash.
    async fn insert_refresh(&self, token: RefreshRecord) -> StoreResult<()>;
    /// In one transaction: if `old_hash` is active and unexpired, marks it `Rotated` and inserts
    /// `new` (as `Active`, same grant expected) — exactly one of N concurrent callers gets
    /// `Rotated` (RT-4). Already rotated/revoked gives `Reused` (RT-3). If the grant was revoked
    /// meanwhile, the result is `Reused` and nothing is inserted.
    async fn rotate_refresh(
        &self,
        old_hash: &str,
        new: RefreshRecord,
        now: i64,
    ) -> StoreResult<RotateOutcome>;
    /// Marks one refresh token revoked; `true` if it was active.
    async fn revoke_refresh(&self, token_hash: &str) -> StoreResult<bool>;
    /// Fetches a refresh token in any state (no expiry filtering).
    async fn find_refresh(&self, token_hash: &str) -> StoreResult<Option<RefreshRecord>>;

    // ----- jti denylist and replay cache -----

    /// Denylists an access-token jti until `exp` (the later `exp` wins if already listed).
    async fn revoke_jti(&self, jti: &str, exp: i64) -> StoreResult<()>;
    /// Whether `jti` is denylisted and the entry has not expired (`now < exp`).
    async fn is_jti_revoked(&self, jti: &str, now: i64) -> StoreResult<bool>;
    /// Atomically records `(namespace, key)` until `exp`; `true` the first time, `false` if
    /// present (replay). Namespaces are independent (CODE-8); see [`namespace`].
    async fn insert_jti_if_absent(&self, namespace: &str, key: &str, exp: i64)
    -> StoreResult<bool>;

    // ----- single-use artifacts (PAR request_uri, interaction challenges, device codes) -----

    /// Stores `payload` (opaque text, typically JSON) under `(namespace, key_hash)` until
    /// `expires_at`; [`StoreError::Conflict`] if an unexpired entry exists (an expired one is
    /// replaced).
    async fn put_artifact(
        &self,
        namespace: &str,
        key_hash: &str,
        payload: &str,
        expires_at: i64,
        now: i64,
    ) -> StoreResult<()>;
    /// Reads an unexpired artifact without consuming it.
    async fn get_artifact(
        &self,
        namespace: &str,
        key_hash: &str,
        now: i64,
    ) -> StoreResult<Option<String>>;
    /// Atomically deletes and returns an unexpired artifact: exactly one caller gets `Some`.
    async fn take_artifact(
        &self,
        namespace: &str,
        key_hash: &str,
        now: i64,
    ) -> StoreResult<Option<String>>;
    /// Atomically replaces the payload if the unexpired artifact currently holds `expected`
    /// (compare-and-swap, e.g. device code `pending` → `approved`); `true` if swapped.
    async fn swap_artifact(
        &self,
        namespace: &str,
        key_hash: &str,
        expected: &str,
        new_payload: &str,
        now: i64,
    ) -> StoreResult<bool>;

    // ----- consents -----

    /// Adds `scope` (space separated) to the user's consent for the client (union, keeping
    /// first-consented order) and returns the result.
    async fn put_consent(
        &self,
        user_id: &str,
        client_id: &str,
        scope: &str,
        now: i64,
    ) -> StoreResult<ConsentRecord>;
    /// Fetches the consent of a user for a client.
    async fn get_consent(
        &self,
        user_id: &str,
        client_id: &str,
    ) -> StoreResult<Option<ConsentRecord>>;
    /// Lists a user's consents, ordered by client id.
    async fn list_consents(&self, user_id: &str) -> StoreResult<Vec<ConsentRecord>>;
    /// In one transaction: deletes the consent and revokes every grant of `(user, client)` as
    /// [`Store::revoke_grant`] does. `true` if a consent existed.
    async fn withdraw_consent(&self, user_id: &str, client_id: &str, now: i64)
    -> StoreResult<bool>;

    // ----- browser sessions -----

    /// Stores a session; [`StoreError::Conflict`] if the hash exists.
    async fn insert_session(&self, session: SessionRecord) -> StoreResult<()>;
    /// Fetches an unexpired session (`now < expires_at`).
    async fn get_session(&self, id_hash: &str, now: i64) -> StoreResult<Option<SessionRecord>>;
    /// Deletes a session; `true` if it existed.
    async fn delete_session(&self, id_hash: &str) -> StoreResult<bool>;

    // ----- login throttle -----

    /// Records one failure for `key` at `now` and returns the failures in `(now - window, now]`.
    /// Atomic like [`Store::register_attempt`], which it is the same operation as.
    async fn record_login_failure(&self, key: &str, now: i64, window_secs: i64)
    -> StoreResult<u32>;
    /// Counts one attempt for `key` at `now` *before* its outcome is known and returns the
    /// attempts in `(now - window, now]`, this one included, in one atomic step (DOS-4): of N
    /// concurrent callers each sees a different count, so exactly `limit` of them see a count
    /// `<= limit`. An attempt that turns out not to be a failure is withdrawn with
    /// [`Store::release_attempt`].
    async fn register_attempt(&self, key: &str, now: i64, window_secs: i64) -> StoreResult<u32>;
    /// Withdraws one attempt of `key` recorded at `at` (by [`Store::register_attempt`]); a no-op
    /// when there is none.
    async fn release_attempt(&self, key: &str, at: i64) -> StoreResult<()>;
    /// Counts failures for `key` in `(now - window, now]`.
    async fn login_failures(&self, key: &str, now: i64, window_secs: i64) -> StoreResult<u32>;
    /// Forgets all failures of `key` (after a successful login).
    async fn clear_login_failures(&self, key: &str) -> StoreResult<()>;

    // ----- signing keys -----

    /// Stores a new signing key; [`StoreError::Conflict`] if the kid exists.
    async fn insert_signing_key(&self, key: SigningKeyRecord) -> StoreResult<()>;
    /// Lists all signing keys, ordered by `(activate_at, kid)`.
    async fn list_signing_keys(&self) -> StoreResult<Vec<SigningKeyRecord>>;
    /// Replaces the key with `key.kid`; [`StoreError::NotFound`] if missing.
    async fn update_signing_key(&self, key: SigningKeyRecord) -> StoreResult<()>;
    /// Deletes a key; `true` if it existed.
    async fn delete_signing_key(&self, kid: &str) -> StoreResult<bool>;

    // ----- maintenance -----

    /// Deletes state that is expired and no longer needed for reuse detection (DUR-4).
    async fn gc(&self, now: i64) -> StoreResult<GcReport>;
    /// Checks the backend is reachable (for `/readyz`).
    async fn health(&self) -> StoreResult<()>;
}

/// Opens a backend chosen by URL scheme: `memory:`, `sqlite:...` (file created when missing;
/// `sqlite::memory:` for tests) or `postgres://` / `postgresql://`. Migrations are applied.
///
/// The SQL backends exist only when their Cargo feature (`sqlite`, `postgres`) is enabled; a
/// URL for a backend left out of the build is refused with an error naming the feature.
pub async fn connect(url: &str) -> StoreResult<Arc<dyn Store>> {
    let scheme = url.split(':').next().unwrap_or_default();
    match scheme {
        "memory" => Ok(Arc::new(memory::MemoryStore::new())),
        #[cfg(feature = "sqlite")]
        "sqlite" => Ok(Arc::new(sqlite::SqliteStore::connect(url).await?)),
        #[cfg(not(feature = "sqlite"))]
        "sqlite" => Err(not_compiled_in("sqlite")),
        #[cfg(feature = "postgres")]
        "postgres" | "postgresql" => Ok(Arc::new(postgres::PostgresStore::connect(url).await?)),
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
