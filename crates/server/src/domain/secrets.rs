//! High-entropy random values (codes, refresh tokens, session ids) and the SHA-256 digests under
//! which they are stored (TOK-10): the store only ever sees the digest. Client secrets, which
//! people may choose, get a keyed digest instead (`at_rest::pepper`).

use aws_lc_rs::digest;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use super::error::ProtocolError;

/// 256 bits of randomness, base64url without padding (43 characters).
pub fn random_token() -> Result<String, ProtocolError> {
    let mut bytes = [0u8; 32];
    aws_lc_rs::rand::fill(&mut bytes)
        .map_err(|_| ProtocolError::internal("rng", &"random generator failed"))?;
    Ok(URL_SAFE_NO_PAD.encode(bytes))
}

/// A shorter random identifier (128 bits) for non-secret ids such as `jti` and grant ids.
pub fn random_id() -> Result<String, ProtocolError> {
    let mut bytes = [0u8; 16];
    aws_lc_rs::rand::fill(&mut bytes)
        .map_err(|_| ProtocolError::internal("rng", &"random generator failed"))?;
    Ok(URL_SAFE_NO_PAD.encode(bytes))
}

pub(crate) use crate::store::secret_hash;

/// The SHA-256 digest of `label || 0 || value`: a derived value that cannot be turned back into
/// `value` nor confused with [`secret_hash`] of it.
pub(crate) fn derived(label: &str, value: &str) -> String {
    let mut ctx = digest::Context::new(&digest::SHA256);
    ctx.update(label.as_bytes());
    ctx.update(&[0]);
    ctx.update(value.as_bytes());
    URL_SAFE_NO_PAD.encode(ctx.finish())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tok_10_tokens_have_256_bits_and_differ() {
        let a = random_token().unwrap();
        let b = random_token().unwrap();
        assert_eq!(a.len(), 43);
        assert_ne!(a, b);
        assert_eq!(random_id().unwrap().len(), 22);
    }

    #[test]
    fn hash_is_sha256_base64url() {
        // SHA-256("abc") = ba7816bf...; base64url of it:
        assert_eq!(
            secret_hash("abc"),
            "ungWv48Bz-pBQUDeXa4iI7ADYaOWF3qctBD_YfIAFa0"
        );
        assert_ne!(derived("sid", "abc"), secret_hash("abc"));
    }
}
