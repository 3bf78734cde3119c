//! Housekeeping of a backend: garbage collection (DUR-4) and the health check.

use async_trait::async_trait;

use crate::store::{GcReport, StoreResult};

/// Housekeeping of a backend: garbage collection (DUR-4) and the health check. Part of
/// [`Store`](super::Store); see the [module docs](crate::store) for the contract every backend
/// honours.
#[async_trait]
pub trait Maintenance: Send + Sync {
    /// Deletes state that is expired and no longer needed for reuse detection (DUR-4).
    async fn gc(&self, now: i64) -> StoreResult<GcReport>;
    /// Checks the backend is reachable (for `/readyz`).
    async fn health(&self) -> StoreResult<()>;
}
