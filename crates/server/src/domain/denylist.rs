//! Revocation mirrored to the resource servers' denylist (`store::Denylist`, e.g. Redis read
//! through `portcullis_types::denylist`). The store stays the source of truth; the denylist is
//! a fast mirror. Every local revocation passes through here, which also clears this node's
//! cache of "not revoked" answers (`crate::validation_cache`).

use super::error::ProtocolError;
use crate::state::AppState;

/// Revokes a grant in the store (its refresh tokens and recorded access tokens) and mirrors
/// the access tokens' `jti`s to the denylist when configured, so resource servers that check
/// it refuse them too. `true` if the grant was newly revoked.
pub async fn revoke_grant(state: &AppState, grant_id: &str) -> Result<bool, ProtocolError> {
    let now = state.now();
    let revoked = state.store.revoke_grant(grant_id, now).await?;
    mirror_grant(state, grant_id).await?;
    Ok(revoked)
}

/// Publishes every recorded access token of an (already revoked) grant to the denylist.
pub async fn mirror_grant(state: &AppState, grant_id: &str) -> Result<(), ProtocolError> {
    state.forget_unrevoked();
    let Some(denylist) = &state.denylist else {
        return Ok(());
    };
    let jtis = state.store.list_grant_access_tokens(grant_id).await?;
    denylist.revoke_jtis(&jtis, state.now()).await?;
    Ok(())
}

/// Publishes one revoked access token (nothing to do without a denylist or once it expired).
pub async fn mirror_jti(state: &AppState, jti: &str, exp: i64) -> Result<(), ProtocolError> {
    state.forget_unrevoked();
    if let Some(denylist) = &state.denylist {
        denylist
            .revoke_jtis(&[(jti.to_owned(), exp)], state.now())
            .await?;
    }
    Ok(())
}
