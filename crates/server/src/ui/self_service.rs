//! The self-service pages: sign-up, the e-mail verification button, "forgot password" and the
//! new-password form a reset link opens. Each form carries the CSRF token of the sign-in
//! cookie; what went wrong comes back in the page's query as `error=…` (never a password).

use axum::http::StatusCode;
use axum::response::Response;
use maud::{Markup, html};

use super::login::wait_text;
use super::{Msg, layout, page, t, tf};
use crate::config::PasswordPolicy;
use crate::domain::params::Params;
use crate::domain::password::PolicyRefusal;

/// Why a self-service form is shown again, carried as `error=…` (and `wait=SECS`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FormNotice {
    /// The username is not allowed.
    Username,
    /// The username is taken.
    Taken,
    /// The address is not one mail can be sent to.
    Email,
    /// The two passwords differ.
    Mismatch,
    /// The password is too short.
    Short,
    /// The password is too long.
    Long,
    /// The password is too common.
    Common,
    /// Too many requests from this address.
    Throttled {
        /// Seconds to wait at most.
        wait_secs: i64,
    },
}

impl From<PolicyRefusal> for FormNotice {
    fn from(r: PolicyRefusal) -> Self {
        match r {
            PolicyRefusal::TooShort { .. } => Self::Short,
            PolicyRefusal::TooLong { .. } => Self::Long,
            PolicyRefusal::Common => Self::Common,
        }
    }
}

impl FormNotice {
    /// The longest wait a query may claim (a day), as on the sign-in page.
    const MAX_WAIT_SECS: i64 = 86_400;

    /// Reads the notice from a page's query.
    pub(crate) fn from_query(params: &Params) -> Option<Self> {
        Some(match params.get("error")? {
            "username" => Self::Username,
            "taken" => Self::Taken,
            "email" => Self::Email,
            "mismatch" => Self::Mismatch,
            "short" => Self::Short,
            "long" => Self::Long,
            "common" => Self::Common,
            "throttled" => Self::Throttled {
                wait_secs: params
                    .get("wait")
                    .and_then(|w| w.parse::<i64>().ok())
                    .unwrap_or(1)
                    .clamp(1, Self::MAX_WAIT_SECS),
            },
            _ => return None,
        })
    }

    /// Appends the notice to a page's query.
    pub(crate) fn append_to(self, q: &mut form_urlencoded::Serializer<'_, String>) {
        let name = match self {
            Self::Username => "username",
            Self::Taken => "taken",
            Self::Email => "email",
            Self::Mismatch => "mismatch",
            Self::Short => "short",
            Self::Long => "long",
            Self::Common => "common",
            Self::Throttled { wait_secs } => {
                q.append_pair("wait", &wait_secs.to_string());
                "throttled"
            }
        };
        q.append_pair("error", name);
    }

    fn message(self, policy: &PasswordPolicy) -> Markup {
        let text = match self {
            Self::Username => html! { (t(Msg::SignupErrorUsername)) },
            Self::Taken => html! { (t(Msg::SignupErrorTaken)) },
            Self::Email => html! { (t(Msg::SignupErrorEmail)) },
            Self::Mismatch => html! { (t(Msg::SignupErrorMismatch)) },
            Self::Short => tf(
                Msg::SignupErrorShort,
                &[("min", html! { (policy.min_length) })],
            ),
            Self::Long => tf(
                Msg::SignupErrorLong,
                &[("max", html! { (policy.max_length) })],
            ),
            Self::Common => html! { (t(Msg::SignupErrorCommon)) },
            Self::Throttled { wait_secs } => {
                tf(Msg::SignupErrorThrottled, &[("wait", wait_text(wait_secs))])
            }
        };
        html! { p.error role="alert" { (text) } }
    }
}

/// The two new-password fields, with the policy told beside them.
fn new_password_fields(policy: &PasswordPolicy) -> Markup {
    html! {
        label for="password" { (t(Msg::CommonPassword)) }
        input id="password" type="password" name="password" autocomplete="new-password"
            minlength=(policy.min_length) maxlength=(policy.max_length) required
            aria-describedby="password-rule";
        p.muted id="password-rule" {
            (tf(Msg::SignupPasswordRule, &[("min", html! { (policy.min_length) })]))
        }
        label for="password_repeat" { (t(Msg::SignupPasswordAgain)) }
        input id="password_repeat" type="password" name="password_repeat" autocomplete="new-password" required;
    }
}

/// What the sign-up page shows.
#[derive(Debug, Clone)]
pub(crate) struct SignUpView<'a> {
    /// CSRF token.
    pub csrf: &'a str,
    /// Username to prefill.
    pub username: &'a str,
    /// Address to prefill.
    pub email: &'a str,
    /// Why the form is shown again.
    pub notice: Option<FormNotice>,
    /// The password policy.
    pub policy: PasswordPolicy,
}

/// The sign-up page.
pub(crate) fn sign_up_page(view: &SignUpView<'_>) -> Response {
    page(
        StatusCode::OK,
        layout(
            t(Msg::SignupTitle),
            html! {
                h1 { (t(Msg::SignupTitle)) }
                @if let Some(n) = view.notice { (n.message(&view.policy)) }
                form method="post" action="/register" {
                    input type="hidden" name="csrf" value=(view.csrf);
                    label for="username" { (t(Msg::CommonUsername)) }
                    input id="username" type="text" name="username" autocomplete="username" maxlength="128" required value=(view.username);
                    label for="email" { (t(Msg::SignupEmail)) }
                    input id="email" type="email" name="email" autocomplete="email" required value=(view.email);
                    (new_password_fields(&view.policy))
                    button type="submit" { (t(Msg::SignupSubmit)) }
                }
                p.muted { (t(Msg::SignupHaveAccount)) " " a href="/login" { (t(Msg::CommonSignIn)) } }
            },
        ),
    )
}

/// The page a verification link opens: a button, so that fetching the link alone (as mail
/// scanners do) verifies nothing.
pub(crate) fn verify_page(csrf: &str, token: &str) -> Response {
    page(
        StatusCode::OK,
        layout(
            t(Msg::SignupVerifyTitle),
            html! {
                h1 { (t(Msg::SignupVerifyTitle)) }
                form method="post" action="/register/verify" {
                    input type="hidden" name="csrf" value=(csrf);
                    input type="hidden" name="token" value=(token);
                    button type="submit" { (t(Msg::SignupVerifySubmit)) }
                }
            },
        ),
    )
}

/// Which kind of link could not be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DeadLink {
    /// An address confirmation link.
    Confirmation,
    /// A password reset link; the page offers to ask for a new one at this path.
    Reset {
        /// Where a new link is asked for.
        retry: &'static str,
    },
}

/// The answer to a link that cannot be used (unknown, used or expired).
pub(crate) fn dead_link_page(link: DeadLink) -> Response {
    page(
        StatusCode::BAD_REQUEST,
        layout(
            t(Msg::SignupDeadTitle),
            html! {
                h1 { (t(Msg::SignupDeadTitle)) }
                @match link {
                    DeadLink::Confirmation => p role="alert" { (t(Msg::SignupDeadConfirmation)) },
                    DeadLink::Reset { retry } => {
                        p role="alert" { (t(Msg::SignupDeadReset)) }
                        p { a href=(retry) { (t(Msg::SignupAskNewLink)) } }
                    },
                }
            },
        ),
    )
}

/// The "forgot password" page.
pub(crate) fn forgot_page(
    csrf: &str,
    notice: Option<FormNotice>,
    policy: &PasswordPolicy,
) -> Response {
    page(
        StatusCode::OK,
        layout(
            t(Msg::SignupForgotTitle),
            html! {
                h1 { (t(Msg::SignupForgotHeading)) }
                @if let Some(n) = notice { (n.message(policy)) }
                p { (t(Msg::SignupForgotText)) }
                form method="post" action="/password/forgot" {
                    input type="hidden" name="csrf" value=(csrf);
                    label for="email" { (t(Msg::SignupEmail)) }
                    input id="email" type="email" name="email" autocomplete="email" required;
                    button type="submit" { (t(Msg::SignupForgotSubmit)) }
                }
                p.muted { a href="/login" { (t(Msg::SignupBackToSignIn)) } }
            },
        ),
    )
}

/// The new-password form a reset link opens.
pub(crate) fn reset_page(
    csrf: &str,
    token: &str,
    notice: Option<FormNotice>,
    policy: &PasswordPolicy,
) -> Response {
    page(
        StatusCode::OK,
        layout(
            t(Msg::SignupResetTitle),
            html! {
                h1 { (t(Msg::SignupResetTitle)) }
                @if let Some(n) = notice { (n.message(policy)) }
                form method="post" action="/password/reset" {
                    input type="hidden" name="csrf" value=(csrf);
                    input type="hidden" name="token" value=(token);
                    (new_password_fields(policy))
                    button type="submit" { (t(Msg::SignupResetSubmit)) }
                }
                p.muted { (t(Msg::SignupResetNote)) }
            },
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notices_round_trip_through_the_query() {
        for n in [
            FormNotice::Username,
            FormNotice::Taken,
            FormNotice::Email,
            FormNotice::Mismatch,
            FormNotice::Short,
            FormNotice::Long,
            FormNotice::Common,
            FormNotice::Throttled { wait_secs: 60 },
        ] {
            let mut q = form_urlencoded::Serializer::new(String::new());
            n.append_to(&mut q);
            let query = q.finish();
            assert_eq!(
                FormNotice::from_query(&Params::parse(query.as_bytes())),
                Some(n)
            );
        }
        assert_eq!(FormNotice::from_query(&Params::parse(b"error=other")), None);
    }
}
