//! `/.well-known/jwks.json`: the public keys of every published signing key (active, next and
//! retired-but-still-valid), never a private member (KEY-1).

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};

use crate::config::JWKS_MAX_AGE_SECS;
use crate::state::AppState;

/// The `Cache-Control` of the JWK Set: how long verifiers may keep it, which the minimum key
/// rotation delay accounts for.
fn max_age() -> HeaderValue {
    HeaderValue::try_from(format!("public, max-age={JWKS_MAX_AGE_SECS}"))
        .unwrap_or_else(|_| HeaderValue::from_static("no-store"))
}

/// Serves the JWK Set.
pub(crate) async fn handler(State(state): State<Arc<AppState>>) -> Response {
    let snapshot = state.keys.snapshot().await;
    let mut response = Json(snapshot.jwks().clone()).into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, max_age());
    response
}
