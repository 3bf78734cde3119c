//! The scopes each user consented to per client.

use async_trait::async_trait;

use crate::store::{ConsentRecord, StoreResult};

/// The scopes each user consented to per client. Part of [`Store`](super::Store); see the [module
/// docs](crate::store) for the contract every backend honours.
#[async_trait]
pub trait ConsentStore: Send + Sync {
    /// Adds `scope` (space separated) to the user's consent for the client (union, keeping
    /// first-consented order) and returns the result.
    async fn put_consent(
        &self,
        user_id: &str,
        client_id: &str,
        scope: &str,
        now: i64,
    ) -> StoreResult<ConsentRecord>;
    /// Fetches the consent of a user for a client.
    async fn get_consent(
        &self,
        user_id: &str,
        client_id: &str,
    ) -> StoreResult<Option<ConsentRecord>>;
    /// Lists a user's consents, ordered by client id.
    async fn list_consents(&self, user_id: &str) -> StoreResult<Vec<ConsentRecord>>;
    /// In one transaction: deletes the consent and revokes every grant of `(user, client)` as
    /// [`GrantStore::revoke_grant`](super::GrantStore::revoke_grant) does. `true` if a consent
    /// existed.
    async fn withdraw_consent(&self, user_id: &str, client_id: &str, now: i64)
    -> StoreResult<bool>;
}
