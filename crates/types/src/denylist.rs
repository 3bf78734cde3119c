//! The Redis key layout of the revoked-`jti` denylist, shared by the server (which writes it)
//! and the guard (which reads it). Entries are keyed on `(iss, jti)`, never on token bytes,
//! because one set of claims can have several valid encodings (JWT-19).

/// Prefix of every denylist key. The version lets the layout change without misreads.
pub const PREFIX: &str = "portcullis:v1:revoked-jti:";

/// The key for a revoked `jti` of `issuer`. The issuer's length is written first so that no
/// (issuer, jti) pair can produce the key of another pair.
///
/// The value stored under the key is `"1"`; its TTL is the token's remaining lifetime.
pub fn revoked_jti_key(issuer: &str, jti: &str) -> String {
    format!("{PREFIX}{}:{issuer}{jti}", issuer.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_unambiguous() {
        assert_eq!(
            revoked_jti_key("https://as", "abc"),
            "portcullis:v1:revoked-jti:10:https://asabc"
        );
        assert_ne!(revoked_jti_key("ab", "c"), revoked_jti_key("a", "bc"));
    }
}
