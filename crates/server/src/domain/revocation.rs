//! Token revocation (RFC 7009, REV-1): a refresh token revokes its whole grant; an access token's
//! `jti` is denylisted until its `exp` (and mirrored to Redis when configured). Unknown tokens and
//! other clients' tokens are answered with success and left alone; store errors propagate.

use super::audit;
use super::denylist::retain_until;
use super::error::ProtocolError;
use super::secrets::secret_hash;
use super::verify::{self, TokenRejection};
use crate::state::AppState;
use crate::store::ClientRecord;

/// Revokes `token` for `client`. `hint` only orders the lookups.
pub(crate) async fn revoke(
    state: &AppState,
    client: &ClientRecord,
    token: &str,
    hint: Option<&str>,
) -> Result<(), ProtocolError> {
    if hint == Some("access_token") {
        if revoke_access(state, client, token).await? {
            return Ok(());
        }
        revoke_refresh(state, client, token).await?;
    } else if !revoke_refresh(state, client, token).await? {
        revoke_access(state, client, token).await?;
    }
    Ok(())
}

/// `true` if `token` is a refresh token (of any client).
async fn revoke_refresh(
    state: &AppState,
    client: &ClientRecord,
    token: &str,
) -> Result<bool, ProtocolError> {
    let Some(rec) = state.store.find_refresh(&secret_hash(token)).await? else {
        return Ok(false);
    };
    if rec.client_id == client.client_id {
        super::denylist::revoke_grant(state, &rec.grant_id).await?;
        audit::revoked("refresh_token", client.client_id.as_str(), &rec.grant_id);
    }
    Ok(true)
}

/// `true` if `token` is an access token this server signed (expired included).
async fn revoke_access(
    state: &AppState,
    client: &ClientRecord,
    token: &str,
) -> Result<bool, ProtocolError> {
    let claims = match verify::access_token(state, token).await {
        Ok(c) => c,
        Err(TokenRejection::Expired) => return Ok(true),
        Err(TokenRejection::Invalid) => return Ok(false),
    };
    if client.client_id == claims.client_id.as_str() {
        let keep_until = retain_until(claims.exp);
        state.store.revoke_jti(&claims.jti, keep_until).await?;
        super::denylist::mirror_jti(state, &claims.jti, keep_until).await?;
        audit::revoked("access_token", client.client_id.as_str(), &claims.jti);
    }
    Ok(true)
}
