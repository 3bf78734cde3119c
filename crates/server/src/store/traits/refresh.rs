//! Refresh tokens: rotation with reuse detection (RT-3, RT-4).

use async_trait::async_trait;

use crate::store::{RefreshRecord, RotateOutcome, StoreResult};

/// Refresh tokens: rotation with reuse detection (RT-3, RT-4). Part of [`Store`](super::Store); see
/// the [module docs](crate::store) for the contract every backend honours.
#[async_trait]
pub trait RefreshStore: Send + Sync {
    /// Stores a new refresh token as `Active`. Errors with
    /// [`StoreError::NotFound`](crate::store::StoreError::NotFound) for an unknown grant,
    /// [`StoreError::GrantRevoked`](crate::store::StoreError::GrantRevoked) for a revoked one,
    /// [`StoreError::Conflict`](crate::store::StoreError::Conflict) for a duplicate hash.
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
    /// The grace retry (RT-5), in one transaction: if `old_hash` was rotated after
    /// `rotated_after` and its one grace retry is unused, marks the retry used and inserts `new`
    /// (as `Active`, same grant expected) beside the successor of the first rotation, giving
    /// `Rotated`; of N concurrent callers at most one wins. Anything else (rotated earlier, retry
    /// used, revoked, grant revoked) gives `Reused` and inserts nothing; an active token gives
    /// `Expired` or `NotFound` as [`RefreshStore::rotate_refresh`] would never be bypassed.
    async fn retry_rotated_refresh(
        &self,
        old_hash: &str,
        new: RefreshRecord,
        rotated_after: i64,
    ) -> StoreResult<RotateOutcome>;
    /// Marks one refresh token revoked; `true` if it was active.
    async fn revoke_refresh(&self, token_hash: &str) -> StoreResult<bool>;
    /// Fetches a refresh token in any state (no expiry filtering).
    async fn find_refresh(&self, token_hash: &str) -> StoreResult<Option<RefreshRecord>>;
}
