//! The client-credentials grant (RFC 6749 §4.4): confidential clients only (TOK-7), scope within
//! the client's allowance, no OpenID scopes. No store writes: the client comes from the cache and
//! only signing bounds the path.

use portcullis_types::{GrantType, TokenEndpointAuthMethod, TokenResponse, TokenType};

use super::super::audit;
use super::super::error::ProtocolError;
use super::super::identity::Memberships;
use super::super::tokens;
use crate::state::AppState;
use crate::store::ClientRecord;

/// Scopes that only make sense for a user.
const USER_SCOPES: [&str; 4] = ["openid", "profile", "email", "offline_access"];

/// Issues an access token whose subject is the client itself.
pub(crate) async fn exchange(
    state: &AppState,
    client: &ClientRecord,
    requested: Option<&str>,
) -> Result<TokenResponse, ProtocolError> {
    if client.token_endpoint_auth_method == TokenEndpointAuthMethod::None
        || client.secret_hash.is_none() && client.jwks.is_none()
    {
        return Err(ProtocolError::unauthorized_client(
            "client_credentials requires a confidential client",
        ));
    }
    let allowed = client.scope.filter(|s| !USER_SCOPES.contains(&s));
    let scope = super::requested_scope(requested, &allowed)?;
    let at = tokens::issue_access_token(
        state,
        client,
        tokens::AccessFor {
            sub: client.client_id.as_str(),
            scope: &scope,
            auth_time: None,
            upstream: None,
            memberships: Memberships::of_client(client),
            grant_type: GrantType::ClientCredentials,
        },
    )
    .await?;
    let scope_text = scope.to_string();
    audit::token_issued(
        GrantType::ClientCredentials.as_str(),
        client.client_id.as_str(),
        client.client_id.as_str(),
        &at.jti,
        &scope_text,
    );
    Ok(TokenResponse {
        access_token: at.token,
        token_type: TokenType::Bearer,
        expires_in: u64::try_from(at.expires_in).ok(),
        refresh_token: None,
        scope: (!scope.is_empty()).then_some(scope_text),
        id_token: None,
        issued_token_type: None,
    })
}
