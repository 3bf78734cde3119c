//! The Redis key layout of the revoked-`jti` denylist, shared by the server (which writes it)
//! and the guard (which reads it). Entries are keyed on `(iss, jti)`, never on token bytes,
//! because one set of claims can have several valid encodings (JWT-19).

/// The largest leeway on `exp` any validator of our tokens may use, in seconds: the guard refuses
/// a larger one (`portcullis_guard::MAX_LEEWAY_SECS` is this value). A token stays acceptable to
/// such a validator until `exp` + this leeway, so every record that refuses it (denylist entry,
/// Redis TTL, replay entry) is kept that long too; see [`retain_until`].
pub const MAX_VALIDATOR_LEEWAY_SECS: i64 = 60;

/// Until when a record that refuses a token expiring at `exp` must be kept: `exp` plus
/// [`MAX_VALIDATOR_LEEWAY_SECS`], saturating.
pub const fn retain_until(exp: i64) -> i64 {
    exp.saturating_add(MAX_VALIDATOR_LEEWAY_SECS)
}

/// Prefix of every denylist key. The version lets the layout change without misreads.
pub const PREFIX: &str = "portcullis:v1:revoked-jti:";

/// The key for a revoked `jti` of `issuer`. The issuer's length is written first so that no
/// (issuer, jti) pair can produce the key of another pair.
///
/// The value stored under the key is `"1"`; its TTL is the token's remaining lifetime plus
/// [`MAX_VALIDATOR_LEEWAY_SECS`].
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

    #[test]
    fn entries_outlive_the_leeway() {
        assert_eq!(retain_until(1_000), 1_060);
        assert_eq!(retain_until(i64::MAX), i64::MAX);
    }
}
