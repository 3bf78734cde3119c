//! User passwords: hashing new ones (argon2id, on the blocking pool: only when users are
//! created) and the wire answer when the sign-in checks of [`crate::hashing`] are saturated.

use portcullis_types::secret::Password;

pub(crate) use crate::hashing::RETRY_AFTER_SECS;
use crate::hashing::{PoolError, hash_phc};

use super::error::ProtocolError;

/// The shortest password a user may be given (`users add`, `users set-password`, the account
/// page), in bytes of UTF-8.
pub(crate) const MIN_PASSWORD_LEN: usize = 8;

/// Whether `password` is too short to be set.
pub(crate) fn too_short(password: &Password) -> bool {
    password.secret().len() < MIN_PASSWORD_LEN
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
    fn saturation_is_temporarily_unavailable() {
        let e = ProtocolError::from(PoolError::Busy);
        assert_eq!(
            e.code(),
            portcullis_types::ErrorCode::TemporarilyUnavailable
        );
    }
}
