//! The one place protocol errors become HTTP responses (RFC 6749 §5.2): JSON `error` and
//! `error_description`, 400/401/500/503, `WWW-Authenticate: Basic` for `invalid_client` when the
//! client used the `Authorization` header, `Retry-After` when a limit was reached, and
//! `Cache-Control: no-store` on every response.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use portcullis_types::{ErrorCode, ErrorResponse};
use serde::Serialize;

use crate::domain::error::ProtocolError;
use crate::domain::password::RETRY_AFTER_SECS;

/// The HTTP status of an error code at the back-channel endpoints.
pub(crate) fn status_of(code: ErrorCode) -> StatusCode {
    match code {
        ErrorCode::InvalidClient | ErrorCode::InvalidToken => StatusCode::UNAUTHORIZED,
        ErrorCode::InsufficientScope => StatusCode::FORBIDDEN,
        ErrorCode::ServerError => StatusCode::INTERNAL_SERVER_ERROR,
        ErrorCode::TemporarilyUnavailable => StatusCode::SERVICE_UNAVAILABLE,
        _ => StatusCode::BAD_REQUEST,
    }
}

/// Adds `Cache-Control: no-store` and `Pragma: no-cache` (TOK-2).
pub(crate) fn no_store(response: &mut Response) {
    let h = response.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
}

/// A JSON body with the no-store headers.
pub(crate) fn json_no_store<T: Serialize>(status: StatusCode, body: &T) -> Response {
    let mut response = (status, Json(body)).into_response();
    no_store(&mut response);
    response
}

impl IntoResponse for ProtocolError {
    fn into_response(self) -> Response {
        let code = self.code();
        let body = ErrorResponse::new(code, self.description());
        let mut response = json_no_store(status_of(code), &body);
        if code == ErrorCode::InvalidClient && self.header_auth() {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"portcullis\", charset=\"UTF-8\""),
            );
        }
        if let Some(secs) = self
            .retry_after()
            .or((code == ErrorCode::TemporarilyUnavailable).then_some(i64::from(RETRY_AFTER_SECS)))
        {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        response
    }
}
