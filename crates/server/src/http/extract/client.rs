//! The authenticated client of a back-channel endpoint (RFC 6749 §2.3, §3.2.1): a form body only
//! (TOK-1), no parameter twice (TOK-3), exactly one client authentication method (TOK-4), and a
//! verified client. Whether a public client (`none`) may call the endpoint is the kind `K`:
//! [`AnyClient`] at `/token`, `/revoke` and `/device_authorization`, [`Confidential`] at
//! `/introspect` (TOK-12).

use std::marker::PhantomData;
use std::sync::Arc;

use axum::extract::rejection::BytesRejection;
use axum::extract::{FromRequest, Request};
use axum::response::{IntoResponse, Response};

use super::authorization;
use super::form::{form_params, read_body};
use crate::domain::error::ProtocolError;
use crate::domain::params::Params;
use crate::domain::{client_auth, client_verify};
use crate::state::AppState;
use crate::store::ClientRecord;

/// Which clients an endpoint accepts.
pub(crate) trait ClientKind: Send + Sync + 'static {
    /// Whether a public client (authentication method `none`) is accepted.
    const ALLOW_PUBLIC: bool;
}

/// Confidential and public clients.
#[derive(Debug)]
pub(crate) struct AnyClient;
impl ClientKind for AnyClient {
    const ALLOW_PUBLIC: bool = true;
}

/// Confidential clients only.
#[derive(Debug)]
pub(crate) struct Confidential;
impl ClientKind for Confidential {
    const ALLOW_PUBLIC: bool = false;
}

/// A verified client of kind `K` and the form it sent.
#[derive(Debug)]
pub(crate) struct AuthenticatedClient<K = AnyClient> {
    /// The verified client.
    pub client: Arc<ClientRecord>,
    /// The form parameters (none repeated), client credentials included.
    pub params: Params,
    kind: PhantomData<K>,
}

/// A verified confidential client (introspection).
pub(crate) type ConfidentialClient = AuthenticatedClient<Confidential>;

/// Why [`AuthenticatedClient`] did not extract.
#[derive(Debug)]
pub(crate) enum ClientRejection {
    /// The body could not be read (too large, broken stream).
    Body(BytesRejection),
    /// A protocol error: `invalid_request` (not a form, a repeated parameter, two methods) or
    /// `invalid_client`, with `WWW-Authenticate` when the client used the header.
    Protocol(ProtocolError),
}

impl From<ProtocolError> for ClientRejection {
    fn from(e: ProtocolError) -> Self {
        Self::Protocol(e)
    }
}

impl IntoResponse for ClientRejection {
    fn into_response(self) -> Response {
        match self {
            Self::Body(r) => r.into_response(),
            Self::Protocol(e) => e.into_response(),
        }
    }
}

impl<K: ClientKind> FromRequest<Arc<AppState>> for AuthenticatedClient<K> {
    type Rejection = ClientRejection;

    async fn from_request(req: Request, state: &Arc<AppState>) -> Result<Self, Self::Rejection> {
        let source = super::client_addr(req.extensions(), req.headers(), &state.config);
        let (headers, body) = read_body(req, state).await.map_err(ClientRejection::Body)?;
        let params = form_params(&headers, &body)?;
        if params.first_duplicate().is_some() {
            return Err(
                ProtocolError::invalid_request("a parameter was sent more than once").into(),
            );
        }
        let creds = client_auth::extract(authorization(&headers), &params)?;
        let client = client_verify::authenticate(state, &creds, K::ALLOW_PUBLIC, source).await?;
        Ok(Self {
            client,
            params,
            kind: PhantomData,
        })
    }
}
