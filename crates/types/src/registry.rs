//! Registered protocol values as enums: grant types (RFC 6749, RFC 8628, RFC 8693), client
//! authentication methods (RFC 7591 §2, RFC 7523), PKCE methods (RFC 7636) and response types.
//!
//! Each enum is declared once, with its wire name beside each variant; `ALL`, `as_str`,
//! `FromStr` and serde are generated from that one list, so a new variant is advertised and
//! parsed everywhere at once, and every exhaustive `match` on it fails to compile until the new
//! case is handled.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use std::str::FromStr;

/// A value that names no variant of a registered-value enum.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownValue {
    /// What was being parsed, e.g. `grant type`.
    pub kind: &'static str,
    /// The value as given.
    pub value: String,
    /// The accepted spellings.
    pub expected: &'static [&'static str],
}

impl fmt::Display for UnknownValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "unknown {} {:?} (expected ", self.kind, self.value)?;
        for (i, name) in self.expected.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            f.write_str(name)?;
        }
        f.write_str(")")
    }
}

impl std::error::Error for UnknownValue {}

macro_rules! registered_enum {
    (
        $(#[$meta:meta])*
        $name:ident, $kind:literal {
            $( $(#[$vmeta:meta])* $variant:ident = $wire:literal ),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name {
            $( $(#[$vmeta])* $variant, )+
        }

        impl $name {
            /// Every variant, in declaration order.
            pub const ALL: &'static [Self] = &[$(Self::$variant),+];

            /// The registered names, in declaration order.
            pub const NAMES: &'static [&'static str] = &[$($wire),+];

            /// The registered name.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $(Self::$variant => $wire,)+
                }
            }

            /// Every variant, in declaration order.
            pub fn iter() -> impl Iterator<Item = Self> {
                Self::ALL.iter().copied()
            }
        }

        impl FromStr for $name {
            type Err = UnknownValue;

            /// Parses the registered name, compared exactly (case-sensitive).
            fn from_str(s: &str) -> Result<Self, UnknownValue> {
                match s {
                    $($wire => Ok(Self::$variant),)+
                    _ => Err(UnknownValue {
                        kind: $kind,
                        value: s.to_owned(),
                        expected: Self::NAMES,
                    }),
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                self.as_str()
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let raw = std::borrow::Cow::<'de, str>::deserialize(deserializer)?;
                raw.parse().map_err(serde::de::Error::custom)
            }
        }
    };
}

registered_enum!(
    /// A grant type a client may register and use at the token endpoint.
    GrantType, "grant type" {
        /// RFC 6749 §4.1.
        AuthorizationCode = "authorization_code",
        /// RFC 6749 §4.4.
        ClientCredentials = "client_credentials",
        /// RFC 6749 §6.
        RefreshToken = "refresh_token",
        /// RFC 6749 §4.3 (legacy; off unless a client opts in).
        Password = "password",
        /// RFC 8628 §3.4.
        DeviceCode = "urn:ietf:params:oauth:grant-type:device_code",
        /// RFC 8693 §2.1.
        TokenExchange = "urn:ietf:params:oauth:grant-type:token-exchange",
    }
);

registered_enum!(
    /// How a client authenticates at the token, revocation and introspection endpoints.
    TokenEndpointAuthMethod, "token endpoint auth method" {
        /// HTTP Basic with the form-urlencoded id and secret (RFC 6749 §2.3.1).
        ClientSecretBasic = "client_secret_basic",
        /// Id and secret in the form body (RFC 6749 §2.3.1).
        ClientSecretPost = "client_secret_post",
        /// RFC 7523 JWT assertion signed with the client's key.
        PrivateKeyJwt = "private_key_jwt",
        /// Public client: the id alone.
        None = "none",
    }
);

impl TokenEndpointAuthMethod {
    /// Whether the method proves possession of a credential (everything but `none`).
    pub const fn is_confidential(self) -> bool {
        match self {
            Self::ClientSecretBasic | Self::ClientSecretPost | Self::PrivateKeyJwt => true,
            Self::None => false,
        }
    }

    /// Whether the method authenticates with a shared client secret.
    pub const fn uses_secret(self) -> bool {
        match self {
            Self::ClientSecretBasic | Self::ClientSecretPost => true,
            Self::PrivateKeyJwt | Self::None => false,
        }
    }
}

registered_enum!(
    /// A PKCE code challenge method. Only `S256` is offered: `plain` is not representable.
    CodeChallengeMethod, "code challenge method" {
        /// RFC 7636 §4.2: base64url(SHA-256(verifier)).
        S256 = "S256",
    }
);

registered_enum!(
    /// An authorization endpoint response type. Only the code flow is offered.
    ResponseType, "response type" {
        /// RFC 6749 §4.1.1.
        Code = "code",
    }
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for g in GrantType::iter() {
            assert_eq!(g.as_str().parse::<GrantType>(), Ok(g));
            let json = serde_json::to_string(&g).unwrap();
            assert_eq!(json, format!("\"{}\"", g.as_str()));
            assert_eq!(serde_json::from_str::<GrantType>(&json).unwrap(), g);
        }
        for m in TokenEndpointAuthMethod::iter() {
            assert_eq!(m.as_str().parse::<TokenEndpointAuthMethod>(), Ok(m));
        }
        assert_eq!(GrantType::ALL.len(), GrantType::NAMES.len());
        assert_eq!(
            GrantType::DeviceCode.as_str(),
            "urn:ietf:params:oauth:grant-type:device_code"
        );
        assert_eq!(CodeChallengeMethod::S256.to_string(), "S256");
        assert_eq!("code".parse(), Ok(ResponseType::Code));
    }

    #[test]
    fn unknown_values_are_refused_with_the_accepted_names() {
        let err = "implicit".parse::<GrantType>().unwrap_err();
        assert_eq!(err.value, "implicit");
        let shown = err.to_string();
        assert!(
            shown.starts_with("unknown grant type \"implicit\""),
            "{shown}"
        );
        assert!(shown.contains("authorization_code"), "{shown}");
        assert!("Authorization_Code".parse::<GrantType>().is_err());
        assert!("plain".parse::<CodeChallengeMethod>().is_err());
        assert!("s256".parse::<CodeChallengeMethod>().is_err());
        assert!("token".parse::<ResponseType>().is_err());
        assert!(serde_json::from_str::<TokenEndpointAuthMethod>("\"basic\"").is_err());
    }

    #[test]
    fn confidential_methods() {
        let confidential: Vec<_> = TokenEndpointAuthMethod::iter()
            .filter(|m| m.is_confidential())
            .collect();
        assert_eq!(
            confidential,
            [
                TokenEndpointAuthMethod::ClientSecretBasic,
                TokenEndpointAuthMethod::ClientSecretPost,
                TokenEndpointAuthMethod::PrivateKeyJwt
            ]
        );
    }
}
