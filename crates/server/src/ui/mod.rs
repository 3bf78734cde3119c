//! Server-rendered HTML (maud) that works without JavaScript, and the security headers every page
//! carries: CSP with `frame-ancestors 'none'` and no third-party sources, `X-Frame-Options: DENY`,
//! `Referrer-Policy: no-referrer`, `Cache-Control: no-store` (UI-1, UI-2), set once on the pages
//! router by [`with_security_headers`].
//!
//! Pages speak the user's language and wear the deployment's or the client's theme: write texts
//! as [`t`]`(Msg::…)` or [`tf`] (keys in `crates/server/locales/*.toml`) and wrap the body in
//! [`layout`]; the pages router's [`context::resolve`] decides both for each request.

use axum::Router;
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use maud::{DOCTYPE, Markup, html};
use tower_http::set_header::SetResponseHeaderLayer;

pub(crate) mod account;
pub(crate) mod consent;
pub(crate) mod context;
pub(crate) mod device;
pub(crate) mod error;
pub(crate) mod home;
pub(crate) mod login;
pub(crate) mod self_service;

pub(crate) use crate::i18n::Msg;
pub(crate) use context::PageContext;

/// The page CSP: only our own stylesheets and images (the theme's are served from this origin
/// too), no script, nothing inline, never framed.
pub(crate) const CSP: &str =
    "default-src 'none'; style-src 'self'; img-src 'self'; base-uri 'none'; frame-ancestors 'none'";

/// The stylesheet served at [`STYLESHEET_PATH`]. Its colours are the theme's CSS variables,
/// falling back to the built-in colours ([`crate::theme::Colours::BUILT_IN`]).
pub(crate) const STYLESHEET: &str = "\
body{font-family:system-ui,sans-serif;background:var(--pc-background,#f4f5f7);color:var(--pc-text,#1d2330);margin:0}\
main{max-width:26rem;margin:4rem auto;background:var(--pc-surface,#fff);padding:2rem;border-radius:8px;box-shadow:0 1px 4px #0002}\
.brand{display:flex;align-items:center;gap:.6rem;margin:0 0 1.2rem;font-weight:600}.brand img{max-height:2.5rem;max-width:10rem}\
h1{font-size:1.4rem;margin-top:0}label{display:block;margin:.8rem 0 .2rem}\
input[type=text],input[type=password],input[type=email]{width:100%;padding:.5rem;box-sizing:border-box}\
button{margin-top:1rem;padding:.5rem 1rem;cursor:pointer}\
a.button{display:block;text-align:center;padding:.5rem 1rem;border:1px solid #8a93a5;border-radius:4px;color:inherit;text-decoration:none}\
.error{color:#a40000;background:#fde8e8;padding:.5rem;border-radius:4px}\
.muted{color:var(--pc-muted,#5a6272);font-size:.9rem}ul.scopes li{margin:.3rem 0}\
.row{display:flex;gap:.5rem}table{width:100%;border-collapse:collapse}td{padding:.4rem 0}";

/// Where the stylesheet is served.
pub(crate) const STYLESHEET_PATH: &str = "/assets/portcullis.css";

/// Wraps a body in the common page layout, in the page's language and theme.
pub(crate) fn layout(title: &str, body: Markup) -> Markup {
    let PageContext { locale, theme } = PageContext::current();
    let product = theme.product_name();
    html! {
        (DOCTYPE)
        html lang=(locale.tag()) {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                meta name="referrer" content="no-referrer";
                title { (title) " \u{2013} " (product) }
                link rel="stylesheet" href=(STYLESHEET_PATH);
                @if let Some(href) = theme.stylesheet_path() {
                    link rel="stylesheet" href=(href);
                }
            }
            body {
                main {
                    p.brand {
                        @if let Some(src) = theme.logo_path() {
                            // The name stands beside the logo, so the image adds nothing to read.
                            img src=(src) alt="";
                        }
                        span { (product) }
                    }
                    (body)
                }
            }
        }
    }
}

/// The text of `msg` in the page's language.
pub(crate) fn t(msg: Msg) -> &'static str {
    PageContext::locale().text(msg)
}

/// The text of `msg` in the page's language with its `{placeholders}` filled by `args`.
pub(crate) fn tf(msg: Msg, args: &[(&str, Markup)]) -> Markup {
    crate::i18n::fill(t(msg), args)
}

/// The headers every page response carries, whatever it is (page, redirect or refusal).
pub(crate) const SECURITY_HEADERS: [(HeaderName, &str); 6] = [
    (header::CONTENT_SECURITY_POLICY, CSP),
    (header::X_FRAME_OPTIONS, "DENY"),
    (header::REFERRER_POLICY, "no-referrer"),
    (header::CACHE_CONTROL, "no-store"),
    (header::PRAGMA, "no-cache"),
    (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
];

/// Sets [`SECURITY_HEADERS`] on every response of `router`, replacing any the handler set.
pub(crate) fn with_security_headers<S>(router: Router<S>) -> Router<S>
where
    S: Clone + Send + Sync + 'static,
{
    SECURITY_HEADERS
        .into_iter()
        .fold(router, |router, (name, value)| {
            router.layer(SetResponseHeaderLayer::overriding(
                name,
                HeaderValue::from_static(value),
            ))
        })
}

/// An HTML page response (the security headers come from the pages router).
pub(crate) fn page(status: StatusCode, markup: Markup) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        markup.into_string(),
    )
        .into_response()
}

/// A `303 See Other` to `location`; on the pages router it carries the security headers
/// (RED-14).
pub(crate) fn see_other(location: &str) -> Response {
    let mut response = StatusCode::SEE_OTHER.into_response();
    if let Ok(v) = HeaderValue::from_str(location) {
        response.headers_mut().insert(header::LOCATION, v);
    }
    response
}
