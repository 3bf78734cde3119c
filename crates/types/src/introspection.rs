//! RFC 7662 token introspection response.

use serde::{Deserialize, Serialize};

use crate::Audience;

/// The introspection response. An inactive token is `{"active": false}` and nothing else.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct IntrospectionResponse {
    /// Whether the token is active.
    pub active: bool,
    /// Space-delimited scope.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    /// The client the token was issued to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    /// Human-readable resource owner name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// `Bearer` or `refresh_token`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_type: Option<String>,
    /// Expiry, seconds since the epoch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exp: Option<i64>,
    /// Issued at, seconds since the epoch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iat: Option<i64>,
    /// Not before, seconds since the epoch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nbf: Option<i64>,
    /// Subject.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sub: Option<String>,
    /// Audience: a string or an array of strings. Any other shape reads as absent, so the rest
    /// of the answer stays usable and a reader that requires an audience refuses the token.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::audience::absent_unless_well_formed"
    )]
    pub aud: Option<Audience>,
    /// Issuer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iss: Option<String>,
    /// Token identifier.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jti: Option<String>,
}

impl IntrospectionResponse {
    /// The response for any token that is unknown, expired, revoked or not the caller's to see.
    pub fn inactive() -> Self {
        Self::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn int_1_inactive_carries_nothing_else() {
        let json = serde_json::to_string(&IntrospectionResponse::inactive()).unwrap();
        assert_eq!(json, r#"{"active":false}"#);
    }

    #[test]
    fn aud_is_a_string_an_array_or_absent() {
        let read = |aud: &str| {
            serde_json::from_str::<IntrospectionResponse>(&format!(
                r#"{{"active":true,"aud":{aud}}}"#
            ))
            .unwrap()
            .aud
        };
        assert_eq!(read(r#""api""#), Some(Audience::from("api")));
        assert_eq!(read(r#"["a","b"]"#).unwrap().len(), 2);
        for malformed in ["5", "null", "{}", r#"["api",5]"#] {
            assert_eq!(read(malformed), None, "{malformed}");
        }
        let written = IntrospectionResponse {
            active: true,
            aud: Some(Audience::from("api")),
            ..IntrospectionResponse::default()
        };
        assert_eq!(
            serde_json::to_string(&written).unwrap(),
            r#"{"active":true,"aud":"api"}"#
        );
    }
}
