//! `/healthz` (the process answers) and `/readyz` (the store answers too, with the schema this
//! build expects), plus the page
//! stylesheet served from our own origin so the CSP needs no third-party or inline source.

use std::sync::Arc;

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::state::AppState;
use crate::ui;

/// Liveness.
pub(crate) async fn healthz() -> &'static str {
    "ok"
}

/// Readiness: the store is reachable and its schema is at this build's newest migration.
pub(crate) async fn readyz(State(state): State<Arc<AppState>>) -> Response {
    match state.store.health().await {
        Ok(()) => (StatusCode::OK, "ready").into_response(),
        Err(e) => {
            tracing::warn!(error = %e, "store not ready");
            (StatusCode::SERVICE_UNAVAILABLE, "not ready").into_response()
        }
    }
}

/// The page stylesheet.
pub(crate) async fn stylesheet() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=86400"),
        ],
        ui::STYLESHEET,
    )
        .into_response()
}
