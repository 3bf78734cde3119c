//! The login page: username and password, the pending authorization request carried in a hidden
//! field so the flow resumes after sign-in, and a CSRF token.

use axum::http::StatusCode;
use axum::response::Response;
use maud::{Markup, html};

use super::{Msg, layout, page, t, tf};
use crate::domain::params::Params;

/// What the login page shows.
#[derive(Debug, Clone, Default)]
pub(crate) struct LoginView<'a> {
    /// The encoded authorization request to resume (empty: go to the account page).
    pub request: &'a str,
    /// CSRF token.
    pub csrf: &'a str,
    /// Username to prefill (`login_hint`).
    pub username: Option<&'a str>,
    /// Why the form is shown again, if it is.
    pub failure: Option<SignInFailure>,
    /// The client's display name, if signing in for one.
    pub client_name: Option<&'a str>,
    /// One sign-in button per upstream provider: (start path, label).
    pub upstreams: &'a [(String, String)],
    /// Whether the password form is shown.
    pub password: bool,
    /// A directory's own form instead of the local one: (where it posts, the directory's
    /// label). The upstream buttons are not shown beside it.
    pub directory: Option<(&'a str, &'a str)>,
    /// Whether to link the sign-up page.
    pub sign_up: bool,
    /// Whether to link the "forgot password" page.
    pub forgot: bool,
    /// What a self-service step that led here reports.
    pub notice: Option<LoginNotice>,
}

/// What the login page reports after a self-service step, carried as `notice=…`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LoginNotice {
    /// Signed up; the verification link is on its way (or the address had an account).
    CheckMail,
    /// Signed up; the account can sign in now.
    SignedUp,
    /// The address is verified.
    Verified,
    /// A reset link is on its way if an account uses the address.
    ResetSent,
    /// The password was reset.
    Reset,
    /// The account was deleted.
    Deleted,
}

impl LoginNotice {
    const ALL: [(Self, &'static str); 6] = [
        (Self::CheckMail, "check-mail"),
        (Self::SignedUp, "signed-up"),
        (Self::Verified, "verified"),
        (Self::ResetSent, "reset-sent"),
        (Self::Reset, "reset"),
        (Self::Deleted, "deleted"),
    ];

    /// Reads the notice from the login page's query.
    pub(crate) fn from_query(params: &Params) -> Option<Self> {
        let value = params.get("notice")?;
        Self::ALL
            .into_iter()
            .find(|(_, name)| *name == value)
            .map(|(n, _)| n)
    }

    /// The login page's address showing this notice.
    pub(crate) fn location(self) -> String {
        let name = Self::ALL
            .into_iter()
            .find(|(n, _)| *n == self)
            .map_or("", |(_, name)| name);
        format!("/login?notice={name}")
    }

    fn message(self) -> Markup {
        let text = t(match self {
            Self::CheckMail => Msg::LoginNoticeCheckMail,
            Self::SignedUp => Msg::LoginNoticeSignedUp,
            Self::Verified => Msg::LoginNoticeVerified,
            Self::ResetSent => Msg::LoginNoticeResetSent,
            Self::Reset => Msg::LoginNoticeReset,
            Self::Deleted => Msg::LoginNoticeDeleted,
        });
        html! { p role="status" { (text) } }
    }
}

/// Why a sign-in form is shown again, carried in its query: `failed=1`, and for a throttled
/// attempt also `wait=SECS`, for a disabled account `disabled=1`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SignInFailure {
    /// Unknown user or wrong password.
    Wrong,
    /// The right password for a disabled account (told only to who typed it).
    Disabled,
    /// The right password for an account whose address is not verified yet (told only to who
    /// typed it); a new link was mailed.
    Unverified,
    /// Too many failed attempts for the account or the address; try again within this many
    /// seconds.
    Throttled {
        /// Seconds to wait at most.
        wait_secs: i64,
    },
    /// The directory that checks the password could not be reached.
    Unreachable,
}

impl SignInFailure {
    /// The longest wait a query may claim (a day): the value is only shown back to the browser
    /// that carries it, but a page should not say something absurd.
    const MAX_WAIT_SECS: i64 = 86_400;

    /// Reads the failure back from a sign-in page's query.
    pub(crate) fn from_query(params: &Params) -> Option<Self> {
        params.get("failed")?;
        if params.get("disabled").is_some() {
            return Some(Self::Disabled);
        }
        if params.get("unreachable").is_some() {
            return Some(Self::Unreachable);
        }
        if params.get("unverified").is_some() {
            return Some(Self::Unverified);
        }
        Some(
            match params.get("wait").and_then(|w| w.parse::<i64>().ok()) {
                Some(secs) => Self::Throttled {
                    wait_secs: secs.clamp(1, Self::MAX_WAIT_SECS),
                },
                None => Self::Wrong,
            },
        )
    }

    /// Appends the failure to a sign-in page's query.
    pub(crate) fn append_to(self, q: &mut form_urlencoded::Serializer<'_, String>) {
        q.append_pair("failed", "1");
        match self {
            Self::Wrong => {}
            Self::Disabled => {
                q.append_pair("disabled", "1");
            }
            Self::Unverified => {
                q.append_pair("unverified", "1");
            }
            Self::Throttled { wait_secs } => {
                q.append_pair("wait", &wait_secs.to_string());
            }
            Self::Unreachable => {
                q.append_pair("unreachable", "1");
            }
        }
    }
}

/// The alert a sign-in form shows after a failure: a wrong password and a throttled attempt are
/// told apart, since the person typing needs to know whether to retype or to wait.
pub(crate) fn failure_message(failure: SignInFailure) -> Markup {
    let text = match failure {
        SignInFailure::Wrong => html! { (t(Msg::LoginFailedWrong)) },
        SignInFailure::Disabled => html! { (t(Msg::LoginFailedDisabled)) },
        SignInFailure::Unverified => html! { (t(Msg::LoginFailedUnverified)) },
        SignInFailure::Unreachable => html! { (t(Msg::LoginFailedUnreachable)) },
        SignInFailure::Throttled { wait_secs } => tf(
            Msg::LoginFailedThrottled,
            &[("wait", html! { (wait_text(wait_secs)) })],
        ),
    };
    html! { p.error role="alert" { (text) } }
}

/// A wait of `secs` seconds in words, in the page's language (as
/// [`crate::domain::login::Wait`] rounds it).
pub(crate) fn wait_text(secs: i64) -> Markup {
    use crate::domain::login::Wait;
    match Wait::from_secs(secs) {
        Wait::Seconds(1) => html! { (t(Msg::WaitSecond)) },
        Wait::Seconds(n) => tf(Msg::WaitSeconds, &[("n", html! { (n) })]),
        Wait::Minutes(1) => html! { (t(Msg::WaitMinute)) },
        Wait::Minutes(n) => tf(Msg::WaitMinutes, &[("n", html! { (n) })]),
    }
}

/// Renders the login page.
pub(crate) fn login_page(view: &LoginView<'_>) -> Response {
    page(
        StatusCode::OK,
        layout(
            t(Msg::CommonSignIn),
            html! {
                h1 { (t(Msg::CommonSignIn)) }
                @if let Some(name) = view.client_name {
                    p.muted { (tf(Msg::LoginToContinue, &[("client", html! { strong { (name) } })])) }
                }
                @if let Some(notice) = view.notice {
                    (notice.message())
                }
                @if let Some(failure) = view.failure {
                    (failure_message(failure))
                }
                @if let Some((action, label)) = view.directory {
                    p.muted { (tf(Msg::LoginWithDirectory, &[("directory", html! { strong { (label) } })])) }
                    (password_form(action, view.csrf, &[("request", view.request)], view.username))
                } @else {
                    @for (href, label) in view.upstreams {
                        p { a.button href=(href) { (tf(Msg::LoginWithUpstream, &[("provider", html! { (label) })])) } }
                    }
                    @if view.password {
                        (password_form("/login", view.csrf, &[("request", view.request)], view.username))
                        @if view.forgot {
                            p { a href="/password/forgot" { (t(Msg::LoginForgot)) } }
                        }
                        @if view.sign_up {
                            p { (t(Msg::LoginNoAccount)) " " a href="/register" { (t(Msg::LoginCreateAccount)) } }
                        }
                    }
                }
            },
        ),
    )
}

/// The username and password form of a sign-in page, posting to `action` with the CSRF token
/// and the `hidden` fields.
pub(crate) fn password_form(
    action: &str,
    csrf: &str,
    hidden: &[(&str, &str)],
    username: Option<&str>,
) -> Markup {
    html! {
        form method="post" action=(action) {
            input type="hidden" name="csrf" value=(csrf);
            @for (name, value) in hidden {
                input type="hidden" name=(name) value=(value);
            }
            label for="username" { (t(Msg::CommonUsername)) }
            input id="username" type="text" name="username" autocomplete="username" required value=(username.unwrap_or_default());
            label for="password" { (t(Msg::CommonPassword)) }
            input id="password" type="password" name="password" autocomplete="current-password" required;
            button type="submit" { (t(Msg::CommonSignIn)) }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notices_round_trip_through_the_query() {
        for (notice, _) in LoginNotice::ALL {
            let loc = notice.location();
            let query = loc.trim_start_matches("/login?");
            assert_eq!(
                LoginNotice::from_query(&Params::parse(query.as_bytes())),
                Some(notice)
            );
        }
    }

    #[test]
    fn failures_round_trip_through_the_query() {
        for failure in [
            SignInFailure::Wrong,
            SignInFailure::Disabled,
            SignInFailure::Unverified,
            SignInFailure::Throttled { wait_secs: 120 },
            SignInFailure::Unreachable,
        ] {
            let mut q = form_urlencoded::Serializer::new(String::new());
            failure.append_to(&mut q);
            let query = q.finish();
            assert_eq!(
                SignInFailure::from_query(&Params::parse(query.as_bytes())),
                Some(failure),
                "{query}"
            );
        }
        assert_eq!(
            SignInFailure::from_query(&Params::parse(b"disabled=1")),
            None
        );
    }
}
