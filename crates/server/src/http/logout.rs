//! `GET|POST /logout` (RP-initiated logout): with a valid `id_token_hint` the session ends and
//! the user goes to the exactly registered `post_logout_redirect_uri` (RED-9); without one the
//! user confirms through a CSRF-protected form and sees the signed-out page, never a redirect.
//! A hint for another user than the signed-in one is treated like no hint.
//! Ending a session revokes the grants issued under it without `offline_access`.

use std::sync::Arc;

use axum::extract::{RawQuery, State};
use axum::response::{IntoResponse, Response};
use axum_extra::extract::cookie::CookieJar;

use super::extract::csrf::{matches_cookie, matches_session};
use super::extract::form::{CsrfFormKind, SignOutForm};
use super::extract::session::current_session;
use super::extract::{PageForm, removal, session_cookie_name};
use crate::domain::logout::{self, LogoutTarget};
use crate::domain::params::Params;
use crate::domain::sessions;
use crate::domain::{audit, denylist};
use crate::state::AppState;
use crate::ui;
use crate::ui::error::{PageError, confirm_logout, signed_out};

/// Ends the browser's session (if any) and clears its cookie.
async fn end_session(state: &AppState, jar: CookieJar) -> Result<CookieJar, Response> {
    let name = session_cookie_name(&state.config);
    if let Some(id) = jar.get(name).map(|c| c.value().to_owned()) {
        if let Ok(Some(s)) = sessions::load(state, Some(&id)).await {
            audit::logout(s.user_id.as_str());
            if let Err(e) = denylist::revoke_session_grants(state, s.user_id.as_str(), &s.sid).await
            {
                return Err(PageError::internal(&e).into_response());
            }
        }
        if let Err(e) = sessions::destroy(state, &id).await {
            return Err(PageError::internal(&e).into_response());
        }
    }
    Ok(jar.add(removal(&state.config, name)))
}

async fn handle(state: &AppState, jar: CookieJar, params: Params) -> Response {
    let session = match current_session(state, &jar).await {
        Ok(session) => session,
        Err(e) => return PageError::internal(&e).into_response(),
    };
    let session_user = session.as_ref().map(|s| s.user_id.as_str());
    match logout::target(state, &params, session_user).await {
        LogoutTarget::Invalid(why) => PageError::Logout(why).into_response(),
        LogoutTarget::Redirect(location) => match end_session(state, jar).await {
            Ok(jar) => (jar, ui::see_other(&location)).into_response(),
            Err(r) => r,
        },
        LogoutTarget::Page => match end_session(state, jar).await {
            Ok(jar) => (jar, signed_out()).into_response(),
            Err(r) => r,
        },
        LogoutTarget::Confirm => match session {
            Some(s) => confirm_logout(&s.csrf),
            None => signed_out(),
        },
    }
}

/// `GET /logout`.
pub(crate) async fn get(
    State(state): State<Arc<AppState>>,
    jar: CookieJar,
    RawQuery(query): RawQuery,
) -> Response {
    handle(
        &state,
        jar,
        Params::parse(query.unwrap_or_default().as_bytes()),
    )
    .await
}

/// `POST /logout`: either the confirmation form (with `csrf`, bound to the session or to the
/// sign-in cookie) or an RP-initiated request.
pub(crate) async fn post(
    State(state): State<Arc<AppState>>,
    jar: CookieJar,
    PageForm { params: form, .. }: PageForm<SignOutForm>,
) -> Response {
    let Some(token) = form.get("csrf") else {
        return handle(&state, jar, form).await;
    };
    let session_ok = match current_session(&state, &jar).await {
        Ok(Some(s)) => matches_session(&s, token),
        Ok(None) | Err(_) => false,
    };
    let cookie_ok = matches_cookie(&state.config, &jar, token);
    if !(session_ok || cookie_ok) {
        return SignOutForm::EXPIRED.into_response();
    }
    match end_session(&state, jar).await {
        Ok(jar) => (jar, ui::see_other("/logout/done")).into_response(),
        Err(r) => r,
    }
}

/// `GET /logout/done`.
pub(crate) async fn done() -> Response {
    signed_out()
}
