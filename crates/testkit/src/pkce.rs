//! PKCE (RFC 7636) helpers for tests: a random verifier and its S256 challenge.
//! The challenge is computed here independently of the server's own implementation.

use aws_lc_rs::digest;
use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// A PKCE verifier and its S256 challenge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pkce {
    /// The `code_verifier` (43 characters of base64url).
    pub verifier: String,
    /// The `code_challenge` for `code_challenge_method=S256`.
    pub challenge: String,
}

impl Pkce {
    /// A fresh random verifier (256 bits) and its challenge.
    pub fn new() -> Self {
        Self::from_verifier(random_token(32))
    }

    /// The pair for a given verifier.
    pub fn from_verifier(verifier: impl Into<String>) -> Self {
        let verifier = verifier.into();
        let challenge = s256_challenge(&verifier);
        Self {
            verifier,
            challenge,
        }
    }
}

impl Default for Pkce {
    fn default() -> Self {
        Self::new()
    }
}

/// `BASE64URL(SHA256(ASCII(verifier)))` without padding (RFC 7636 §4.2).
pub fn s256_challenge(verifier: &str) -> String {
    let hash = digest::digest(&digest::SHA256, verifier.as_bytes());
    URL_SAFE_NO_PAD.encode(hash.as_ref())
}

/// `bytes` random bytes as base64url without padding (a `state`, `nonce` or verifier).
pub fn random_token(bytes: usize) -> String {
    URL_SAFE_NO_PAD.encode(random_bytes(bytes))
}

/// `len` random bytes from the system generator.
pub fn random_bytes(len: usize) -> Vec<u8> {
    let mut buf = vec![0u8; len];
    // The system generator only fails when the OS has no entropy source, which a test
    // machine always has; fall back to a counter pattern rather than panic in that case.
    if SystemRandom::new().fill(&mut buf).is_err() {
        buf.iter_mut()
            .enumerate()
            .for_each(|(i, b)| *b = u8::try_from(i % 256).unwrap_or(0));
    }
    buf
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pkce_6_rfc7636_appendix_b() {
        assert_eq!(
            s256_challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
    }

    #[test]
    fn fresh_verifiers_differ_and_have_valid_length() {
        let a = Pkce::new();
        let b = Pkce::new();
        assert_ne!(a.verifier, b.verifier);
        assert_eq!(a.verifier.len(), 43);
        assert_eq!(a.challenge, s256_challenge(&a.verifier));
    }
}
