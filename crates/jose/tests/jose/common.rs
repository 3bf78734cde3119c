//! Shared fixtures for the integration tests: vector loading, base64url and hex helpers,
//! raw token assembly and the fixed keys reused across files (RSA generation is slow in debug).
#![allow(
    dead_code,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use portcullis_jose::{Algorithm, Jwk, KeySet, SigningKey, UnixTime, Validator, VerifyingKey};
use serde_json::Value;

/// The instant every claims test is evaluated at.
pub const NOW: i64 = 1_700_000_000;
pub const ISS: &str = "https://as.example";
pub const AUD: &str = "orders-api";

pub fn now() -> UnixTime {
    UnixTime(NOW)
}

/// Reads a file below `tests/data`.
pub fn data(rel: &str) -> String {
    let path = format!("{}/tests/data/{rel}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {path}: {e}"))
}

pub fn data_json(rel: &str) -> Value {
    serde_json::from_str(&data(rel)).unwrap()
}

pub fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

pub fn unb64(s: &str) -> Vec<u8> {
    URL_SAFE_NO_PAD.decode(s).unwrap()
}

pub fn hex(s: &str) -> Vec<u8> {
    assert!(s.len().is_multiple_of(2), "odd hex length");
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

pub fn jwk(v: Value) -> Jwk {
    serde_json::from_value(v).unwrap()
}

pub fn jwk_value(j: &Jwk) -> Value {
    serde_json::to_value(j).unwrap()
}

/// Assembles `b64(header).b64(payload).b64(sign(...))` from raw bytes, so tests can put any JSON
/// (duplicate members, odd types, forbidden headers) behind a genuine signature.
pub fn sign_raw(key: &SigningKey, header: &str, payload: &[u8]) -> String {
    let input = format!("{}.{}", b64(header.as_bytes()), b64(payload));
    let sig = key.sign(input.as_bytes()).unwrap();
    format!("{input}.{}", b64(&sig))
}

/// Same as [`sign_raw`] with a JSON value as header and payload.
pub fn sign_json(key: &SigningKey, header: &Value, payload: &Value) -> String {
    sign_raw(key, &header.to_string(), payload.to_string().as_bytes())
}

pub fn keyset(keys: impl IntoIterator<Item = VerifyingKey>) -> KeySet {
    let mut set = KeySet::new();
    for k in keys {
        set.insert(k).unwrap();
    }
    set
}

pub fn validator() -> Validator {
    Validator::builder().issuer(ISS).audience(AUD).build()
}

/// Claims that pass [`validator`] at [`NOW`].
pub fn good_claims() -> Value {
    serde_json::json!({
        "iss": ISS,
        "sub": "user-1",
        "aud": AUD,
        "exp": NOW + 600,
        "iat": NOW - 10,
        "jti": "jti-1",
        "scope": "orders:read"
    })
}

/// RFC 7520 §3.4 RSA private key (2048 bit, no `alg`), reused wherever an RSA key is needed.
pub fn cookbook_rsa_jwk() -> Jwk {
    let v = data_json("jose-cookbook/jwk/3_4.rsa_private_key.json");
    jwk(v)
}

pub fn rsa_signing(alg: Algorithm) -> SigningKey {
    SigningKey::from_jwk_with_alg(&cookbook_rsa_jwk(), alg).unwrap()
}

/// A fixed 32-byte HMAC secret.
pub const HMAC_SECRET: &[u8] = b"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

/// A signing key for every supported algorithm: RSA from the cookbook, the rest generated.
pub fn signing_key(alg: Algorithm) -> SigningKey {
    match alg {
        Algorithm::RS256
        | Algorithm::RS384
        | Algorithm::RS512
        | Algorithm::PS256
        | Algorithm::PS384
        | Algorithm::PS512 => rsa_signing(alg),
        Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512 => {
            SigningKey::hmac(HMAC_SECRET, alg).unwrap()
        }
        _ => SigningKey::generate(alg).unwrap(),
    }
}

pub const ALL_ALGS: [Algorithm; 12] = [
    Algorithm::HS256,
    Algorithm::HS384,
    Algorithm::HS512,
    Algorithm::RS256,
    Algorithm::RS384,
    Algorithm::RS512,
    Algorithm::PS256,
    Algorithm::PS384,
    Algorithm::PS512,
    Algorithm::ES256,
    Algorithm::ES384,
    Algorithm::EdDSA,
];

/// Replaces one dot-separated segment of a compact token.
pub fn replace_segment(token: &str, index: usize, value: &str) -> String {
    let mut parts: Vec<&str> = token.split('.').collect();
    parts[index] = value;
    parts.join(".")
}

/// Big-endian subtraction `a - b` for equal-length byte strings with `a >= b`.
pub fn be_sub(a: &[u8], b: &[u8]) -> Vec<u8> {
    assert_eq!(a.len(), b.len());
    let mut out = vec![0u8; a.len()];
    let mut borrow = 0i16;
    for i in (0..a.len()).rev() {
        let mut d = i16::from(a[i]) - i16::from(b[i]) - borrow;
        borrow = 0;
        if d < 0 {
            d += 256;
            borrow = 1;
        }
        out[i] = d as u8;
    }
    assert_eq!(borrow, 0, "a < b");
    out
}

/// Order of the P-256 group, big endian.
pub const P256_N: &str = "ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551";
