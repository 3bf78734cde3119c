//! Signing a user in from the two sign-in forms (`/login` and `/device/login`): the double-submit
//! CSRF cookie their pages set, and the password check that starts a fresh session (UI-4).

use std::net::IpAddr;

use axum::response::{IntoResponse, Response};
use axum_extra::extract::cookie::CookieJar;
use portcullis_types::ErrorCode;
use portcullis_types::secret::Password;

use super::extract::{cookie, csrf_cookie_name, session_cookie_name};
use crate::domain::login::{self, SignInCheck};
use crate::domain::secrets::random_token;
use crate::domain::self_service::verification;
use crate::domain::sessions::{self, csrf_token};
use crate::state::AppState;
use crate::store::{FederatedSignIn, UserRecord};
use crate::ui::PageContext;
use crate::ui::error::PageError;
use crate::ui::login::SignInFailure;

/// Length of the CSRF cookie's value (a 32-byte random token, base64url).
const CSRF_COOKIE_LEN: usize = 43;

/// The CSRF token for a sign-in form, setting the cookie it is derived from when the browser has
/// none.
pub(crate) fn form_token(
    state: &AppState,
    jar: CookieJar,
) -> Result<(CookieJar, String), PageError> {
    let (jar, secret) = csrf_cookie(state, jar)?;
    Ok((jar, csrf_token(&secret)))
}

/// A page with a form carrying the sign-in CSRF token (the cookie set when missing).
pub(crate) fn with_form_token(
    state: &AppState,
    jar: CookieJar,
    render: impl FnOnce(&str) -> Response,
) -> Response {
    match form_token(state, jar) {
        Ok((jar, csrf)) => (jar, render(&csrf)).into_response(),
        Err(e) => e.into_response(),
    }
}

/// The value of the browser's CSRF cookie, setting a new one when it has none. A sign-in
/// through an upstream is bound to it.
pub(crate) fn csrf_cookie(
    state: &AppState,
    jar: CookieJar,
) -> Result<(CookieJar, String), PageError> {
    let name = csrf_cookie_name(&state.config);
    Ok(match jar.get(name).map(|c| c.value().to_owned()) {
        Some(v) if v.len() == CSRF_COOKIE_LEN => (jar, v),
        _ => {
            let v = random_token().map_err(|_| PageError::Internal)?;
            (jar.add(cookie(&state.config, name, v.clone())), v)
        }
    })
}

/// Checks the password (throttled) and, when it is right, starts a fresh session replacing the
/// browser's previous one; `Ok(Err(failure))` when the user or password is wrong, or the
/// attempt was throttled.
pub(crate) async fn sign_in(
    state: &AppState,
    jar: CookieJar,
    addr: Option<IpAddr>,
    username: &str,
    password: &str,
) -> Result<Result<CookieJar, SignInFailure>, PageError> {
    let checked = login::authenticate_user(state, username, Password::new(password), addr)
        .await
        .map_err(|e| match e.code() {
            ErrorCode::TemporarilyUnavailable => PageError::Busy,
            _ => PageError::Internal,
        })?;
    if let SignInCheck::Unverified(user) = &checked {
        // Whoever knows the password may ask for the link again, within the mail throttle.
        verification::send(state, user, PageContext::locale())
            .await
            .map_err(|e| PageError::internal(&e))?;
    }
    let user = match outcome(checked) {
        Ok(user) => user,
        Err(failure) => return Ok(Err(failure)),
    };
    start_session(state, jar, &user, None).await.map(Ok)
}

/// What a checked sign-in attempt shows: `Ok(user)` to start a session for, or the failure the
/// form is shown again with.
pub(crate) fn outcome(checked: SignInCheck) -> Result<UserRecord, SignInFailure> {
    match checked {
        SignInCheck::SignedIn(user) => Ok(*user),
        SignInCheck::Wrong => Err(SignInFailure::Wrong),
        SignInCheck::Disabled => Err(SignInFailure::Disabled),
        SignInCheck::Unverified(_) => Err(SignInFailure::Unverified),
        SignInCheck::Throttled { retry_after_secs } => Err(SignInFailure::Throttled {
            wait_secs: retry_after_secs,
        }),
    }
}

/// Starts a fresh session for `user`, replacing the browser's previous one (UI-4); `upstream`
/// says how it signed in when not with a local password.
pub(crate) async fn start_session(
    state: &AppState,
    jar: CookieJar,
    user: &UserRecord,
    upstream: Option<FederatedSignIn>,
) -> Result<CookieJar, PageError> {
    let name = session_cookie_name(&state.config);
    let previous = jar.get(name).map(|c| c.value().to_owned());
    let (id, _session) =
        sessions::create_with(state, user.id.as_str(), previous.as_deref(), upstream)
            .await
            .map_err(|e| PageError::internal(&e))?;
    Ok(jar.add(cookie(&state.config, name, id)))
}
