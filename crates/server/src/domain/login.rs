//! Username/password sign-in with throttling per account and per client address (DOS-4): after
//! N failures in the window, further attempts for that key are refused without checking; the
//! count and the decision are one atomic store step per key.

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
///
/// The attempt is counted against every throttle key *before* the password is looked at, each
/// count one atomic store step (DOS-4): of N concurrent guesses exactly the limit get verified,
/// however they interleave. A refused attempt is withdrawn again (it was not checked, so it is
/// no failure, and the lock ends one window after the last real failure); a successful one
/// clears the account's failures and is withdrawn from the address count.
#[tracing::instrument(skip_all)]
pub(crate) async fn authenticate_user(
    state: &AppState,
    username: &str,
    password: Password,
    addr: Option<IpAddr>,
) -> Result<Option<UserRecord>, ProtocolError> {
    let now = state.now();
    let limits = state.config.login_throttle;
    let keys = throttle_keys(username, addr);
    let addr_text = addr.map(|a| a.to_string());
    for (counted, key) in keys.iter().enumerate() {
        let attempts = state
            .store
            .register_attempt(key, now, limits.window_secs)
            .await?;
        if attempts > limits.max_failures {
            for key in keys.iter().take(counted + 1) {
                state.store.release_attempt(key, now).await?;
            }
            audit::login_failed(username, addr_text.as_deref(), true);
            return Ok(None);
        }
    }
    let checked = async {
        let user = state.store.get_user_by_username(username).await?;
        let phc = user.as_ref().map(|u| u.password_hash.clone());
        let ok = state.passwords.verify(password, phc, addr).await?;
        Ok::<_, ProtocolError>((user, ok))
    }
    .await;
    let (user, ok) = match checked {
        Ok(checked) => checked,
        // Nothing was checked (the hashing workers were saturated, or the store failed): the
        // attempt must not count against the account or the address.
        Err(e) => {
            for key in &keys {
                state.store.release_attempt(key, now).await?;
            }
            return Err(e);
        }
    };
    match user {
        Some(user) if ok => {
            if let Some((account, others)) = keys.split_first() {
                state.store.clear_login_failures(account).await?;
                for key in others {
                    state.store.release_attempt(key, now).await?;
                }
            }
            audit::login_succeeded(user.id.as_str(), &user.username);
            Ok(Some(user))
        }
        // The attempt already counts as the failure.
        _ => {
            audit::login_failed(username, addr_text.as_deref(), false);
            Ok(None)
        }
    }
}
