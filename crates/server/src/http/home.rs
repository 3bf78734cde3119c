//! `GET /`: the landing page.

use std::sync::Arc;

use axum::extract::State;
use axum::response::Response;

use crate::state::AppState;
use crate::ui::home::home_page;

/// `GET /`.
pub(crate) async fn get(State(state): State<Arc<AppState>>) -> Response {
    home_page(&state.config.issuer)
}
