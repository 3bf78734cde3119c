//! `GET|POST /logout` (RP-initiated logout): with a valid `id_token_hint` the session ends and
//! the user goes to the exactly registered `post_logout_redirect_uri` (RED-9); without one the
//! user confirms through a CSRF-protected form and sees the signed-out page, never a redirect.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum_extra::extract::cookie::CookieJar;

use super::authorize::current_session;
use super::extract::{csrf_cookie_name, is_form, removal, session_cookie_name};
use crate::domain::audit;
use crate::domain::logout::{self, LogoutTarget};
use crate::domain::params::Params;
use crate::domain::sessions::{self, check_csrf};
use crate::state::AppState;
use crate::ui;
use crate::ui::error::{confirm_logout, error_page, signed_out};

/// Ends the browser's session (if any) and clears its cookie.
async fn end_session(state: &AppState, jar: CookieJar) -> Result<CookieJar, Response> {
    let name = session_cookie_name(&state.config);
    if let Some(id) = jar.get(name).map(|c| c.value().to_owned()) {
        if let Ok(Some(s)) = sessions::load(state, Some(&id)).await {
            audit::logout(&s.user_id);
        }
        if sessions::destroy(state, &id).await.is_err() {
            return Err(error_page(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Something went wrong on our side.",
            ));
        }
    }
    Ok(jar.add(removal(&state.config, name)))
}

async fn handle(state: &AppState, jar: CookieJar, params: Params) -> Response {
    match logout::target(state, &params).await {
        LogoutTarget::Invalid(message) => error_page(StatusCode::BAD_REQUEST, message),
        LogoutTarget::Redirect(location) => match end_session(state, jar).await {
            Ok(jar) => (jar, ui::see_other(&location)).into_response(),
            Err(r) => r,
        },
        LogoutTarget::Page => match end_session(state, jar).await {
            Ok(jar) => (jar, signed_out()).into_response(),
            Err(r) => r,
        },
        LogoutTarget::Confirm => match current_session(state, &jar).await {
            Ok(Some(s)) => confirm_logout(&s.csrf),
            Ok(None) => signed_out(),
            Err(_) => error_page(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Something went wrong on our side.",
            ),
        },
    }
}

/// `GET /logout`.
pub async fn get(
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

/// `POST /logout`: either the confirmation form (with `csrf`) or an RP-initiated request.
pub async fn post(
    State(state): State<Arc<AppState>>,
    jar: CookieJar,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if !is_form(&headers) {
        return error_page(
            StatusCode::BAD_REQUEST,
            "The form was not submitted correctly.",
        );
    }
    let form = Params::parse(&body);
    let Some(token) = form.get("csrf") else {
        return handle(&state, jar, form).await;
    };
    let session_ok = match current_session(&state, &jar).await {
        Ok(Some(s)) => {
            portcullis_types::secret::constant_time_eq(token.as_bytes(), s.csrf.as_bytes())
        }
        Ok(None) => false,
        Err(_) => false,
    };
    let cookie_ok = jar
        .get(csrf_cookie_name(&state.config))
        .is_some_and(|c| check_csrf(c.value(), token));
    if !(session_ok || cookie_ok) {
        return error_page(
            StatusCode::BAD_REQUEST,
            "The sign-out form expired. Reload the page and try again.",
        );
    }
    match end_session(&state, jar).await {
        Ok(jar) => (jar, ui::see_other("/logout/done")).into_response(),
        Err(r) => r,
    }
}

/// `GET /logout/done`.
pub async fn done() -> Response {
    signed_out()
}
