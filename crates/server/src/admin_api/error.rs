//! The admin API's errors and their one mapping to the wire: a JSON body with an `error` code,
//! an `error_description` and, for bad input, the `field` it is about. Storage and internal
//! failures are logged and answered `server_error` without detail.

use axum::Json;
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::admin::AdminError;

/// Why an admin request failed.
#[derive(Debug)]
pub(crate) enum ApiError {
    /// The input is invalid; names the field.
    Invalid {
        /// The field (as the request spells it, or the setting the check names).
        field: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// The body is not JSON of the expected shape, or the query string is malformed.
    Malformed(String),
    /// Nothing has that id.
    NotFound(String),
    /// The record exists already.
    Conflict(String),
    /// The store or an internal step failed (logged, not shown).
    Internal(String),
}

impl ApiError {
    /// Bad input in `field`.
    pub(crate) fn invalid(field: &'static str, reason: impl Into<String>) -> Self {
        Self::Invalid {
            field,
            reason: reason.into(),
        }
    }
}

impl From<AdminError> for ApiError {
    fn from(e: AdminError) -> Self {
        match e {
            AdminError::Invalid(c) => Self::Invalid {
                field: c.setting,
                reason: c.reason,
            },
            AdminError::Conflict(what) => Self::Conflict(format!("already exists: {what}")),
            e @ AdminError::ClientExists(_) => Self::Conflict(e.to_string()),
            e @ AdminError::UnknownRole(_) => Self::invalid("roles", e.to_string()),
            e @ AdminError::UnknownGroup(_) => Self::invalid("groups", e.to_string()),
            e @ (AdminError::UnknownUser(_) | AdminError::UnknownClient(_)) => {
                Self::NotFound(e.to_string())
            }
            other => Self::Internal(other.to_string()),
        }
    }
}

impl From<JsonRejection> for ApiError {
    fn from(e: JsonRejection) -> Self {
        Self::Malformed(e.body_text())
    }
}

impl From<QueryRejection> for ApiError {
    fn from(e: QueryRejection) -> Self {
        Self::Malformed(e.body_text())
    }
}

/// The JSON body of every admin error.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    /// `invalid_request`, `not_found`, `conflict` or `server_error` (and, from the token
    /// check, `invalid_token` or `insufficient_scope`).
    pub error: &'static str,
    /// What went wrong, for a person.
    pub error_description: String,
    /// The request field at fault, for `invalid_request`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<&'static str>,
}

impl ApiError {
    /// The status, `error` code, description and field of the answer; an internal failure is
    /// logged here and described without detail.
    fn parts(self) -> (StatusCode, &'static str, String, Option<&'static str>) {
        match self {
            Self::Invalid { field, reason } => (
                StatusCode::BAD_REQUEST,
                "invalid_request",
                format!("{field}: {reason}"),
                Some(field),
            ),
            Self::Malformed(why) => (StatusCode::BAD_REQUEST, "invalid_request", why, None),
            Self::NotFound(what) => (StatusCode::NOT_FOUND, "not_found", what, None),
            Self::Conflict(what) => (StatusCode::CONFLICT, "conflict", what, None),
            Self::Internal(detail) => {
                tracing::error!(error = %detail, "admin request failed");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "server_error",
                    "the request could not be completed".to_owned(),
                    None,
                )
            }
        }
    }

    /// The status and description of the answer, for the console's pages.
    pub(crate) fn status_and_description(self) -> (StatusCode, String) {
        let (status, _, description, _) = self.parts();
        (status, description)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, error, description, field) = self.parts();
        let mut response = (
            status,
            Json(ErrorBody {
                error,
                error_description: description,
                field,
            }),
        )
            .into_response();
        response
            .headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        response
    }
}
