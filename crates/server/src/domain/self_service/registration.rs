//! Sign-up: anyone may create an account with a username, an e-mail address and a password
//! held to the policy, when the deployment turns registration on.
//!
//! When verification is required (`verify_email`, the default), the account cannot sign in
//! until its owner opens the link mailed to the address, and the answer is "check your mail"
//! whether or not the address already had an account: the owner of an address that has one is
//! told by mail that someone tried, and no second account is made. The password is hashed in
//! both cases, so the two take the same time. A username that is taken is said so (names are
//! chosen to be seen; Keycloak and Zitadel do the same). Without verification the account can
//! sign in at once and its address stays unverified until a mailed link is opened.

use std::net::IpAddr;

use portcullis_types::secret::{Password, constant_time_eq};

use super::{
    address_over_limit, letters, over_limit, plausible_email, recipient_key, verification,
};
use crate::domain::audit;
use crate::domain::error::ProtocolError;
use crate::domain::password::{self, PolicyRefusal};
use crate::domain::secrets::random_id;
use crate::i18n::Locale;
use crate::state::AppState;
use crate::store::{StoreError, UserRecord};

/// The longest username (as for `users add`).
pub(crate) const MAX_USERNAME_LEN: usize = 128;

/// Whether `username` may name an account: 1 to 128 characters, none of them a control
/// character or surrounding whitespace.
pub(crate) fn valid_username(username: &str) -> bool {
    !username.is_empty()
        && username.chars().count() <= MAX_USERNAME_LEN
        && !username.chars().any(char::is_control)
        && username.trim() == username
}

/// What the sign-up form asks for.
#[derive(Debug)]
pub(crate) struct SignUp<'a> {
    /// The username asked for.
    pub username: &'a str,
    /// The e-mail address.
    pub email: &'a str,
    /// The password.
    pub password: Password,
    /// The password typed again.
    pub repeated: Password,
}

/// How a sign-up ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Registration {
    /// Done, or the address already had an account: "check your mail" either way.
    CheckMail,
    /// The account was made and may sign in now (no verification required).
    SignedUp,
    /// The username is not allowed.
    InvalidUsername,
    /// The address is not one mail can be sent to.
    InvalidEmail,
    /// The username is taken.
    UsernameTaken,
    /// The two passwords differ.
    Mismatch,
    /// The password policy refuses the password.
    Policy(PolicyRefusal),
    /// Too many sign-ups from this address: try again within this many seconds.
    Throttled {
        /// Seconds to wait at most.
        retry_after_secs: i64,
    },
}

/// Signs a new user up (see the module docs); `addr` is the client address, `locale` the
/// language of its mail.
#[tracing::instrument(skip_all)]
pub(crate) async fn register(
    state: &AppState,
    form: SignUp<'_>,
    addr: Option<IpAddr>,
    locale: Locale,
) -> Result<Registration, ProtocolError> {
    let username = form.username;
    let email = form.email.trim();
    if !valid_username(username) {
        return Ok(Registration::InvalidUsername);
    }
    if !plausible_email(email) {
        return Ok(Registration::InvalidEmail);
    }
    if !constant_time_eq(
        form.password.secret().as_bytes(),
        form.repeated.secret().as_bytes(),
    ) {
        return Ok(Registration::Mismatch);
    }
    let settings = &state.config.self_service;
    if let Err(refusal) = password::check(&settings.password_policy, &form.password, username) {
        return Ok(Registration::Policy(refusal));
    }
    if let Some(retry_after_secs) = address_over_limit(state, addr).await? {
        return Ok(Registration::Throttled { retry_after_secs });
    }
    if state.store.get_user_by_username(username).await?.is_some() {
        return Ok(Registration::UsernameTaken);
    }
    let password_hash = state.passwords.hash(form.password, addr).await?;
    let required = settings.verification_required();
    if required && !state.store.get_users_by_email(email).await?.is_empty() {
        // The store write a fresh sign-up makes for its link, for a link no one receives.
        verification::decoy(state).await?;
        if over_limit(state, &recipient_key(email)).await?.is_none() {
            let reset = settings
                .reset_offered()
                .then(|| state.config.endpoint(super::reset::REQUEST_PATH));
            state.mail.queue(letters::already_registered(
                locale,
                email,
                &state.config.issuer,
                reset.as_deref(),
            ));
        }
        return Ok(Registration::CheckMail);
    }
    let user = UserRecord {
        id: format!("u_{}", random_id()?).into(),
        username: username.to_owned(),
        email: Some(email.to_owned()),
        email_verified: false,
        name: None,
        password_hash,
        roles: Vec::new(),
        groups: Vec::new(),
        attributes: Default::default(),
        disabled: false,
        tokens_not_before: None,
        verification_pending: required,
        created_at: state.now(),
    };
    match state.store.put_user(user.clone()).await {
        Ok(()) => {}
        // Taken by a sign-up racing this one.
        Err(StoreError::Conflict(_)) => return Ok(Registration::UsernameTaken),
        Err(e) => return Err(e.into()),
    }
    audit::account_registered(user.id.as_str(), &user.username, required);
    if settings.smtp.is_some() {
        verification::send(state, &user, locale).await?;
    }
    Ok(if required {
        Registration::CheckMail
    } else {
        Registration::SignedUp
    })
}

#[cfg(test)]
mod tests {
    use super::valid_username;

    #[test]
    fn usernames_are_bounded_and_printable() {
        assert!(valid_username("ada"));
        assert!(valid_username("Ada Lovelace"));
        assert!(!valid_username(""));
        assert!(!valid_username(" ada"));
        assert!(!valid_username("ada\n"));
        assert!(!valid_username("a\u{0}b"));
        assert!(valid_username(&"é".repeat(128)));
        assert!(!valid_username(&"é".repeat(129)));
    }
}
