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

/// Readiness: the store is reachable and its schema is at this build's newest migration. A
/// denylist mirror (Redis) out of reach makes the node degraded, not unready: it serves every
/// request from the store and queues the revocations for the mirror, so taking it out of a load
/// balancer would help nobody; the body says so for operators and probes that look.
pub(crate) async fn readyz(State(state): State<Arc<AppState>>) -> Response {
    match state.store.health().await {
        Ok(()) if state.mirror_health.unreachable() => (
            StatusCode::OK,
            "ready, degraded: the Redis denylist mirror is out of reach; revocations are queued",
        )
            .into_response(),
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
