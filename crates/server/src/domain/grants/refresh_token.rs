//! The refresh-token grant: rotation on every use in one atomic store step (RT-4), reuse of a
//! rotated token revokes the whole grant (RT-3) unless the client opted in to a short grace
//! window (RT-5), identical scope for the successor (RT-6) and an absolute family lifetime
//! (RT-7). The scope is also capped by the client's current registered scope, and a locked
//! account (TOK-13) gets no fresh tokens.

use portcullis_types::GrantType;
use portcullis_types::{RefreshToken, TokenResponse};

use super::super::audit;
use super::super::error::ProtocolError;
use super::super::secrets::{random_token, secret_hash};
use super::device_code::refuse_locked_account;
use super::{
    RefreshAction, UserIssue, record_user_tokens, refresh_expiry, requested_scope, sign_user_tokens,
};
use crate::state::AppState;
use crate::store::{ClientRecord, RefreshRecord, RefreshStatus, RotateOutcome};

/// Exchanges a refresh token for new tokens.
pub(crate) async fn exchange(
    state: &AppState,
    client: &ClientRecord,
    refresh_token: &str,
    requested: Option<&str>,
) -> Result<TokenResponse, ProtocolError> {
    let now = state.now();
    let hash = secret_hash(refresh_token);
    let Some(current) = state.store.find_refresh(&hash).await? else {
        return Err(ProtocolError::invalid_grant("unknown refresh token"));
    };
    if current.client_id != client.client_id {
        return Err(ProtocolError::invalid_grant(
            "the refresh token was issued to another client",
        ));
    }
    // The client's registration may have been narrowed since the grant: never more than it
    // allows now.
    let scope = requested_scope(requested, &current.scope.intersection(&client.scope))?;
    // A locked or disabled account, or a sign-in ended by a sign-out everywhere, gets no fresh
    // tokens (TOK-13), and the token is not used up. Only an active token is checked here, so
    // a replayed rotated token still reaches reuse detection below.
    if current.status == RefreshStatus::Active
        && let Some(user) = state.store.get_user(current.user_id.as_str()).await?
    {
        refuse_locked_account(state, &user).await?;
        super::super::lifecycle::refuse_inactive_account(&user, current.auth_time)?;
    }
    let successor = RefreshToken::new(random_token()?);
    let new_rec = RefreshRecord {
        token_hash: secret_hash(successor.secret()),
        issued_at: now,
        expires_at: refresh_expiry(state, client, current.absolute_expires_at),
        status: RefreshStatus::Active,
        ..current.clone()
    };
    // The tokens are signed, and the token hooks asked, before the rotation: a hook that
    // fails or refuses then leaves the presented token unused, so the client's retry is not
    // taken for reuse. Only a token that can still be rotated (or retried within the grace
    // window) is worth signing for.
    let may_rotate = current.status == RefreshStatus::Active
        || (current.status == RefreshStatus::Rotated && client.refresh_grace_secs > 0);
    let user = if may_rotate {
        let Some(user) = state.store.get_user(current.user_id.as_str()).await? else {
            super::super::denylist::revoke_grant(state, &current.grant_id).await?;
            return Err(ProtocolError::invalid_grant("the user no longer exists"));
        };
        Some(user)
    } else {
        None
    };
    let issue = user.as_ref().map(|user| UserIssue {
        client,
        user,
        grant_id: &current.grant_id,
        scope: &scope,
        auth_time: current.auth_time,
        sid: current.sid.as_deref(),
        nonce: None,
        refresh: RefreshAction::Rotated(successor),
        grant_type: GrantType::RefreshToken,
        upstream: current.upstream.clone(),
    });
    let signed = match &issue {
        Some(issue) => Some(sign_user_tokens(state, issue).await?),
        None => None,
    };
    let mut outcome = state
        .store
        .rotate_refresh(&hash, new_rec.clone(), now)
        .await?;
    // The client's grace window (RT-5, opt-in): the same client presenting the token it just
    // rotated (a response lost on the way, a retry through another node) gets one working
    // refresh token beside the first successor; any other reuse revokes the family.
    if let RotateOutcome::Reused(old) = &outcome
        && old.status == RefreshStatus::Rotated
        && client.refresh_grace_secs > 0
    {
        let rotated_after = now.saturating_sub(client.refresh_grace_secs);
        let retry = state
            .store
            .retry_rotated_refresh(&hash, new_rec, rotated_after)
            .await?;
        if matches!(retry, RotateOutcome::Rotated(_)) {
            audit::refresh_grace_used(client.client_id.as_str(), &current.grant_id);
            outcome = retry;
        }
    }
    match outcome {
        RotateOutcome::Rotated(_) => {}
        RotateOutcome::Reused(old) => {
            super::super::denylist::revoke_grant(state, &old.grant_id).await?;
            // Only a rotated token presented again is reuse (RT-3); a revoked one (by itself
            // or with its grant) is named as such, so an operator is not sent hunting a replay.
            if old.status == RefreshStatus::Rotated {
                audit::reuse_detected("refresh_token", old.client_id.as_str(), &old.grant_id);
                return Err(ProtocolError::invalid_grant(
                    "the refresh token has already been used",
                ));
            }
            return Err(ProtocolError::invalid_grant(
                "the refresh token has been revoked",
            ));
        }
        RotateOutcome::Expired => {
            return Err(ProtocolError::invalid_grant(
                "the refresh token has expired",
            ));
        }
        RotateOutcome::NotFound => {
            return Err(ProtocolError::invalid_grant("unknown refresh token"));
        }
    }
    audit::refresh_rotated(client.client_id.as_str(), &current.grant_id);
    // A token that could not be rotated gives `Reused`, `Expired` or `NotFound` above; one that
    // was rotated was signed for.
    let (Some(issue), Some(signed)) = (issue, signed) else {
        return Err(ProtocolError::invalid_grant(
            "the refresh token has already been used",
        ));
    };
    record_user_tokens(state, issue, signed).await
}
