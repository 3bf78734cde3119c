//! The consent page: who is asking (client name and id), what for (each scope in words), and
//! Allow / Deny buttons posting back with the pending request and the session's CSRF token.

use axum::http::StatusCode;
use axum::response::Response;
use maud::html;

use super::{layout, page};
use crate::domain::consent::describe;

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

/// Renders the consent page.
pub(crate) fn consent_page(view: &ConsentView<'_>) -> Response {
    page(
        StatusCode::OK,
        layout(
            "Allow access",
            html! {
                h1 { (view.client_name) " wants to access your account" }
                p.muted { "Signed in as " strong { (view.username) } ". Client id: " code { (view.client_id) } }
                p { "It asks to:" }
                ul.scopes {
                    @for s in &view.scopes {
                        li { (describe(s)) }
                    }
                }
                p.muted { "You will be sent back to " code { (view.redirect_uri) } ". You can withdraw this access at any time from your account page." }
                form method="post" action="/consent" {
                    input type="hidden" name="csrf" value=(view.csrf);
                    input type="hidden" name="request" value=(view.request);
                    div.row {
                        button type="submit" name="decision" value="allow" { "Allow" }
                        button type="submit" name="decision" value="deny" { "Deny" }
                    }
                }
            },
        ),
    )
}
