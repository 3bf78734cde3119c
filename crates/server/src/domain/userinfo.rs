//! The UserInfo endpoint's logic (OIDC Core §5.3): a valid, unrevoked access token with the
//! `openid` scope yields `sub` plus the claims its scope releases.

use portcullis_types::Scope;

use super::error::ProtocolError;
use super::identity;
use super::lifecycle;
use super::verify::{self, TokenRejection};
use crate::state::AppState;

/// Why a UserInfo request is refused (RFC 6750 §3.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum UserinfoError {
    /// 401 `invalid_token`.
    InvalidToken(&'static str),
    /// 403 `insufficient_scope`.
    InsufficientScope,
    /// 500.
    Internal,
}

impl From<ProtocolError> for UserinfoError {
    fn from(_: ProtocolError) -> Self {
        Self::Internal
    }
}

/// The claims for an access token.
pub(crate) async fn claims(
    state: &AppState,
    token: &str,
) -> Result<serde_json::Map<String, serde_json::Value>, UserinfoError> {
    let at = verify::access_token(state, token)
        .await
        .map_err(|r| match r {
            TokenRejection::Expired => UserinfoError::InvalidToken("the access token expired"),
            TokenRejection::Invalid => UserinfoError::InvalidToken("the access token is invalid"),
        })?;
    let revoked = state
        .is_jti_revoked(&at.jti)
        .await
        .map_err(ProtocolError::from)?;
    if revoked {
        return Err(UserinfoError::InvalidToken("the access token was revoked"));
    }
    let scope = Scope::parse(&at.scope)
        .map_err(|_| UserinfoError::InvalidToken("the access token is invalid"))?;
    if !scope.contains("openid") {
        return Err(UserinfoError::InsufficientScope);
    }
    let Some(user) = state.user(&at.sub).await.map_err(ProtocolError::from)? else {
        return Err(UserinfoError::InvalidToken("the user no longer exists"));
    };
    if !lifecycle::honours(&user, at.iat) {
        return Err(UserinfoError::InvalidToken("the access token was revoked"));
    }
    let mut out = serde_json::Map::new();
    out.insert("sub".to_owned(), user.id.as_str().into());
    for (k, v) in identity::user_claims(&user, &scope, &state.config.scope_claims) {
        out.insert(k, v);
    }
    Ok(out)
}
