//! JWS compact serialization (RFC 7515 §7.1): signing, and strict verification against a
//! trusted [`KeySet`] where the key, not the header, decides the algorithm.

mod header;

pub use header::Header;

use base64::Engine;
use serde::Serialize;

use crate::{Error, KeySet, SigningKey, b64};

/// Largest accepted token, in bytes. Longer input is refused before anything is decoded.
pub const MAX_TOKEN_LEN: usize = 16 * 1024;

/// Largest signature we decode: an 8192-bit RSA signature.
const MAX_SIGNATURE_LEN: usize = 1024;
/// Longest accepted signature segment: `MAX_SIGNATURE_LEN` bytes in unpadded base64url.
const MAX_SIGNATURE_CHARS: usize = MAX_SIGNATURE_LEN.div_ceil(3) * 4;

/// The three segments of a compact JWS, still encoded.
#[derive(Debug)]
pub(crate) struct Parts<'a> {
    pub(crate) header: &'a str,
    pub(crate) payload: &'a str,
    pub(crate) signature: &'a str,
    /// `header '.' payload`, the bytes the signature covers.
    pub(crate) signing_input: &'a str,
}

/// Splits a compact token into exactly three segments, after the size check.
pub(crate) fn split(token: &str) -> Result<Parts<'_>, Error> {
    if token.len() > MAX_TOKEN_LEN {
        return Err(Error::TooLarge);
    }
    let (signing_input, signature) = token
        .rsplit_once('.')
        .ok_or(Error::Malformed("token does not have three segments"))?;
    let (header, payload) = signing_input
        .split_once('.')
        .ok_or(Error::Malformed("token does not have three segments"))?;
    if payload.contains('.') {
        return Err(Error::Malformed("token does not have three segments"));
    }
    if header.is_empty() {
        return Err(Error::Malformed("empty header segment"));
    }
    Ok(Parts {
        header,
        payload,
        signature,
        signing_input,
    })
}

/// Decodes and parses the protected header segment.
pub(crate) fn decode_header(segment: &str) -> Result<Header, Error> {
    let bytes = b64::decode(segment, "header is not base64url")?;
    Header::parse(&bytes)
}

#[derive(Serialize)]
struct OutHeader<'a> {
    alg: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    kid: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    typ: Option<&'a str>,
}

/// Signs `payload` into a compact JWS with header `{alg, kid?, typ?}`.
///
/// # Errors
/// [`Error::Crypto`] if signing fails.
pub fn sign_compact(key: &SigningKey, typ: Option<&str>, payload: &[u8]) -> Result<String, Error> {
    let header = OutHeader {
        alg: key.alg().as_str(),
        kid: key.kid(),
        typ,
    };
    let header =
        serde_json::to_vec(&header).map_err(|_| Error::Malformed("header serialization"))?;
    let mut out = String::with_capacity((header.len() + payload.len()) * 4 / 3 + 200);
    b64::ENGINE.encode_string(&header, &mut out);
    out.push('.');
    b64::ENGINE.encode_string(payload, &mut out);
    let signature = key.sign(out.as_bytes())?;
    out.push('.');
    b64::ENGINE.encode_string(&signature, &mut out);
    Ok(out)
}

/// Verifies a compact JWS against trusted keys and returns its header and payload.
///
/// Checks, in order: size cap, three segments, strict base64url and JSON header (no
/// duplicates, no `none`, no `crit`), strict base64url payload, key selection by `kid` (or by
/// `alg` when no `kid`), header `alg` equal to the key's, signature encoding, then the
/// signature itself. The payload is not parsed.
///
/// # Errors
/// See [`Error`]; notably [`Error::KeyNotFound`], [`Error::AlgorithmMismatch`] and
/// [`Error::InvalidSignature`].
pub fn verify_compact(token: &str, keys: &KeySet) -> Result<(Header, Vec<u8>), Error> {
    let parts = split(token)?;
    let header = decode_header(parts.header)?;
    let payload = b64::decode(parts.payload, "payload is not base64url")?;
    verify_parts(&parts, &header, keys)?;
    Ok((header, payload))
}

/// Selects the key(s) for `header` and checks the signature over the signing input.
pub(crate) fn verify_parts(parts: &Parts<'_>, header: &Header, keys: &KeySet) -> Result<(), Error> {
    let candidates = keys.select(header.alg, header.kid.as_deref())?;
    // The decoder wants room for its rounded-up estimate, hence the spare bytes.
    let mut buf = [0u8; MAX_SIGNATURE_LEN + 3];
    if parts.signature.len() > MAX_SIGNATURE_CHARS {
        return Err(Error::InvalidSignature);
    }
    let len = b64::decode_into(
        parts.signature.as_bytes(),
        &mut buf,
        "signature is not base64url",
    )?;
    let signature = buf.get(..len).ok_or(Error::InvalidSignature)?;
    for key in candidates {
        if key
            .verify(parts.signing_input.as_bytes(), signature)
            .is_ok()
        {
            return Ok(());
        }
    }
    Err(Error::InvalidSignature)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Algorithm, VerifyingKey};

    fn set_of(key: &SigningKey) -> KeySet {
        let mut set = KeySet::new();
        set.insert(key.verifying_key()).unwrap();
        set
    }

    #[test]
    fn roundtrip_every_algorithm() {
        for alg in Algorithm::ALL {
            let key = SigningKey::generate(alg).unwrap().with_kid("k1");
            let token = sign_compact(&key, Some("at+jwt"), b"{\"a\":1}").unwrap();
            let (header, payload) = verify_compact(&token, &set_of(&key)).unwrap();
            assert_eq!(header.alg, alg);
            assert_eq!(header.kid.as_deref(), Some("k1"));
            assert_eq!(header.typ.as_deref(), Some("at+jwt"));
            assert_eq!(payload, b"{\"a\":1}");
        }
    }

    #[test]
    fn jwt_4_alg_mismatch_with_kid() {
        let rsa = SigningKey::generate(Algorithm::RS256)
            .unwrap()
            .with_kid("k");
        // Same kid, attacker-chosen HMAC algorithm.
        let forged_key = SigningKey::hmac(&[1; 32], Algorithm::HS256)
            .unwrap()
            .with_kid("k");
        let token = sign_compact(&forged_key, None, b"{}").unwrap();
        assert_eq!(
            verify_compact(&token, &set_of(&rsa)),
            Err(Error::AlgorithmMismatch)
        );
        // Without kid, no trusted key is bound to HS256.
        let token = sign_compact(
            &SigningKey::hmac(&[1; 32], Algorithm::HS256).unwrap(),
            None,
            b"{}",
        )
        .unwrap();
        assert_eq!(
            verify_compact(&token, &set_of(&rsa)),
            Err(Error::KeyNotFound)
        );
    }

    #[test]
    fn jwt_3_none_token_rejected() {
        let key = SigningKey::generate(Algorithm::HS256).unwrap();
        let header = b64::encode(br#"{"alg":"none"}"#);
        let payload = b64::encode(b"{}");
        for token in [
            format!("{header}.{payload}."),
            format!("{header}.{payload}"),
        ] {
            assert!(verify_compact(&token, &set_of(&key)).is_err());
        }
        assert_eq!(
            verify_compact(&format!("{header}.{payload}."), &set_of(&key)),
            Err(Error::UnsupportedAlgorithm)
        );
    }

    #[test]
    fn jwt_7_segments_and_encoding_strict() {
        let key = SigningKey::generate(Algorithm::ES256).unwrap();
        let token = sign_compact(&key, None, b"{}").unwrap();
        let keys = set_of(&key);
        assert!(verify_compact(&token, &keys).is_ok());
        assert!(verify_compact(&format!("{token}.x"), &keys).is_err());
        assert!(verify_compact(&format!("{token}="), &keys).is_err());
        assert!(verify_compact(&format!(" {token}"), &keys).is_err());
        assert!(verify_compact("a.b", &keys).is_err());
        assert!(verify_compact("", &keys).is_err());
    }

    #[test]
    fn dos_1_oversized_token_rejected_first() {
        let keys = KeySet::new();
        assert_eq!(
            verify_compact(&".".repeat(1 << 20), &keys),
            Err(Error::TooLarge)
        );
        assert_eq!(
            verify_compact(&"a".repeat(MAX_TOKEN_LEN + 1), &keys),
            Err(Error::TooLarge)
        );
    }

    #[test]
    fn jwt_14_der_ecdsa_signature_rejected() {
        let key = SigningKey::generate(Algorithm::ES256).unwrap();
        let token = sign_compact(&key, None, b"{}").unwrap();
        let (input, sig) = token.rsplit_once('.').unwrap();
        let raw = b64::decode(sig, "s").unwrap();
        // Wrap r||s as a DER SEQUENCE of two INTEGERs.
        let mut der = vec![0x30, 0x00];
        for half in raw.chunks(32) {
            let mut int = half.to_vec();
            if int[0] & 0x80 != 0 {
                int.insert(0, 0);
            }
            der.push(0x02);
            der.push(int.len() as u8);
            der.extend(int);
        }
        der[1] = (der.len() - 2) as u8;
        let der_token = format!("{input}.{}", b64::encode(&der));
        assert_eq!(
            verify_compact(&der_token, &set_of(&key)),
            Err(Error::InvalidSignature)
        );
    }

    #[test]
    fn largest_rsa_signature_fits_the_decode_buffer() {
        let sig = b64::encode(&[0x5a; MAX_SIGNATURE_LEN]);
        let mut buf = [0u8; MAX_SIGNATURE_LEN + 3];
        assert_eq!(
            b64::decode_into(sig.as_bytes(), &mut buf, "s").unwrap(),
            MAX_SIGNATURE_LEN
        );
        let parts = Parts {
            header: "e30",
            payload: "",
            signature: &sig,
            signing_input: "e30.",
        };
        let header = Header {
            alg: Algorithm::RS256,
            kid: None,
            typ: None,
            cty: None,
        };
        let key = SigningKey::generate(Algorithm::RS256).unwrap();
        // Decodes fine and then fails on the signature itself, not on the encoding.
        assert_eq!(
            verify_parts(&parts, &header, &set_of(&key)),
            Err(Error::InvalidSignature)
        );
        let long = format!("{sig}AAAA");
        let parts = Parts {
            signature: &long,
            ..parts
        };
        assert_eq!(
            verify_parts(&parts, &header, &set_of(&key)),
            Err(Error::InvalidSignature)
        );
    }

    #[test]
    fn selects_among_keys_without_kid() {
        let a = SigningKey::generate(Algorithm::EdDSA).unwrap();
        let b = SigningKey::generate(Algorithm::EdDSA).unwrap();
        let mut keys = KeySet::new();
        keys.insert(a.verifying_key()).unwrap();
        keys.insert(b.verifying_key()).unwrap();
        let token = sign_compact(&b, None, b"x").unwrap();
        assert!(verify_compact(&token, &keys).is_ok());
        let other = VerifyingKey::hmac(&[3; 32], Algorithm::HS256).unwrap();
        let mut only_hmac = KeySet::new();
        only_hmac.insert(other).unwrap();
        assert_eq!(verify_compact(&token, &only_hmac), Err(Error::KeyNotFound));
    }
}
