//! The mirror of revoked access-token `jti`s and of per-subject "not before" markers that
//! resource servers read (for example the guard's Redis check). The [`Store`](super::Store)
//! stays the source of truth; a denylist is a fast copy of its revocations, written after the
//! store has committed them.

use async_trait::async_trait;

use super::{MirrorEntry, StoreResult};

/// Where revocations are published for resource servers.
#[async_trait]
pub trait Denylist: Send + Sync + std::fmt::Debug {
    /// Publishes `entries` in as few round trips as the backend allows: a revoked `jti` is
    /// kept until its `keep_until`; a subject marker refuses every access token of the subject
    /// issued before its `not_before`, and a marker already there with a later `not_before` is
    /// left alone (nodes' clocks differ). Entries already expired at `now` are skipped.
    async fn publish(&self, entries: &[MirrorEntry], now: i64) -> StoreResult<()>;
    /// Whether the denylist holds everything the store holds: `false` for a new or emptied
    /// denylist (e.g. a Redis restarted without its data), which must then be refilled.
    async fn is_complete(&self) -> StoreResult<bool>;
    /// Records that the denylist was refilled with everything the store holds.
    async fn mark_complete(&self) -> StoreResult<()>;
}
