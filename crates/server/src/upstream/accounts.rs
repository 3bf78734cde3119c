//! From an upstream account to a local user: the link `(upstream, subject)` decides; without
//! one, a verified e-mail address may link to the local user holding it when the upstream is
//! trusted for e-mail (`trust_email`); otherwise a new local user is created just in time with
//! a random, stable `sub`. At every sign-in the user's name, address, attributes and the groups
//! the upstream maps are refreshed from the upstream.

use std::collections::BTreeSet;

use portcullis_types::GroupName;

use super::{Identity, UpstreamError};
use crate::domain::identity::{MAX_USER_GROUPS, check_attribute};
use crate::domain::secrets::random_id;
use crate::state::AppState;
use crate::store::{FederatedSignIn, StoreError, UpstreamLinkRecord, UpstreamRecord, UserRecord};

/// The `amr` value of a sign-in through an upstream that did not say how it authenticated the
/// user: `fed`, federated authentication (not in the RFC 8176 registry; the value widely used
/// for it).
pub(crate) const FEDERATED_AMR: &str = "fed";

/// Longest username proposed from an upstream.
const MAX_USERNAME_LEN: usize = 128;

/// The local user `identity` signs in as (linked, found by trusted address, or created), with
/// its profile and mapped groups refreshed, and how it signed in.
pub(crate) async fn sign_in(
    state: &AppState,
    upstream: &UpstreamRecord,
    identity: &Identity,
) -> Result<(UserRecord, FederatedSignIn), UpstreamError> {
    let store = state.store.as_ref();
    let id = upstream.id.as_str();
    let user = match store.get_upstream_link(id, &identity.subject).await? {
        Some(link) => store
            .get_user(link.user_id.as_str())
            .await?
            .ok_or(UpstreamError::Store(StoreError::NotFound))?,
        None => link_or_create(state, upstream, identity).await?,
    };
    if user.disabled {
        return Err(UpstreamError::Disabled);
    }
    let user = refresh(state, upstream, identity, user).await?;
    let amr = if identity.amr.is_empty() {
        vec![FEDERATED_AMR.to_owned()]
    } else {
        identity.amr.clone()
    };
    Ok((
        user,
        FederatedSignIn {
            idp: upstream.id.clone(),
            amr,
        },
    ))
}

/// A first sign-in of the account: link it to the local user with the same verified address
/// when the upstream is trusted for addresses and that user has no account there yet,
/// otherwise to a new user. Of concurrent first sign-ins one link wins and all use it.
async fn link_or_create(
    state: &AppState,
    upstream: &UpstreamRecord,
    identity: &Identity,
) -> Result<UserRecord, UpstreamError> {
    let store = state.store.as_ref();
    let now = state.now();
    let existing = match (
        &identity.email,
        upstream.trust_email && identity.email_verified,
    ) {
        (Some(email), true) => find_by_email(state, upstream, email).await?,
        _ => None,
    };
    let (user, created) = match existing {
        Some(user) => (user, false),
        None => (create(state, upstream, identity).await?, true),
    };
    let link = UpstreamLinkRecord {
        upstream_id: upstream.id.clone(),
        subject: identity.subject.clone(),
        user_id: user.id.clone(),
        created_at: now,
    };
    match store.insert_upstream_link(link).await {
        Ok(()) => Ok(user),
        Err(StoreError::Conflict(_)) => {
            if created {
                store.delete_user(user.id.as_str()).await?;
            }
            let link = store
                .get_upstream_link(upstream.id.as_str(), &identity.subject)
                .await?
                .ok_or(UpstreamError::Store(StoreError::NotFound))?;
            store
                .get_user(link.user_id.as_str())
                .await?
                .ok_or(UpstreamError::Store(StoreError::NotFound))
        }
        Err(e) => Err(e.into()),
    }
}

/// The local user an upstream trusted for addresses may link to by the verified address
/// `email`: the only user holding it verified, provided every upstream account already linked
/// to that user comes from an upstream trusted for addresses too, and none from this one, and
/// that the user was made by an operator (it has a password) if it has no link at all. An
/// address learned from an untrusted upstream never opens an account to a trusted one, and a
/// second account of the same upstream never takes over a linked user.
async fn find_by_email(
    state: &AppState,
    upstream: &UpstreamRecord,
    email: &str,
) -> Result<Option<UserRecord>, UpstreamError> {
    let store = state.store.as_ref();
    let mut holders = store.list_users().await?.into_iter().filter(|u| {
        u.email_verified
            && u.email
                .as_deref()
                .is_some_and(|e| e.eq_ignore_ascii_case(email))
    });
    let (Some(user), None) = (holders.next(), holders.next()) else {
        return Ok(None);
    };
    let links = store.list_upstream_links(user.id.as_str()).await?;
    // A user made by an upstream whose links are gone (the upstream was removed) has nothing
    // left to vouch for its address.
    if links.is_empty() && user.password_hash.is_empty() {
        return Ok(None);
    }
    for link in links {
        if link.upstream_id == upstream.id {
            return Ok(None);
        }
        let trusted = store
            .get_upstream(link.upstream_id.as_str())
            .await?
            .is_some_and(|u| u.trust_email);
        if !trusted {
            return Ok(None);
        }
    }
    Ok(Some(user))
}

/// Links the upstream account `identity` to the signed-in local user `user_id`, as asked from
/// the account page. Refused when the account is linked to another user (it would give that
/// account a second way into someone else's), or when the user has an account of this upstream
/// linked already. Linking an account to the user it is linked to changes nothing.
pub(crate) async fn link(
    state: &AppState,
    upstream: &UpstreamRecord,
    identity: &Identity,
    user_id: &str,
) -> Result<(), UpstreamError> {
    let store = state.store.as_ref();
    match store
        .get_upstream_link(upstream.id.as_str(), &identity.subject)
        .await?
    {
        Some(l) if l.user_id.as_str() == user_id => return Ok(()),
        Some(_) => return Err(UpstreamError::AlreadyLinked),
        None => {}
    }
    let user = store
        .get_user(user_id)
        .await?
        .ok_or(UpstreamError::LinkSession)?;
    if user.disabled {
        return Err(UpstreamError::Disabled);
    }
    let links = store.list_upstream_links(user_id).await?;
    if links.iter().any(|l| l.upstream_id == upstream.id) {
        return Err(UpstreamError::AlreadyLinked);
    }
    let link = UpstreamLinkRecord {
        upstream_id: upstream.id.clone(),
        subject: identity.subject.clone(),
        user_id: user.id.clone(),
        created_at: state.now(),
    };
    match store.insert_upstream_link(link).await {
        Ok(()) => Ok(()),
        Err(StoreError::Conflict(_)) => Err(UpstreamError::AlreadyLinked),
        Err(e) => Err(e.into()),
    }
}

/// What became of a request to unlink an upstream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Unlinked {
    /// The link is gone, and with it the groups that upstream gives.
    Done,
    /// The user has no account of that upstream linked.
    NotLinked,
    /// Refused: it is the user's only way to sign in (no password usable here, no other link).
    LastWayIn,
}

/// Unlinks `user` from the upstream `upstream_id`, unless that would leave the user no way to
/// sign in. The groups the upstream maps leave with the link, as a sign-in through it would
/// have replaced them.
pub(crate) async fn unlink(
    state: &AppState,
    user: &UserRecord,
    upstream_id: &str,
) -> Result<Unlinked, StoreError> {
    let store = state.store.as_ref();
    let links = store.list_upstream_links(user.id.as_str()).await?;
    if !links.iter().any(|l| l.upstream_id.as_str() == upstream_id) {
        return Ok(Unlinked::NotLinked);
    }
    let others = links
        .iter()
        .filter(|l| l.upstream_id.as_str() != upstream_id)
        .count();
    let has_password = state.config.password_login && !user.password_hash.is_empty();
    if others == 0 && !has_password {
        return Ok(Unlinked::LastWayIn);
    }
    if !store
        .delete_upstream_link(upstream_id, user.id.as_str())
        .await?
    {
        return Ok(Unlinked::NotLinked);
    }
    if let Some(upstream) = store.get_upstream(upstream_id).await? {
        let managed: BTreeSet<&GroupName> = upstream.groups.values().collect();
        if user.groups.iter().any(|g| managed.contains(g))
            && let Some(mut fresh) = store.get_user(user.id.as_str()).await?
        {
            fresh.groups.retain(|g| !managed.contains(g));
            store.put_user(fresh).await?;
        }
    }
    Ok(Unlinked::Done)
}

/// Creates the local user of a new upstream account: a random `sub`, the upstream's username
/// when free (else `{upstream}:{subject}`), no password.
async fn create(
    state: &AppState,
    upstream: &UpstreamRecord,
    identity: &Identity,
) -> Result<UserRecord, UpstreamError> {
    let store = state.store.as_ref();
    let fallback = format!("{}:{}", upstream.id, identity.subject);
    let proposed = identity
        .username
        .as_deref()
        .or(identity
            .email
            .as_deref()
            .filter(|_| identity.email_verified))
        .filter(|u| u.len() <= MAX_USERNAME_LEN && !u.chars().any(char::is_control));
    let username = match proposed {
        Some(u) if store.get_user_by_username(u).await?.is_none() => u.to_owned(),
        _ => fallback.clone(),
    };
    let id = random_id().map_err(|_| UpstreamError::Internal("randomness".into()))?;
    let mut user = UserRecord {
        id: format!("u_{id}").into(),
        username,
        email: None,
        email_verified: false,
        name: None,
        // No password: an empty hash never verifies, so this user signs in only upstream.
        password_hash: String::new(),
        roles: Vec::new(),
        groups: Vec::new(),
        attributes: Default::default(),
        disabled: false,
        tokens_not_before: None,
        verification_pending: false,
        created_at: state.now(),
    };
    match store.put_user(user.clone()).await {
        Ok(()) => Ok(user),
        // The proposed username was taken in the meantime.
        Err(StoreError::Conflict(_)) if user.username != fallback => {
            user.username = fallback;
            store.put_user(user.clone()).await?;
            Ok(user)
        }
        Err(e) => Err(e.into()),
    }
}

/// Refreshes the profile from the upstream and sets the user's groups the upstream maps:
/// groups this upstream can give are replaced by the ones it gives now; local groups it does
/// not map are kept. Mapped groups that do not exist here are skipped.
async fn refresh(
    state: &AppState,
    upstream: &UpstreamRecord,
    identity: &Identity,
    mut user: UserRecord,
) -> Result<UserRecord, UpstreamError> {
    let store = state.store.as_ref();
    if let Some(name) = &identity.name {
        user.name = Some(name.clone());
    }
    if let Some(email) = identity.email.as_ref().filter(|_| identity.email_verified) {
        user.email = Some(email.clone());
        user.email_verified = true;
    }
    for (k, v) in &identity.attributes {
        if check_attribute(k, v).is_ok() {
            user.attributes.insert(k.clone(), v.clone());
        }
    }
    let managed: BTreeSet<&GroupName> = upstream.groups.values().collect();
    let known: BTreeSet<GroupName> = store
        .list_groups()
        .await?
        .into_iter()
        .map(|g| g.name)
        .collect();
    let given: BTreeSet<GroupName> = identity
        .groups
        .iter()
        .filter_map(|g| upstream.groups.get(g))
        .filter(|g| known.contains(*g))
        .cloned()
        .collect();
    user.groups.retain(|g| !managed.contains(g));
    for g in given {
        if user.groups.len() < MAX_USER_GROUPS && !user.groups.contains(&g) {
            user.groups.push(g);
        }
    }
    store.put_user(user.clone()).await?;
    Ok(user)
}
