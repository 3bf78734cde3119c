//! Secret newtypes: redacted `Debug`, no `Display`, constant-time equality, zeroized on drop.
//! The value is reached only through `secret()`, so it never slips into a log by accident.

use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq;
use zeroize::{Zeroize, ZeroizeOnDrop};

macro_rules! secret_type {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        #[derive(Clone, Serialize, Deserialize, Zeroize, ZeroizeOnDrop)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            /// Wraps a secret value.
            pub fn new(value: impl Into<String>) -> Self {
                Self(value.into())
            }

            /// The secret value. Callers must not log it.
            pub fn secret(&self) -> &str {
                &self.0
            }
        }

        impl std::fmt::Debug for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(concat!(stringify!($name), "([redacted])"))
            }
        }

        impl PartialEq for $name {
            /// Constant-time in the length of the shorter value.
            fn eq(&self, other: &Self) -> bool {
                self.0.as_bytes().ct_eq(other.0.as_bytes()).into()
            }
        }

        impl Eq for $name {}
    };
}

secret_type!(
    /// A confidential client's secret (RFC 6749 §2.3.1).
    ClientSecret
);
secret_type!(
    /// An authorization code (RFC 6749 §4.1.2).
    AuthorizationCode
);
secret_type!(
    /// An opaque refresh token (RFC 6749 §1.5).
    RefreshToken
);
secret_type!(
    /// A PKCE code verifier (RFC 7636 §4.1).
    PkceVerifier
);
secret_type!(
    /// An access token as presented by a client (RFC 6750).
    AccessToken
);
secret_type!(
    /// A user's password, as typed into the login form.
    Password
);
secret_type!(
    /// An RFC 8628 device code, as polled by the device.
    DeviceCode
);
secret_type!(
    /// The key the server signs its calls to a token hook with (HMAC-SHA-256), shared with the
    /// hook.
    TokenHookSecret
);

secret_type!(
    /// The key the server signs its audit webhook calls with (HMAC-SHA-256), shared with the
    /// receiver.
    AuditWebhookSecret
);

/// Compares two byte strings in constant time (for equal lengths).
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.ct_eq(b).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_is_redacted() {
        let s = ClientSecret::new("hunter2-very-secret");
        let shown = format!("{s:?}");
        assert_eq!(shown, "ClientSecret([redacted])");
        assert!(!shown.contains("hunter2"));
        assert_eq!(s.secret(), "hunter2-very-secret");
    }

    #[test]
    fn equality_compares_whole_values() {
        assert_eq!(RefreshToken::new("abc"), RefreshToken::new("abc"));
        assert_ne!(RefreshToken::new("abc"), RefreshToken::new("abd"));
        assert_ne!(RefreshToken::new("abc"), RefreshToken::new("abcd"));
        assert!(constant_time_eq(b"x", b"x"));
        assert!(!constant_time_eq(b"x", b"xy"));
    }
}
