//! The extractors that run before a handler, one file per concept: the authenticated client of
//! the back-channel endpoints ([`client`]), the browser session ([`session`]), the CSRF-checked
//! page forms ([`csrf`]) and form bodies ([`form`]); here the client address and the cookie names
//! and builders.

use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::HeaderMap;
use axum::http::request::Parts;
use axum_extra::extract::cookie::{Cookie, SameSite};

use crate::config::ServerConfig;

pub(crate) mod client;
pub(crate) mod csrf;
pub(crate) mod form;
pub(crate) mod session;

pub(crate) use client::{AuthenticatedClient, ConfidentialClient};
pub(crate) use csrf::{CsrfForm, SignInForm};
pub(crate) use form::{PageForm, is_form};
pub(crate) use session::{MaybeSession, SignedIn};

/// The `Authorization` header as text.
pub(crate) fn authorization(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
}

/// The peer address, when the server was started with connect info
/// (`into_make_service_with_connect_info::<SocketAddr>()`).
#[derive(Debug, Clone, Copy)]
pub(crate) struct ClientAddr(pub Option<IpAddr>);

impl<S: Send + Sync> FromRequestParts<S> for ClientAddr {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(Self(
            parts
                .extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map(|c| c.0.ip()),
        ))
    }
}

/// Cookie names: `__Host-` prefixed when the issuer is https (UI-4).
pub(crate) fn session_cookie_name(config: &ServerConfig) -> &'static str {
    if config.secure_cookies() {
        "__Host-portcullis-session"
    } else {
        "portcullis-session"
    }
}

/// The login-form CSRF cookie name.
pub(crate) fn csrf_cookie_name(config: &ServerConfig) -> &'static str {
    if config.secure_cookies() {
        "__Host-portcullis-csrf"
    } else {
        "portcullis-csrf"
    }
}

/// A cookie with the house attributes: HttpOnly, SameSite=Lax, Path=/, Secure on https.
pub(crate) fn cookie(config: &ServerConfig, name: &'static str, value: String) -> Cookie<'static> {
    Cookie::build((name, value))
        .http_only(true)
        .same_site(SameSite::Lax)
        .path("/")
        .secure(config.secure_cookies())
        .build()
}

/// A cookie that clears `name`.
pub(crate) fn removal(config: &ServerConfig, name: &'static str) -> Cookie<'static> {
    let mut c = cookie(config, name, String::new());
    c.make_removal();
    c
}

#[cfg(test)]
mod tests;
