//! The `Portcullis-Signature` header of a hook call: `t=<unix seconds>,v1=<hex HMAC-SHA-256>`
//! over the timestamp, a dot and the exact body, so a hook can tell the server's calls from
//! anyone else's and refuse an old one replayed.

use std::fmt::Write as _;

use aws_lc_rs::hmac;
use portcullis_types::secret::TokenHookSecret;

/// The header's name.
pub(crate) const SIGNATURE_HEADER: &str = "portcullis-signature";

/// The header value for `body` sent at `timestamp` (Unix seconds).
pub(crate) fn header(secret: &TokenHookSecret, timestamp: i64, body: &[u8]) -> String {
    let tag = timestamped_hmac(secret.secret().as_bytes(), timestamp, body);
    format!("t={timestamp},v1={tag}")
}

/// The lowercase hex HMAC-SHA-256 under `key` of the timestamp (decimal Unix seconds), a dot
/// and the exact body: what the token hooks' and the audit webhook's signatures carry.
pub(crate) fn timestamped_hmac(key: &[u8], timestamp: i64, body: &[u8]) -> String {
    let key = hmac::Key::new(hmac::HMAC_SHA256, key);
    let mut ctx = hmac::Context::with_key(&key);
    ctx.update(timestamp.to_string().as_bytes());
    ctx.update(b".");
    ctx.update(body);
    let tag = ctx.sign();
    let mut out = String::with_capacity(64);
    for byte in tag.as_ref() {
        // Writing to a String cannot fail.
        let _ = write!(out, "{byte:02x}");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Computed independently with
    /// `printf '%s' '1800000000.{"a":1}' | openssl dgst -sha256 -hmac <secret>`.
    #[test]
    fn matches_an_independent_hmac() {
        let secret = TokenHookSecret::new("0123456789abcdef0123456789abcdef");
        assert_eq!(
            header(&secret, 1_800_000_000, br#"{"a":1}"#),
            "t=1800000000,v1=d40e555bc2c1dae21953757b24b165a171698880732ac310a5c8cf0ab751abf2"
        );
    }

    #[test]
    fn covers_the_timestamp_and_the_body() {
        let secret = TokenHookSecret::new("0123456789abcdef0123456789abcdef");
        let base = header(&secret, 1, b"{}");
        assert_ne!(header(&secret, 2, b"{}")[2..], base[2..]);
        assert_ne!(header(&secret, 1, b"{ }"), base);
        let other = TokenHookSecret::new("fedcba9876543210fedcba9876543210");
        assert_ne!(header(&other, 1, b"{}"), base);
    }
}
