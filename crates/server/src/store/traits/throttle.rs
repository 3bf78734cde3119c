//! Attempt counters of the login and device user-code throttles (DOS-4).

use async_trait::async_trait;

use crate::store::StoreResult;

/// Attempt counters of the login and device user-code throttles (DOS-4). Part of
/// [`Store`](super::Store); see the [module docs](crate::store) for the contract every backend
/// honours.
#[async_trait]
pub trait ThrottleStore: Send + Sync {
    /// Records one failure for `key` at `now` and returns the failures in `(now - window, now]`.
    /// Atomic like [`ThrottleStore::register_attempt`](super::ThrottleStore::register_attempt),
    /// which it is the same operation as.
    async fn record_login_failure(&self, key: &str, now: i64, window_secs: i64)
    -> StoreResult<u32>;
    /// Counts one attempt for `key` at `now` *before* its outcome is known and returns the
    /// attempts in `(now - window, now]`, this one included, in one atomic step (DOS-4): of N
    /// concurrent callers each sees a different count, so exactly `limit` of them see a count
    /// `<= limit`. An attempt that turns out not to be a failure is withdrawn with
    /// [`ThrottleStore::release_attempt`](super::ThrottleStore::release_attempt).
    async fn register_attempt(&self, key: &str, now: i64, window_secs: i64) -> StoreResult<u32>;
    /// Withdraws one attempt of `key` recorded at `at` (by
    /// [`ThrottleStore::register_attempt`](super::ThrottleStore::register_attempt)); a no-op when
    /// there is none.
    async fn release_attempt(&self, key: &str, at: i64) -> StoreResult<()>;
    /// Counts failures for `key` in `(now - window, now]`.
    async fn login_failures(&self, key: &str, now: i64, window_secs: i64) -> StoreResult<u32>;
    /// Forgets all failures of `key` (after a successful login).
    async fn clear_login_failures(&self, key: &str) -> StoreResult<()>;
}
