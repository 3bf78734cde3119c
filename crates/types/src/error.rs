//! Registered OAuth error codes (RFC 6749, 6750, 7009, 7662, 8628, 8693, OIDC Core) and the
//! JSON error body of RFC 6749 §5.2.

use serde::{Deserialize, Serialize};

/// An `error` value registered by an OAuth or OpenID Connect specification.
///
/// The enum is non-exhaustive: specifications keep adding codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ErrorCode {
    /// RFC 6749 §4.1.2.1, §5.2: malformed or duplicated parameters.
    InvalidRequest,
    /// RFC 6749 §5.2: client authentication failed.
    InvalidClient,
    /// RFC 6749 §5.2: the grant (code, refresh token, credentials) is invalid or expired.
    InvalidGrant,
    /// RFC 6749 §4.1.2.1, §5.2: the client may not use this grant or response type.
    UnauthorizedClient,
    /// RFC 6749 §5.2: the grant type is not supported.
    UnsupportedGrantType,
    /// RFC 6749 §4.1.2.1: the response type is not supported.
    UnsupportedResponseType,
    /// RFC 6749 §4.1.2.1, §5.2: the scope is invalid, unknown or exceeds what was granted.
    InvalidScope,
    /// RFC 6749 §4.1.2.1 and RFC 8628 §3.5: the resource owner denied the request.
    AccessDenied,
    /// RFC 6749 §4.1.2.1: an unexpected condition; no detail is ever given.
    ServerError,
    /// RFC 6749 §4.1.2.1: overloaded or in maintenance.
    TemporarilyUnavailable,
    /// RFC 6750 §3.1: the access token is expired, revoked, malformed or invalid.
    InvalidToken,
    /// RFC 6750 §3.1: the access token lacks the scope the resource needs.
    InsufficientScope,
    /// RFC 9470 §3: the user's authentication behind the access token is not strong or recent
    /// enough for the resource (step-up).
    InsufficientUserAuthentication,
    /// RFC 7009 §2.2.1: the server does not revoke this type of token.
    UnsupportedTokenType,
    /// RFC 8628 §3.5: the user has not yet completed the device authorization.
    AuthorizationPending,
    /// RFC 8628 §3.5: the device polls too fast; add 5 seconds to the interval.
    SlowDown,
    /// RFC 8628 §3.5: the device code has expired.
    ExpiredToken,
    /// RFC 8693 §2.2.2 / RFC 8707: the requested audience or resource is not acceptable.
    InvalidTarget,
    /// OIDC Core §3.1.2.6: `prompt=none` but the user is not signed in.
    LoginRequired,
    /// OIDC Core §3.1.2.6: `prompt=none` but consent is needed.
    ConsentRequired,
    /// OIDC Core §3.1.2.6: `prompt=none` but some interaction is needed.
    InteractionRequired,
    /// OIDC Core §3.1.2.6: the `request` parameter is not supported.
    RequestNotSupported,
    /// OIDC Core §3.1.2.6: the `request_uri` parameter is not supported.
    RequestUriNotSupported,
}

impl ErrorCode {
    /// The wire spelling of the code.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::InvalidRequest => "invalid_request",
            Self::InvalidClient => "invalid_client",
            Self::InvalidGrant => "invalid_grant",
            Self::UnauthorizedClient => "unauthorized_client",
            Self::UnsupportedGrantType => "unsupported_grant_type",
            Self::UnsupportedResponseType => "unsupported_response_type",
            Self::InvalidScope => "invalid_scope",
            Self::AccessDenied => "access_denied",
            Self::ServerError => "server_error",
            Self::TemporarilyUnavailable => "temporarily_unavailable",
            Self::InvalidToken => "invalid_token",
            Self::InsufficientScope => "insufficient_scope",
            Self::InsufficientUserAuthentication => "insufficient_user_authentication",
            Self::UnsupportedTokenType => "unsupported_token_type",
            Self::AuthorizationPending => "authorization_pending",
            Self::SlowDown => "slow_down",
            Self::ExpiredToken => "expired_token",
            Self::InvalidTarget => "invalid_target",
            Self::LoginRequired => "login_required",
            Self::ConsentRequired => "consent_required",
            Self::InteractionRequired => "interaction_required",
            Self::RequestNotSupported => "request_not_supported",
            Self::RequestUriNotSupported => "request_uri_not_supported",
        }
    }
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The JSON error body of RFC 6749 §5.2 (also used by RFC 7009, 7662, 8628 and 8693).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorResponse {
    /// The registered error code.
    pub error: ErrorCode,
    /// Human-readable ASCII text for the developer; never contains secrets or echoed input.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_description: Option<String>,
    /// A page describing the error.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_uri: Option<String>,
}

impl ErrorResponse {
    /// An error with a description. Characters outside the RFC 6749 §5.2 set
    /// (`%x20-21 / %x23-5B / %x5D-7E`) are replaced by `?` so the body is always valid.
    pub fn new(error: ErrorCode, description: impl Into<String>) -> Self {
        Self {
            error,
            error_description: Some(sanitize_description(&description.into())),
            error_uri: None,
        }
    }

    /// An error without a description.
    pub fn bare(error: ErrorCode) -> Self {
        Self {
            error,
            error_description: None,
            error_uri: None,
        }
    }
}

/// Restricts text to the characters RFC 6749 §5.2 allows in `error_description`.
pub fn sanitize_description(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            '\u{20}'..='\u{21}' | '\u{23}'..='\u{5B}' | '\u{5D}'..='\u{7E}' => c,
            _ => '?',
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_serialize_as_registered_names() {
        let body = ErrorResponse::new(ErrorCode::InvalidGrant, "code expired");
        let json = serde_json::to_string(&body).unwrap();
        assert_eq!(
            json,
            r#"{"error":"invalid_grant","error_description":"code expired"}"#
        );
        assert_eq!(ErrorCode::SlowDown.as_str(), "slow_down");
        let parsed: ErrorCode = serde_json::from_str("\"authorization_pending\"").unwrap();
        assert_eq!(parsed, ErrorCode::AuthorizationPending);
    }

    #[test]
    fn tok_11_description_is_ascii_restricted() {
        let body = ErrorResponse::new(ErrorCode::InvalidRequest, "bad \"x\" \\ é\n");
        assert_eq!(body.error_description.as_deref(), Some("bad ?x? ? ??"));
    }
}
