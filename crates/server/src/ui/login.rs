//! The login page: username and password, the pending authorization request carried in a hidden
//! field so the flow resumes after sign-in, and a CSRF token.

use axum::http::StatusCode;
use axum::response::Response;
use maud::html;

use super::{layout, page};

/// What the login page shows.
#[derive(Debug, Clone, Default)]
pub(crate) struct LoginView<'a> {
    /// The encoded authorization request to resume (empty: go to the account page).
    pub request: &'a str,
    /// CSRF token.
    pub csrf: &'a str,
    /// Username to prefill (`login_hint`).
    pub username: Option<&'a str>,
    /// Show the generic failure message.
    pub failed: bool,
    /// The client's display name, if signing in for one.
    pub client_name: Option<&'a str>,
}

/// Renders the login page.
pub(crate) fn login_page(view: &LoginView<'_>) -> Response {
    page(
        StatusCode::OK,
        layout(
            "Sign in",
            html! {
                h1 { "Sign in" }
                @if let Some(name) = view.client_name {
                    p.muted { "to continue to " strong { (name) } }
                }
                @if view.failed {
                    p.error role="alert" { "Sign-in failed: the username or password is wrong, or there were too many attempts. Try again later." }
                }
                form method="post" action="/login" {
                    input type="hidden" name="csrf" value=(view.csrf);
                    input type="hidden" name="request" value=(view.request);
                    label for="username" { "Username" }
                    input id="username" type="text" name="username" autocomplete="username" required value=(view.username.unwrap_or_default());
                    label for="password" { "Password" }
                    input id="password" type="password" name="password" autocomplete="current-password" required;
                    button type="submit" { "Sign in" }
                }
            },
        ),
    )
}
