//! Identifier newtypes. URL-like values keep the original string and compare it exactly, byte
//! for byte: no case folding, no normalisation (RFC 3986 §6.2.1 simple string comparison).

use serde::{Deserialize, Serialize};
use std::borrow::Borrow;
use std::fmt;

macro_rules! id_type {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        #[derive(Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            /// Wraps a value as it is.
            pub fn new(value: impl Into<String>) -> Self {
                Self(value.into())
            }

            /// The value as it was given.
            pub fn as_str(&self) -> &str {
                &self.0
            }

            /// Unwraps the value.
            pub fn into_inner(self) -> String {
                self.0
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, concat!(stringify!($name), "({:?})"), self.0)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.pad(&self.0)
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl Borrow<str> for $name {
            fn borrow(&self) -> &str {
                &self.0
            }
        }

        impl From<String> for $name {
            fn from(value: String) -> Self {
                Self(value)
            }
        }

        impl From<&str> for $name {
            fn from(value: &str) -> Self {
                Self(value.to_owned())
            }
        }

        impl PartialEq<str> for $name {
            fn eq(&self, other: &str) -> bool {
                self.0 == other
            }
        }

        impl PartialEq<&str> for $name {
            fn eq(&self, other: &&str) -> bool {
                self.0 == *other
            }
        }
    };
}

id_type!(
    /// A registered client's identifier (RFC 6749 §2.2).
    ClientId
);
id_type!(
    /// An issuer identifier (RFC 8414 §2, RFC 9207): compared byte for byte.
    Issuer
);
id_type!(
    /// A redirect URI exactly as registered or requested: compared byte for byte.
    RedirectUri
);
id_type!(
    /// A user's stable subject identifier (OIDC Core §2 `sub`).
    Subject
);

impl Issuer {
    /// Joins a path (starting with `/`) to the issuer, without doubling a trailing slash.
    pub fn join(&self, path: &str) -> String {
        let base = self.0.strip_suffix('/').unwrap_or(&self.0);
        format!("{base}{path}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_compare_with_text_exactly_and_serialize_as_text() {
        let id = ClientId::from("app");
        assert_eq!(id, "app");
        assert_ne!(id, "App");
        assert_eq!(serde_json::to_string(&id).unwrap(), "\"app\"");
        let map = std::collections::HashMap::from([(id, 1)]);
        assert_eq!(map.get("app"), Some(&1));
        assert_eq!(map.get("app "), None);
    }

    #[test]
    fn ids_fill_table_columns() {
        assert_eq!(format!("{:<6}|", Subject::from("u_1")), "u_1   |");
    }

    #[test]
    fn urls_compare_exactly() {
        assert_ne!(
            RedirectUri::new("https://c.example/cb"),
            RedirectUri::new("https://c.example/cb/")
        );
        assert_ne!(
            RedirectUri::new("https://c.example/cb"),
            RedirectUri::new("https://C.example/cb")
        );
        assert_eq!(
            Issuer::new("https://as.example").join("/token"),
            "https://as.example/token"
        );
        assert_eq!(
            Issuer::new("https://as.example/t1/").join("/token"),
            "https://as.example/t1/token"
        );
    }
}
