//! What a signed-in user can do to their own account beyond the granted applications: sign out
//! everywhere, change the password, and delete the account.
//!
//! A password change needs the current password, checked through the login throttle exactly
//! like the sign-in form (a wrong one counts as a failed sign-in of the account and the
//! address, and a locked account is refused without checking), and the new one twice, held to
//! the policy of `users add`. The new hash is made on the bounded hashing workers. The change
//! then signs the user out everywhere ([`lifecycle`]): every other browser, every refresh token
//! and every access token issued so far. The browser that made the change gets a fresh session
//! right away, so the person who just proved they know both passwords is not sent to sign in
//! again; a stolen cookie for the old session is dead.
//!
//! Deleting the account asks for the current password again (through the same throttle), or,
//! for an account that has none (it signs in only through an upstream provider), the username
//! typed out. It then signs the user out everywhere, withdraws every consent and removes the
//! record; the user id is never given to anyone else.

use std::net::IpAddr;

use portcullis_types::secret::Password;

use super::audit;
use super::error::ProtocolError;
use super::lifecycle::{self, SignOutCause, SignOutReport};
use super::login::{self, SignInCheck};
use super::password::{self, PolicyRefusal};
use crate::state::AppState;
use crate::store::UserRecord;

/// The outcome of a password change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PasswordChange {
    /// Changed; everything issued before was revoked.
    Changed(SignOutReport),
    /// The current password is wrong (counted as a failed sign-in).
    WrongCurrent,
    /// Too many failed sign-ins of the account or the address: not checked.
    Throttled {
        /// Seconds to wait at most.
        retry_after_secs: i64,
    },
    /// The two copies of the new password differ.
    Mismatch,
    /// The password policy refuses the new password.
    Refused(PolicyRefusal),
}

/// Changes the password of `user` (the signed-in user) from `current` to `new` (typed twice,
/// `new` and `repeated`). Nothing is checked or counted when the new password is unusable.
pub(crate) async fn change_password(
    state: &AppState,
    user: &UserRecord,
    current: Password,
    new: Password,
    repeated: &Password,
    addr: Option<IpAddr>,
) -> Result<PasswordChange, ProtocolError> {
    if !portcullis_types::secret::constant_time_eq(
        new.secret().as_bytes(),
        repeated.secret().as_bytes(),
    ) {
        return Ok(PasswordChange::Mismatch);
    }
    if let Err(refusal) = password::check(
        &state.config.self_service.password_policy,
        &new,
        &user.username,
    ) {
        return Ok(PasswordChange::Refused(refusal));
    }
    let mut checked = match login::authenticate_user(state, &user.username, current, addr).await? {
        SignInCheck::SignedIn(checked) if checked.id == user.id => *checked,
        SignInCheck::Throttled { retry_after_secs } => {
            return Ok(PasswordChange::Throttled { retry_after_secs });
        }
        // A disabled account has no session to get here with; another user of the same name
        // would mean the account was replaced meanwhile.
        _ => return Ok(PasswordChange::WrongCurrent),
    };
    checked.password_hash = state.passwords.hash(new, addr).await?;
    let (_, report) =
        lifecycle::sign_out_user(state, checked, SignOutCause::PasswordChanged).await?;
    Ok(PasswordChange::Changed(report))
}

/// Signs the signed-in user out everywhere, this browser included.
pub(crate) async fn sign_out_everywhere(
    state: &AppState,
    user: UserRecord,
) -> Result<SignOutReport, ProtocolError> {
    let (_, report) =
        lifecycle::sign_out_user(state, user, SignOutCause::SignOutEverywhere).await?;
    Ok(report)
}

/// The outcome of deleting an account.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Deletion {
    /// Deleted; everything the account held was revoked.
    Deleted(SignOutReport),
    /// The password (or, for an account without one, the username) did not match.
    NotConfirmed,
    /// Too many failed sign-ins of the account or the address: not checked.
    Throttled {
        /// Seconds to wait at most.
        retry_after_secs: i64,
    },
}

/// Deletes the signed-in `user`'s account once `confirmation` proves it is them (see the module
/// docs).
pub(crate) async fn delete_account(
    state: &AppState,
    user: UserRecord,
    confirmation: Password,
    addr: Option<IpAddr>,
) -> Result<Deletion, ProtocolError> {
    let user = if user.password_hash.is_empty() {
        if !portcullis_types::secret::constant_time_eq(
            confirmation.secret().as_bytes(),
            user.username.as_bytes(),
        ) {
            return Ok(Deletion::NotConfirmed);
        }
        user
    } else {
        match login::authenticate_user(state, &user.username, confirmation, addr).await? {
            SignInCheck::SignedIn(checked) if checked.id == user.id => *checked,
            SignInCheck::Throttled { retry_after_secs } => {
                return Ok(Deletion::Throttled { retry_after_secs });
            }
            _ => return Ok(Deletion::NotConfirmed),
        }
    };
    let (user, report) =
        lifecycle::sign_out_user(state, user, SignOutCause::AccountDeleted).await?;
    let now = state.now();
    for consent in state.store.list_consents(user.id.as_str()).await? {
        state
            .store
            .withdraw_consent(user.id.as_str(), consent.client_id.as_str(), now)
            .await?;
    }
    state.store.delete_user(user.id.as_str()).await?;
    state.forget_users();
    audit::account_deleted(user.id.as_str(), &user.username);
    Ok(Deletion::Deleted(report))
}
