//! Decoding without verification, for display and debugging only (`portcullis token decode`).
//! Nothing returned here may be trusted.

use serde_json::Value;

use crate::{Error, b64, json, jws};

/// Decodes a compact JWS into its header and claims JSON **without verifying anything**.
///
/// The same structural rules as verification apply (size cap, three segments, strict
/// base64url, strict JSON without duplicate members), but the signature, algorithm and
/// claims are not checked and `alg: none` is not refused.
///
/// # Security Warning
/// The output is attacker-controlled. Never use it to make an authorization decision,
/// to select a key, or to skip verification. Use [`crate::Validator::verify`] for that.
///
/// # Errors
/// [`Error::TooLarge`] or [`Error::Malformed`] for structurally invalid tokens.
pub fn decode_unverified(token: &str) -> Result<(Value, Value), Error> {
    let parts = jws::split(token)?;
    let header = b64::decode(parts.header, "header is not base64url")?;
    let header = Value::Object(json::parse_object(&header, "header is not a JSON object")?);
    let payload = b64::decode(parts.payload, "payload is not base64url")?;
    let claims = json::parse_value(&payload, "payload is not JSON")?;
    b64::decode(parts.signature, "signature is not base64url")?;
    Ok((header, claims))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Algorithm, SigningKey, jwt};

    #[test]
    fn decodes_without_key() {
        let key = SigningKey::generate(Algorithm::ES256)
            .unwrap()
            .with_kid("k");
        let token = jwt::encode(&key, "at+jwt", &serde_json::json!({"sub": "alice"})).unwrap();
        let (header, claims) = decode_unverified(&token).unwrap();
        assert_eq!(header["alg"], "ES256");
        assert_eq!(header["kid"], "k");
        assert_eq!(claims["sub"], "alice");
    }

    #[test]
    fn still_structurally_strict() {
        assert_eq!(decode_unverified(&"a".repeat(20_000)), Err(Error::TooLarge));
        assert!(decode_unverified("a.b").is_err());
        let dup = format!(
            "{}.{}.",
            b64::encode(br#"{"alg":"none","alg":"x"}"#),
            b64::encode(b"{}")
        );
        assert!(decode_unverified(&dup).is_err());
    }
}
