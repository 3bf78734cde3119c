//! The error page: shown instead of redirecting when the client or redirect URI cannot be trusted
//! (RED-6), and for internal failures (without detail). [`PageError`] is the one table of what the
//! browser is told when a page cannot go on: status, title and text.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use maud::html;

use super::{Msg, layout, page, t};
use crate::domain::authorize::Untrusted;
use crate::domain::logout::InvalidLogout;
use crate::upstream::Refusal;

/// Everything a page can refuse with, and the words the user reads. Each case fixes its status
/// and text here, so handlers never spell out a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub(crate) enum PageError {
    /// A failure on our side; the detail is never shown.
    Internal,
    /// A page form arrived with another content type than a form.
    NotSubmitted,
    /// The sign-in form arrived with another content type than a form.
    SignInNotSubmitted,
    /// `POST /authorize` without a form body.
    AuthorizeNotForm,
    /// A session-bound form (device decision, account) failed its CSRF check.
    FormExpired,
    /// The sign-in form behind `/authorize` failed its CSRF check.
    SignInExpired,
    /// The sign-in form on the device page failed its CSRF check.
    DeviceSignInExpired,
    /// The consent form failed its CSRF check.
    ConsentExpired,
    /// The sign-out confirmation failed its CSRF check.
    SignOutExpired,
    /// The consent form arrived without a browser session.
    SessionEnded,
    /// The session disappeared between the sign-in and the consent page.
    SessionGone,
    /// The signed-in user was removed.
    UserGone,
    /// The typed user code is unknown, expired or used (shown on the code form).
    UnknownUserCode,
    /// Too many wrong user codes (shown on the code form).
    TooManyUserCodes,
    /// Too many sign-in attempts are being checked; answered 503 with `Retry-After`.
    Busy,
    /// The database is unavailable; answered 503 with `Retry-After`.
    Unavailable,
    /// An authorization request whose client or redirect URI cannot be trusted (RED-6).
    Untrusted(Untrusted),
    /// An invalid logout request.
    Logout(InvalidLogout),
    /// A failed sign-in or link at an upstream.
    Upstream(Refusal),
}

impl PageError {
    /// The HTTP status of the page.
    pub(crate) fn status(self) -> StatusCode {
        match self {
            Self::Internal => StatusCode::INTERNAL_SERVER_ERROR,
            Self::TooManyUserCodes => StatusCode::TOO_MANY_REQUESTS,
            Self::Busy | Self::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            _ => StatusCode::BAD_REQUEST,
        }
    }

    /// The page title.
    pub(crate) fn title(self) -> &'static str {
        t(Msg::ErrorTitle)
    }

    /// What the user reads, in the page's language.
    pub(crate) fn text(self) -> &'static str {
        let msg = match self {
            Self::Internal => Msg::ErrorInternal,
            Self::NotSubmitted => Msg::ErrorNotSubmitted,
            Self::SignInNotSubmitted => Msg::ErrorSignInNotSubmitted,
            Self::AuthorizeNotForm => Msg::ErrorAuthorizeNotForm,
            Self::FormExpired => Msg::ErrorFormExpired,
            Self::SignInExpired => Msg::ErrorSignInExpired,
            Self::DeviceSignInExpired => Msg::ErrorDeviceSignInExpired,
            Self::ConsentExpired => Msg::ErrorConsentExpired,
            Self::SignOutExpired => Msg::ErrorSignOutExpired,
            Self::SessionEnded => Msg::ErrorSessionEnded,
            Self::SessionGone => Msg::ErrorSessionGone,
            Self::UserGone => Msg::ErrorUserGone,
            Self::UnknownUserCode => Msg::ErrorUnknownUserCode,
            Self::TooManyUserCodes => Msg::ErrorTooManyUserCodes,
            Self::Busy => Msg::ErrorBusy,
            Self::Unavailable => Msg::ErrorUnavailable,
            Self::Untrusted(why) => match why {
                Untrusted::DuplicateClientId => Msg::AuthorizeRefusedDuplicateClientId,
                Untrusted::NoClientId => Msg::AuthorizeRefusedNoClientId,
                Untrusted::UnknownClient => Msg::AuthorizeRefusedUnknownClient,
                Untrusted::DuplicateRedirectUri => Msg::AuthorizeRefusedDuplicateRedirectUri,
                Untrusted::UnregisteredRedirectUri => Msg::AuthorizeRefusedUnregisteredRedirectUri,
            },
            Self::Logout(why) => match why {
                InvalidLogout::DuplicateParameter => Msg::LogoutRefusedDuplicateParameter,
                InvalidLogout::InvalidHint => Msg::LogoutRefusedInvalidHint,
                InvalidLogout::RedirectNeedsHint => Msg::LogoutRefusedRedirectNeedsHint,
                InvalidLogout::ClientMismatch => Msg::LogoutRefusedClientMismatch,
                InvalidLogout::HintWithoutAudience => Msg::LogoutRefusedHintWithoutAudience,
                InvalidLogout::UnknownClient => Msg::LogoutRefusedUnknownClient,
                InvalidLogout::UnregisteredRedirect => Msg::LogoutRefusedUnregisteredRedirect,
            },
            Self::Upstream(why) => match why {
                Refusal::Unknown => Msg::UpstreamRefusedUnknown,
                Refusal::InvalidLink => Msg::UpstreamRefusedInvalidLink,
                Refusal::Refused => Msg::UpstreamRefusedRefused,
                Refusal::Disabled => Msg::UpstreamRefusedDisabled,
                Refusal::WrongFlow => Msg::UpstreamRefusedWrongFlow,
                Refusal::NotAllowed => Msg::UpstreamRefusedNotAllowed,
                Refusal::AlreadyLinked => Msg::UpstreamRefusedAlreadyLinked,
                Refusal::LinkSession => Msg::UpstreamRefusedLinkSession,
                Refusal::Failed => Msg::UpstreamRefusedFailed,
            },
        };
        t(msg)
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let mut response = page(
            self.status(),
            layout(
                self.title(),
                html! {
                    h1 { (t(Msg::ErrorHeading)) }
                    p.error { (self.text()) }
                    p.muted { (t(Msg::ErrorAdvice)) }
                },
            ),
        );
        let retry_after = match self {
            Self::Busy => Some(i64::from(crate::domain::password::RETRY_AFTER_SECS)),
            Self::Unavailable => Some(crate::domain::UNAVAILABLE_RETRY_AFTER_SECS),
            _ => None,
        };
        if let Some(secs) = retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        response
    }
}

impl PageError {
    /// The page for a failure the domain reported: unavailable (503) when it was the
    /// database, else the internal error page.
    pub(crate) fn internal(e: &crate::domain::ProtocolError) -> Self {
        if e.code() == portcullis_types::ErrorCode::TemporarilyUnavailable {
            Self::Unavailable
        } else {
            Self::Internal
        }
    }
}

/// The signed-out page.
pub(crate) fn signed_out() -> Response {
    page(
        StatusCode::OK,
        layout(
            t(Msg::LogoutSignedOutTitle),
            html! {
                h1 { (t(Msg::LogoutSignedOutHeading)) }
                p { (t(Msg::LogoutSignedOutText)) }
            },
        ),
    )
}

/// Asks the user to confirm signing out (a logout without a valid `id_token_hint`).
pub(crate) fn confirm_logout(csrf: &str) -> Response {
    page(
        StatusCode::OK,
        layout(
            t(Msg::CommonSignOut),
            html! {
                h1 { (t(Msg::LogoutConfirmHeading)) }
                form method="post" action="/logout" {
                    input type="hidden" name="csrf" value=(csrf);
                    button type="submit" { (t(Msg::CommonSignOut)) }
                }
            },
        ),
    )
}
