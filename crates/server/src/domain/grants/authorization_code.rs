//! The authorization-code grant: atomic single use (CODE-1/3), replay revokes the grant (CODE-2),
//! the code is bound to the client, redirect URI and PKCE challenge (CODE-4/5, PKCE-3/4/5).

use portcullis_types::GrantType;

use super::super::audit;
use super::super::error::ProtocolError;
use super::super::pkce;
use super::super::secrets::secret_hash;
use super::{RefreshAction, UserIssue, issue_user_tokens};
use crate::state::AppState;
use crate::store::{ClientRecord, ConsumeOutcome};

/// Redeems a code.
pub(crate) async fn exchange(
    state: &AppState,
    client: &ClientRecord,
    code: &str,
    redirect_uri: Option<&str>,
    code_verifier: Option<&str>,
) -> Result<portcullis_types::TokenResponse, ProtocolError> {
    let now = state.now();
    let rec = match state.store.consume_code(&secret_hash(code), now).await? {
        ConsumeOutcome::Consumed(rec) => rec,
        ConsumeOutcome::AlreadyConsumed(rec) => {
            super::super::denylist::revoke_grant(state, &rec.grant_id).await?;
            audit::reuse_detected("authorization_code", rec.client_id.as_str(), &rec.grant_id);
            return Err(ProtocolError::invalid_grant(
                "the authorization code has already been used",
            ));
        }
        ConsumeOutcome::Expired => {
            return Err(ProtocolError::invalid_grant(
                "the authorization code has expired",
            ));
        }
        ConsumeOutcome::NotFound => {
            return Err(ProtocolError::invalid_grant("unknown authorization code"));
        }
    };
    if rec.client_id != client.client_id {
        return Err(ProtocolError::invalid_grant(
            "the authorization code was issued to another client",
        ));
    }
    if redirect_uri.is_some_and(|r| rec.redirect_uri != r) {
        return Err(ProtocolError::invalid_grant("redirect_uri does not match"));
    }
    match (&rec.code_challenge, code_verifier) {
        (Some(challenge), Some(verifier)) => {
            if !pkce::verify_s256(challenge, verifier) {
                return Err(ProtocolError::invalid_grant("PKCE verification failed"));
            }
        }
        (Some(_), None) => {
            // A required parameter is missing: RFC 6749 §5.2 names that `invalid_request`.
            // The code is spent all the same.
            return Err(ProtocolError::invalid_request(
                "code_verifier is required: the code was issued with a code_challenge",
            ));
        }
        (None, Some(_)) => {
            return Err(ProtocolError::invalid_grant(
                "code_verifier sent for a code issued without code_challenge",
            ));
        }
        (None, None) => {}
    }
    let Some(user) = state.store.get_user(rec.user_id.as_str()).await? else {
        return Err(ProtocolError::invalid_grant("the user no longer exists"));
    };
    let scope = rec.scope.clone();
    let refresh = RefreshAction::for_new_grant(state, client, now);
    issue_user_tokens(
        state,
        UserIssue {
            client,
            user: &user,
            grant_id: &rec.grant_id,
            scope: &scope,
            auth_time: rec.auth_time,
            sid: rec.sid.as_deref(),
            nonce: rec.nonce.as_deref(),
            refresh,
            grant_type: GrantType::AuthorizationCode,
            upstream: rec.upstream(),
        },
    )
    .await
}
