//! Who may use a console page: [`Console`] admits a request exactly as the admin API does (the
//! guard, the role `admin`, the page's scope); [`ConsoleForm`] also checks the form's CSRF
//! token against the token cookie. Refusals are pages ([`ConsoleError`]).

use std::marker::PhantomData;

use axum::body::{Body, Bytes};
use axum::extract::{Form, FromRequest, FromRequestParts, Request};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use axum_extra::extract::cookie::CookieJar;
use portcullis_guard::{GuardRejection, RejectionKind, StandaloneAuthenticated};
use serde::de::DeserializeOwned;

use super::layout::{message_page, see_other};
use super::{CONSOLE_PATH, ConsoleState, TOKEN_COOKIE};
use crate::admin_api::auth::{Actor, AdminScope, admit};
use crate::admin_api::error::ApiError;
use crate::domain::params::Params;
use crate::domain::sessions::{check_csrf, csrf_token};

/// Why a console request is refused, as a page.
#[derive(Debug)]
pub(crate) enum ConsoleError {
    /// No token or one no longer valid: sign in (again).
    SignIn,
    /// Signed in, but without the role or the page's scope.
    Forbidden(String),
    /// The form's CSRF token is missing or wrong.
    Csrf,
    /// The admin operation failed.
    Api(ApiError),
    /// Keys or revocations cannot be checked now.
    Unavailable,
    /// The request is malformed.
    BadRequest(String),
}

impl From<ApiError> for ConsoleError {
    fn from(e: ApiError) -> Self {
        Self::Api(e)
    }
}

impl From<GuardRejection> for ConsoleError {
    fn from(rejection: GuardRejection) -> Self {
        match rejection.kind() {
            RejectionKind::InsufficientScope(scope) => {
                Self::Forbidden(format!("This action needs the scope {scope}."))
            }
            RejectionKind::InsufficientRole => {
                Self::Forbidden("Your account does not hold the admin role.".to_owned())
            }
            RejectionKind::Unavailable => Self::Unavailable,
            RejectionKind::InvalidRequest(what) => Self::BadRequest((*what).to_owned()),
            _ => Self::SignIn,
        }
    }
}

impl IntoResponse for ConsoleError {
    fn into_response(self) -> Response {
        let (status, title, text) = match self {
            Self::SignIn => return see_other(&format!("{CONSOLE_PATH}/login")),
            Self::Forbidden(why) => (StatusCode::FORBIDDEN, "Not allowed", why),
            Self::Csrf => (
                StatusCode::FORBIDDEN,
                "Form expired",
                "The form did not come from this console session. Reload the page and try again."
                    .to_owned(),
            ),
            Self::Unavailable => (
                StatusCode::SERVICE_UNAVAILABLE,
                "Unavailable",
                "The sign-in cannot be checked right now. Try again shortly.".to_owned(),
            ),
            Self::BadRequest(why) => (StatusCode::BAD_REQUEST, "Bad request", why),
            Self::Api(e) => {
                let (status, text) = e.status_and_description();
                (status, "Not done", text)
            }
        };
        message_page(status, title, &text)
    }
}

/// A console request admitted with the scope `S`: who acts, and the CSRF token of its forms.
#[derive(Debug)]
pub(crate) struct Console<S> {
    /// The signed-in admin, as the audit events name them.
    pub(crate) actor: Actor,
    /// The CSRF token every form of the page carries.
    pub(crate) csrf: String,
    scope: PhantomData<S>,
}

impl<S: AdminScope> FromRequestParts<ConsoleState> for Console<S> {
    type Rejection = ConsoleError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &ConsoleState,
    ) -> Result<Self, ConsoleError> {
        let StandaloneAuthenticated(auth) =
            StandaloneAuthenticated::from_request_parts(parts, state).await?;
        let actor = admit::<S>(&auth)?;
        let csrf = CookieJar::from_headers(&parts.headers)
            .get(TOKEN_COOKIE)
            .map(|c| csrf_token(c.value()))
            .unwrap_or_default();
        Ok(Self {
            actor,
            csrf,
            scope: PhantomData,
        })
    }
}

/// A console form of fields `T`, posted with the CSRF token of the token cookie (`csrf`).
#[derive(Debug)]
pub(crate) struct ConsoleForm<T>(pub(crate) T);

impl<T: DeserializeOwned> FromRequest<ConsoleState> for ConsoleForm<T> {
    type Rejection = ConsoleError;

    async fn from_request(req: Request, state: &ConsoleState) -> Result<Self, ConsoleError> {
        let (parts, body) = req.into_parts();
        let bytes = Bytes::from_request(Request::from_parts(parts.clone(), body), state)
            .await
            .map_err(|e| ConsoleError::BadRequest(e.body_text()))?;
        let params = Params::parse(&bytes);
        let cookie = CookieJar::from_headers(&parts.headers);
        let token_ok = match (cookie.get(TOKEN_COOKIE), params.get("csrf")) {
            (Some(cookie), Some(presented)) => check_csrf(cookie.value(), presented),
            _ => false,
        };
        if !token_ok || params.first_duplicate().is_some() {
            return Err(ConsoleError::Csrf);
        }
        let Form(fields) =
            Form::<T>::from_request(Request::from_parts(parts, Body::from(bytes)), state)
                .await
                .map_err(|e| ConsoleError::BadRequest(e.body_text()))?;
        Ok(Self(fields))
    }
}
