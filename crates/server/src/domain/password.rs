//! User passwords: hashing new ones (argon2id, on the blocking pool: only when users are
//! created) and the wire answer when the sign-in checks of [`crate::hashing`] are saturated.

use portcullis_types::secret::Password;

pub(crate) use crate::hashing::RETRY_AFTER_SECS;
use crate::hashing::{PoolError, hash_phc};

use super::error::ProtocolError;

/// Hashes a password into a PHC string (argon2id). Used when users are created, not on the
/// sign-in path, which goes through the bounded [`crate::hashing::PasswordPool`].
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
            PoolError::Stopped => ProtocolError::internal("argon2 pool", &e),
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
