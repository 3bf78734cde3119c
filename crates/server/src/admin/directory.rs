//! Roles, groups and what users hold: the operations behind `portcullis roles`, `groups` and
//! the identity options of `users`. Every name is checked against the store before anything is
//! written, and each operation writes one record, so an error leaves everything as it was.

use std::collections::BTreeMap;

use portcullis_jose::Clock;
use portcullis_types::secret::Password;
use portcullis_types::{GroupName, RoleName};

use super::AdminError;
use crate::config::ConfigError;
use crate::domain::identity::{self, MAX_HOLDER_ROLES, MAX_USER_GROUPS, MAX_USER_ROLES};
use crate::store::{GroupRecord, RoleRecord, Store, StoreError, UserRecord};

/// Longest role description, in bytes.
const MAX_DESCRIPTION_LEN: usize = 1024;

fn invalid(setting: &'static str, reason: impl Into<String>) -> AdminError {
    AdminError::Invalid(ConfigError {
        setting,
        reason: reason.into(),
    })
}

/// Adds a role; [`AdminError::Conflict`] if the name is taken.
pub async fn add_role(
    store: &dyn Store,
    clock: &dyn Clock,
    name: RoleName,
    description: Option<String>,
) -> Result<RoleRecord, AdminError> {
    if description
        .as_ref()
        .is_some_and(|d| d.len() > MAX_DESCRIPTION_LEN || d.chars().any(char::is_control))
    {
        return Err(invalid(
            "description",
            format!("must be at most {MAX_DESCRIPTION_LEN} bytes without control characters"),
        ));
    }
    let role = RoleRecord {
        name,
        description,
        created_at: clock.now().as_secs(),
    };
    store.insert_role(role.clone()).await?;
    Ok(role)
}

/// All roles, by name.
pub async fn list_roles(store: &dyn Store) -> Result<Vec<RoleRecord>, AdminError> {
    Ok(store.list_roles().await?)
}

/// Removes a role, taking it from every group, user and client holding it; `true` if it
/// existed. Their tokens stop carrying it from their next issuance (a refresh, a new sign-in).
pub async fn remove_role(store: &dyn Store, name: &str) -> Result<bool, AdminError> {
    Ok(store.delete_role(name).await?)
}

/// Adds a group carrying `roles` (each must exist); [`AdminError::Conflict`] if the name is
/// taken.
pub async fn add_group(
    store: &dyn Store,
    clock: &dyn Clock,
    name: GroupName,
    roles: Vec<RoleName>,
) -> Result<GroupRecord, AdminError> {
    let roles = known_roles(store, roles, MAX_HOLDER_ROLES).await?;
    let group = GroupRecord {
        name,
        roles,
        created_at: clock.now().as_secs(),
    };
    store.insert_group(group.clone()).await?;
    Ok(group)
}

/// All groups, by name.
pub async fn list_groups(store: &dyn Store) -> Result<Vec<GroupRecord>, AdminError> {
    Ok(store.list_groups().await?)
}

/// Removes a group, taking it from every user in it; `true` if it existed.
pub async fn remove_group(store: &dyn Store, name: &str) -> Result<bool, AdminError> {
    Ok(store.delete_group(name).await?)
}

/// `roles` without repeats, once each is known to exist: [`AdminError::UnknownRole`] names the
/// first that does not.
pub(crate) async fn known_roles(
    store: &dyn Store,
    roles: Vec<RoleName>,
    max: usize,
) -> Result<Vec<RoleName>, AdminError> {
    let mut roles = roles;
    roles.sort();
    roles.dedup();
    if roles.is_empty() {
        return Ok(roles);
    }
    if roles.len() > max {
        return Err(invalid("role", format!("at most {max} roles per holder")));
    }
    let existing = store.list_roles().await?;
    if let Some(missing) = roles
        .iter()
        .find(|r| !existing.iter().any(|e| &e.name == *r))
    {
        return Err(AdminError::UnknownRole(missing.to_string()));
    }
    Ok(roles)
}

/// `groups` without repeats, once each is known to exist: [`AdminError::UnknownGroup`] names
/// the first that does not.
async fn known_groups(
    store: &dyn Store,
    groups: Vec<GroupName>,
) -> Result<Vec<GroupName>, AdminError> {
    let mut groups = groups;
    groups.sort();
    groups.dedup();
    if groups.len() > MAX_USER_GROUPS {
        return Err(invalid(
            "group",
            format!("at most {MAX_USER_GROUPS} groups per user"),
        ));
    }
    for group in &groups {
        if store.get_group(group.as_str()).await?.is_none() {
            return Err(AdminError::UnknownGroup(group.to_string()));
        }
    }
    Ok(groups)
}

fn checked_attributes(
    attributes: BTreeMap<String, String>,
) -> Result<BTreeMap<String, String>, AdminError> {
    identity::check_attributes(&attributes).map_err(|e| invalid("attr", e.to_string()))?;
    Ok(attributes)
}

/// A user to create: [`NewUser::new`] with a username and a password, then the optional parts.
#[derive(Debug)]
pub struct NewUser {
    /// Unique login name.
    pub username: String,
    /// The password (at least 8 characters), hashed with argon2id before it is stored.
    pub password: Password,
    /// E-mail address (taken as verified: an operator vouches for it).
    pub email: Option<String>,
    /// Display name.
    pub name: Option<String>,
    /// Roles held directly (each must exist).
    pub roles: Vec<RoleName>,
    /// Groups (each must exist).
    pub groups: Vec<GroupName>,
    /// Attributes (`given_name`, `locale`, `address.country`, `department`, ...).
    pub attributes: BTreeMap<String, String>,
}

impl NewUser {
    /// A user with only a username and a password.
    pub fn new(username: impl Into<String>, password: Password) -> Self {
        Self {
            username: username.into(),
            password,
            email: None,
            name: None,
            roles: Vec::new(),
            groups: Vec::new(),
            attributes: BTreeMap::new(),
        }
    }

    /// Checks the roles, groups and attributes against the store: what [`super::add_user`]
    /// stores.
    pub(crate) async fn checked(
        self,
        store: &dyn Store,
    ) -> Result<(Self, Vec<RoleName>, Vec<GroupName>), AdminError> {
        let roles = known_roles(store, self.roles.clone(), MAX_USER_ROLES).await?;
        let groups = known_groups(store, self.groups.clone()).await?;
        let attributes = checked_attributes(self.attributes.clone())?;
        Ok((Self { attributes, ..self }, roles, groups))
    }
}

/// Changes to a user's profile and memberships; what is left empty stays as it is.
#[derive(Debug, Default, Clone)]
pub struct UserUpdate {
    /// A new e-mail address (taken as verified).
    pub email: Option<String>,
    /// A new display name.
    pub name: Option<String>,
    /// Roles to give (each must exist).
    pub add_roles: Vec<RoleName>,
    /// Roles to take away.
    pub remove_roles: Vec<RoleName>,
    /// Groups to join (each must exist).
    pub add_groups: Vec<GroupName>,
    /// Groups to leave.
    pub remove_groups: Vec<GroupName>,
    /// Attributes to set.
    pub set_attributes: BTreeMap<String, String>,
    /// Attributes to remove.
    pub unset_attributes: Vec<String>,
}

/// Finds a user by id or, failing that, by username.
pub async fn find_user(
    store: &dyn Store,
    id_or_username: &str,
) -> Result<Option<UserRecord>, AdminError> {
    if let Some(user) = store.get_user(id_or_username).await? {
        return Ok(Some(user));
    }
    Ok(store.get_user_by_username(id_or_username).await?)
}

/// Applies `update` to the user `id_or_username` in one write; [`AdminError::UnknownUser`] if
/// there is none. Every name is checked before the write, so an error changes nothing. Running
/// servers see the change within their user cache lifetime, and tokens carry it from their next
/// issuance.
pub async fn update_user(
    store: &dyn Store,
    id_or_username: &str,
    update: UserUpdate,
) -> Result<UserRecord, AdminError> {
    let Some(mut user) = find_user(store, id_or_username).await? else {
        return Err(AdminError::UnknownUser(id_or_username.to_owned()));
    };
    let added_roles = known_roles(store, update.add_roles, MAX_USER_ROLES).await?;
    let added_groups = known_groups(store, update.add_groups).await?;
    user.roles.retain(|r| !update.remove_roles.contains(r));
    user.roles.extend(added_roles);
    user.roles.sort();
    user.roles.dedup();
    if user.roles.len() > MAX_USER_ROLES {
        return Err(invalid(
            "role",
            format!("at most {MAX_USER_ROLES} roles per user"),
        ));
    }
    user.groups.retain(|g| !update.remove_groups.contains(g));
    user.groups.extend(added_groups);
    user.groups.sort();
    user.groups.dedup();
    if user.groups.len() > MAX_USER_GROUPS {
        return Err(invalid(
            "group",
            format!("at most {MAX_USER_GROUPS} groups per user"),
        ));
    }
    for name in &update.unset_attributes {
        user.attributes.remove(name);
    }
    user.attributes.extend(update.set_attributes);
    user.attributes = checked_attributes(user.attributes)?;
    if let Some(email) = update.email {
        user.email = Some(email);
        user.email_verified = true;
    }
    if let Some(name) = update.name {
        user.name = Some(name);
    }
    store.put_user(user.clone()).await.map_err(|e| match e {
        StoreError::Conflict(what) => AdminError::Conflict(what),
        other => other.into(),
    })?;
    Ok(user)
}

/// Every role `user` holds, directly and through groups.
pub async fn effective_roles(
    store: &dyn Store,
    user: &UserRecord,
) -> Result<Vec<RoleName>, AdminError> {
    Ok(identity::effective_roles(store, user).await?)
}
