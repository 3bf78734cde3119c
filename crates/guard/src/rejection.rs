//! Why a request was refused: the detailed [`AuthFailure`] given to hooks and logs, and the
//! generic [`GuardRejection`] sent to the caller (RFC 6750 §3), mapped to the wire here only.

use axum::Json;
use axum::response::{IntoResponse, Response};
use http::{HeaderValue, StatusCode, header};
use portcullis_types::{BearerChallenge, ErrorCode, ErrorResponse};
use std::sync::Arc;

/// The fixed description of every `invalid_token` answer. It never says which check failed, so
/// an expired token and a forged one look the same to the caller (RS-3, RS-10).
pub const INVALID_TOKEN_DESCRIPTION: &str = "The access token is not valid";
/// The fixed description of `insufficient_scope` answers.
pub const INSUFFICIENT_SCOPE_DESCRIPTION: &str =
    "The access token does not grant the scope this resource requires";
/// The fixed description of `insufficient_scope` answers caused by a missing role.
pub const INSUFFICIENT_ROLE_DESCRIPTION: &str =
    "The access token does not carry the role this resource requires";
/// The fixed description of `insufficient_user_authentication` answers (RFC 9470).
pub const INSUFFICIENT_USER_AUTHENTICATION_DESCRIPTION: &str =
    "The user's authentication is not strong or recent enough for this resource";
/// The fixed description of the 503 answer when keys or revocation data cannot be reached.
pub const UNAVAILABLE_DESCRIPTION: &str = "The access token cannot be checked now; retry later";

/// The detailed reason a token or request was refused. For hooks and logs only: the caller
/// always gets the generic answer of [`GuardRejection`].
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FailureReason {
    /// The request carries its token in a malformed way, or more than once (RS-1, RS-2).
    #[error("malformed request: {0}")]
    MalformedRequest(&'static str),
    /// The JWT failed verification (signature, algorithm, time, issuer, audience, type...).
    #[error("token verification failed: {0}")]
    Token(#[from] portcullis_jose::Error),
    /// The token is not a JWT and no introspection endpoint is configured.
    #[error("token is not a JWT")]
    NotJwt,
    /// A claim the guard reads has the wrong shape (`scope`, `scp`, `client_id`, `acr`, `amr`,
    /// `auth_time`, roles, groups, name).
    #[error("claim has an invalid type or value: {0}")]
    InvalidClaim(&'static str),
    /// The application's claims type could not be read from the token.
    #[error("custom claims could not be read")]
    CustomClaims,
    /// The token's `jti` is on the issuer's denylist.
    #[error("token is revoked")]
    Revoked,
    /// The issuer refuses every token of the token's subject issued before a time (sign-out
    /// everywhere, a disabled account), and this one was issued earlier or states no `iat`.
    #[error("token was issued before its subject's not-before marker")]
    SubjectRevoked,
    /// Revocation checking needs a `jti` and the token has none.
    #[error("token has no jti, so its revocation status is unknown")]
    MissingJti,
    /// The introspection endpoint said `active: false`, or returned claims this guard refuses.
    #[error("token is not active: {0}")]
    Inactive(&'static str),
    /// No verification keys could be loaded from the issuer.
    #[error("verification keys are unavailable: {0}")]
    KeysUnavailable(String),
    /// The denylist or the introspection endpoint could not be reached in time.
    #[error("revocation status is unavailable: {0}")]
    RevocationUnavailable(String),
}

/// A refused request as seen by hooks: the reason and a safe identifier of the token (its
/// `jti` once known, else a short SHA-256 prefix; never the token itself, RS-13).
#[derive(Debug)]
pub struct AuthFailure {
    /// Why the request was refused.
    pub reason: FailureReason,
    /// `jti:<value>` or `sha256:<16 hex digits>`, when a token was present.
    pub token_id: Option<String>,
}

/// What the caller is told.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum RejectionKind {
    /// No token: 401 with a bare `Bearer` challenge (RFC 6750 §3.1).
    MissingToken,
    /// 400 `invalid_request` with a fixed description of what is malformed.
    InvalidRequest(&'static str),
    /// 401 `invalid_token`, always with the same description.
    InvalidToken,
    /// 403 `insufficient_scope`, naming the scope needed.
    InsufficientScope(String),
    /// 403 `insufficient_scope` for a role the token lacks.
    InsufficientRole,
    /// 401 `insufficient_user_authentication` (RFC 9470 §3): the user must sign in again,
    /// more strongly or more recently. Names the acceptable `acr` values and the `max_age`
    /// (seconds) the route demands, when it demands them.
    InsufficientUserAuthentication {
        /// Acceptable `acr` values, space separated.
        acr_values: Option<String>,
        /// The greatest acceptable authentication age, in seconds.
        max_age: Option<u64>,
    },
    /// 503: keys or revocation status cannot be obtained; the request fails closed.
    Unavailable,
}

/// The rejection of the guard layer and extractors: an RFC 6750 response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GuardRejection {
    kind: RejectionKind,
    realm: Option<Arc<str>>,
}

impl GuardRejection {
    pub(crate) fn new(kind: RejectionKind, realm: Option<Arc<str>>) -> Self {
        Self { kind, realm }
    }

    pub(crate) fn from_failure(reason: &FailureReason, realm: Option<Arc<str>>) -> Self {
        let kind = match reason {
            FailureReason::MalformedRequest(what) => RejectionKind::InvalidRequest(what),
            FailureReason::KeysUnavailable(_) | FailureReason::RevocationUnavailable(_) => {
                RejectionKind::Unavailable
            }
            _ => RejectionKind::InvalidToken,
        };
        Self::new(kind, realm)
    }

    /// What kind of refusal this is.
    pub fn kind(&self) -> &RejectionKind {
        &self.kind
    }

    /// The HTTP status of the answer.
    pub fn status(&self) -> StatusCode {
        match self.kind {
            RejectionKind::MissingToken
            | RejectionKind::InvalidToken
            | RejectionKind::InsufficientUserAuthentication { .. } => StatusCode::UNAUTHORIZED,
            RejectionKind::InvalidRequest(_) => StatusCode::BAD_REQUEST,
            RejectionKind::InsufficientScope(_) | RejectionKind::InsufficientRole => {
                StatusCode::FORBIDDEN
            }
            RejectionKind::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    /// The `WWW-Authenticate` challenge, if the answer carries one (all but 503).
    pub fn challenge(&self) -> Option<BearerChallenge> {
        let realm = self.realm.as_deref().map(str::to_owned);
        match &self.kind {
            RejectionKind::MissingToken => Some(BearerChallenge::bare(realm)),
            RejectionKind::InvalidRequest(what) => Some(BearerChallenge::error(
                realm,
                ErrorCode::InvalidRequest,
                *what,
            )),
            RejectionKind::InvalidToken => Some(BearerChallenge::error(
                realm,
                ErrorCode::InvalidToken,
                INVALID_TOKEN_DESCRIPTION,
            )),
            RejectionKind::InsufficientScope(scope) => {
                let mut c = BearerChallenge::error(
                    realm,
                    ErrorCode::InsufficientScope,
                    INSUFFICIENT_SCOPE_DESCRIPTION,
                );
                c.scope = Some(scope.clone());
                Some(c)
            }
            RejectionKind::InsufficientRole => Some(BearerChallenge::error(
                realm,
                ErrorCode::InsufficientScope,
                INSUFFICIENT_ROLE_DESCRIPTION,
            )),
            RejectionKind::InsufficientUserAuthentication {
                acr_values,
                max_age,
            } => {
                let mut c = BearerChallenge::error(
                    realm,
                    ErrorCode::InsufficientUserAuthentication,
                    INSUFFICIENT_USER_AUTHENTICATION_DESCRIPTION,
                );
                c.acr_values = acr_values.clone();
                c.max_age = *max_age;
                Some(c)
            }
            RejectionKind::Unavailable => None,
        }
    }

    fn body(&self) -> Option<ErrorResponse> {
        match &self.kind {
            RejectionKind::MissingToken => None,
            RejectionKind::InvalidRequest(what) => {
                Some(ErrorResponse::new(ErrorCode::InvalidRequest, *what))
            }
            RejectionKind::InvalidToken => Some(ErrorResponse::new(
                ErrorCode::InvalidToken,
                INVALID_TOKEN_DESCRIPTION,
            )),
            RejectionKind::InsufficientScope(_) => Some(ErrorResponse::new(
                ErrorCode::InsufficientScope,
                INSUFFICIENT_SCOPE_DESCRIPTION,
            )),
            RejectionKind::InsufficientRole => Some(ErrorResponse::new(
                ErrorCode::InsufficientScope,
                INSUFFICIENT_ROLE_DESCRIPTION,
            )),
            RejectionKind::InsufficientUserAuthentication { .. } => Some(ErrorResponse::new(
                ErrorCode::InsufficientUserAuthentication,
                INSUFFICIENT_USER_AUTHENTICATION_DESCRIPTION,
            )),
            RejectionKind::Unavailable => Some(ErrorResponse::new(
                ErrorCode::TemporarilyUnavailable,
                UNAVAILABLE_DESCRIPTION,
            )),
        }
    }
}

impl IntoResponse for GuardRejection {
    fn into_response(self) -> Response {
        let status = self.status();
        let mut response = match self.body() {
            Some(body) => (status, Json(body)).into_response(),
            None => status.into_response(),
        };
        let headers = response.headers_mut();
        if let Some(challenge) = self.challenge() {
            // The challenge builder escapes every attribute to visible ASCII, so this only
            // fails if that invariant breaks; the response then simply lacks the header.
            if let Ok(value) = HeaderValue::from_str(&challenge.to_header_value()) {
                headers.insert(header::WWW_AUTHENTICATE, value);
            }
        }
        if self.kind == RejectionKind::Unavailable {
            headers.insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
        }
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        response
    }
}
