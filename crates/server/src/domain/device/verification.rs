//! The user's side (RFC 8628 §3.3): looking up a typed user code for the approval page and
//! recording the decision, with wrong guesses throttled per user and per address (§5.1).

use std::net::IpAddr;

use portcullis_types::{ErrorCode, Scope};

use super::user_code::{display_user_code, normalize_user_code, user_code_key};
use super::{
    CAS_ATTEMPTS, DeviceGrant, DeviceStatus, UserCodeEntry, from_json, load_grant, swap_grant,
};
use crate::domain::consent;
use crate::domain::error::ProtocolError;
use crate::state::AppState;
use crate::store::{ClientRecord, StoreError, namespace};

/// Why a user code cannot be acted on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum UserCodeError {
    /// Too many wrong codes from this user or address recently; nothing was looked up.
    Throttled,
    /// Not a live user code (mistyped, expired or already decided).
    Unknown,
    /// An internal failure (already logged).
    Internal(ProtocolError),
}

impl From<ProtocolError> for UserCodeError {
    fn from(e: ProtocolError) -> Self {
        Self::Internal(e)
    }
}

impl From<StoreError> for UserCodeError {
    fn from(e: StoreError) -> Self {
        Self::Internal(e.into())
    }
}

/// A pending request as the approval page shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PendingRequest {
    /// The code in display form.
    pub user_code: String,
    /// The client asking.
    pub client: ClientRecord,
    /// The scope it asks for.
    pub scope: Scope,
}

/// The throttle keys of user-code guesses: per user and per client address.
fn guess_keys(user_id: &str, addr: Option<IpAddr>) -> Vec<String> {
    let mut keys = vec![format!("device_user_code:user:{user_id}")];
    if let Some(ip) = addr {
        keys.push(format!("device_user_code:addr:{ip}"));
    }
    keys
}

/// Counts this guess against every key before the code is looked up, each count one atomic
/// store step (DOS-4), so concurrent guesses cannot all pass the limit; past it the guess is
/// withdrawn again and refused unchecked.
async fn check_guess_throttle(
    state: &AppState,
    keys: &[String],
    now: i64,
) -> Result<(), UserCodeError> {
    let limits = state.config.login_throttle;
    for (counted, key) in keys.iter().enumerate() {
        let attempts = state
            .store
            .register_attempt(key, now, limits.window_secs)
            .await?;
        if attempts > limits.max_failures {
            release_guess(state, keys.get(..=counted).unwrap_or(keys), now).await?;
            return Err(UserCodeError::Throttled);
        }
    }
    Ok(())
}

/// Withdraws a guess counted by [`check_guess_throttle`] that named a real code.
async fn release_guess(state: &AppState, keys: &[String], now: i64) -> Result<(), UserCodeError> {
    for key in keys {
        state.store.release_attempt(key, now).await?;
    }
    Ok(())
}

/// A wrong guess: [`check_guess_throttle`] already counted it against the keys.
fn guess_failed<T>() -> Result<T, UserCodeError> {
    tracing::warn!(target: "audit", event = "device_user_code_unknown");
    Err(UserCodeError::Unknown)
}

/// Looks up what a user typed for the approval page. Unknown codes count against the user and
/// the address; past the login-throttle limit nothing is looked up (RFC 8628 §5.1).
pub(crate) async fn lookup(
    state: &AppState,
    user_id: &str,
    addr: Option<IpAddr>,
    input: &str,
) -> Result<PendingRequest, UserCodeError> {
    let now = state.now();
    let keys = guess_keys(user_id, addr);
    check_guess_throttle(state, &keys, now).await?;
    let Some(canonical) = normalize_user_code(input) else {
        return guess_failed();
    };
    let Some(text) = state
        .store
        .get_artifact(namespace::USER_CODE, &user_code_key(&canonical), now)
        .await?
    else {
        return guess_failed();
    };
    release_guess(state, &keys, now).await?;
    let entry: UserCodeEntry = from_json(&text)?;
    let Some(client) = state.client(entry.client_id.as_str()).await? else {
        return Err(UserCodeError::Unknown);
    };
    Ok(PendingRequest {
        user_code: display_user_code(&canonical),
        client: (*client).clone(),
        scope: entry.scope,
    })
}

/// The user's answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Decision {
    /// Let the device in.
    Approve,
    /// Refuse.
    Deny,
}

/// Records the signed-in user's decision on a user code. The user code is taken first, so one
/// decision wins; the device code then moves from pending to approved or denied. Approval also
/// records the user's consent for the client. Returns the client the decision was for.
pub(crate) async fn decide(
    state: &AppState,
    user_id: &str,
    auth_time: i64,
    addr: Option<IpAddr>,
    input: &str,
    decision: Decision,
) -> Result<portcullis_types::ClientId, UserCodeError> {
    let now = state.now();
    let keys = guess_keys(user_id, addr);
    check_guess_throttle(state, &keys, now).await?;
    let Some(canonical) = normalize_user_code(input) else {
        return guess_failed();
    };
    let Some(text) = state
        .store
        .take_artifact(namespace::USER_CODE, &user_code_key(&canonical), now)
        .await?
    else {
        return guess_failed();
    };
    release_guess(state, &keys, now).await?;
    let entry: UserCodeEntry = from_json(&text)?;
    let status = match decision {
        Decision::Approve => DeviceStatus::Approved {
            user_id: user_id.to_owned(),
            auth_time,
        },
        Decision::Deny => DeviceStatus::Denied,
    };
    for _ in 0..CAS_ATTEMPTS {
        let Some((current_text, current)) = load_grant(state, &entry.device_code_hash, now).await?
        else {
            return Err(UserCodeError::Unknown);
        };
        if current.status != DeviceStatus::Pending || now >= current.expires_at {
            return Err(UserCodeError::Unknown);
        }
        let next = DeviceGrant {
            status: status.clone(),
            ..current.clone()
        };
        if swap_grant(state, &entry.device_code_hash, &current_text, &next, now).await? {
            if decision == Decision::Approve {
                consent::grant(state, user_id, entry.client_id.as_str(), &entry.scope).await?;
            }
            tracing::info!(
                target: "audit",
                event = "device_decision",
                user_id,
                client_id = %entry.client_id,
                approved = decision == Decision::Approve
            );
            return Ok(entry.client_id);
        }
    }
    Err(UserCodeError::Internal(ProtocolError::new(
        ErrorCode::TemporarilyUnavailable,
        "the device code is busy; try again",
    )))
}
