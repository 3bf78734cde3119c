//! `POST /token`: form body only (TOK-1), duplicates refused (TOK-3), exactly one client
//! authentication method (TOK-4), then the grant; every response is `no-store` (TOK-2).

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};

use super::error::json_no_store;
use super::extract::{ClientAddr, authorization, form_params};
use crate::domain::client_auth;
use crate::domain::client_verify;
use crate::domain::error::ProtocolError;
use crate::domain::grants::{self, GrantRequest};
use crate::state::AppState;

/// The token endpoint.
pub async fn handler(
    State(state): State<Arc<AppState>>,
    ClientAddr(addr): ClientAddr,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    match run(&state, addr, &headers, &body).await {
        Ok(r) => r,
        Err(e) => e.into_response(),
    }
}

async fn run(
    state: &AppState,
    addr: Option<std::net::IpAddr>,
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
    let client = client_verify::authenticate(state, &creds, true).await?;
    let request = GrantRequest::parse(&params)?;
    let response = grants::exchange(state, &client, request, addr).await?;
    Ok(json_no_store(StatusCode::OK, &response))
}
