//! Revocation mirrored to the resource servers' denylist (`store::Denylist`, e.g. Redis read
//! through `portcullis_types::denylist`). The store stays the source of truth; the denylist is
//! a fast mirror. Every local revocation passes through here, which also clears this node's
//! cache of "not revoked" answers (`crate::validation_cache`).
//!
//! Every time handed to the access-token ledger, the denylist, the replay cache and the mirror
//! is a *keep-until* time, [`retain_until`]`(exp)`: validators may accept a token for up to
//! `MAX_VALIDATOR_LEEWAY_SECS` past its `exp`, so the records that refuse it live as long.

pub(crate) use portcullis_types::denylist::retain_until;

use super::error::ProtocolError;
use crate::state::AppState;

/// Revokes a grant in the store (its refresh tokens and recorded access tokens) and mirrors
/// the access tokens' `jti`s to the denylist when configured, so resource servers that check
/// it refuse them too. `true` if the grant was newly revoked.
pub(crate) async fn revoke_grant(state: &AppState, grant_id: &str) -> Result<bool, ProtocolError> {
    let now = state.now();
    let revoked = state.store.revoke_grant(grant_id, now).await?;
    mirror_grant(state, grant_id).await?;
    Ok(revoked)
}

/// Publishes every recorded access token of an (already revoked) grant to the denylist.
pub(crate) async fn mirror_grant(state: &AppState, grant_id: &str) -> Result<(), ProtocolError> {
    state.forget_unrevoked();
    super::lifecycle::publish_grant_jtis(
        state.store.as_ref(),
        state.denylist.as_deref(),
        grant_id,
        state.now(),
    )
    .await
}

/// Publishes one revoked access token until `keep_until` (nothing to do without a denylist or
/// once that time passed).
pub(crate) async fn mirror_jti(
    state: &AppState,
    jti: &str,
    keep_until: i64,
) -> Result<(), ProtocolError> {
    state.forget_unrevoked();
    if let Some(denylist) = &state.denylist {
        denylist
            .revoke_jtis(&[(jti.to_owned(), keep_until)], state.now())
            .await?;
    }
    Ok(())
}

/// Revokes the grants a browser session left behind when it ends (logout): those issued under
/// its `sid` without `offline_access`. Their refresh tokens, access tokens and ID tokens die
/// with the session, so an ID token from it can no longer be exchanged (OIDC Core §11: only
/// `offline_access` outlives the session). Returns how many grants were revoked.
pub(crate) async fn revoke_session_grants(
    state: &AppState,
    user_id: &str,
    sid: &str,
) -> Result<usize, ProtocolError> {
    let mut revoked = 0;
    for grant in state.store.list_grants(user_id).await? {
        if grant.revoked_at.is_none()
            && grant.sid.as_deref() == Some(sid)
            && !grant.scope.contains("offline_access")
        {
            revoke_grant(state, &grant.id).await?;
            revoked += 1;
        }
    }
    Ok(revoked)
}
