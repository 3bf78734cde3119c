//! Authorization codes: stored once, consumed once (CODE-1, CODE-3).

use async_trait::async_trait;

use crate::store::{CodeRecord, ConsumeOutcome, StoreResult};

/// Authorization codes: stored once, consumed once (CODE-1, CODE-3). Part of
/// [`Store`](super::Store); see the [module docs](crate::store) for the contract every backend
/// honours.
#[async_trait]
pub trait CodeStore: Send + Sync {
    /// Stores a new code (its `consumed_at` is ignored and stored as `None`);
    /// [`StoreError::Conflict`](crate::store::StoreError::Conflict) if the hash exists.
    async fn insert_code(&self, code: CodeRecord) -> StoreResult<()>;
    /// Atomically consumes a code (CODE-1, CODE-3): exactly one caller gets `Consumed`.
    async fn consume_code(
        &self,
        code_hash: &str,
        now: i64,
    ) -> StoreResult<ConsumeOutcome<CodeRecord>>;
}
