//! E-mail verification: a link mailed to the address of a new account (and again when the
//! account tries to sign in before verifying), which marks the address verified, so
//! `email_verified` in tokens becomes true and, when the server requires verification, the
//! account may sign in.
//!
//! The link names the account and the address it was sent to; an address changed meanwhile is
//! not verified by a link sent to the old one. Opening the link shows a page whose button
//! redeems it (a POST), so mail scanners that fetch links do not use it up.

use serde::{Deserialize, Serialize};

use super::{issue, letters, link, over_limit, peek, recipient_key, redeem};
use crate::domain::audit;
use crate::domain::error::ProtocolError;
use crate::i18n::Locale;
use crate::state::AppState;
use crate::store::{UserRecord, namespace};

/// What a verification link stands for.
#[derive(Debug, Serialize, Deserialize)]
struct Link {
    /// The account.
    user: String,
    /// The address the link was sent to.
    email: String,
}

/// The page a verification link opens.
pub(crate) const PATH: &str = "/register/verify";

/// Mails a verification link to `user`'s address, unless the address had its share of mail
/// within the throttle window. Returns whether a mail was queued. The mail is in `locale`: the
/// language of the page that asked.
pub(crate) async fn send(
    state: &AppState,
    user: &UserRecord,
    locale: Locale,
) -> Result<bool, ProtocolError> {
    let Some(email) = user.email.as_deref() else {
        return Ok(false);
    };
    if over_limit(state, &recipient_key(email)).await?.is_some() {
        return Ok(false);
    }
    let ttl = state.config.self_service.verification_ttl_secs;
    let payload = Link {
        user: user.id.as_str().to_owned(),
        email: email.to_owned(),
    };
    let token = issue(state, namespace::EMAIL_VERIFICATION, &payload, ttl).await?;
    let url = link(state, PATH, &token);
    Ok(state.mail.queue(letters::verification(
        locale,
        email,
        &state.config.issuer,
        &user.username,
        &url,
        ttl,
    )))
}

/// Stores a verification link that names no account and is never sent, so that a sign-up
/// with a taken address writes what a fresh one writes.
pub(crate) async fn decoy(state: &AppState) -> Result<(), ProtocolError> {
    let payload = Link {
        user: String::new(),
        email: String::new(),
    };
    let ttl = state.config.self_service.verification_ttl_secs;
    issue(state, namespace::EMAIL_VERIFICATION, &payload, ttl).await?;
    Ok(())
}

/// Whether `token` is an unused, unexpired verification link (nothing is used up).
pub(crate) async fn is_live(state: &AppState, token: &str) -> Result<bool, ProtocolError> {
    Ok(peek::<Link>(state, namespace::EMAIL_VERIFICATION, token)
        .await?
        .is_some())
}

/// How redeeming a verification link ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verified {
    /// The address is verified; the account may sign in.
    Done,
    /// Unknown, used, expired, or for an address the account no longer has.
    Invalid,
}

/// Redeems a verification link.
pub(crate) async fn verify(state: &AppState, token: &str) -> Result<Verified, ProtocolError> {
    let Some(link) = redeem::<Link>(state, namespace::EMAIL_VERIFICATION, token).await? else {
        return Ok(Verified::Invalid);
    };
    let Some(mut user) = state.store.get_user(&link.user).await? else {
        return Ok(Verified::Invalid);
    };
    if !user
        .email
        .as_deref()
        .is_some_and(|e| e.eq_ignore_ascii_case(&link.email))
    {
        return Ok(Verified::Invalid);
    }
    user.email_verified = true;
    user.verification_pending = false;
    let id = user.id.clone();
    state.store.put_user(user).await?;
    state.forget_users();
    audit::email_verified(id.as_str());
    Ok(Verified::Done)
}
