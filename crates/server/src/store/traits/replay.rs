//! The revoked access-token `jti` denylist and the replay cache of single-use values.

use async_trait::async_trait;

use crate::store::StoreResult;

/// The revoked access-token `jti` denylist and the replay cache of single-use values. Part of
/// [`Store`](super::Store); see the [module docs](crate::store) for the contract every backend
/// honours.
#[async_trait]
pub trait ReplayStore: Send + Sync {
    /// Denylists an access-token jti until `exp` (the later `exp` wins if already listed).
    async fn revoke_jti(&self, jti: &str, exp: i64) -> StoreResult<()>;
    /// Whether `jti` is denylisted and the entry has not expired (`now < exp`).
    async fn is_jti_revoked(&self, jti: &str, now: i64) -> StoreResult<bool>;
    /// Atomically records `(namespace, key)` until `exp`; `true` the first time, `false` if present
    /// (replay). Namespaces are independent (CODE-8); see [`namespace`](crate::store::namespace).
    async fn insert_jti_if_absent(&self, namespace: &str, key: &str, exp: i64)
    -> StoreResult<bool>;
}
