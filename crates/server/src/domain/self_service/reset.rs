//! Forgotten passwords: a reset link mailed to an address, and the new password set through it.
//!
//! Asking is answered the same whatever the address: "if an account uses it, a link is on its
//! way". The work is the same too: the address and the recipient are counted against the
//! throttle, the accounts looked up, and one link stored, a decoy that nobody receives when no
//! account has the address; the mail itself is queued for the background sender. Each
//! (enabled) account with the address gets its own link.
//!
//! A link works once, for `reset_ttl_secs` (default 30 minutes), and only while the account
//! still has the password it had when the link was made: a password changed meanwhile (or by
//! an earlier link) voids every other link. Setting the new password signs the account out
//! everywhere (every session, grant and token), clears its failed sign-ins, and marks its
//! address verified, since the link reached it.

use std::net::IpAddr;

use portcullis_types::secret::{Password, constant_time_eq};
use serde::{Deserialize, Serialize};

use super::{
    address_over_limit, issue, letters, link, over_limit, peek, plausible_email, recipient_key,
    redeem,
};
use crate::domain::audit;
use crate::domain::error::ProtocolError;
use crate::domain::lifecycle::{self, SignOutCause};
use crate::domain::login::account_throttle_key;
use crate::domain::password::{self, PolicyRefusal};
use crate::domain::secrets::derived;
use crate::i18n::Locale;
use crate::state::AppState;
use crate::store::{UserRecord, namespace};

/// The page that asks for an address.
pub(crate) const REQUEST_PATH: &str = "/password/forgot";
/// The page a reset link opens.
pub(crate) const PATH: &str = "/password/reset";

/// What a reset link stands for.
#[derive(Debug, Serialize, Deserialize)]
struct Link {
    /// The account (empty in a decoy).
    user: String,
    /// A digest of the account's password hash when the link was made.
    password: String,
}

/// The digest of a password hash a link is bound to.
fn fingerprint(user: &UserRecord) -> String {
    derived("password-reset", &user.password_hash)
}

/// How a reset request ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ResetRequest {
    /// "If an account uses this address, a link is on its way."
    Accepted,
    /// Too many requests from this client address: try again within this many seconds.
    Throttled {
        /// Seconds to wait at most.
        retry_after_secs: i64,
    },
}

/// Handles "forgot password" for `email` (see the module docs), mailing in `locale`.
#[tracing::instrument(skip_all)]
pub(crate) async fn request(
    state: &AppState,
    email: &str,
    addr: Option<IpAddr>,
    locale: Locale,
) -> Result<ResetRequest, ProtocolError> {
    if let Some(retry_after_secs) = address_over_limit(state, addr).await? {
        return Ok(ResetRequest::Throttled { retry_after_secs });
    }
    let email = email.trim();
    let plausible = plausible_email(email);
    let recipient_throttled = over_limit(state, &recipient_key(email)).await?.is_some();
    let users = if plausible {
        state.store.get_users_by_email(email).await?
    } else {
        Vec::new()
    };
    let ttl = state.config.self_service.reset_ttl_secs;
    let mut mailed = false;
    for user in users.iter().filter(|u| !u.disabled) {
        let payload = Link {
            user: user.id.as_str().to_owned(),
            password: fingerprint(user),
        };
        let token = issue(state, namespace::PASSWORD_RESET, &payload, ttl).await?;
        mailed = true;
        if recipient_throttled {
            continue;
        }
        let url = link(state, PATH, &token);
        let to = user.email.as_deref().unwrap_or(email);
        if state.mail.queue(letters::reset(
            locale,
            to,
            &state.config.issuer,
            &user.username,
            &url,
            ttl,
        )) {
            audit::password_reset_mailed(user.id.as_str());
        }
    }
    if !mailed {
        // The same store write as for an account, for a link no one receives.
        let decoy = Link {
            user: String::new(),
            password: String::new(),
        };
        issue(state, namespace::PASSWORD_RESET, &decoy, ttl).await?;
    }
    Ok(ResetRequest::Accepted)
}

/// The account an unused, unexpired reset link is for, if it still has the password the link
/// was made for (nothing is used up).
async fn live_user(state: &AppState, token: &str) -> Result<Option<UserRecord>, ProtocolError> {
    let Some(link) = peek::<Link>(state, namespace::PASSWORD_RESET, token).await? else {
        return Ok(None);
    };
    if link.user.is_empty() {
        return Ok(None);
    }
    let user = state.store.get_user(&link.user).await?;
    Ok(user.filter(|u| {
        !u.disabled && constant_time_eq(fingerprint(u).as_bytes(), link.password.as_bytes())
    }))
}

/// Whether `token` is a reset link that can still be used.
pub(crate) async fn is_live(state: &AppState, token: &str) -> Result<bool, ProtocolError> {
    Ok(live_user(state, token).await?.is_some())
}

/// How setting a new password through a link ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Reset {
    /// The password is set; everything signed in before is signed out.
    Done,
    /// Unknown, used, expired, or voided by a password change.
    Invalid,
    /// The two passwords differ (the link stays usable).
    Mismatch,
    /// The policy refuses the password (the link stays usable).
    Policy(PolicyRefusal),
}

/// Sets the password of the account of the link `token` to `new` (typed twice).
#[tracing::instrument(skip_all)]
pub(crate) async fn reset(
    state: &AppState,
    token: &str,
    new: Password,
    repeated: &Password,
    addr: Option<IpAddr>,
) -> Result<Reset, ProtocolError> {
    let Some(mut user) = live_user(state, token).await? else {
        return Ok(Reset::Invalid);
    };
    if !constant_time_eq(new.secret().as_bytes(), repeated.secret().as_bytes()) {
        return Ok(Reset::Mismatch);
    }
    let policy = &state.config.self_service.password_policy;
    if let Err(refusal) = password::check(policy, &new, &user.username) {
        return Ok(Reset::Policy(refusal));
    }
    let hash = state.passwords.hash(new, addr).await?;
    // Used up here, once: of two submissions racing with the same link, one sets the password.
    let Some(link) = redeem::<Link>(state, namespace::PASSWORD_RESET, token).await? else {
        return Ok(Reset::Invalid);
    };
    if link.user != user.id.as_str() {
        return Ok(Reset::Invalid);
    }
    user.password_hash = hash;
    if user.email.is_some() {
        user.email_verified = true;
    }
    user.verification_pending = false;
    let (user, _) = lifecycle::sign_out_user(state, user, SignOutCause::PasswordReset).await?;
    state
        .store
        .clear_login_failures(&account_throttle_key(&user.username))
        .await?;
    audit::password_reset(user.id.as_str());
    Ok(Reset::Done)
}
