//! The landing page at `/`: what this server is and where its parts are, so that the first
//! request a newcomer makes in a browser does not end on an empty 404.

use axum::http::StatusCode;
use axum::response::Response;
use maud::html;

use super::{Msg, PageContext, layout, page, t, tf};

/// Renders the landing page of the server whose issuer is `issuer`.
pub(crate) fn home_page(issuer: &str) -> Response {
    let discovery = format!("{issuer}/.well-known/openid-configuration");
    let jwks = format!("{issuer}/.well-known/jwks.json");
    let product = PageContext::current().theme.product_name().to_owned();
    page(
        StatusCode::OK,
        layout(
            &product,
            html! {
                h1 { (product) }
                p { (tf(Msg::HomeIntro, &[("issuer", html! { code { (issuer) } })])) }
                ul {
                    li { a href=(discovery) { (t(Msg::HomeDiscovery)) } " " (t(Msg::HomeDiscoveryNote)) }
                    li { a href=(jwks) { (t(Msg::HomeJwks)) } " " (t(Msg::HomeJwksNote)) }
                    li { a href="/account" { (t(Msg::HomeAccount)) } " " (t(Msg::HomeAccountNote)) }
                    li { a href="/device" { (t(Msg::DeviceTitle)) } }
                    li { a href="https://github.com/portcullis-auth/portcullis#readme" { (t(Msg::HomeDocumentation)) } }
                }
            },
        ),
    )
}
