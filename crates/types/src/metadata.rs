//! Authorization server metadata (RFC 8414) and OpenID Provider metadata (OIDC Discovery §3).
//! One struct serves both documents; OIDC-only members are optional.

use serde::{Deserialize, Serialize};

/// The discovery document.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProviderMetadata {
    /// The issuer identifier; equals the prefix the document was fetched from (RFC 8414 §3.3).
    pub issuer: String,
    /// Authorization endpoint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authorization_endpoint: Option<String>,
    /// Token endpoint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_endpoint: Option<String>,
    /// JWK Set document.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jwks_uri: Option<String>,
    /// OIDC UserInfo endpoint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub userinfo_endpoint: Option<String>,
    /// RFC 7009 revocation endpoint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revocation_endpoint: Option<String>,
    /// RFC 7662 introspection endpoint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub introspection_endpoint: Option<String>,
    /// RFC 8628 device authorization endpoint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device_authorization_endpoint: Option<String>,
    /// OIDC RP-Initiated Logout endpoint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_session_endpoint: Option<String>,
    /// Scopes the server knows.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub scopes_supported: Vec<String>,
    /// Only `code`.
    #[serde(default)]
    pub response_types_supported: Vec<String>,
    /// `query` (and `form_post` if offered).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub response_modes_supported: Vec<String>,
    /// Grant types the server offers.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub grant_types_supported: Vec<String>,
    /// Client authentication methods at the token endpoint.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub token_endpoint_auth_methods_supported: Vec<String>,
    /// Algorithms accepted in `private_key_jwt` assertions.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub token_endpoint_auth_signing_alg_values_supported: Vec<String>,
    /// Client authentication methods at the revocation endpoint.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub revocation_endpoint_auth_methods_supported: Vec<String>,
    /// Client authentication methods at the introspection endpoint.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub introspection_endpoint_auth_methods_supported: Vec<String>,
    /// Only `S256`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub code_challenge_methods_supported: Vec<String>,
    /// OIDC: `public`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub subject_types_supported: Vec<String>,
    /// OIDC: ID token signing algorithms.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub id_token_signing_alg_values_supported: Vec<String>,
    /// OIDC: claims the server can supply.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub claims_supported: Vec<String>,
    /// OIDC: `prompt` values understood.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub prompt_values_supported: Vec<String>,
    /// RFC 9207: the `iss` authorization response parameter is always sent.
    #[serde(default)]
    pub authorization_response_iss_parameter_supported: bool,
    /// OIDC: whether the `claims` parameter is supported.
    #[serde(default)]
    pub claims_parameter_supported: bool,
    /// OIDC: whether the `request` parameter is supported.
    #[serde(default)]
    pub request_parameter_supported: bool,
    /// OIDC: whether the `request_uri` parameter is supported.
    #[serde(default)]
    pub request_uri_parameter_supported: bool,
}
