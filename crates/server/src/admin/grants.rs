//! The access a user gave clients, for operators: list it and withdraw it, as the user's account
//! page does. `users grants` / `users revoke-grant` and the admin API call these.

use super::{AccountTargets, AdminError, find_user};
use crate::domain::consent;
use crate::store::{ConsentRecord, Store, UserRecord};

/// The user `user` (user id or username), or [`AdminError::UnknownUser`].
pub(super) async fn known_user(store: &dyn Store, user: &str) -> Result<UserRecord, AdminError> {
    find_user(store, user)
        .await?
        .ok_or_else(|| AdminError::UnknownUser(user.to_owned()))
}

/// The clients `user` (user id or username) has given access to, with the consented scope, by
/// client id. [`AdminError::UnknownUser`] if there is no such user.
pub async fn list_grants(store: &dyn Store, user: &str) -> Result<Vec<ConsentRecord>, AdminError> {
    let found = known_user(store, user).await?;
    Ok(store.list_consents(found.id.as_str()).await?)
}

/// Withdraws the access `user` (user id or username) gave `client_id`: the consent goes, and
/// with it every grant, refresh token and recorded access token of that client for the user
/// (mirrored to the denylist if any). `false` if the user gave that client no access.
/// [`AdminError::UnknownUser`] if there is no such user.
pub async fn revoke_grant(
    t: AccountTargets<'_>,
    user: &str,
    client_id: &str,
) -> Result<bool, AdminError> {
    let found = known_user(t.store, user).await?;
    let now = t.clock.now().as_secs();
    Ok(consent::withdraw_from(t.lifecycle(), found.id.as_str(), client_id, now).await?)
}
