//! The account page: the applications the signed-in user granted access to, each with a
//! Withdraw button, and a sign-out button.

use axum::http::StatusCode;
use axum::response::Response;
use maud::html;

use super::{layout, page};

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

/// Renders the account page.
pub(crate) fn account_page(username: &str, apps: &[GrantedApp], csrf: &str) -> Response {
    page(
        StatusCode::OK,
        layout(
            "Your account",
            html! {
                h1 { "Your account" }
                p { "Signed in as " strong { (username) } }
                h2 { "Applications with access" }
                @if apps.is_empty() {
                    p.muted { "No application has access to your account." }
                } @else {
                    table {
                        @for app in apps {
                            tr {
                                td { strong { (app.name) } br; span.muted { (app.scope) } }
                                td {
                                    form method="post" action="/account/withdraw" {
                                        input type="hidden" name="csrf" value=(csrf);
                                        input type="hidden" name="client_id" value=(app.client_id);
                                        button type="submit" { "Withdraw" }
                                    }
                                }
                            }
                        }
                    }
                }
                form method="post" action="/logout" {
                    input type="hidden" name="csrf" value=(csrf);
                    button type="submit" { "Sign out" }
                }
            },
        ),
    )
}
