//! Roles and groups: the names users and service accounts hold.

use async_trait::async_trait;

use crate::store::{GroupRecord, RoleRecord, StoreResult};

/// Roles and the groups that carry them. Part of [`Store`](super::Store); see the
/// [module docs](crate::store) for the contract every backend honours.
///
/// Users, groups and clients name roles and groups by name; callers check that a name exists
/// before they store it. Removing a role or a group takes it from every holder in the same
/// step, so no record is left naming one that is gone.
#[async_trait]
pub trait DirectoryStore: Send + Sync {
    /// Adds a role; [`StoreError::Conflict`](crate::store::StoreError::Conflict) if the name is
    /// taken.
    async fn insert_role(&self, role: RoleRecord) -> StoreResult<()>;
    /// All roles, ordered by name.
    async fn list_roles(&self) -> StoreResult<Vec<RoleRecord>>;
    /// Removes a role and takes it from every group, user and client holding it, in one step;
    /// `false` if there was no such role (then nothing changes).
    async fn delete_role(&self, name: &str) -> StoreResult<bool>;
    /// Adds a group; [`StoreError::Conflict`](crate::store::StoreError::Conflict) if the name
    /// is taken.
    async fn insert_group(&self, group: GroupRecord) -> StoreResult<()>;
    /// Fetches a group by name.
    async fn get_group(&self, name: &str) -> StoreResult<Option<GroupRecord>>;
    /// All groups, ordered by name.
    async fn list_groups(&self) -> StoreResult<Vec<GroupRecord>>;
    /// Removes a group and takes it from every user in it, in one step; `false` if there was no
    /// such group.
    async fn delete_group(&self, name: &str) -> StoreResult<bool>;
}
