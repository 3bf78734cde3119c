//! Names of roles and groups, as they appear in the `roles` and `groups` claims of an access
//! token (RFC 9068 §2.2.3.1). A name is checked once, where it enters (the command line, the
//! configuration file), and is then carried as its type.

use serde::{Deserialize, Serialize};
use std::borrow::Borrow;
use std::fmt;

/// Longest accepted role or group name, in bytes.
pub const MAX_NAME_LEN: usize = 128;

/// Why a role or group name was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum NameError {
    /// Empty, or longer than [`MAX_NAME_LEN`].
    Length,
    /// A character outside letters, digits and `. _ : / @ -`.
    Character(char),
}

impl fmt::Display for NameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Length => write!(f, "must be 1-{MAX_NAME_LEN} characters"),
            Self::Character(c) => write!(
                f,
                "may hold only letters, digits and . _ : / @ - (found {c:?})"
            ),
        }
    }
}

impl std::error::Error for NameError {}

/// Checks a name: ASCII letters, digits and `. _ : / @ -`, so that names such as
/// `orders:read`, `read:orders` or `team/payroll` work while spaces, `*` (the prefix wildcard of
/// a client's release filter) and separators of other formats cannot occur.
fn check(value: &str) -> Result<(), NameError> {
    if value.is_empty() || value.len() > MAX_NAME_LEN {
        return Err(NameError::Length);
    }
    match value
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | ':' | '/' | '@' | '-')))
    {
        Some(c) => Err(NameError::Character(c)),
        None => Ok(()),
    }
}

macro_rules! name_type {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        #[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            /// Checks and wraps a name.
            pub fn parse(value: impl Into<String>) -> Result<Self, NameError> {
                let value = value.into();
                check(&value)?;
                Ok(Self(value))
            }

            /// The name.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl TryFrom<String> for $name {
            type Error = NameError;
            fn try_from(value: String) -> Result<Self, NameError> {
                Self::parse(value)
            }
        }

        impl From<$name> for String {
            fn from(value: $name) -> String {
                value.0
            }
        }

        impl std::str::FromStr for $name {
            type Err = NameError;
            fn from_str(value: &str) -> Result<Self, NameError> {
                Self::parse(value)
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
    };
}

name_type!(
    /// A role: a named permission such as `orders:read` or `admin`.
    RoleName
);
name_type!(
    /// A group: a named set of users that carries roles.
    GroupName
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_the_usual_shapes() {
        for name in [
            "admin",
            "orders:read",
            "read:orders",
            "team/payroll",
            "a.b_c-d@x",
        ] {
            assert_eq!(RoleName::parse(name).unwrap().as_str(), name);
        }
    }

    #[test]
    fn refuses_wildcards_spaces_and_bad_lengths() {
        assert_eq!(RoleName::parse("orders:*"), Err(NameError::Character('*')));
        assert_eq!(GroupName::parse("a b"), Err(NameError::Character(' ')));
        assert_eq!(GroupName::parse("é"), Err(NameError::Character('é')));
        assert_eq!(RoleName::parse(""), Err(NameError::Length));
        assert_eq!(RoleName::parse("x".repeat(129)), Err(NameError::Length));
        assert!(RoleName::parse("x".repeat(128)).is_ok());
    }

    #[test]
    fn names_fill_table_columns() {
        let role = RoleName::parse("admin").unwrap();
        assert_eq!(format!("{role:<8}|"), "admin   |");
    }

    #[test]
    fn stored_names_are_checked_when_read() {
        assert!(serde_json::from_str::<RoleName>("\"ok:name\"").is_ok());
        assert!(serde_json::from_str::<RoleName>("\"not ok\"").is_err());
    }
}
