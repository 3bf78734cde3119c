//! Upstream identity providers and the links from their accounts to local users.

use async_trait::async_trait;

use crate::store::{StoreResult, UpstreamLinkRecord, UpstreamRecord};

/// Upstream providers and account links. Part of [`Store`](super::Store); see the
/// [module docs](crate::store) for the contract every backend honours.
#[async_trait]
pub trait UpstreamStore: Send + Sync {
    /// Adds an upstream, or replaces the one with the same id (its links stay).
    async fn put_upstream(&self, upstream: UpstreamRecord) -> StoreResult<()>;
    /// Fetches an upstream by id.
    async fn get_upstream(&self, id: &str) -> StoreResult<Option<UpstreamRecord>>;
    /// All upstreams, ordered by id.
    async fn list_upstreams(&self) -> StoreResult<Vec<UpstreamRecord>>;
    /// Removes an upstream and every link to it, in one step; `false` if there was none.
    async fn delete_upstream(&self, id: &str) -> StoreResult<bool>;
    /// Records a link, atomically: [`StoreError::Conflict`](crate::store::StoreError::Conflict)
    /// when the upstream account is linked already (of concurrent callers exactly one wins),
    /// [`StoreError::NotFound`](crate::store::StoreError::NotFound) when the upstream or the user
    /// does not exist.
    async fn insert_upstream_link(&self, link: UpstreamLinkRecord) -> StoreResult<()>;
    /// The link of an upstream account, if any.
    async fn get_upstream_link(
        &self,
        upstream_id: &str,
        subject: &str,
    ) -> StoreResult<Option<UpstreamLinkRecord>>;
    /// The links of a local user, ordered by upstream id. Deleting the user deletes them.
    async fn list_upstream_links(&self, user_id: &str) -> StoreResult<Vec<UpstreamLinkRecord>>;
    /// Removes the links of `user_id` to `upstream_id` (the user unlinks that provider); `false`
    /// if there were none.
    async fn delete_upstream_link(&self, upstream_id: &str, user_id: &str) -> StoreResult<bool>;
}
