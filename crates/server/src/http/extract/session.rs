//! The browser session named by the session cookie: [`MaybeSession`] when a page works with or
//! without one, [`SignedIn`] when it needs one and otherwise sends the browser to sign in.

use std::sync::Arc;

use axum::extract::FromRequestParts;
use axum::http::HeaderMap;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use axum_extra::extract::cookie::CookieJar;

use super::session_cookie_name;
use crate::domain::error::ProtocolError;
use crate::domain::sessions::{self, Session};
use crate::state::AppState;
use crate::ui;
use crate::ui::error::PageError;

/// Loads the browser session named by the cookie in `jar`, if any.
pub(crate) async fn current_session(
    state: &AppState,
    jar: &CookieJar,
) -> Result<Option<Session>, ProtocolError> {
    let cookie = jar
        .get(session_cookie_name(&state.config))
        .map(|c| c.value().to_owned());
    sessions::load(state, cookie.as_deref()).await
}

/// Loads the session named by the cookies in `headers`.
pub(super) async fn session_of(
    state: &AppState,
    headers: &HeaderMap,
) -> Result<Option<Session>, SessionUnavailable> {
    current_session(state, &CookieJar::from_headers(headers))
        .await
        .map_err(SessionUnavailable)
}

/// The store could not be asked for the session: the internal error page.
#[derive(Debug)]
pub(crate) struct SessionUnavailable(pub ProtocolError);

impl IntoResponse for SessionUnavailable {
    fn into_response(self) -> Response {
        tracing::debug!(error = self.0.description(), "session lookup failed");
        PageError::internal(&self.0).into_response()
    }
}

/// The current browser session, or `None` when the browser has none (or an expired one).
#[derive(Debug)]
pub(crate) struct MaybeSession(pub Option<Session>);

impl FromRequestParts<Arc<AppState>> for MaybeSession {
    type Rejection = SessionUnavailable;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Arc<AppState>,
    ) -> Result<Self, Self::Rejection> {
        session_of(state, &parts.headers).await.map(Self)
    }
}

/// The current browser session; without one the browser is sent to `/login`.
#[derive(Debug)]
pub(crate) struct SignedIn(pub Session);

/// Why [`SignedIn`] did not extract.
#[derive(Debug)]
pub(crate) enum SignedInRejection {
    /// The store failed.
    Unavailable(SessionUnavailable),
    /// No session: `303 See Other` to `/login`.
    Missing,
}

impl IntoResponse for SignedInRejection {
    fn into_response(self) -> Response {
        match self {
            Self::Unavailable(e) => e.into_response(),
            Self::Missing => ui::see_other("/login"),
        }
    }
}

impl FromRequestParts<Arc<AppState>> for SignedIn {
    type Rejection = SignedInRejection;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Arc<AppState>,
    ) -> Result<Self, Self::Rejection> {
        match session_of(state, &parts.headers).await {
            Ok(Some(s)) => Ok(Self(s)),
            Ok(None) => Err(SignedInRejection::Missing),
            Err(e) => Err(SignedInRejection::Unavailable(e)),
        }
    }
}
