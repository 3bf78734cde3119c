//! The token endpoint's success response (RFC 6749 §5.1, OIDC Core §3.1.3.3, RFC 8693 §2.2.1),
//! device authorization response (RFC 8628 §3.2) and token type identifiers.

use serde::{Deserialize, Serialize};

/// `token_type` of a token response.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum TokenType {
    /// RFC 6750 bearer tokens.
    Bearer,
    /// RFC 8693 §2.2.1: the issued token is not an access token.
    #[serde(rename = "N_A")]
    NotApplicable,
}

/// RFC 8693 §3 token type identifiers.
pub mod token_type_uri {
    /// An OAuth access token.
    pub const ACCESS_TOKEN: &str = "urn:ietf:params:oauth:token-type:access_token";
    /// An OAuth refresh token.
    pub const REFRESH_TOKEN: &str = "urn:ietf:params:oauth:token-type:refresh_token";
    /// An OpenID Connect ID token.
    pub const ID_TOKEN: &str = "urn:ietf:params:oauth:token-type:id_token";
    /// A JWT.
    pub const JWT: &str = "urn:ietf:params:oauth:token-type:jwt";
}

/// Grant type identifiers as registered (the names of [`crate::GrantType`]).
pub mod grant_type {
    use crate::GrantType;

    /// RFC 6749 §4.1.
    pub const AUTHORIZATION_CODE: &str = GrantType::AuthorizationCode.as_str();
    /// RFC 6749 §4.4.
    pub const CLIENT_CREDENTIALS: &str = GrantType::ClientCredentials.as_str();
    /// RFC 6749 §6.
    pub const REFRESH_TOKEN: &str = GrantType::RefreshToken.as_str();
    /// RFC 6749 §4.3 (legacy; off unless a client opts in).
    pub const PASSWORD: &str = GrantType::Password.as_str();
    /// RFC 8628 §3.4.
    pub const DEVICE_CODE: &str = GrantType::DeviceCode.as_str();
    /// RFC 8693 §2.1.
    pub const TOKEN_EXCHANGE: &str = GrantType::TokenExchange.as_str();
}

/// A successful token response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenResponse {
    /// The access token (or, for token exchange, the issued token).
    pub access_token: String,
    /// `Bearer` (or `N_A` for a non-access-token exchange result).
    pub token_type: TokenType,
    /// Lifetime of the access token in seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_in: Option<u64>,
    /// A refresh token, when the grant and the client's policy allow one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    /// The granted scope, space-delimited.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    /// An OpenID Connect ID token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id_token: Option<String>,
    /// RFC 8693: the type of the issued token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issued_token_type: Option<String>,
}

/// RFC 8628 §3.2 device authorization response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceAuthorizationResponse {
    /// The device verification code (a secret the device keeps).
    pub device_code: String,
    /// The short code the user types.
    pub user_code: String,
    /// Where the user goes.
    pub verification_uri: String,
    /// `verification_uri` with the user code filled in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verification_uri_complete: Option<String>,
    /// Lifetime of both codes in seconds.
    pub expires_in: u64,
    /// Minimum seconds between polls.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interval: Option<u64>,
}
