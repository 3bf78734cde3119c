//! What the resource servers' denylist (the mirror, e.g. Redis) must hold, kept in the store so
//! that the mirror can be refilled: the per-subject "not before" markers, and the queue of
//! entries a mirror write could not deliver.

use async_trait::async_trait;

use crate::store::{MirrorEntry, StoreResult};

/// The store's side of the denylist mirror. Part of [`Store`](super::Store); see the
/// [module docs](crate::store) for the contract every backend honours.
///
/// Revoked `jti`s are already in the store (the denylist of
/// [`GrantStore`](super::GrantStore)); this adds the subject markers and a queue, so that every
/// revocation committed while the mirror was out of reach reaches it once it is back, and a
/// mirror that lost its contents (a Redis restarted empty) can be refilled from
/// [`MirrorStore::live_mirror_entries`].
#[async_trait]
pub trait MirrorStore: Send + Sync {
    /// Records that the access tokens of `sub` issued before `not_before` are refused until
    /// `keep_until` (Unix seconds). A later `not_before` already recorded is kept.
    async fn record_subject_marker(
        &self,
        sub: &str,
        not_before: i64,
        keep_until: i64,
    ) -> StoreResult<()>;
    /// Queues entries the mirror did not take.
    async fn queue_mirror(&self, entries: &[MirrorEntry]) -> StoreResult<()>;
    /// The oldest queued entries, at most `limit`, each with its queue id.
    async fn queued_mirror(&self, limit: u32) -> StoreResult<Vec<(i64, MirrorEntry)>>;
    /// Removes delivered entries from the queue.
    async fn dequeue_mirror(&self, ids: &[i64]) -> StoreResult<()>;
    /// A page of what the mirror must hold at `now`: every revoked `jti` and every subject
    /// marker still to be kept, ordered by kind then name, after `after` (exclusive; `None`
    /// for the first page), at most `limit`.
    async fn live_mirror_entries(
        &self,
        now: i64,
        after: Option<&MirrorEntry>,
        limit: u32,
    ) -> StoreResult<Vec<MirrorEntry>>;
}
