//! CSRF-checked page forms (UI-3). Two bindings exist: [`CsrfForm`] for forms shown to a signed-in
//! user, whose token is the session's; [`SignInForm`] for the sign-in forms, whose token is derived
//! from the double-submit cookie set with the form. The form kind (see [`super::form`]) fixes the
//! answers: the body is read, then its type, the session and the token are checked, in that order.

use std::marker::PhantomData;
use std::sync::Arc;

use axum::extract::{FromRequest, Request};
use axum_extra::extract::cookie::CookieJar;
use portcullis_types::secret::constant_time_eq;

use super::csrf_cookie_name;
use super::form::{CsrfFormKind, PageForm, PageRejection, SessionFormKind};
use super::session::{SessionUnavailable, session_of};
use crate::config::ServerConfig;
use crate::domain::params::Params;
use crate::domain::sessions::{Session, check_csrf};
use crate::state::AppState;
use crate::ui::error::PageError;

/// Whether `token` is the session's CSRF token.
pub(crate) fn matches_session(session: &Session, token: &str) -> bool {
    constant_time_eq(token.as_bytes(), session.csrf.as_bytes())
}

/// Whether `token` belongs to the browser's sign-in CSRF cookie.
pub(crate) fn matches_cookie(config: &ServerConfig, jar: &CookieJar, token: &str) -> bool {
    jar.get(csrf_cookie_name(config))
        .is_some_and(|c| check_csrf(c.value(), token))
}

/// Refuses a form whose token failed, or whose parameters repeat when the kind refuses that.
fn checked<K: CsrfFormKind>(params: &Params, token_ok: bool) -> Result<(), PageRejection> {
    if !token_ok || (K::REFUSE_DUPLICATES && params.first_duplicate().is_some()) {
        return Err(K::EXPIRED.into());
    }
    Ok(())
}

/// A form of kind `K` posted by a signed-in user with the session's CSRF token.
#[derive(Debug)]
pub(crate) struct CsrfForm<K> {
    /// The session that saw the form.
    pub session: Session,
    /// The form's parameters.
    pub params: Params,
    kind: PhantomData<K>,
}

impl<K: SessionFormKind> FromRequest<Arc<AppState>> for CsrfForm<K> {
    type Rejection = PageRejection;

    async fn from_request(req: Request, state: &Arc<AppState>) -> Result<Self, Self::Rejection> {
        let (headers, form) = PageForm::<K>::read(req, state).await?;
        let session = match session_of(state, &headers).await {
            Ok(Some(s)) => s,
            Ok(None) => return Err(K::NO_SESSION.into()),
            Err(SessionUnavailable(e)) => return Err(PageError::internal(&e).into()),
        };
        let token_ok = form
            .params
            .get("csrf")
            .is_some_and(|t| matches_session(&session, t));
        checked::<K>(&form.params, token_ok)?;
        Ok(Self {
            session,
            params: form.params,
            kind: PhantomData,
        })
    }
}

/// A sign-in form of kind `K` carrying the token of the double-submit CSRF cookie.
#[derive(Debug)]
pub(crate) struct SignInForm<K> {
    /// The form's parameters.
    pub params: Params,
    kind: PhantomData<K>,
}

impl<K: CsrfFormKind> FromRequest<Arc<AppState>> for SignInForm<K> {
    type Rejection = PageRejection;

    async fn from_request(req: Request, state: &Arc<AppState>) -> Result<Self, Self::Rejection> {
        let (headers, form) = PageForm::<K>::read(req, state).await?;
        let jar = CookieJar::from_headers(&headers);
        let token_ok = form
            .params
            .get("csrf")
            .is_some_and(|t| matches_cookie(&state.config, &jar, t));
        checked::<K>(&form.params, token_ok)?;
        Ok(Self {
            params: form.params,
            kind: PhantomData,
        })
    }
}
