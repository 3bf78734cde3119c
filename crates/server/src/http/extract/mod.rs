//! The extractors that run before a handler, one file per concept: the authenticated client of
//! the back-channel endpoints ([`client`]), the browser session ([`session`]), the CSRF-checked
//! page forms ([`csrf`]) and form bodies ([`form`]); here the client address and the cookie names
//! and builders.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{Extensions, HeaderMap, HeaderValue};
use axum_extra::extract::cookie::{Cookie, SameSite};

use crate::config::ServerConfig;
use crate::state::AppState;

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

/// The client's address: the peer address (when the server was started with connect info,
/// `into_make_service_with_connect_info::<SocketAddr>()`), or behind a trusted proxy the address
/// that proxy reported (see [`client_addr`]).
#[derive(Debug, Clone, Copy)]
pub(crate) struct ClientAddr(pub Option<IpAddr>);

impl FromRequestParts<Arc<AppState>> for ClientAddr {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Arc<AppState>,
    ) -> Result<Self, Self::Rejection> {
        Ok(Self(client_addr(
            &parts.extensions,
            &parts.headers,
            &state.config,
        )))
    }
}

/// Who sent the request (RS-14). `X-Forwarded-For` is read only when the peer is one of the
/// configured trusted proxies, and then from the right: each trusted proxy vouches for the
/// entry before it, so the first entry that is not a trusted proxy is the client. Entries to
/// its left were written by the client and are never read. An entry that does not parse ends
/// the walk at the last trusted hop, as does a header naming only trusted proxies.
pub(crate) fn client_addr(
    extensions: &Extensions,
    headers: &HeaderMap,
    config: &ServerConfig,
) -> Option<IpAddr> {
    let peer = extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip())?;
    let trusted = |ip: &IpAddr| config.trusted_proxies.iter().any(|net| net.contains(ip));
    let mut client = peer;
    if !trusted(&client) {
        return Some(client);
    }
    // Several header lines form one list, in order.
    let lines: Vec<&HeaderValue> = headers.get_all(X_FORWARDED_FOR).iter().collect();
    for line in lines.into_iter().rev() {
        let Ok(text) = line.to_str() else {
            return Some(client);
        };
        for hop in text.rsplit(',') {
            let Ok(ip) = hop.trim().parse::<IpAddr>() else {
                return Some(client);
            };
            client = ip;
            if !trusted(&client) {
                return Some(client);
            }
        }
    }
    Some(client)
}

const X_FORWARDED_FOR: &str = "x-forwarded-for";

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
