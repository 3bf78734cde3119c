//! The Redis key layout of the revoked-`jti` denylist and of the per-subject "not before"
//! markers, shared by the server (which writes them) and the guard (which reads them).
//! Entries are keyed on `(iss, jti)`, never on token bytes, because one set of claims can have
//! several valid encodings (JWT-19).

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

/// Prefix of every per-subject "not before" key. The version lets the layout change without
/// misreads.
pub const SUBJECT_PREFIX: &str = "portcullis:v1:subject-not-before:";

/// The key of `issuer`'s "not before" marker for the subject `sub` (sign-out everywhere, a
/// disabled account). The value is a Unix time in seconds: every access token of `sub` whose
/// `iat` is earlier than it is refused. Tokens issued in the very second of the marker are not
/// refused by it (new sign-ins must keep working); the server revokes those by `jti`. Like
/// [`revoked_jti_key`], the issuer's length comes first so no pair can name another's key.
///
/// The entry lives as long as the longest access token issued before it could, plus
/// [`MAX_VALIDATOR_LEEWAY_SECS`].
pub fn subject_not_before_key(issuer: &str, sub: &str) -> String {
    format!("{SUBJECT_PREFIX}{}:{issuer}{sub}", issuer.len())
}

/// The key that says the denylist of `issuer` holds every revocation the server's store holds.
/// Written after a full refill; a Redis restarted without its data lacks it, which tells the
/// server to refill it.
pub fn mirror_complete_key(issuer: &str) -> String {
    format!("portcullis:v1:mirror-complete:{}:{issuer}", issuer.len())
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
        assert_eq!(
            subject_not_before_key("https://as", "u_1"),
            "portcullis:v1:subject-not-before:10:https://asu_1"
        );
        assert_ne!(
            subject_not_before_key("ab", "c"),
            subject_not_before_key("a", "bc")
        );
    }

    #[test]
    fn entries_outlive_the_leeway() {
        assert_eq!(retain_until(1_000), 1_060);
        assert_eq!(retain_until(i64::MAX), i64::MAX);
    }
}
