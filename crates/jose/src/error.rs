//! The one error type of the crate: each variant names the check that failed.
//! Messages never echo attacker-controlled input in full.

/// Every way a JOSE operation can fail.
///
/// Variants say *which* check failed so callers can log and map them to the wire
/// (`invalid_token`, `server_error`, ...). None of them carries token content.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The input is not well formed (segments, base64url, JSON, member types). The text
    /// is a fixed description of what was wrong, never a copy of the input.
    #[error("malformed input: {0}")]
    Malformed(&'static str),
    /// The token is longer than [`crate::jws::MAX_TOKEN_LEN`]; nothing was decoded.
    #[error("token too large")]
    TooLarge,
    /// The algorithm is unknown, unsupported or `none`.
    #[error("unsupported algorithm")]
    UnsupportedAlgorithm,
    /// The header `alg` (or a JWK `alg`) disagrees with the algorithm bound to the key.
    #[error("algorithm does not match the key")]
    AlgorithmMismatch,
    /// The header lists critical extensions that this implementation does not understand.
    #[error("unknown critical header extension")]
    UnknownCritical,
    /// No trusted key matches the token's `kid` (or its `alg` when there is no `kid`).
    #[error("no matching key")]
    KeyNotFound,
    /// The signature or MAC did not verify.
    #[error("invalid signature")]
    InvalidSignature,
    /// Key material was rejected on import or construction.
    #[error("invalid key: {0}")]
    InvalidKey(&'static str),
    /// The `exp` claim is in the past (leeway included).
    #[error("token expired")]
    Expired,
    /// The `nbf` claim is in the future (leeway included).
    #[error("token not yet valid")]
    NotYetValid,
    /// The `iat` claim is in the future (leeway included).
    #[error("token issued in the future")]
    IssuedInFuture,
    /// The `iss` claim is not the expected issuer.
    #[error("invalid issuer")]
    InvalidIssuer,
    /// The `aud` claim contains none of the accepted audiences.
    #[error("invalid audience")]
    InvalidAudience,
    /// The header `typ` is missing or not the required type.
    #[error("invalid token type")]
    InvalidType,
    /// A required claim is absent.
    #[error("missing claim: {0}")]
    MissingClaim(&'static str),
    /// A claim is present but has the wrong type or an out-of-range value.
    #[error("invalid claim: {0}")]
    InvalidClaim(&'static str),
    /// The cryptographic backend failed (key generation, signing, randomness).
    #[error("cryptographic operation failed")]
    Crypto,
}

impl From<aws_lc_rs::error::Unspecified> for Error {
    fn from(_: aws_lc_rs::error::Unspecified) -> Self {
        Error::Crypto
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_are_fixed_text() {
        assert_eq!(
            Error::Malformed("bad segment").to_string(),
            "malformed input: bad segment"
        );
        assert_eq!(Error::MissingClaim("exp").to_string(), "missing claim: exp");
        assert_eq!(Error::TooLarge.to_string(), "token too large");
    }

    #[test]
    fn crypto_errors_map_to_crypto() {
        assert_eq!(Error::from(aws_lc_rs::error::Unspecified), Error::Crypto);
    }
}
