//! The server's signing keys and their rotation schedule, and the few server-wide secrets kept
//! beside them (the client-secret pepper), each in its stored (possibly sealed) form.

use async_trait::async_trait;

use crate::store::{SigningKeyRecord, StoreResult};

/// The server's signing keys and their rotation schedule, and named server secrets. Part of [`Store`](super::Store); see the
/// [module docs](crate::store) for the contract every backend honours.
#[async_trait]
pub trait KeyStore: Send + Sync {
    /// Stores a new signing key; [`StoreError::Conflict`](crate::store::StoreError::Conflict) if
    /// the kid exists.
    async fn insert_signing_key(&self, key: SigningKeyRecord) -> StoreResult<()>;
    /// Stores `key` unless a key of the same `alg` already signs at `now`
    /// ([`SigningKeyRecord::signs_at`]), deciding and writing atomically: of concurrent callers
    /// for one algorithm with no signing key, exactly one gets `true` and the others `false`, so
    /// nodes starting together on an empty database agree on one key per algorithm.
    async fn insert_signing_key_unless_active(
        &self,
        key: SigningKeyRecord,
        now: i64,
    ) -> StoreResult<bool>;
    /// Stores `key` unless a key of the same `alg`, not yet unpublished at `now`, was created
    /// after `created_after`, deciding and writing atomically: of concurrent callers rotating
    /// one algorithm on a schedule, exactly one gets `true`, so nodes due at the same moment
    /// make one new key.
    async fn insert_signing_key_unless_newer(
        &self,
        key: SigningKeyRecord,
        created_after: i64,
        now: i64,
    ) -> StoreResult<bool>;
    /// Lists all signing keys, ordered by `(activate_at, kid)`.
    async fn list_signing_keys(&self) -> StoreResult<Vec<SigningKeyRecord>>;
    /// Replaces the key with `key.kid`;
    /// [`StoreError::NotFound`](crate::store::StoreError::NotFound) if missing.
    async fn update_signing_key(&self, key: SigningKeyRecord) -> StoreResult<()>;
    /// Deletes a key; `true` if it existed.
    async fn delete_signing_key(&self, kid: &str) -> StoreResult<bool>;
    /// The stored form of the server secret `name`, if any.
    async fn get_server_secret(&self, name: &str) -> StoreResult<Option<String>>;
    /// Stores the server secret `name` unless it exists, atomically: of concurrent callers
    /// exactly one gets `true`, and every later read returns that caller's value.
    async fn insert_server_secret(&self, name: &str, value: &str) -> StoreResult<bool>;
    /// Replaces the stored form of the existing secret `name` (sealing it anew);
    /// [`StoreError::NotFound`](crate::store::StoreError::NotFound) if missing.
    async fn update_server_secret(&self, name: &str, value: &str) -> StoreResult<()>;
}
