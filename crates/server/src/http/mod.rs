//! Thin axum handlers, one file per endpoint, and the router that wires them: CORS only on the
//! back-channel and metadata routes (never on `/authorize`, RED-13), a body-size limit (DOS-5),
//! tracing with `Authorization` and cookies marked sensitive.

use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{Method, header};
use axum::routing::{get, post};
use tower_http::cors::{Any, CorsLayer};
use tower_http::sensitive_headers::SetSensitiveHeadersLayer;
use tower_http::trace::TraceLayer;

use crate::state::AppState;
use crate::ui::STYLESHEET_PATH;

pub mod account;
pub mod authorize;
pub mod consent;
pub mod device;
pub mod discovery;
pub mod error;
pub mod extract;
pub mod health;
pub mod introspect;
pub mod jwks;
pub mod login;
pub mod logout;
pub mod revoke;
pub mod token;
pub mod userinfo;

/// Builds the router over the shared state.
pub fn router(state: Arc<AppState>) -> Router {
    let cors = CorsLayer::new()
        .allow_origin(Any)
        .allow_methods([Method::GET, Method::POST])
        .allow_headers([header::AUTHORIZATION, header::CONTENT_TYPE]);
    let api = Router::new()
        .route("/.well-known/openid-configuration", get(discovery::handler))
        .route(
            "/.well-known/oauth-authorization-server",
            get(discovery::handler),
        )
        .route("/.well-known/jwks.json", get(jwks::handler))
        .route("/token", post(token::handler))
        .route("/device_authorization", post(device::authorization))
        .route("/userinfo", get(userinfo::handler).post(userinfo::handler))
        .route("/revoke", post(revoke::handler))
        .route("/introspect", post(introspect::handler))
        .layer(cors);
    let pages = Router::new()
        .route("/authorize", get(authorize::get).post(authorize::post))
        .route("/login", get(login::get).post(login::post))
        .route("/consent", post(consent::post))
        .route("/device", get(device::get).post(device::post))
        .route("/device/login", post(device::login))
        .route("/account", get(account::get))
        .route("/account/withdraw", post(account::withdraw))
        .route("/logout", get(logout::get).post(logout::post))
        .route("/logout/done", get(logout::done))
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route(STYLESHEET_PATH, get(health::stylesheet));
    let limit = state.config.max_body_bytes;
    api.merge(pages)
        .layer(DefaultBodyLimit::max(limit))
        .layer(TraceLayer::new_for_http())
        .layer(SetSensitiveHeadersLayer::new([
            header::AUTHORIZATION,
            header::COOKIE,
            header::SET_COOKIE,
        ]))
        .with_state(state)
}
