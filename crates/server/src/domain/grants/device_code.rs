//! The device-code grant (RFC 8628 §3.4–3.5): polling answers `authorization_pending`,
//! `slow_down` (polled faster than the interval; the interval then grows by 5 s),
//! `access_denied` or `expired_token`; an approved code is redeemed exactly once.

use portcullis_types::GrantType;
use portcullis_types::{ErrorCode, TokenResponse};

use super::super::device::{self, DeviceGrant, DeviceStatus, SLOW_DOWN_STEP};
use super::super::error::ProtocolError;
use super::super::secrets::{random_id, secret_hash};
use super::{RefreshAction, UserIssue, issue_user_tokens};
use crate::state::AppState;
use crate::store::{ClientRecord, GrantRecord, UserRecord, namespace};

/// Polls made by one device at the same instant retry the swap at most this often.
const POLL_ATTEMPTS: usize = 4;

/// Refuses to mint tokens for an account the login throttle currently locks (TOK-13): the same
/// per-account key and limits as the sign-in form, so a locked account cannot be used through a
/// grant that was started before the lock.
pub(crate) async fn refuse_locked_account(
    state: &AppState,
    user: &UserRecord,
) -> Result<(), ProtocolError> {
    let limits = state.config.login_throttle;
    let key = super::super::login::account_throttle_key(&user.username);
    let failures = state
        .store
        .login_failures(&key, state.now(), limits.window_secs)
        .await?;
    if failures >= limits.max_failures {
        return Err(ProtocolError::invalid_grant(
            "the account is temporarily locked",
        ));
    }
    Ok(())
}

/// Answers one poll of `device_code` by `client`.
pub(crate) async fn exchange(
    state: &AppState,
    client: &ClientRecord,
    device_code: &str,
) -> Result<TokenResponse, ProtocolError> {
    let now = state.now();
    let key = secret_hash(device_code);
    for _ in 0..POLL_ATTEMPTS {
        let Some((text, grant)) = device::load_grant(state, &key, now).await? else {
            return Err(ProtocolError::invalid_grant("unknown device code"));
        };
        if grant.client_id != client.client_id {
            return Err(ProtocolError::invalid_grant(
                "the device code was issued to another client",
            ));
        }
        if now >= grant.expires_at {
            return Err(ProtocolError::new(
                ErrorCode::ExpiredToken,
                "the device code has expired",
            ));
        }
        match &grant.status {
            DeviceStatus::Denied => {
                return Err(ProtocolError::new(
                    ErrorCode::AccessDenied,
                    "the user denied the request",
                ));
            }
            DeviceStatus::Pending => {
                let too_fast = grant
                    .last_poll
                    .is_some_and(|last| now < last.saturating_add(grant.interval));
                let next = DeviceGrant {
                    last_poll: Some(now),
                    interval: if too_fast {
                        grant.interval.saturating_add(SLOW_DOWN_STEP)
                    } else {
                        grant.interval
                    },
                    ..grant.clone()
                };
                if device::swap_grant(state, &key, &text, &next, now).await? {
                    return Err(if too_fast {
                        ProtocolError::new(ErrorCode::SlowDown, "polling too fast")
                    } else {
                        ProtocolError::new(
                            ErrorCode::AuthorizationPending,
                            "the user has not answered yet",
                        )
                    });
                }
            }
            DeviceStatus::Approved { .. } => {
                return match state
                    .store
                    .take_artifact(namespace::DEVICE_CODE, &key, now)
                    .await?
                {
                    Some(taken) if taken == text => redeem(state, client, &grant).await,
                    _ => Err(ProtocolError::invalid_grant(
                        "the device code has already been used",
                    )),
                };
            }
        }
    }
    Err(ProtocolError::new(
        ErrorCode::SlowDown,
        "the device code was polled concurrently",
    ))
}

/// Issues the tokens of an approved device code that this call alone has taken.
async fn redeem(
    state: &AppState,
    client: &ClientRecord,
    grant: &DeviceGrant,
) -> Result<TokenResponse, ProtocolError> {
    let DeviceStatus::Approved { user_id, auth_time } = &grant.status else {
        return Err(ProtocolError::invalid_grant(
            "the device code is not approved",
        ));
    };
    let Some(user) = state.store.get_user(user_id).await? else {
        return Err(ProtocolError::invalid_grant("the user no longer exists"));
    };
    refuse_locked_account(state, &user).await?;
    let now = state.now();
    let scope = grant.scope.clone();
    let grant_id = random_id()?;
    state
        .store
        .insert_grant(GrantRecord {
            id: grant_id.clone(),
            client_id: client.client_id.clone(),
            user_id: user.id.clone(),
            scope: scope.clone(),
            auth_time: *auth_time,
            sid: None,
            created_at: now,
            revoked_at: None,
        })
        .await?;
    let refresh = RefreshAction::for_new_grant(state, client, now);
    issue_user_tokens(
        state,
        UserIssue {
            client,
            user: &user,
            grant_id: &grant_id,
            scope: &scope,
            auth_time: *auth_time,
            sid: None,
            nonce: None,
            refresh,
            grant_type: GrantType::DeviceCode,
            upstream: None,
        },
    )
    .await
}
