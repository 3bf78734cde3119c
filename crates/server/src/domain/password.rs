//! User password hashing with argon2id, run on the blocking pool so the async runtime keeps
//! serving; unknown users are verified against a dummy hash to keep timing uniform.

use std::sync::OnceLock;

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use portcullis_types::secret::Password;

use super::error::ProtocolError;

fn argon2() -> Argon2<'static> {
    // argon2id, 19 MiB, 2 passes, 1 lane (the OWASP minimum recommendation).
    Argon2::new(Algorithm::Argon2id, Version::V0x13, Params::default())
}

fn hash_blocking(password: &str) -> Result<String, ProtocolError> {
    let mut salt = [0u8; 16];
    aws_lc_rs::rand::fill(&mut salt)
        .map_err(|_| ProtocolError::internal("rng", &"random generator failed"))?;
    let salt = SaltString::encode_b64(&salt).map_err(|e| ProtocolError::internal("argon2", &e))?;
    argon2()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| ProtocolError::internal("argon2", &e))
}

fn verify_blocking(password: &str, phc: &str) -> bool {
    match PasswordHash::new(phc) {
        Ok(parsed) => argon2()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok(),
        Err(_) => false,
    }
}

fn dummy_hash() -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| hash_blocking("portcullis-dummy-password").unwrap_or_default())
}

/// Hashes a password into a PHC string (argon2id).
pub async fn hash(password: Password) -> Result<String, ProtocolError> {
    tokio::task::spawn_blocking(move || hash_blocking(password.secret()))
        .await
        .map_err(|e| ProtocolError::internal("argon2 task", &e))?
}

/// Verifies `password` against `phc`; with `None` (unknown user) a dummy hash is checked so the
/// time taken does not reveal whether the user exists. Returns `false` in that case.
pub async fn verify(password: Password, phc: Option<String>) -> Result<bool, ProtocolError> {
    tokio::task::spawn_blocking(move || match phc {
        Some(phc) => verify_blocking(password.secret(), &phc),
        None => {
            let _ = verify_blocking(password.secret(), dummy_hash());
            false
        }
    })
    .await
    .map_err(|e| ProtocolError::internal("argon2 task", &e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn argon2id_round_trip() {
        let phc = hash(Password::new("correct horse")).await.unwrap();
        assert!(phc.starts_with("$argon2id$"));
        assert!(
            verify(Password::new("correct horse"), Some(phc.clone()))
                .await
                .unwrap()
        );
        assert!(!verify(Password::new("wrong"), Some(phc)).await.unwrap());
        assert!(!verify(Password::new("x"), None).await.unwrap());
        assert!(
            !verify(Password::new("x"), Some("garbage".into()))
                .await
                .unwrap()
        );
    }
}
