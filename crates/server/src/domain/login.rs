//! Username/password sign-in with throttling per account and per client address (DOS-4): after
//! N failures in the window, further attempts for that key are refused without checking; the
//! count and the decision are one atomic store step per key.

use std::net::IpAddr;

use portcullis_types::secret::Password;

use super::audit;
use super::error::ProtocolError;
use crate::config::ThrottleSettings;
use crate::state::AppState;
use crate::store::UserRecord;

/// The throttle key of an account: every path that counts or checks failed sign-ins of a user
/// (the sign-in form, and grants refusing a locked account) uses this one spelling.
pub(crate) fn account_throttle_key(username: &str) -> String {
    format!("user:{}", username.to_lowercase())
}

/// The throttle key of a client address.
pub(crate) fn address_throttle_key(addr: IpAddr) -> String {
    format!("addr:{addr}")
}

/// The keys an attempt counts against, each with its limits: the account's, then the address's.
fn throttle_keys(
    state: &AppState,
    username: &str,
    addr: Option<IpAddr>,
) -> Vec<(String, ThrottleSettings)> {
    let mut keys = vec![(account_throttle_key(username), state.config.login_throttle)];
    if let Some(ip) = addr {
        keys.push((
            address_throttle_key(ip),
            state.config.login_address_throttle,
        ));
    }
    keys
}

/// A wait for people: "N minutes" (rounded up), or "N seconds" under a minute.
pub(crate) fn wait_text(secs: i64) -> String {
    match Wait::from_secs(secs) {
        Wait::Seconds(s) => format!("{s} second{}", if s == 1 { "" } else { "s" }),
        Wait::Minutes(m) => format!("{m} minute{}", if m == 1 { "" } else { "s" }),
    }
}

/// A wait as it is told to a person: seconds under a minute, else whole minutes rounded up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Wait {
    /// 1 to 59 seconds.
    Seconds(i64),
    /// Whole minutes, rounded up.
    Minutes(i64),
}

impl Wait {
    /// Rounds `secs` (at least one second).
    pub(crate) fn from_secs(secs: i64) -> Self {
        match secs.max(1) {
            s if s < 60 => Self::Seconds(s),
            s => Self::Minutes(s.saturating_add(59) / 60),
        }
    }
}

/// How a sign-in attempt ended.
#[derive(Debug)]
pub(crate) enum SignInCheck {
    /// The password is right.
    SignedIn(Box<UserRecord>),
    /// The user is unknown or the password wrong (one answer, so as not to reveal which).
    Wrong,
    /// The password is right but the account is disabled. Only someone who knows the password
    /// learns this; to everyone else a disabled account answers [`SignInCheck::Wrong`] like
    /// any other. The attempt stays counted: it signed no one in.
    Disabled,
    /// The password is right but the account was made on the sign-up page and its address is
    /// not verified yet, while the server requires that. Told only to who typed the password;
    /// the attempt counts as a success for the throttle.
    Unverified(Box<UserRecord>),
    /// Refused without checking: the account or the address had too many failures. The lock
    /// ends at the latest this many seconds from now (one window after the last failure).
    Throttled {
        /// Seconds to wait at most.
        retry_after_secs: i64,
    },
}

/// What checking a password found, before the throttle's bookkeeping.
#[derive(Debug)]
pub(crate) enum Verdict {
    /// The password is right and the account enabled.
    Right(Box<UserRecord>),
    /// The password is right but the account is disabled.
    RightButDisabled,
    /// Unknown user or wrong password.
    Wrong,
}

/// Checks a username and password against the local accounts.
#[tracing::instrument(skip_all)]
pub(crate) async fn authenticate_user(
    state: &AppState,
    username: &str,
    password: Password,
    addr: Option<IpAddr>,
) -> Result<SignInCheck, ProtocolError> {
    let checked = throttled(state, username, addr, async {
        let user = state.store.get_user_by_username(username).await?;
        let phc = user.as_ref().map(|u| u.password_hash.clone());
        let ok = state.passwords.verify(password, phc, addr).await?;
        Ok::<_, ProtocolError>(match user {
            Some(user) if ok && user.disabled => Verdict::RightButDisabled,
            Some(user) if ok => Verdict::Right(Box::new(user)),
            _ => Verdict::Wrong,
        })
    })
    .await?;
    if let SignInCheck::SignedIn(user) = &checked {
        audit::login_succeeded(user.id.as_str(), &user.username);
    }
    Ok(checked)
}

/// Runs the password check `check` for `username` from `addr` under the sign-in throttle (the
/// local form and directory upstreams alike).
///
/// The attempt is counted against every throttle key *before* the password is looked at, each
/// count one atomic store step (DOS-4): of N concurrent guesses exactly the limit get verified,
/// however they interleave. A refused attempt is withdrawn again (it was not checked, so it is
/// no failure, and the lock ends one window after the last real failure); so is one whose check
/// failed (`Err`: nothing was decided). A successful one clears the account's failures and is
/// withdrawn from the address count. The address's own failures stay: clearing them on success
/// would let anyone with one account spray guesses at every other account from one address
/// without end, one sign-in of their own per window.
pub(crate) async fn throttled<E: From<crate::store::StoreError>>(
    state: &AppState,
    username: &str,
    addr: Option<IpAddr>,
    check: impl Future<Output = Result<Verdict, E>>,
) -> Result<SignInCheck, E> {
    let now = state.now();
    let keys = throttle_keys(state, username, addr);
    let addr_text = addr.map(|a| a.to_string());
    for (counted, (key, limits)) in keys.iter().enumerate() {
        let attempts = state
            .store
            .register_attempt(key, now, limits.window_secs)
            .await?;
        if attempts > limits.max_failures {
            for (key, _) in keys.iter().take(counted + 1) {
                state.store.release_attempt(key, now).await?;
            }
            audit::login_failed(username, addr_text.as_deref(), true);
            return Ok(SignInCheck::Throttled {
                retry_after_secs: limits.window_secs,
            });
        }
    }
    let verdict = match check.await {
        Ok(verdict) => verdict,
        // Nothing was checked (the hashing workers were saturated, the store or the directory
        // failed): the attempt must not count against the account or the address.
        Err(e) => {
            for (key, _) in &keys {
                state.store.release_attempt(key, now).await?;
            }
            return Err(e);
        }
    };
    match verdict {
        Verdict::RightButDisabled => {
            audit::login_failed(username, addr_text.as_deref(), false);
            Ok(SignInCheck::Disabled)
        }
        Verdict::Right(user) => {
            if let Some(((account, _), others)) = keys.split_first() {
                state.store.clear_login_failures(account).await?;
                for (key, _) in others {
                    state.store.release_attempt(key, now).await?;
                }
            }
            // A directory account is never one made on the sign-up page: only local ones wait.
            if user.verification_pending && state.config.self_service.verification_required() {
                return Ok(SignInCheck::Unverified(user));
            }
            Ok(SignInCheck::SignedIn(user))
        }
        // The attempt already counts as the failure.
        Verdict::Wrong => {
            audit::login_failed(username, addr_text.as_deref(), false);
            Ok(SignInCheck::Wrong)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::wait_text;

    #[test]
    fn waits_are_told_in_whole_minutes_or_seconds() {
        assert_eq!(wait_text(1), "1 second");
        assert_eq!(wait_text(0), "1 second");
        assert_eq!(wait_text(-5), "1 second");
        assert_eq!(wait_text(59), "59 seconds");
        assert_eq!(wait_text(60), "1 minute");
        assert_eq!(wait_text(61), "2 minutes");
        assert_eq!(wait_text(900), "15 minutes");
    }
}
