//! RP-initiated logout (OpenID Connect RP-Initiated Logout 1.0, RED-9): the `id_token_hint` must
//! be ours (expired allowed); only with a valid hint does the user go back to an exactly
//! registered `post_logout_redirect_uri`. A hint names a user: when the browser is signed in as
//! someone else, the hint proves nothing about them, so they are asked to confirm instead.

use super::params::Params;
use super::verify;
use crate::config::redirect;
use crate::state::AppState;

/// What to do after ending the session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum LogoutTarget {
    /// Redirect to the client's registered post-logout URI (with `state`).
    Redirect(String),
    /// A valid hint without a redirect URI: end the session and show the signed-out page.
    Page,
    /// No hint, or a hint for another user than the signed-in one: ask the user to confirm (no
    /// redirect afterwards).
    Confirm,
    /// The request is invalid (e.g. unregistered post_logout_redirect_uri): error page.
    Invalid(InvalidLogout),
}

/// Why a logout request is refused with an error page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum InvalidLogout {
    /// A parameter was sent more than once.
    DuplicateParameter,
    /// The `id_token_hint` is not one of our ID tokens.
    InvalidHint,
    /// A `post_logout_redirect_uri` came without a valid `id_token_hint`.
    RedirectNeedsHint,
    /// The `client_id` is not an audience of the hint.
    ClientMismatch,
    /// The hint names no audience.
    HintWithoutAudience,
    /// The hint's client is not registered.
    UnknownClient,
    /// The `post_logout_redirect_uri` is not registered for the client.
    UnregisteredRedirect,
}

/// Validates a logout request and returns where the user goes afterwards. `session_user` is
/// the user the browser is signed in as, if any: a valid hint for any other `sub` (an
/// attacker's own ID token, say) does not end that session without confirmation.
pub(crate) async fn target(
    state: &AppState,
    params: &Params,
    session_user: Option<&str>,
) -> LogoutTarget {
    if params.first_duplicate().is_some() {
        return LogoutTarget::Invalid(InvalidLogout::DuplicateParameter);
    }
    let requested = params.get("post_logout_redirect_uri");
    let hint = match params.get("id_token_hint") {
        Some(h) => verify::id_token_hint(state, h).await,
        None => None,
    };
    let Some(hint) = hint else {
        if params.contains("id_token_hint") {
            return LogoutTarget::Invalid(InvalidLogout::InvalidHint);
        }
        if requested.is_some() {
            return LogoutTarget::Invalid(InvalidLogout::RedirectNeedsHint);
        }
        return LogoutTarget::Confirm;
    };
    if session_user.is_some_and(|user| user != hint.sub) {
        return LogoutTarget::Confirm;
    }
    let Some(uri) = requested else {
        return LogoutTarget::Page;
    };
    let client_id = match params.get("client_id") {
        Some(c) if hint.aud.contains(c) => c.to_owned(),
        Some(_) => return LogoutTarget::Invalid(InvalidLogout::ClientMismatch),
        None => match hint.aud.first() {
            Some(a) => a.to_owned(),
            None => return LogoutTarget::Invalid(InvalidLogout::HintWithoutAudience),
        },
    };
    let client = match state.client(&client_id).await {
        Ok(Some(c)) => c,
        _ => return LogoutTarget::Invalid(InvalidLogout::UnknownClient),
    };
    if !client
        .post_logout_redirect_uris
        .iter()
        .any(|r| r.as_str() == uri)
    {
        return LogoutTarget::Invalid(InvalidLogout::UnregisteredRedirect);
    }
    let mut extra = Vec::new();
    if let Some(s) = params.get("state") {
        extra.push(("state", s));
    }
    LogoutTarget::Redirect(if extra.is_empty() {
        uri.to_owned()
    } else {
        redirect::append_params(uri, &extra)
    })
}
