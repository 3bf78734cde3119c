//! `POST /introspect` (RFC 7662 §2.1): confidential client authentication required
//! ([`ConfidentialClient`], TOK-12); the answer for anything not active is `{"active": false}`
//! (INT-1).

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::response::{IntoResponse, Response};

use super::extract::ConfidentialClient;
use crate::domain::error::ProtocolError;
use crate::domain::introspection;
use crate::state::AppState;

/// The introspection endpoint.
pub(crate) async fn handler(
    State(state): State<Arc<AppState>>,
    ConfidentialClient { client, params, .. }: ConfidentialClient,
) -> Result<Response, ProtocolError> {
    let Some(token) = params.get("token") else {
        return Err(ProtocolError::invalid_request("token is required"));
    };
    let result = introspection::introspect(&state, &client, token).await?;
    Ok(Json(result).into_response())
}
