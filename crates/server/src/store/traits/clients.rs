//! Registered OAuth clients.

use async_trait::async_trait;

use crate::store::{ClientRecord, StoreResult};

/// Registered OAuth clients. Part of [`Store`](super::Store); see the [module docs](crate::store)
/// for the contract every backend honours.
#[async_trait]
pub trait ClientStore: Send + Sync {
    /// Inserts or replaces a client.
    async fn put_client(&self, client: ClientRecord) -> StoreResult<()>;
    /// Inserts a client only if none has its id, deciding and writing in one step;
    /// [`StoreError::Conflict`](crate::store::StoreError::Conflict) (and nothing written) if one
    /// has.
    async fn insert_client(&self, client: ClientRecord) -> StoreResult<()>;
    /// Fetches a client by id.
    async fn get_client(&self, client_id: &str) -> StoreResult<Option<ClientRecord>>;
    /// Lists all clients, ordered by `client_id`.
    async fn list_clients(&self) -> StoreResult<Vec<ClientRecord>>;
    /// Deletes a client; `true` if it existed.
    async fn delete_client(&self, client_id: &str) -> StoreResult<bool>;
}
