//! `POST /revoke` (RFC 7009 §2.1): client authentication ([`AuthenticatedClient`]), then
//! revocation; success is an empty 200 even for unknown tokens; storage failures are reported,
//! not swallowed (REV-1).

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;

use super::extract::AuthenticatedClient;
use crate::domain::error::ProtocolError;
use crate::domain::revocation;
use crate::state::AppState;

/// The revocation endpoint.
pub(crate) async fn handler(
    State(state): State<Arc<AppState>>,
    AuthenticatedClient { client, params, .. }: AuthenticatedClient,
) -> Result<StatusCode, ProtocolError> {
    let Some(token) = params.get("token") else {
        return Err(ProtocolError::invalid_request("token is required"));
    };
    revocation::revoke(&state, &client, token, params.get("token_type_hint")).await?;
    Ok(StatusCode::OK)
}
