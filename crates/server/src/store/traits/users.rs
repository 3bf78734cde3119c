//! End-user accounts.

use async_trait::async_trait;

use crate::store::{StoreResult, UserRecord};

/// End-user accounts. Part of [`Store`](super::Store); see the [module docs](crate::store) for the
/// contract every backend honours.
#[async_trait]
pub trait UserStore: Send + Sync {
    /// Inserts or replaces the user with `user.id`;
    /// [`StoreError::Conflict`](crate::store::StoreError::Conflict) if another user already has
    /// `user.username`.
    async fn put_user(&self, user: UserRecord) -> StoreResult<()>;
    /// Fetches a user by id (`sub`).
    async fn get_user(&self, id: &str) -> StoreResult<Option<UserRecord>>;
    /// Fetches a user by exact username.
    async fn get_user_by_username(&self, username: &str) -> StoreResult<Option<UserRecord>>;
    /// The users whose e-mail address equals `email` ignoring ASCII case, ordered by username
    /// (addresses are not unique: an operator may give two accounts the same one).
    async fn get_users_by_email(&self, email: &str) -> StoreResult<Vec<UserRecord>>;
    /// Lists all users, ordered by username.
    async fn list_users(&self) -> StoreResult<Vec<UserRecord>>;
    /// Deletes a user; `true` if it existed. Grants are not touched.
    async fn delete_user(&self, id: &str) -> StoreResult<bool>;
}
