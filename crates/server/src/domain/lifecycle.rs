//! Account lifecycle: signing a user out everywhere, disabling and enabling the account, and the
//! checks every token path makes against the user record.
//!
//! Signing out everywhere, in this order: the user record gets `tokens_not_before = now` (this
//! server then refuses every access token of the user issued earlier, and every grant whose
//! sign-in is older); the per-subject marker goes to the resource servers' denylist
//! ([`Denylist::publish`], e.g. Redis, read by the guard); every live grant of the user is
//! revoked (refresh tokens, recorded access and ID tokens, their `jti`s mirrored, which also
//! covers tokens issued in the very second of the marker); every browser session is deleted.
//! The store is the source of truth throughout; the mirror is written after it.
//!
//! The same steps run from the server (the account page) and from the command line (which has
//! no [`AppState`]), so the core takes the store, the optional denylist and the configuration.

use portcullis_types::denylist::retain_until;

use super::audit;
use super::denylist::{MirrorHealth, publish};
use super::error::ProtocolError;
use crate::config::ServerConfig;
use crate::state::AppState;
use crate::store::{Denylist, MirrorEntry, Store, UserRecord};

/// Why a user's tokens are being revoked (for the audit trail).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SignOutCause {
    /// The user or an operator asked for it.
    SignOutEverywhere,
    /// The account was disabled.
    Disabled,
    /// The password changed.
    PasswordChanged,
    /// The password was reset through a mailed link.
    PasswordReset,
    /// The user deleted the account.
    AccountDeleted,
}

impl SignOutCause {
    fn as_str(self) -> &'static str {
        match self {
            Self::SignOutEverywhere => "sign_out_everywhere",
            Self::Disabled => "disabled",
            Self::PasswordChanged => "password_changed",
            Self::PasswordReset => "password_reset",
            Self::AccountDeleted => "account_deleted",
        }
    }
}

/// What signing a user out everywhere revoked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct SignOutReport {
    /// Grants newly revoked (each with its refresh tokens and recorded access and ID tokens).
    pub grants: usize,
    /// Browser sessions ended.
    pub sessions: u64,
    /// Access tokens of the user issued before this time (Unix seconds) are refused.
    pub not_before: i64,
    /// Until when the resource servers' marker is kept (Unix seconds); `None` without a
    /// denylist.
    pub marker_until: Option<i64>,
}

/// Where the revocation is written: the store, and the resource servers' mirror if any.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Targets<'a> {
    pub store: &'a dyn Store,
    pub denylist: Option<&'a dyn Denylist>,
    /// This node's view of the mirror, on a running server.
    pub health: Option<&'a MirrorHealth>,
    pub config: &'a ServerConfig,
}

impl<'a> Targets<'a> {
    /// The targets of a running server.
    pub(crate) fn of(state: &'a AppState) -> Self {
        Self {
            store: state.store.as_ref(),
            denylist: state.denylist.as_deref(),
            health: Some(&state.mirror_health),
            config: &state.config,
        }
    }
}

/// Publishes every recorded access (and ID) token `jti` of a revoked grant to the denylist.
pub(crate) async fn publish_grant_jtis(
    store: &dyn Store,
    denylist: Option<&dyn Denylist>,
    health: Option<&MirrorHealth>,
    grant_id: &str,
    now: i64,
) -> Result<(), ProtocolError> {
    if denylist.is_none() {
        return Ok(());
    }
    let entries = store
        .list_grant_access_tokens(grant_id)
        .await?
        .into_iter()
        .map(|(jti, keep_until)| MirrorEntry::Jti { jti, keep_until })
        .collect();
    publish(store, denylist, health, entries, now).await
}

/// Signs `user` out everywhere at `now` (see the module docs) and returns the record as stored
/// and what was revoked. Running it again revokes what appeared since.
pub(crate) async fn sign_out_everywhere(
    t: Targets<'_>,
    mut user: UserRecord,
    now: i64,
    cause: SignOutCause,
) -> Result<(UserRecord, SignOutReport), ProtocolError> {
    let not_before = user.tokens_not_before.map_or(now, |nb| nb.max(now));
    user.tokens_not_before = Some(not_before);
    t.store.put_user(user.clone()).await?;
    // The marker is recorded in the store whether or not a mirror is configured now: a
    // mirror added (or emptied and refilled) later receives it from there.
    let longest = crate::keys::longest_token_ttl(t.store, t.config).await?;
    let keep_until = retain_until(not_before.saturating_add(longest));
    t.store
        .record_subject_marker(user.id.as_str(), not_before, keep_until)
        .await?;
    publish(
        t.store,
        t.denylist,
        t.health,
        vec![MirrorEntry::Subject {
            sub: user.id.as_str().to_owned(),
            not_before,
            keep_until,
        }],
        now,
    )
    .await?;
    let marker_until = t.denylist.map(|_| keep_until);
    let mut grants = 0;
    for grant in t.store.list_grants(user.id.as_str()).await? {
        if grant.revoked_at.is_some() {
            continue;
        }
        if t.store.revoke_grant(&grant.id, now).await? {
            grants += 1;
        }
        publish_grant_jtis(t.store, t.denylist, t.health, &grant.id, now).await?;
    }
    let sessions = t.store.delete_user_sessions(user.id.as_str()).await?;
    audit::signed_out_everywhere(user.id.as_str(), cause.as_str(), grants, sessions);
    let report = SignOutReport {
        grants,
        sessions,
        not_before,
        marker_until,
    };
    Ok((user, report))
}

/// Revokes the grants a browser session left behind when it ends (logout, or an operator
/// ending it): those of `user_id` issued under its `sid` without `offline_access`, with their
/// refresh tokens, access tokens and ID tokens (their `jti`s mirrored), so an ID token from it
/// can no longer be exchanged (OIDC Core §11: only `offline_access` outlives the session).
/// Returns how many grants were newly revoked.
pub(crate) async fn revoke_session_grants(
    t: Targets<'_>,
    user_id: &str,
    sid: &str,
    now: i64,
) -> Result<usize, ProtocolError> {
    let mut revoked = 0;
    for grant in t.store.list_grants(user_id).await? {
        if grant.revoked_at.is_none()
            && grant.sid.as_deref() == Some(sid)
            && !grant.scope.contains("offline_access")
        {
            if t.store.revoke_grant(&grant.id, now).await? {
                revoked += 1;
            }
            publish_grant_jtis(t.store, t.denylist, t.health, &grant.id, now).await?;
        }
    }
    Ok(revoked)
}

/// [`sign_out_everywhere`] on a running server: this node's caches of user records and "not
/// revoked" answers are dropped at once.
pub(crate) async fn sign_out_user(
    state: &AppState,
    user: UserRecord,
    cause: SignOutCause,
) -> Result<(UserRecord, SignOutReport), ProtocolError> {
    let done = sign_out_everywhere(Targets::of(state), user, state.now(), cause).await;
    state.forget_users();
    state.forget_unrevoked();
    done
}

/// Whether this server still honours a token or session of `user` issued (or signed in) at
/// `at`: not when the account is disabled, nor when `at` is before the user's last sign-out
/// everywhere. The same second is honoured, so a sign-in right after it works; tokens from
/// that second before it are revoked through their grants.
pub(crate) fn honours(user: &UserRecord, at: i64) -> bool {
    !user.disabled && user.tokens_not_before.is_none_or(|nb| at >= nb)
}

/// Whether a token of `sub` issued (or, for a refresh token, signed in) at `at` is refused
/// because of its user's record (cached up to `user_cache_ttl`; this node drops the cache
/// whenever it changes a user). A `sub` that is no user (a client's own token) is not refused
/// here.
pub(crate) async fn refused_by_user_record(
    state: &AppState,
    sub: &str,
    at: i64,
) -> Result<bool, ProtocolError> {
    Ok(state.user(sub).await?.is_some_and(|u| !honours(&u, at)))
}

/// Refuses to mint tokens for a disabled account, or for a sign-in (`auth_time`) older than the
/// user's last sign-out everywhere: `invalid_grant`, as for any grant that is no longer good.
pub(crate) fn refuse_inactive_account(
    user: &UserRecord,
    auth_time: i64,
) -> Result<(), ProtocolError> {
    if user.disabled {
        return Err(ProtocolError::invalid_grant("the account is disabled"));
    }
    if !honours(user, auth_time) {
        return Err(ProtocolError::invalid_grant(
            "the sign-in was ended by a sign-out everywhere",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(disabled: bool, tokens_not_before: Option<i64>) -> UserRecord {
        UserRecord {
            id: "u_1".into(),
            username: "alice".into(),
            email: None,
            email_verified: false,
            name: None,
            password_hash: String::new(),
            roles: Vec::new(),
            groups: Vec::new(),
            attributes: Default::default(),
            disabled,
            tokens_not_before,
            verification_pending: false,
            created_at: 0,
        }
    }

    #[test]
    fn tokens_from_before_the_sign_out_are_refused_from_its_second_on_honoured() {
        let u = user(false, Some(100));
        assert!(!honours(&u, 99));
        assert!(honours(&u, 100));
        assert!(honours(&u, 101));
        assert!(honours(&user(false, None), 0));
    }

    #[test]
    fn a_disabled_account_is_never_honoured() {
        assert!(!honours(&user(true, None), 100));
        let e = refuse_inactive_account(&user(true, None), 100).unwrap_err();
        assert_eq!(e.code(), portcullis_types::ErrorCode::InvalidGrant);
        let e = refuse_inactive_account(&user(false, Some(100)), 99).unwrap_err();
        assert_eq!(e.code(), portcullis_types::ErrorCode::InvalidGrant);
        assert!(refuse_inactive_account(&user(false, Some(100)), 100).is_ok());
    }
}
