//! What a signed-in user can do to their own account beyond the granted applications: sign out
//! everywhere, and change the password.
//!
//! A password change needs the current password, checked through the login throttle exactly
//! like the sign-in form (a wrong one counts as a failed sign-in of the account and the
//! address, and a locked account is refused without checking), and the new one twice, held to
//! the policy of `users add`. The new hash is made on the bounded hashing workers. The change
//! then signs the user out everywhere ([`lifecycle`]): every other browser, every refresh token
//! and every access token issued so far. The browser that made the change gets a fresh session
//! right away, so the person who just proved they know both passwords is not sent to sign in
//! again; a stolen cookie for the old session is dead.

use std::net::IpAddr;

use portcullis_types::secret::Password;

use super::error::ProtocolError;
use super::lifecycle::{self, SignOutCause, SignOutReport};
use super::login::{self, SignInCheck};
use super::password;
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
    /// The new password is shorter than the policy allows.
    TooShort,
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
    if password::too_short(&new) {
        return Ok(PasswordChange::TooShort);
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
