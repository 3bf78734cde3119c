//! Browser sessions of signed-in users.

use async_trait::async_trait;

use crate::store::{SessionRecord, StoreResult};

/// Browser sessions of signed-in users. Part of [`Store`](super::Store); see the [module
/// docs](crate::store) for the contract every backend honours.
#[async_trait]
pub trait SessionStore: Send + Sync {
    /// Stores a session; [`StoreError::Conflict`](crate::store::StoreError::Conflict) if the hash
    /// exists.
    async fn insert_session(&self, session: SessionRecord) -> StoreResult<()>;
    /// Fetches an unexpired session (`now < expires_at`).
    async fn get_session(&self, id_hash: &str, now: i64) -> StoreResult<Option<SessionRecord>>;
    /// Deletes a session; `true` if it existed.
    async fn delete_session(&self, id_hash: &str) -> StoreResult<bool>;
    /// Deletes every session of `user_id` (signing the user out of every browser); returns how
    /// many there were, expired ones included.
    async fn delete_user_sessions(&self, user_id: &str) -> StoreResult<u64>;
    /// The unexpired sessions of `user_id` (`now < expires_at`), at most `limit`, the latest to
    /// expire first (with one session lifetime, the newest first), ties by `id_hash`.
    async fn list_user_sessions(
        &self,
        user_id: &str,
        now: i64,
        limit: u32,
    ) -> StoreResult<Vec<SessionRecord>>;
    /// Deletes the session `id_hash` if it belongs to `user_id`, in one step; returns it if it
    /// existed and was theirs (expired or not), `None` otherwise (nothing deleted).
    async fn delete_user_session(
        &self,
        user_id: &str,
        id_hash: &str,
    ) -> StoreResult<Option<SessionRecord>>;
}
