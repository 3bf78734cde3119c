//! Token introspection (RFC 7662, INT-1): the caller must be an authenticated confidential client
//! that the token was issued to or that is one of its audiences; anything revoked, expired,
//! unknown or not the caller's to see is `{"active": false}` only, and so is an access token of a
//! disabled user or one issued before the user's last sign-out everywhere.

use portcullis_types::introspection::IntrospectionResponse;

use super::error::ProtocolError;
use super::lifecycle;
use super::secrets::secret_hash;
use super::verify;
use crate::state::AppState;
use crate::store::{ClientRecord, RefreshStatus};

/// Introspects `token` for `caller`.
pub(crate) async fn introspect(
    state: &AppState,
    caller: &ClientRecord,
    token: &str,
) -> Result<IntrospectionResponse, ProtocolError> {
    let now = state.now();
    if let Ok(at) = verify::access_token(state, token).await {
        let visible =
            caller.client_id == at.client_id.as_str() || at.aud.contains(caller.client_id.as_str());
        if !visible
            || state.is_jti_revoked(&at.jti).await?
            || lifecycle::refused_by_user_record(state, &at.sub, at.iat).await?
        {
            return Ok(IntrospectionResponse::inactive());
        }
        return Ok(IntrospectionResponse {
            active: true,
            scope: Some(at.scope.clone()),
            client_id: Some(at.client_id.clone()),
            username: None,
            token_type: Some("Bearer".to_owned()),
            exp: Some(at.exp),
            iat: Some(at.iat),
            nbf: None,
            sub: Some(at.sub.clone()),
            aud: Some(at.aud.clone()),
            iss: Some(at.iss.clone()),
            jti: Some(at.jti.clone()),
        });
    }
    if let Some(rt) = state.store.find_refresh(&secret_hash(token)).await? {
        let active = rt.status == RefreshStatus::Active
            && now < rt.expires_at
            && now < rt.absolute_expires_at
            && rt.client_id == caller.client_id
            && !lifecycle::refused_by_user_record(state, rt.user_id.as_str(), rt.auth_time).await?;
        if !active {
            return Ok(IntrospectionResponse::inactive());
        }
        return Ok(IntrospectionResponse {
            active: true,
            scope: Some(rt.scope.to_string()),
            client_id: Some(rt.client_id.into_inner()),
            token_type: Some("refresh_token".to_owned()),
            exp: Some(rt.expires_at),
            iat: Some(rt.issued_at),
            sub: Some(rt.user_id.into_inner()),
            iss: Some(state.config.issuer.clone()),
            ..IntrospectionResponse::default()
        });
    }
    Ok(IntrospectionResponse::inactive())
}
