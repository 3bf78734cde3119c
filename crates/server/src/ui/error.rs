//! The error page: shown instead of redirecting when the client or redirect URI cannot be trusted
//! (RED-6), and for internal failures (without detail).

use axum::http::StatusCode;
use axum::response::Response;
use maud::html;

use super::{layout, page};

/// An error page with a fixed message chosen by the server.
pub fn error_page(status: StatusCode, message: &str) -> Response {
    page(
        status,
        layout(
            "Error",
            html! {
                h1 { "This request cannot be completed" }
                p.error { (message) }
                p.muted { "Return to the application and try again. If the problem persists, contact the application's developer." }
            },
        ),
    )
}

/// The signed-out page.
pub fn signed_out() -> Response {
    page(
        StatusCode::OK,
        layout(
            "Signed out",
            html! {
                h1 { "You are signed out" }
                p { "You can close this window." }
            },
        ),
    )
}

/// Asks the user to confirm signing out (a logout without a valid `id_token_hint`).
pub fn confirm_logout(csrf: &str) -> Response {
    page(
        StatusCode::OK,
        layout(
            "Sign out",
            html! {
                h1 { "Sign out?" }
                form method="post" action="/logout" {
                    input type="hidden" name="csrf" value=(csrf);
                    button type="submit" { "Sign out" }
                }
            },
        ),
    )
}
