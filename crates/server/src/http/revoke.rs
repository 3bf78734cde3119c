//! `POST /revoke` (RFC 7009): client authentication, then revocation; success is an empty 200
//! even for unknown tokens; storage failures are reported, not swallowed (REV-1).

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};

use super::error::no_store;
use super::extract::{authorization, form_params};
use crate::domain::client_auth;
use crate::domain::client_verify;
use crate::domain::error::ProtocolError;
use crate::domain::revocation;
use crate::state::AppState;

/// The revocation endpoint.
pub async fn handler(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    match run(&state, &headers, &body).await {
        Ok(()) => {
            let mut r = StatusCode::OK.into_response();
            no_store(&mut r);
            r
        }
        Err(e) => e.into_response(),
    }
}

async fn run(state: &AppState, headers: &HeaderMap, body: &[u8]) -> Result<(), ProtocolError> {
    let params = form_params(headers, body)?;
    if params.first_duplicate().is_some() {
        return Err(ProtocolError::invalid_request(
            "a parameter was sent more than once",
        ));
    }
    let creds = client_auth::extract(authorization(headers), &params)?;
    let client = client_verify::authenticate(state, &creds, true).await?;
    let Some(token) = params.get("token") else {
        return Err(ProtocolError::invalid_request("token is required"));
    };
    revocation::revoke(state, &client, token, params.get("token_type_hint")).await
}
