//! The mirror of revoked access-token `jti`s and of per-subject "not before" markers that
//! resource servers read (for example the guard's Redis check). The [`Store`](super::Store) stays the source of truth; a denylist is a
//! fast copy of its revocations, written after the store has committed them.

use async_trait::async_trait;

use super::{MirrorEntry, StoreResult};

/// Where revoked access-token `jti`s are published for resource servers.
#[async_trait]
pub trait Denylist: Send + Sync + std::fmt::Debug {
    /// Publishes revoked `(jti, exp)` pairs, each kept until its `exp` (Unix seconds). Entries
    /// already expired at `now` are skipped: the token is dead anyway.
    async fn revoke_jtis(&self, jtis: &[(String, i64)], now: i64) -> StoreResult<()>;
    /// Publishes that every access token of `sub` issued before `not_before` (Unix seconds) is
    /// refused, kept until `keep_until`. A marker already there with a later `not_before` is
    /// left alone; nothing is written once `keep_until` passed.
    async fn revoke_subject(
        &self,
        sub: &str,
        not_before: i64,
        keep_until: i64,
        now: i64,
    ) -> StoreResult<()>;
    /// Publishes `entries` (those already expired at `now` are skipped) in as few round trips
    /// as the backend allows.
    async fn publish(&self, entries: &[MirrorEntry], now: i64) -> StoreResult<()>;
    /// Whether the denylist holds everything the store holds: `false` for a new or emptied
    /// denylist (e.g. a Redis restarted without its data), which must then be refilled.
    async fn is_complete(&self) -> StoreResult<bool>;
    /// Records that the denylist was refilled with everything the store holds.
    async fn mark_complete(&self) -> StoreResult<()>;
}
