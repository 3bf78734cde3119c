//! Single-use artifacts: PAR `request_uri`s, interaction challenges, device and user codes.

use async_trait::async_trait;

use crate::store::StoreResult;

/// Single-use artifacts: PAR `request_uri`s, interaction challenges, device and user codes. Part of
/// [`Store`](super::Store); see the [module docs](crate::store) for the contract every backend
/// honours.
#[async_trait]
pub trait ArtifactStore: Send + Sync {
    /// Stores `payload` (opaque text, typically JSON) under `(namespace, key_hash)` until
    /// `expires_at`; [`StoreError::Conflict`](crate::store::StoreError::Conflict) if an unexpired
    /// entry exists (an expired one is replaced).
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
}
