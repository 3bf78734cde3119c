//! Username/password sign-in with throttling per account and per client address (DOS-4): after
//! N failures in the window, further attempts for that key are refused without checking.

use std::net::IpAddr;

use portcullis_types::secret::Password;

use super::audit;
use super::error::ProtocolError;
use crate::state::AppState;
use crate::store::UserRecord;

/// The throttle key of an account: every path that counts or checks failed sign-ins of a user
/// (the sign-in form, and grants refusing a locked account) uses this one spelling.
pub(crate) fn account_throttle_key(username: &str) -> String {
    format!("user:{}", username.to_lowercase())
}

fn throttle_keys(username: &str, addr: Option<IpAddr>) -> Vec<String> {
    let mut keys = vec![account_throttle_key(username)];
    if let Some(ip) = addr {
        keys.push(format!("addr:{ip}"));
    }
    keys
}

/// Checks a username and password. `Ok(None)` for any failure (unknown user, wrong password,
/// throttled) so callers can show one generic message.
#[tracing::instrument(skip_all)]
pub async fn authenticate_user(
    state: &AppState,
    username: &str,
    password: Password,
    addr: Option<IpAddr>,
) -> Result<Option<UserRecord>, ProtocolError> {
    let now = state.now();
    let limits = state.config.login_throttle;
    let keys = throttle_keys(username, addr);
    let addr_text = addr.map(|a| a.to_string());
    for key in &keys {
        let failures = state
            .store
            .login_failures(key, now, limits.window_secs)
            .await?;
        if failures >= limits.max_failures {
            audit::login_failed(username, addr_text.as_deref(), true);
            return Ok(None);
        }
    }
    let user = state.store.get_user_by_username(username).await?;
    let phc = user.as_ref().map(|u| u.password_hash.clone());
    let ok = state.passwords.verify(password, phc, addr).await?;
    match user {
        Some(user) if ok => {
            if let Some(key) = keys.first() {
                state.store.clear_login_failures(key).await?;
            }
            audit::login_succeeded(&user.id, &user.username);
            Ok(Some(user))
        }
        _ => {
            for key in &keys {
                state
                    .store
                    .record_login_failure(key, now, limits.window_secs)
                    .await?;
            }
            audit::login_failed(username, addr_text.as_deref(), false);
            Ok(None)
        }
    }
}
