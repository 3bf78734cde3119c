//! Thin axum handlers, one file per endpoint, and the router that wires them. Three groups:
//! the metadata routes (discovery, JWKS; CORS, their own cache lifetimes), the back-channel API
//! (CORS, `Cache-Control: no-store` and `Pragma: no-cache` on every response, TOK-2) and the pages
//! (no CORS, RED-13; the page security headers on every response, UI-1, UI-2), plus the health
//! probes and the page assets (stylesheet, theme files) with none of those. Around them all: a body-size limit (DOS-5; a
//! larger `Content-Length` is answered 413 before any of the body is read), a
//! request timeout (`request_timeout_secs`; a request still running then is answered
//! `408 Request Timeout` with an empty body, tower-http's default status), and tracing with
//! `Authorization` and cookies marked sensitive and secret query parameters redacted (KEY-4).

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::routing::{get, post};
use tower_http::cors::{Any, CorsLayer};
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::sensitive_headers::SetSensitiveHeadersLayer;
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

use crate::state::AppState;
use crate::ui::{STYLESHEET_PATH, with_security_headers};

pub(crate) mod account;
pub(crate) mod authorize;
pub(crate) mod consent;
pub(crate) mod device;
pub(crate) mod directory;
pub(crate) mod discovery;
pub(crate) mod error;
pub(crate) mod extract;
pub(crate) mod health;
pub(crate) mod home;
pub(crate) mod introspect;
pub(crate) mod jwks;
pub(crate) mod login;
pub(crate) mod logout;
pub(crate) mod metrics;
pub(crate) mod password_reset;
pub(crate) mod register;
pub(crate) mod revoke;
pub(crate) mod signin;
pub(crate) mod theme;
pub(crate) mod token;
pub(crate) mod trace;
pub(crate) mod upstream;
pub(crate) mod userinfo;

/// The self-service pages this deployment offers; the others are not routed at all (404):
/// `/register` when sign-up is on, `/register/verify` and `/password/*` with an SMTP relay.
fn self_service_pages(state: &AppState) -> Router<Arc<AppState>> {
    let settings = &state.config.self_service;
    let mut pages = Router::new();
    if !state.config.password_login {
        return pages;
    }
    if settings.registration {
        pages = pages.route("/register", get(register::get).post(register::post));
    }
    if settings.smtp.is_some() {
        pages = pages.route(
            "/register/verify",
            get(register::verify_get).post(register::verify_post),
        );
    }
    if settings.reset_offered() {
        pages = pages
            .route(
                "/password/forgot",
                get(password_reset::forgot_get).post(password_reset::forgot_post),
            )
            .route(
                "/password/reset",
                get(password_reset::reset_get).post(password_reset::reset_post),
            );
    }
    pages
}

/// Builds the router over the shared state.
pub(crate) fn router(state: Arc<AppState>) -> Router {
    let cors = CorsLayer::new()
        .allow_origin(Any)
        .allow_methods([Method::GET, Method::POST])
        .allow_headers([header::AUTHORIZATION, header::CONTENT_TYPE]);
    let metadata = Router::new()
        .route("/.well-known/openid-configuration", get(discovery::handler))
        .route(
            "/.well-known/oauth-authorization-server",
            get(discovery::handler),
        )
        .route("/.well-known/jwks.json", get(jwks::handler))
        .layer(cors.clone());
    let api = Router::new()
        .route("/token", post(token::handler))
        .route("/device_authorization", post(device::authorization))
        .route("/userinfo", get(userinfo::handler).post(userinfo::handler))
        .route("/revoke", post(revoke::handler))
        .route("/introspect", post(introspect::handler))
        .layer(SetResponseHeaderLayer::overriding(
            header::CACHE_CONTROL,
            HeaderValue::from_static("no-store"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::PRAGMA,
            HeaderValue::from_static("no-cache"),
        ))
        .layer(cors);
    let pages = with_security_headers(
        Router::new()
            .route("/", get(home::get))
            .route("/authorize", get(authorize::get).post(authorize::post))
            .route("/login", get(login::get).post(login::post))
            .route("/upstream/{id}/start", get(upstream::start))
            .route("/upstream/{id}/callback", get(upstream::callback))
            .route("/upstream/{id}/login", post(directory::post))
            .route("/consent", post(consent::post))
            .route("/device", get(device::get).post(device::post))
            .route("/device/login", post(device::login))
            .route("/account", get(account::get))
            .route("/account/withdraw", post(account::withdraw))
            .route(
                "/account/sign-out-everywhere",
                post(account::sign_out_everywhere),
            )
            .route("/account/password", post(account::change_password))
            .route("/account/upstreams/link", post(account::link_upstream))
            .route("/account/upstreams/unlink", post(account::unlink_upstream))
            .route("/account/delete", post(account::delete))
            .route("/logout", get(logout::get).post(logout::post))
            .route("/logout/done", get(logout::done))
            .merge(self_service_pages(&state))
            // The language and theme of every page, the self-service ones included.
            .layer(axum::middleware::from_fn_with_state(
                Arc::clone(&state),
                crate::ui::context::resolve,
            )),
    );
    let plain = Router::new()
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route(STYLESHEET_PATH, get(health::stylesheet))
        .route(
            &format!(
                "{}/{{theme}}/{{version}}/{{file}}",
                crate::theme::ASSET_PREFIX
            ),
            get(theme::asset),
        );
    let limit = state.config.max_body_bytes;
    let timeout = Duration::from_secs(state.config.request_timeout_secs);
    let routes = metadata
        .merge(api)
        .merge(pages)
        .merge(plain)
        // An explicit fallback, so that requests for no route pass the layers below too (and
        // are counted, under the route label "unmatched").
        .fallback(|| async { StatusCode::NOT_FOUND });
    let routes = if state.config.request_metrics {
        routes.layer(axum::middleware::from_fn(metrics::record))
    } else {
        routes
    };
    let routes = routes
        .layer(DefaultBodyLimit::max(limit))
        .layer(RequestBodyLimitLayer::new(limit))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            timeout,
        ));
    // Off, the request span is the plain one: no trace context is read and nothing more is
    // recorded per request.
    let routes = if state.config.trace_context {
        routes.layer(
            TraceLayer::new_for_http()
                .make_span_with(trace::ServerSpan)
                .on_response(trace::RecordStatus),
        )
    } else {
        routes.layer(TraceLayer::new_for_http().make_span_with(trace::RedactedSpan))
    };
    routes
        .layer(SetSensitiveHeadersLayer::new([
            header::AUTHORIZATION,
            header::COOKIE,
            header::SET_COOKIE,
        ]))
        .with_state(state)
}
