//! Grants and the ledger of the access tokens minted from them, so revoking a grant denylists its
//! tokens.

use async_trait::async_trait;

use crate::store::{GrantRecord, StoreResult};

/// Grants and the ledger of the access tokens minted from them, so revoking a grant denylists its
/// tokens. Part of [`Store`](super::Store); see the [module docs](crate::store) for the contract
/// every backend honours.
#[async_trait]
pub trait GrantStore: Send + Sync {
    /// Stores a new grant (`revoked_at` ignored);
    /// [`StoreError::Conflict`](crate::store::StoreError::Conflict) if the id exists.
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
    /// [`StoreError::NotFound`](crate::store::StoreError::NotFound) for an unknown grant and
    /// [`StoreError::GrantRevoked`](crate::store::StoreError::GrantRevoked) (after denylisting the
    /// jti) for a revoked one. Not for client_credentials tokens.
    async fn record_access_token(&self, jti: &str, grant_id: &str, exp: i64) -> StoreResult<()>;
    /// The recorded access tokens of a grant as `(jti, exp)` pairs, sorted by jti, so that a
    /// revocation can be mirrored to the resource servers' denylist.
    async fn list_grant_access_tokens(&self, grant_id: &str) -> StoreResult<Vec<(String, i64)>>;
    /// The grant a recorded access token belongs to (until the ledger entry expires), so a
    /// token derived from it (token exchange) can be recorded against the same grant.
    async fn access_token_grant(&self, jti: &str) -> StoreResult<Option<String>>;
}
