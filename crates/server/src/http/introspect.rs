//! `POST /introspect` (RFC 7662): confidential client authentication required (TOK-12); the
//! answer for anything not active is `{"active": false}` (INT-1).

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};

use super::error::json_no_store;
use super::extract::{authorization, form_params};
use crate::domain::client_auth;
use crate::domain::client_verify;
use crate::domain::error::ProtocolError;
use crate::domain::introspection;
use crate::state::AppState;

/// The introspection endpoint.
pub async fn handler(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    match run(&state, &headers, &body).await {
        Ok(r) => r,
        Err(e) => e.into_response(),
    }
}

async fn run(
    state: &AppState,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Response, ProtocolError> {
    let params = form_params(headers, body)?;
    if params.first_duplicate().is_some() {
        return Err(ProtocolError::invalid_request(
            "a parameter was sent more than once",
        ));
    }
    let creds = client_auth::extract(authorization(headers), &params)?;
    let client = client_verify::authenticate(state, &creds, false).await?;
    let Some(token) = params.get("token") else {
        return Err(ProtocolError::invalid_request("token is required"));
    };
    let result = introspection::introspect(state, &client, token).await?;
    Ok(json_no_store(StatusCode::OK, &result))
}
