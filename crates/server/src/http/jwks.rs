//! `/.well-known/jwks.json`: the public keys of every published signing key (active, next and
//! retired-but-still-valid), never a private member (KEY-1).

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};

use crate::state::AppState;

/// Serves the JWK Set.
pub(crate) async fn handler(State(state): State<Arc<AppState>>) -> Response {
    let snapshot = state.keys.snapshot().await;
    let mut response = Json(snapshot.jwks().clone()).into_response();
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=60"),
    );
    response
}
