//! The protocol error every domain operation returns: an RFC error code, a fixed description
//! and whether the client authenticated through the `Authorization` header.

use std::borrow::Cow;
use std::fmt;

use portcullis_types::ErrorCode;

use crate::store::StoreError;

/// An OAuth / OpenID Connect protocol error, mapped to the wire in one place (`crate::http::error`).
///
/// The description is a fixed text chosen by the server; it never echoes secrets or tokens.
#[derive(Clone, PartialEq, Eq)]
pub struct ProtocolError {
    code: ErrorCode,
    description: Cow<'static, str>,
    header_auth: bool,
    retry_after: Option<i64>,
}

impl ProtocolError {
    /// An error with a code and a description.
    pub fn new(code: ErrorCode, description: impl Into<Cow<'static, str>>) -> Self {
        Self {
            code,
            description: description.into(),
            header_auth: false,
            retry_after: None,
        }
    }

    /// `invalid_request`.
    pub fn invalid_request(description: impl Into<Cow<'static, str>>) -> Self {
        Self::new(ErrorCode::InvalidRequest, description)
    }

    /// `invalid_client` (HTTP 401).
    pub fn invalid_client(description: impl Into<Cow<'static, str>>) -> Self {
        Self::new(ErrorCode::InvalidClient, description)
    }

    /// `invalid_grant`.
    pub fn invalid_grant(description: impl Into<Cow<'static, str>>) -> Self {
        Self::new(ErrorCode::InvalidGrant, description)
    }

    /// `invalid_scope`.
    pub fn invalid_scope(description: impl Into<Cow<'static, str>>) -> Self {
        Self::new(ErrorCode::InvalidScope, description)
    }

    /// `unauthorized_client`.
    pub fn unauthorized_client(description: impl Into<Cow<'static, str>>) -> Self {
        Self::new(ErrorCode::UnauthorizedClient, description)
    }

    /// `server_error` with a generic description; the cause is logged by the caller.
    pub fn server_error() -> Self {
        Self::new(ErrorCode::ServerError, "internal error")
    }

    /// `temporarily_unavailable` (HTTP 503) with `Retry-After: secs`: a limit was reached.
    pub fn temporarily_unavailable(
        description: impl Into<Cow<'static, str>>,
        retry_after_secs: i64,
    ) -> Self {
        Self {
            retry_after: Some(retry_after_secs),
            ..Self::new(ErrorCode::TemporarilyUnavailable, description)
        }
    }

    /// Seconds the client should wait before trying again, if known.
    pub fn retry_after(&self) -> Option<i64> {
        self.retry_after
    }

    /// Marks the error as answering a client that authenticated with the `Authorization`
    /// header, so `invalid_client` carries `WWW-Authenticate: Basic`.
    #[must_use]
    pub fn with_header_auth(mut self, header_auth: bool) -> Self {
        self.header_auth = header_auth;
        self
    }

    /// The error code.
    pub fn code(&self) -> ErrorCode {
        self.code
    }

    /// The description.
    pub fn description(&self) -> &str {
        &self.description
    }

    /// Whether the client used the `Authorization` header.
    pub fn header_auth(&self) -> bool {
        self.header_auth
    }

    /// Logs an internal failure and returns the generic `server_error`.
    pub fn internal(context: &'static str, cause: &dyn fmt::Display) -> Self {
        tracing::error!(context, error = %cause, "internal failure");
        Self::server_error()
    }
}

impl fmt::Debug for ProtocolError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ProtocolError({}: {})", self.code, self.description)
    }
}

impl fmt::Display for ProtocolError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code, self.description)
    }
}

impl std::error::Error for ProtocolError {}

/// Seconds a client is asked to wait when the database is unavailable.
pub(crate) const UNAVAILABLE_RETRY_AFTER_SECS: i64 = 5;

impl ProtocolError {
    /// Logs that the database is unavailable and returns `temporarily_unavailable` (503 with
    /// `Retry-After`): the request may succeed once the database is back.
    fn store_unavailable(context: &'static str, cause: &dyn fmt::Display) -> Self {
        tracing::error!(context, error = %cause, "database unavailable");
        metrics::counter!("portcullis_store_unavailable_total", "context" => context).increment(1);
        Self::temporarily_unavailable(
            "the service is temporarily unavailable",
            UNAVAILABLE_RETRY_AFTER_SECS,
        )
    }
}

impl From<StoreError> for ProtocolError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Unavailable(_) => Self::store_unavailable("store", &e),
            _ => Self::internal("store", &e),
        }
    }
}

impl From<crate::keys::KeyError> for ProtocolError {
    fn from(e: crate::keys::KeyError) -> Self {
        match e {
            crate::keys::KeyError::Store(StoreError::Unavailable(_)) => {
                Self::store_unavailable("keys", &e)
            }
            _ => Self::internal("keys", &e),
        }
    }
}

impl From<portcullis_jose::Error> for ProtocolError {
    fn from(e: portcullis_jose::Error) -> Self {
        Self::internal("jose", &e)
    }
}
