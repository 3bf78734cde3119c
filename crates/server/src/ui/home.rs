//! The landing page at `/`: what this server is and where its parts are, so that the first
//! request a newcomer makes in a browser does not end on an empty 404.

use axum::http::StatusCode;
use axum::response::Response;
use maud::html;

use super::{layout, page};

/// Renders the landing page of the server whose issuer is `issuer`.
pub(crate) fn home_page(issuer: &str) -> Response {
    let discovery = format!("{issuer}/.well-known/openid-configuration");
    let jwks = format!("{issuer}/.well-known/jwks.json");
    page(
        StatusCode::OK,
        layout(
            "Portcullis",
            html! {
                h1 { "Portcullis" }
                p { "An OAuth 2.1 and OpenID Connect authorization server. Issuer: " code { (issuer) } }
                ul {
                    li { a href=(discovery) { "OpenID Provider configuration" } " (discovery)" }
                    li { a href=(jwks) { "JSON Web Key Set" } " (the keys that verify its tokens)" }
                    li { a href="/account" { "Your account" } " (sign in, see and withdraw the access you granted)" }
                    li { a href="/device" { "Connect a device" } }
                    li { a href="https://github.com/portcullis-auth/portcullis#readme" { "Documentation" } }
                }
            },
        ),
    )
}
