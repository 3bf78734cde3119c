//! The consent page: who is asking (client name and id), what for (each scope in words), and
//! Allow / Deny buttons posting back with the pending request and the session's CSRF token.

use axum::http::StatusCode;
use axum::response::Response;
use maud::{Markup, html};

use super::{Msg, layout, page, t, tf};

/// What the consent page shows.
#[derive(Debug, Clone)]
pub(crate) struct ConsentView<'a> {
    /// Client display name (falls back to the id).
    pub client_name: &'a str,
    /// Client id.
    pub client_id: &'a str,
    /// Requested scope tokens.
    pub scopes: Vec<&'a str>,
    /// The signed-in user's name.
    pub username: &'a str,
    /// The encoded authorization request.
    pub request: &'a str,
    /// CSRF token of the session.
    pub csrf: &'a str,
    /// Where the user returns (the validated redirect URI's origin, for display).
    pub redirect_uri: &'a str,
}

/// A scope in words, for the consent and device pages.
pub(crate) fn describe(scope: &str) -> Markup {
    let msg = match scope {
        "openid" => Msg::ScopeOpenid,
        "profile" => Msg::ScopeProfile,
        "email" => Msg::ScopeEmail,
        "offline_access" => Msg::ScopeOfflineAccess,
        other => return tf(Msg::ScopeOther, &[("scope", html! { (other) })]),
    };
    html! { (t(msg)) }
}

/// "Signed in as NAME. Client id: ID", under the heading of the consent and device pages.
pub(crate) fn who_and_which(signed_in: Msg, username: &str, client_id: &str) -> Markup {
    html! {
        p.muted {
            (tf(signed_in, &[("user", html! { strong { (username) } })])) " "
            (tf(Msg::CommonClientId, &[("client_id", html! { code { (client_id) } })]))
        }
    }
}

/// The requested scopes in words, as a list.
pub(crate) fn scope_list(scopes: &[&str]) -> Markup {
    html! {
        p { (t(Msg::CommonAsksTo)) }
        ul.scopes {
            @for s in scopes {
                li { (describe(s)) }
            }
        }
    }
}

/// The Allow and Deny buttons of a decision form.
pub(crate) fn decision_buttons() -> Markup {
    html! {
        div.row {
            button type="submit" name="decision" value="allow" { (t(Msg::CommonAllow)) }
            button type="submit" name="decision" value="deny" { (t(Msg::CommonDeny)) }
        }
    }
}

/// Renders the consent page.
pub(crate) fn consent_page(view: &ConsentView<'_>) -> Response {
    page(
        StatusCode::OK,
        layout(
            t(Msg::ConsentTitle),
            html! {
                h1 { (tf(Msg::ConsentHeading, &[("client", html! { (view.client_name) })])) }
                (who_and_which(Msg::ConsentSignedIn, view.username, view.client_id))
                (scope_list(&view.scopes))
                p.muted { (tf(Msg::ConsentReturnTo, &[("redirect_uri", html! { code { (view.redirect_uri) } })])) }
                form method="post" action="/consent" {
                    input type="hidden" name="csrf" value=(view.csrf);
                    input type="hidden" name="request" value=(view.request);
                    (decision_buttons())
                }
            },
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_in_words() {
        assert_eq!(describe("email").into_string(), "See your email address");
        assert_eq!(
            describe("orders:<x>").into_string(),
            "Access \u{201c}orders:&lt;x&gt;\u{201d}"
        );
    }
}
