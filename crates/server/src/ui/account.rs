//! The account page: the applications the signed-in user granted access to, each with a
//! Withdraw button; the upstream providers, each with Link or Unlink; the password change
//! form; "Sign out everywhere" and a sign-out button; and the form that deletes the account.

use axum::http::StatusCode;
use axum::response::Response;
use maud::{Markup, html};

use super::login::wait_text;
use super::{Msg, layout, page, t, tf};
use crate::config::PasswordPolicy;
use crate::domain::params::Params;

/// One granted application.
#[derive(Debug, Clone)]
pub(crate) struct GrantedApp {
    /// Client id.
    pub client_id: String,
    /// Display name.
    pub name: String,
    /// Consented scope.
    pub scope: String,
}

/// An upstream provider on the account page.
#[derive(Debug, Clone)]
pub(crate) struct LinkableUpstream {
    /// The upstream's id.
    pub id: String,
    /// Its button label.
    pub label: String,
    /// Whether the user has an account there linked.
    pub linked: bool,
}

/// What the account page reports after linking or unlinking an upstream provider, carried in its
/// query as `upstream=linked|unlinked|not-linked|last-way-in`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum UpstreamNotice {
    /// The account at the provider was linked.
    Linked,
    /// The link was removed.
    Unlinked,
    /// There was no such link.
    NotLinked,
    /// Refused: it is the only way left to sign in.
    LastWayIn,
}

impl UpstreamNotice {
    const ALL: [(Self, &'static str); 4] = [
        (Self::Linked, "linked"),
        (Self::Unlinked, "unlinked"),
        (Self::NotLinked, "not-linked"),
        (Self::LastWayIn, "last-way-in"),
    ];

    /// Reads the notice from the account page's query.
    pub(crate) fn from_query(params: &Params) -> Option<Self> {
        let v = params.get("upstream")?;
        Self::ALL.iter().find(|(_, s)| *s == v).map(|(n, _)| *n)
    }

    /// The account page's address showing this notice.
    pub(crate) fn location(self) -> String {
        let v = Self::ALL
            .iter()
            .find(|(n, _)| *n == self)
            .map_or("linked", |(_, s)| s);
        format!("/account?upstream={v}")
    }

    fn message(self) -> Markup {
        match self {
            Self::Linked => html! { p role="status" { (t(Msg::UpstreamLinked)) } },
            Self::Unlinked => html! { p role="status" { (t(Msg::UpstreamUnlinked)) } },
            Self::NotLinked => html! { p.error role="alert" { (t(Msg::UpstreamNotLinked)) } },
            Self::LastWayIn => html! { p.error role="alert" { (t(Msg::UpstreamLastWayIn)) } },
        }
    }
}

/// What the account page reports after a password change, carried in its query as
/// `password=changed|wrong|mismatch|short|long|common|throttled` (and `wait=SECS` when
/// throttled), or after a refused deletion as `delete=wrong|throttled`. Only
/// shown back to the browser that carries it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PasswordNotice {
    /// The password was changed; every other sign-in ended.
    Changed,
    /// The current password was wrong.
    WrongCurrent,
    /// The two copies of the new password differ.
    Mismatch,
    /// The new password is too short.
    TooShort,
    /// The new password is too long.
    TooLong,
    /// The new password is too common (or the username).
    Common,
    /// The account was not deleted: the confirmation did not match.
    DeleteNotConfirmed,
    /// The account was not deleted: too many failed attempts.
    DeleteThrottled {
        /// Seconds to wait at most.
        wait_secs: i64,
    },
    /// Too many failed attempts: try again within this many seconds.
    Throttled {
        /// Seconds to wait at most.
        wait_secs: i64,
    },
}

impl PasswordNotice {
    /// The longest wait a query may claim (a day), as on the sign-in page.
    const MAX_WAIT_SECS: i64 = 86_400;

    /// Reads the notice from the account page's query.
    pub(crate) fn from_query(params: &Params) -> Option<Self> {
        let wait = || {
            params
                .get("wait")
                .and_then(|w| w.parse::<i64>().ok())
                .unwrap_or(1)
                .clamp(1, Self::MAX_WAIT_SECS)
        };
        if let Some(delete) = params.get("delete") {
            return match delete {
                "wrong" => Some(Self::DeleteNotConfirmed),
                "throttled" => Some(Self::DeleteThrottled { wait_secs: wait() }),
                _ => None,
            };
        }
        Some(match params.get("password")? {
            "changed" => Self::Changed,
            "wrong" => Self::WrongCurrent,
            "mismatch" => Self::Mismatch,
            "short" => Self::TooShort,
            "long" => Self::TooLong,
            "common" => Self::Common,
            "throttled" => Self::Throttled { wait_secs: wait() },
            _ => return None,
        })
    }

    /// The account page's address showing this notice.
    pub(crate) fn location(self) -> String {
        let mut q = form_urlencoded::Serializer::new(String::new());
        match self {
            Self::Changed => q.append_pair("password", "changed"),
            Self::WrongCurrent => q.append_pair("password", "wrong"),
            Self::Mismatch => q.append_pair("password", "mismatch"),
            Self::TooShort => q.append_pair("password", "short"),
            Self::TooLong => q.append_pair("password", "long"),
            Self::Common => q.append_pair("password", "common"),
            Self::DeleteNotConfirmed => q.append_pair("delete", "wrong"),
            Self::DeleteThrottled { wait_secs } => q
                .append_pair("delete", "throttled")
                .append_pair("wait", &wait_secs.to_string()),
            Self::Throttled { wait_secs } => q
                .append_pair("password", "throttled")
                .append_pair("wait", &wait_secs.to_string()),
        };
        format!("/account?{}", q.finish())
    }

    fn message(self, policy: &PasswordPolicy) -> Markup {
        let alert = |text: Markup| html! { p.error role="alert" { (text) } };
        match self {
            Self::Changed => html! { p role="status" { (t(Msg::PasswordChanged)) } },
            Self::WrongCurrent => alert(html! { (t(Msg::PasswordWrongCurrent)) }),
            Self::Mismatch => alert(html! { (t(Msg::PasswordMismatch)) }),
            Self::TooShort => alert(tf(
                Msg::PasswordTooShort,
                &[("min", html! { (policy.min_length) })],
            )),
            Self::TooLong => alert(tf(
                Msg::PasswordTooLong,
                &[("max", html! { (policy.max_length) })],
            )),
            Self::Common => alert(html! { (t(Msg::PasswordTooCommon)) }),
            Self::DeleteNotConfirmed => alert(html! { (t(Msg::PasswordDeleteNotConfirmed)) }),
            Self::DeleteThrottled { wait_secs } | Self::Throttled { wait_secs } => alert(tf(
                Msg::PasswordThrottled,
                &[("wait", wait_text(wait_secs))],
            )),
        }
    }
}

/// What the account page shows.
#[derive(Debug, Clone)]
pub(crate) struct AccountView<'a> {
    /// The signed-in user's name.
    pub username: &'a str,
    /// The applications with access.
    pub apps: &'a [GrantedApp],
    /// The upstream providers, linked or not.
    pub upstreams: &'a [LinkableUpstream],
    /// CSRF token of the session.
    pub csrf: &'a str,
    /// The outcome of a password change just made, if any.
    pub notice: Option<PasswordNotice>,
    /// The outcome of a link or unlink just made, if any.
    pub upstream_notice: Option<UpstreamNotice>,
    /// The password policy.
    pub policy: PasswordPolicy,
    /// Whether the account has a password (else deleting it asks for the username).
    pub has_password: bool,
}

/// Renders the account page.
pub(crate) fn account_page(view: &AccountView<'_>) -> Response {
    let csrf = view.csrf;
    page(
        StatusCode::OK,
        layout(
            t(Msg::AccountTitle),
            html! {
                h1 { (t(Msg::AccountTitle)) }
                p { (tf(Msg::AccountSignedIn, &[("user", html! { strong { (view.username) } })])) }
                @if let Some(notice) = view.notice {
                    (notice.message(&view.policy))
                }
                @if let Some(notice) = view.upstream_notice {
                    (notice.message())
                }
                h2 { (t(Msg::AccountApps)) }
                @if view.apps.is_empty() {
                    p.muted { (t(Msg::AccountNoApps)) }
                } @else {
                    table {
                        @for app in view.apps {
                            tr {
                                td { strong { (app.name) } br; span.muted { (app.scope) } }
                                td {
                                    form method="post" action="/account/withdraw" {
                                        input type="hidden" name="csrf" value=(csrf);
                                        input type="hidden" name="client_id" value=(app.client_id);
                                        button type="submit" { (t(Msg::AccountWithdraw)) }
                                    }
                                }
                            }
                        }
                    }
                }
                @if !view.upstreams.is_empty() {
                    h2 { (t(Msg::AccountProviders)) }
                    table {
                        @for u in view.upstreams {
                            @let provider = [("provider", html! { (u.label) })];
                            tr {
                                td {
                                    strong { (u.label) } br;
                                    span.muted { @if u.linked { (t(Msg::AccountLinked)) } @else { (t(Msg::AccountNotLinked)) } }
                                }
                                td {
                                    @if u.linked {
                                        form method="post" action="/account/upstreams/unlink" {
                                            input type="hidden" name="csrf" value=(csrf);
                                            input type="hidden" name="upstream" value=(u.id);
                                            button type="submit" aria-label=(tf(Msg::AccountUnlinkProvider, &provider)) { (t(Msg::AccountUnlink)) }
                                        }
                                    } @else {
                                        form method="post" action="/account/upstreams/link" {
                                            input type="hidden" name="csrf" value=(csrf);
                                            input type="hidden" name="upstream" value=(u.id);
                                            button type="submit" aria-label=(tf(Msg::AccountLinkProvider, &provider)) { (t(Msg::AccountLink)) }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
                h2 { (t(Msg::AccountChangePassword)) }
                form method="post" action="/account/password" {
                    input type="hidden" name="csrf" value=(csrf);
                    label for="current_password" { (t(Msg::AccountCurrentPassword)) }
                    input id="current_password" type="password" name="current_password" autocomplete="current-password" required;
                    label for="new_password" { (t(Msg::AccountNewPassword)) }
                    input id="new_password" type="password" name="new_password" autocomplete="new-password" minlength=(view.policy.min_length) maxlength=(view.policy.max_length) required;
                    label for="new_password_repeat" { (t(Msg::AccountNewPasswordRepeat)) }
                    input id="new_password_repeat" type="password" name="new_password_repeat" autocomplete="new-password" required;
                    button type="submit" { (t(Msg::AccountChangePassword)) }
                }
                p.muted { (t(Msg::AccountPasswordNote)) }
                h2 { (t(Msg::CommonSignOut)) }
                form method="post" action="/account/sign-out-everywhere" {
                    input type="hidden" name="csrf" value=(csrf);
                    button type="submit" { (t(Msg::AccountSignOutEverywhere)) }
                }
                p.muted { (t(Msg::AccountSignOutEverywhereNote)) }
                form method="post" action="/logout" {
                    input type="hidden" name="csrf" value=(csrf);
                    button type="submit" { (t(Msg::CommonSignOut)) }
                }
                h2 { (t(Msg::SignupDeleteHeading)) }
                p.muted {
                    (t(Msg::SignupDeleteText))
                }
                form method="post" action="/account/delete" {
                    input type="hidden" name="csrf" value=(csrf);
                    @if view.has_password {
                        label for="delete_confirmation" { (t(Msg::SignupDeletePassword)) }
                        input id="delete_confirmation" type="password" name="confirmation" autocomplete="current-password" required;
                    } @else {
                        label for="delete_confirmation" { (t(Msg::SignupDeleteUsername)) }
                        input id="delete_confirmation" type="text" name="confirmation" autocomplete="off" required;
                    }
                    button type="submit" { (t(Msg::SignupDeleteHeading)) }
                }
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
            PasswordNotice::Changed,
            PasswordNotice::WrongCurrent,
            PasswordNotice::Mismatch,
            PasswordNotice::TooShort,
            PasswordNotice::TooLong,
            PasswordNotice::Common,
            PasswordNotice::DeleteNotConfirmed,
            PasswordNotice::DeleteThrottled { wait_secs: 30 },
            PasswordNotice::Throttled { wait_secs: 300 },
        ] {
            let loc = n.location();
            let query = loc.trim_start_matches("/account?");
            assert_eq!(
                PasswordNotice::from_query(&Params::parse(query.as_bytes())),
                Some(n)
            );
        }
        let absurd = Params::parse(b"password=throttled&wait=99999999");
        assert_eq!(
            PasswordNotice::from_query(&absurd),
            Some(PasswordNotice::Throttled { wait_secs: 86_400 })
        );
        assert_eq!(
            PasswordNotice::from_query(&Params::parse(b"password=x")),
            None
        );
        for n in [
            UpstreamNotice::Linked,
            UpstreamNotice::Unlinked,
            UpstreamNotice::NotLinked,
            UpstreamNotice::LastWayIn,
        ] {
            let loc = n.location();
            let query = loc.trim_start_matches("/account?");
            assert_eq!(
                UpstreamNotice::from_query(&Params::parse(query.as_bytes())),
                Some(n)
            );
        }
        assert_eq!(
            UpstreamNotice::from_query(&Params::parse(b"upstream=x")),
            None
        );
    }
}
