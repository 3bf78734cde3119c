//! User passwords: the policy every new one is held to, hashing new ones (argon2id, on the
//! blocking pool: only when users are created) and the wire answer when the sign-in checks of
//! [`crate::hashing`] are saturated.
//!
//! The policy follows NIST SP 800-63B §3.1.1.2: a length between the configured bounds, counted
//! in characters; no composition rules; and no password found in a list of common passwords
//! (the 19,640 of `data/common-passwords/`, compared ignoring case) nor equal to the username.

use std::collections::HashSet;
use std::sync::LazyLock;

use portcullis_types::secret::Password;

pub(crate) use crate::hashing::RETRY_AFTER_SECS;
use crate::hashing::{PoolError, hash_phc};

use super::error::ProtocolError;

use crate::config::PasswordPolicy;

/// The common passwords no one may choose, one a line, lowercase (see the `SOURCE` file beside
/// the list).
const COMMON_PASSWORDS: &str = include_str!("../../data/common-passwords/common-passwords.txt");

static COMMON: LazyLock<HashSet<&'static str>> = LazyLock::new(|| {
    COMMON_PASSWORDS
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect()
});

/// Why a new password is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PolicyRefusal {
    /// Fewer characters than the policy's minimum.
    TooShort {
        /// The minimum.
        min: usize,
    },
    /// More characters than the policy's maximum.
    TooLong {
        /// The maximum.
        max: usize,
    },
    /// On the list of common passwords, or the username itself.
    Common,
}

impl std::fmt::Display for PolicyRefusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::TooShort { min } => write!(f, "must be at least {min} characters"),
            Self::TooLong { max } => write!(f, "must be at most {max} characters"),
            Self::Common => f.write_str(
                "is too common (it is on the list of the most used passwords, or is the \
                 username): choose another",
            ),
        }
    }
}

/// Checks a new password of `username` against `policy`.
pub(crate) fn check(
    policy: &PasswordPolicy,
    password: &Password,
    username: &str,
) -> Result<(), PolicyRefusal> {
    let text = password.secret();
    let chars = text.chars().count();
    if chars < policy.min_length {
        return Err(PolicyRefusal::TooShort {
            min: policy.min_length,
        });
    }
    if chars > policy.max_length {
        return Err(PolicyRefusal::TooLong {
            max: policy.max_length,
        });
    }
    let lower = text.to_lowercase();
    if COMMON.contains(lower.as_str()) || lower == username.to_lowercase() {
        return Err(PolicyRefusal::Common);
    }
    Ok(())
}

/// Hashes a password into a PHC string (argon2id) on the blocking pool. Used by the command line
/// (user creation, `users set-password`); a running server hashes through its bounded
/// [`crate::hashing::PasswordPool`] instead.
pub(crate) async fn hash(password: Password) -> Result<String, ProtocolError> {
    tokio::task::spawn_blocking(move || hash_phc(password.secret()))
        .await
        .map_err(|e| ProtocolError::internal("argon2 task", &e))?
        .map_err(|e| ProtocolError::internal("argon2", &e))
}

impl From<PoolError> for ProtocolError {
    fn from(e: PoolError) -> Self {
        match e {
            PoolError::Busy => ProtocolError::temporarily_unavailable(
                "too many sign-in attempts in progress, retry shortly",
                i64::from(RETRY_AFTER_SECS),
            ),
            PoolError::Stopped | PoolError::Failed => ProtocolError::internal("argon2 pool", &e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hashes_are_argon2id_phc_strings() {
        let phc = hash(Password::new("correct horse")).await.unwrap();
        assert!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
    }

    #[test]
    fn the_policy_refuses_short_long_common_and_the_username() {
        let policy = PasswordPolicy::default();
        let check = |p: &str| check(&policy, &Password::new(p), "alice");
        assert_eq!(check("short"), Err(PolicyRefusal::TooShort { min: 8 }));
        // Characters, not bytes: seven of them are too few however many bytes they take.
        assert_eq!(check("ééééééé"), Err(PolicyRefusal::TooShort { min: 8 }));
        assert_eq!(
            check(&"x".repeat(129)),
            Err(PolicyRefusal::TooLong { max: 128 })
        );
        assert!(check(&"x".repeat(128)).is_ok());
        for common in [
            "password",
            "Password1",
            "12345678",
            "QWERTYUIOP",
            "iloveyou",
        ] {
            assert_eq!(check(common), Err(PolicyRefusal::Common), "{common}");
        }
        let mut bob = Password::new("BobTheBuilder");
        assert_eq!(
            super::check(&policy, &bob, "bobthebuilder"),
            Err(PolicyRefusal::Common)
        );
        bob = Password::new("correct horse battery staple");
        assert!(super::check(&policy, &bob, "bob").is_ok());
        assert!(COMMON.len() > 19_000, "the shipped list is read whole");
    }

    #[test]
    fn saturation_is_temporarily_unavailable() {
        let e = ProtocolError::from(PoolError::Busy);
        assert_eq!(
            e.code(),
            portcullis_types::ErrorCode::TemporarilyUnavailable
        );
    }
}
