//! The stored audit trail: events appended in batches, read newest first a page at a time, and
//! removed once older than the retention.

use async_trait::async_trait;

use crate::store::{AuditFilter, AuditRecord, StoreResult, StoredAuditRecord};

/// The stored audit trail. Part of [`Store`](super::Store); see the [module docs](crate::store)
/// for the contract every backend honours.
#[async_trait]
pub trait AuditStore: Send + Sync {
    /// Appends `events` in order, in one step; each gets an id larger than every id before it.
    async fn append_audit(&self, events: &[AuditRecord]) -> StoreResult<()>;
    /// The events passing `filter`, newest (largest id) first, at most
    /// [`AuditFilter::page_size`].
    async fn audit_events(&self, filter: &AuditFilter) -> StoreResult<Vec<StoredAuditRecord>>;
    /// Deletes the events that happened before `cutoff` (Unix seconds); returns how many.
    async fn delete_audit_before(&self, cutoff: i64) -> StoreResult<u64>;
}
