//! Form bodies. The back-channel endpoints refuse anything but a form (TOK-1) with a protocol
//! error; the pages refuse it with an error page chosen by the form's kind. The kinds below are the
//! table of page forms: what each refuses with and whether it tolerates repeated parameters.

use std::marker::PhantomData;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{FromRequest, Request};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};

use crate::domain::error::ProtocolError;
use crate::domain::params::Params;
use crate::ui;
use crate::ui::error::PageError;

/// Whether the request body is `application/x-www-form-urlencoded`.
pub(crate) fn is_form(headers: &HeaderMap) -> bool {
    headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| {
            v.trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        })
}

/// Parses a form body, refusing other content types (TOK-1).
pub(crate) fn form_params(headers: &HeaderMap, body: &[u8]) -> Result<Params, ProtocolError> {
    if !is_form(headers) {
        return Err(ProtocolError::invalid_request(
            "the body must be application/x-www-form-urlencoded",
        ));
    }
    Ok(Params::parse(body))
}

/// Reads the body (within the body limit) and keeps the headers beside it.
pub(super) async fn read_body<S: Send + Sync>(
    req: Request,
    state: &S,
) -> Result<(HeaderMap, Bytes), BytesRejection> {
    let headers = req.headers().clone();
    let body = Bytes::from_request(req, state).await?;
    Ok((headers, body))
}

/// A page form: what it answers when it cannot be used.
pub(crate) trait PageFormKind: Send + Sync + 'static {
    /// The answer to a body that is not a form.
    const NOT_FORM: PageError;
}

/// A page form protected against cross-site submission.
pub(crate) trait CsrfFormKind: PageFormKind {
    /// The answer to a missing or wrong CSRF token (and to repeated parameters when refused).
    const EXPIRED: PageError;
    /// Whether a parameter sent twice is refused like a bad token.
    const REFUSE_DUPLICATES: bool;
}

/// A form whose CSRF token is bound to the browser session.
pub(crate) trait SessionFormKind: CsrfFormKind {
    /// The answer when the browser has no session.
    const NO_SESSION: NoSession;
}

/// What a session-bound form answers when the browser has no session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum NoSession {
    /// A `303 See Other` to this path.
    Redirect(&'static str),
    /// An error page.
    Page(PageError),
}

/// `POST /authorize`: the authorization request as a form.
#[derive(Debug)]
pub(crate) struct AuthorizeForm;
impl PageFormKind for AuthorizeForm {
    const NOT_FORM: PageError = PageError::AuthorizeNotForm;
}

/// `POST /logout`: an RP-initiated request, or the confirmation carrying a CSRF token bound to
/// either the session or the sign-in cookie.
#[derive(Debug)]
pub(crate) struct SignOutForm;
impl PageFormKind for SignOutForm {
    const NOT_FORM: PageError = PageError::NotSubmitted;
}
impl CsrfFormKind for SignOutForm {
    const EXPIRED: PageError = PageError::SignOutExpired;
    const REFUSE_DUPLICATES: bool = false;
}

/// `POST /login`: the sign-in form behind `/authorize` (double-submit CSRF cookie).
#[derive(Debug)]
pub(crate) struct LoginForm;
impl PageFormKind for LoginForm {
    const NOT_FORM: PageError = PageError::SignInNotSubmitted;
}
impl CsrfFormKind for LoginForm {
    const EXPIRED: PageError = PageError::SignInExpired;
    const REFUSE_DUPLICATES: bool = true;
}

/// `POST /device/login`: the sign-in form on the device page (double-submit CSRF cookie).
#[derive(Debug)]
pub(crate) struct DeviceLoginForm;
impl PageFormKind for DeviceLoginForm {
    const NOT_FORM: PageError = PageError::SignInNotSubmitted;
}
impl CsrfFormKind for DeviceLoginForm {
    const EXPIRED: PageError = PageError::DeviceSignInExpired;
    const REFUSE_DUPLICATES: bool = true;
}

/// `POST /consent`: the user's decision on the consent page.
#[derive(Debug)]
pub(crate) struct ConsentForm;
impl PageFormKind for ConsentForm {
    const NOT_FORM: PageError = PageError::NotSubmitted;
}
impl CsrfFormKind for ConsentForm {
    const EXPIRED: PageError = PageError::ConsentExpired;
    const REFUSE_DUPLICATES: bool = true;
}
impl SessionFormKind for ConsentForm {
    const NO_SESSION: NoSession = NoSession::Page(PageError::SessionEnded);
}

/// `POST /device`: the user's decision on the device confirmation page.
#[derive(Debug)]
pub(crate) struct DeviceDecisionForm;
impl PageFormKind for DeviceDecisionForm {
    const NOT_FORM: PageError = PageError::NotSubmitted;
}
impl CsrfFormKind for DeviceDecisionForm {
    const EXPIRED: PageError = PageError::FormExpired;
    const REFUSE_DUPLICATES: bool = true;
}
impl SessionFormKind for DeviceDecisionForm {
    const NO_SESSION: NoSession = NoSession::Redirect("/device");
}

/// `POST /account/withdraw`: withdrawing an application's access.
#[derive(Debug)]
pub(crate) struct WithdrawForm;
impl PageFormKind for WithdrawForm {
    const NOT_FORM: PageError = PageError::NotSubmitted;
}
impl CsrfFormKind for WithdrawForm {
    const EXPIRED: PageError = PageError::FormExpired;
    const REFUSE_DUPLICATES: bool = false;
}
impl SessionFormKind for WithdrawForm {
    const NO_SESSION: NoSession = NoSession::Redirect("/login");
}

/// `POST /account/sign-out-everywhere`: ending every session and token of the user.
#[derive(Debug)]
pub(crate) struct SignOutEverywhereForm;
impl PageFormKind for SignOutEverywhereForm {
    const NOT_FORM: PageError = PageError::NotSubmitted;
}
impl CsrfFormKind for SignOutEverywhereForm {
    const EXPIRED: PageError = PageError::FormExpired;
    const REFUSE_DUPLICATES: bool = true;
}
impl SessionFormKind for SignOutEverywhereForm {
    const NO_SESSION: NoSession = NoSession::Redirect("/login");
}

/// `POST /account/password`: changing the password (current one, new one twice).
#[derive(Debug)]
pub(crate) struct PasswordChangeForm;
impl PageFormKind for PasswordChangeForm {
    const NOT_FORM: PageError = PageError::NotSubmitted;
}
impl CsrfFormKind for PasswordChangeForm {
    const EXPIRED: PageError = PageError::FormExpired;
    const REFUSE_DUPLICATES: bool = true;
}
impl SessionFormKind for PasswordChangeForm {
    const NO_SESSION: NoSession = NoSession::Redirect("/login");
}

/// `POST /account/upstreams/link`: linking an account of an upstream provider (`upstream`).
#[derive(Debug)]
pub(crate) struct LinkUpstreamForm;
impl PageFormKind for LinkUpstreamForm {
    const NOT_FORM: PageError = PageError::NotSubmitted;
}
impl CsrfFormKind for LinkUpstreamForm {
    const EXPIRED: PageError = PageError::FormExpired;
    const REFUSE_DUPLICATES: bool = true;
}
impl SessionFormKind for LinkUpstreamForm {
    const NO_SESSION: NoSession = NoSession::Redirect("/login");
}

/// `POST /account/upstreams/unlink`: unlinking an upstream provider (`upstream`).
#[derive(Debug)]
pub(crate) struct UnlinkUpstreamForm;
impl PageFormKind for UnlinkUpstreamForm {
    const NOT_FORM: PageError = PageError::NotSubmitted;
}
impl CsrfFormKind for UnlinkUpstreamForm {
    const EXPIRED: PageError = PageError::FormExpired;
    const REFUSE_DUPLICATES: bool = true;
}
impl SessionFormKind for UnlinkUpstreamForm {
    const NO_SESSION: NoSession = NoSession::Redirect("/login");
}

/// `POST /register`, `/register/verify`, `/password/forgot` and `/password/reset`: the
/// self-service forms of someone not signed in (double-submit CSRF cookie).
#[derive(Debug)]
pub(crate) struct SelfServiceForm;
impl PageFormKind for SelfServiceForm {
    const NOT_FORM: PageError = PageError::NotSubmitted;
}
impl CsrfFormKind for SelfServiceForm {
    const EXPIRED: PageError = PageError::FormExpired;
    const REFUSE_DUPLICATES: bool = true;
}

/// `POST /account/delete`: deleting the account (current password, or the username for an
/// account without one).
#[derive(Debug)]
pub(crate) struct DeleteAccountForm;
impl PageFormKind for DeleteAccountForm {
    const NOT_FORM: PageError = PageError::NotSubmitted;
}
impl CsrfFormKind for DeleteAccountForm {
    const EXPIRED: PageError = PageError::FormExpired;
    const REFUSE_DUPLICATES: bool = true;
}
impl SessionFormKind for DeleteAccountForm {
    const NO_SESSION: NoSession = NoSession::Redirect("/login");
}

/// Why a page form was not handed to its handler.
#[derive(Debug)]
pub(crate) enum PageRejection {
    /// The body could not be read (too large, broken stream).
    Body(BytesRejection),
    /// An error page.
    Page(PageError),
    /// A `303 See Other` elsewhere.
    Redirect(&'static str),
}

impl From<PageError> for PageRejection {
    fn from(e: PageError) -> Self {
        Self::Page(e)
    }
}

impl From<NoSession> for PageRejection {
    fn from(n: NoSession) -> Self {
        match n {
            NoSession::Redirect(path) => Self::Redirect(path),
            NoSession::Page(e) => Self::Page(e),
        }
    }
}

impl IntoResponse for PageRejection {
    fn into_response(self) -> Response {
        match self {
            Self::Body(r) => r.into_response(),
            Self::Page(e) => e.into_response(),
            Self::Redirect(path) => ui::see_other(path),
        }
    }
}

/// A page form body of kind `K`, parsed; no CSRF check (see [`super::csrf`] for that).
#[derive(Debug)]
pub(crate) struct PageForm<K> {
    /// The parameters, repeated ones kept visible.
    pub params: Params,
    kind: PhantomData<K>,
}

impl<K: PageFormKind> PageForm<K> {
    /// Reads and parses the body.
    pub(super) async fn read<S: Send + Sync>(
        req: Request,
        state: &S,
    ) -> Result<(HeaderMap, Self), PageRejection> {
        let (headers, body) = read_body(req, state).await.map_err(PageRejection::Body)?;
        if !is_form(&headers) {
            return Err(K::NOT_FORM.into());
        }
        let form = Self {
            params: Params::parse(&body),
            kind: PhantomData,
        };
        Ok((headers, form))
    }
}

impl<K: PageFormKind, S: Send + Sync> FromRequest<S> for PageForm<K> {
    type Rejection = PageRejection;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        Self::read(req, state).await.map(|(_, form)| form)
    }
}
