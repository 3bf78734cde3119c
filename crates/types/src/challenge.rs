//! The RFC 6750 §3 `WWW-Authenticate: Bearer` challenge, built and parsed in one place.

use crate::ErrorCode;

/// A Bearer challenge. `to_header_value` quotes and escapes every attribute.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BearerChallenge {
    /// The protection space.
    pub realm: Option<String>,
    /// `invalid_request`, `invalid_token` or `insufficient_scope`; `None` for a bare challenge
    /// (no credentials were sent, RFC 6750 §3.1).
    pub error: Option<ErrorCode>,
    /// A short, fixed description; never attacker input.
    pub error_description: Option<String>,
    /// The scope the resource needs (for `insufficient_scope`).
    pub scope: Option<String>,
    /// The acceptable authentication context classes, space separated (for
    /// `insufficient_user_authentication`, RFC 9470 §3).
    pub acr_values: Option<String>,
    /// The greatest acceptable age of the user's authentication, in seconds (for
    /// `insufficient_user_authentication`, RFC 9470 §3).
    pub max_age: Option<u64>,
}

impl BearerChallenge {
    /// A bare challenge with only a realm.
    pub fn bare(realm: Option<String>) -> Self {
        Self {
            realm,
            ..Self::default()
        }
    }

    /// A challenge with an error code and description.
    pub fn error(realm: Option<String>, error: ErrorCode, description: impl Into<String>) -> Self {
        Self {
            realm,
            error: Some(error),
            error_description: Some(description.into()),
            ..Self::default()
        }
    }

    /// The header value, e.g. `Bearer realm="api", error="invalid_token"`.
    pub fn to_header_value(&self) -> String {
        let mut parts = Vec::new();
        if let Some(realm) = &self.realm {
            parts.push(format!("realm=\"{}\"", quote(realm)));
        }
        if let Some(error) = self.error {
            parts.push(format!("error=\"{}\"", error.as_str()));
        }
        if let Some(description) = &self.error_description {
            parts.push(format!("error_description=\"{}\"", quote(description)));
        }
        if let Some(scope) = &self.scope {
            parts.push(format!("scope=\"{}\"", quote(scope)));
        }
        if let Some(acr_values) = &self.acr_values {
            parts.push(format!("acr_values=\"{}\"", quote(acr_values)));
        }
        if let Some(max_age) = self.max_age {
            parts.push(format!("max_age=\"{max_age}\""));
        }
        if parts.is_empty() {
            "Bearer".to_owned()
        } else {
            format!("Bearer {}", parts.join(", "))
        }
    }
}

/// Escapes a value for a quoted-string: backslash and quote are escaped, and characters that a
/// header may not carry (controls, non-ASCII) become `?`.
fn quote(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '"' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            ' '..='~' => out.push(c),
            _ => out.push('?'),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bare_challenge() {
        assert_eq!(BearerChallenge::bare(None).to_header_value(), "Bearer");
        assert_eq!(
            BearerChallenge::bare(Some("orders".into())).to_header_value(),
            "Bearer realm=\"orders\""
        );
    }

    #[test]
    fn rs_3_error_challenge_is_quoted() {
        let mut c = BearerChallenge::error(
            Some("api".into()),
            ErrorCode::InsufficientScope,
            "needs \"more\"",
        );
        c.scope = Some("orders:write".into());
        assert_eq!(
            c.to_header_value(),
            "Bearer realm=\"api\", error=\"insufficient_scope\", error_description=\"needs \\\"more\\\"\", scope=\"orders:write\""
        );
    }

    #[test]
    fn rs_8_step_up_challenge_names_acr_values_and_max_age() {
        let mut c =
            BearerChallenge::error(None, ErrorCode::InsufficientUserAuthentication, "stronger");
        c.acr_values = Some("mfa hwk".into());
        c.max_age = Some(300);
        assert_eq!(
            c.to_header_value(),
            "Bearer error=\"insufficient_user_authentication\", error_description=\"stronger\", acr_values=\"mfa hwk\", max_age=\"300\""
        );
    }
}
