//! `POST /token` (RFC 6749 §3.2): form body only (TOK-1), duplicates refused (TOK-3), exactly one
//! client authentication method (TOK-4) — all in [`AuthenticatedClient`] — then the grant; every
//! response is `no-store` (TOK-2, set on the router).

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::response::{IntoResponse, Response};

use super::extract::{AuthenticatedClient, ClientAddr};
use crate::domain::error::ProtocolError;
use crate::domain::grants::{self, GrantRequest};
use crate::state::AppState;

/// The token endpoint.
pub(crate) async fn handler(
    State(state): State<Arc<AppState>>,
    ClientAddr(addr): ClientAddr,
    AuthenticatedClient { client, params, .. }: AuthenticatedClient,
) -> Result<Response, ProtocolError> {
    let request = GrantRequest::parse(&params)?;
    let response = grants::exchange(&state, &client, request, addr).await?;
    Ok(Json(response).into_response())
}
