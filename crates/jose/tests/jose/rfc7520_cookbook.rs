//! RFC 7520 ("JOSE Cookbook") §3 JWK and §4 JWS examples, plus the RFC 8037 Ed25519 example,
//! checked against the published outputs in tests/data/jose-cookbook (see its SOURCE file).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use crate::common;

use common::*;
use portcullis_jose::jws::{sign_compact, verify_compact};
use portcullis_jose::{Algorithm, Error, Jwk, KeySet, SigningKey, VerifyingKey};
use serde_json::Value;

const PRIVATE_MEMBERS: [&str; 7] = ["d", "p", "q", "dp", "dq", "qi", "k"];

struct Example {
    payload: String,
    key: Value,
    protected_b64u: String,
    sig_input: String,
    sig: String,
    compact: Option<String>,
}

fn example(rel: &str) -> Example {
    let v = data_json(rel);
    Example {
        payload: v["input"]["payload"].as_str().unwrap().to_owned(),
        key: v["input"]["key"].clone(),
        protected_b64u: v["signing"]["protected_b64u"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
        sig_input: v["signing"]["sig-input"].as_str().unwrap().to_owned(),
        sig: v["signing"]["sig"].as_str().unwrap().to_owned(),
        compact: v["output"]["compact"].as_str().map(str::to_owned),
    }
}

fn single(key: VerifyingKey) -> KeySet {
    keyset([key])
}

#[test]
fn rfc7520_4_1_rs256_signature_is_byte_identical() {
    let ex = example("jose-cookbook/jws/4_1.rsa_v15_signature.json");
    let key = SigningKey::from_jwk_with_alg(&jwk(ex.key.clone()), Algorithm::RS256).unwrap();
    assert_eq!(key.kid(), Some("bilbo.baggins@hobbiton.example"));
    // PKCS#1 v1.5 is deterministic: the raw signature must match the cookbook exactly.
    let sig = key.sign(ex.sig_input.as_bytes()).unwrap();
    assert_eq!(b64(&sig), ex.sig);
    // The compact form too: the header is {"alg","kid"} in that order, no whitespace.
    let token = sign_compact(&key, None, ex.payload.as_bytes()).unwrap();
    assert_eq!(Some(token.as_str()), ex.compact.as_deref());
}

#[test]
fn rfc7520_4_1_rs256_cookbook_output_verifies() {
    let ex = example("jose-cookbook/jws/4_1.rsa_v15_signature.json");
    let vk = VerifyingKey::from_jwk_with_alg(&jwk(ex.key), Algorithm::RS256).unwrap();
    let (header, payload) = verify_compact(ex.compact.as_deref().unwrap(), &single(vk)).unwrap();
    assert_eq!(header.alg, Algorithm::RS256);
    assert_eq!(
        header.kid.as_deref(),
        Some("bilbo.baggins@hobbiton.example")
    );
    assert_eq!(payload, ex.payload.as_bytes());
}

#[test]
fn rfc7520_4_1_tampered_payload_fails() {
    let ex = example("jose-cookbook/jws/4_1.rsa_v15_signature.json");
    let vk = VerifyingKey::from_jwk_with_alg(&jwk(ex.key), Algorithm::RS256).unwrap();
    let token = replace_segment(
        ex.compact.as_deref().unwrap(),
        1,
        &b64(b"It's a safe business"),
    );
    let err = verify_compact(&token, &single(vk)).unwrap_err();
    assert!(matches!(err, Error::InvalidSignature), "{err:?}");
}

#[test]
fn rfc7520_4_2_ps384_cookbook_output_verifies() {
    let ex = example("jose-cookbook/jws/4_2.rsa-pss_signature.json");
    let vk = VerifyingKey::from_jwk_with_alg(&jwk(ex.key.clone()), Algorithm::PS384).unwrap();
    let (header, payload) = verify_compact(ex.compact.as_deref().unwrap(), &single(vk)).unwrap();
    assert_eq!(header.alg, Algorithm::PS384);
    assert_eq!(payload, ex.payload.as_bytes());

    // PSS is randomised: our own signature differs but verifies with the same public key.
    let sk = SigningKey::from_jwk_with_alg(&jwk(ex.key.clone()), Algorithm::PS384).unwrap();
    let ours = sk.sign(ex.sig_input.as_bytes()).unwrap();
    assert_ne!(b64(&ours), ex.sig);
    assert_eq!(ours.len(), 256);
    sk.verifying_key()
        .verify(ex.sig_input.as_bytes(), &ours)
        .unwrap();
}

#[test]
fn rfc7520_4_2_same_key_bound_to_ps256_rejects_ps384_token() {
    let ex = example("jose-cookbook/jws/4_2.rsa-pss_signature.json");
    let vk = VerifyingKey::from_jwk_with_alg(&jwk(ex.key), Algorithm::PS256).unwrap();
    let err = verify_compact(ex.compact.as_deref().unwrap(), &single(vk)).unwrap_err();
    assert!(matches!(err, Error::AlgorithmMismatch), "{err:?}");
}

#[test]
fn rfc7520_4_3_es512_p521_is_not_supported() {
    // ES512 / P-521 is outside the supported algorithm set: key import must fail cleanly and the
    // cookbook token must not verify against anything we can build.
    let ex = example("jose-cookbook/jws/4_3.ecdsa_signature.json");
    assert!(VerifyingKey::from_jwk(&jwk(ex.key.clone())).is_err());
    assert!(SigningKey::from_jwk(&jwk(ex.key)).is_err());
    assert!("ES512".parse::<Algorithm>().is_err());
    let err = verify_compact(ex.compact.as_deref().unwrap(), &KeySet::new()).unwrap_err();
    assert!(
        matches!(err, Error::UnsupportedAlgorithm | Error::KeyNotFound),
        "{err:?}"
    );
}

#[test]
fn rfc7520_4_4_hs256_signature_is_byte_identical() {
    let ex = example("jose-cookbook/jws/4_4.hmac-sha2_integrity_protection.json");
    let key = SigningKey::from_jwk(&jwk(ex.key.clone())).unwrap();
    assert_eq!(key.alg(), Algorithm::HS256);
    assert_eq!(b64(&key.sign(ex.sig_input.as_bytes()).unwrap()), ex.sig);
    let token = sign_compact(&key, None, ex.payload.as_bytes()).unwrap();
    assert_eq!(Some(token.as_str()), ex.compact.as_deref());

    let vk = VerifyingKey::from_jwk(&jwk(ex.key)).unwrap();
    let (header, payload) = verify_compact(&token, &single(vk)).unwrap();
    assert_eq!(header.alg, Algorithm::HS256);
    assert_eq!(payload, ex.payload.as_bytes());
}

#[test]
fn rfc7520_4_6_protected_header_without_kid_verifies_by_alg() {
    // §4.6 carries `kid` in the unprotected header (JSON serialization only). Its compact
    // equivalent has no kid: the key is then selected by algorithm.
    let ex = example("jose-cookbook/jws/4_6.protecting_specific_header_fields.json");
    assert_eq!(ex.protected_b64u, "eyJhbGciOiJIUzI1NiJ9");
    let token = format!("{}.{}", ex.sig_input, ex.sig);
    let vk = VerifyingKey::from_jwk(&jwk(ex.key)).unwrap();
    let (header, payload) = verify_compact(&token, &single(vk)).unwrap();
    assert_eq!(header.kid, None);
    assert_eq!(payload, ex.payload.as_bytes());
}

#[test]
fn rfc7520_4_7_missing_protected_header_is_rejected() {
    // §4.7 protects only the content; the compact form would have an empty header segment.
    let ex = example("jose-cookbook/jws/4_7.protecting_content_only.json");
    assert!(ex.sig_input.starts_with('.'));
    let token = format!("{}.{}", ex.sig_input, ex.sig);
    let vk = VerifyingKey::from_jwk(&jwk(ex.key)).unwrap();
    let err = verify_compact(&token, &single(vk)).unwrap_err();
    assert!(matches!(err, Error::Malformed(_)), "{err:?}");
}

#[test]
fn rfc8037_a4_ed25519_signature_is_byte_identical() {
    let ex = example("jose-cookbook/curve25519/jws.json");
    let key = SigningKey::from_jwk(&jwk(ex.key.clone())).unwrap();
    assert_eq!(key.alg(), Algorithm::EdDSA);
    // Ed25519 is deterministic.
    assert_eq!(b64(&key.sign(ex.sig_input.as_bytes()).unwrap()), ex.sig);
    let token = sign_compact(&key, None, ex.payload.as_bytes()).unwrap();
    assert_eq!(Some(token.as_str()), ex.compact.as_deref());
    let vk = VerifyingKey::from_jwk(&jwk(ex.key)).unwrap();
    let (_, payload) = verify_compact(&token, &single(vk)).unwrap();
    assert_eq!(payload, ex.payload.as_bytes());
}

fn assert_round_trips(rel: &str) -> (Value, Jwk) {
    let original = data_json(rel);
    let parsed = jwk(original.clone());
    let back = jwk_value(&parsed);
    // Every member of the cookbook key survives a parse/serialize cycle unchanged.
    for (name, value) in original.as_object().unwrap() {
        assert_eq!(back.get(name), Some(value), "{rel}: member {name}");
    }
    (original, parsed)
}

fn assert_public_only(j: &Jwk) {
    let v = jwk_value(j);
    for m in PRIVATE_MEMBERS {
        assert!(v.get(m).is_none(), "public JWK carries `{m}`: {v}");
    }
    assert!(!j.is_private());
}

#[test]
fn rfc7520_3_1_ec_public_key_round_trips() {
    let (_, parsed) = assert_round_trips("jose-cookbook/jwk/3_1.ec_public_key.json");
    assert!(!parsed.is_private());
    assert_public_only(&parsed.to_public().unwrap());
    // P-521 is not a supported verification curve.
    assert!(VerifyingKey::from_jwk(&parsed).is_err());
}

#[test]
fn rfc7520_3_2_ec_private_key_round_trips_and_public_form_drops_d() {
    let (original, parsed) = assert_round_trips("jose-cookbook/jwk/3_2.ec_private_key.json");
    assert!(parsed.is_private());
    let public = parsed.to_public().unwrap();
    assert_public_only(&public);
    let pv = jwk_value(&public);
    for m in ["kty", "crv", "x", "y", "kid"] {
        assert_eq!(pv.get(m), original.get(m), "member {m}");
    }
    // Same key, so the same RFC 7638 thumbprint.
    assert_eq!(parsed.thumbprint().unwrap(), public.thumbprint().unwrap());
}

#[test]
fn rfc7520_3_3_rsa_public_key_round_trips() {
    let (_, parsed) = assert_round_trips("jose-cookbook/jwk/3_3.rsa_public_key.json");
    assert!(!parsed.is_private());
    // RSA without `alg` is ambiguous: refused unless the caller binds an algorithm.
    assert!(matches!(
        VerifyingKey::from_jwk(&parsed),
        Err(Error::InvalidKey(_))
    ));
    let vk = VerifyingKey::from_jwk_with_alg(&parsed, Algorithm::RS256).unwrap();
    assert_eq!(vk.alg(), Algorithm::RS256);
    assert_eq!(vk.kid(), Some("bilbo.baggins@hobbiton.example"));
}

#[test]
fn rfc7520_3_4_rsa_private_key_round_trips_and_public_form_drops_crt() {
    let (original, parsed) = assert_round_trips("jose-cookbook/jwk/3_4.rsa_private_key.json");
    assert!(parsed.is_private());
    let public = parsed.to_public().unwrap();
    assert_public_only(&public);
    let pv = jwk_value(&public);
    for m in ["kty", "n", "e", "kid"] {
        assert_eq!(pv.get(m), original.get(m), "member {m}");
    }
    let public_file = data_json("jose-cookbook/jwk/3_3.rsa_public_key.json");
    for (name, value) in public_file.as_object().unwrap() {
        assert_eq!(pv.get(name), Some(value), "3.3 member {name}");
    }
    // The signing key exported back to JWK keeps the same public half.
    let sk = SigningKey::from_jwk_with_alg(&parsed, Algorithm::RS256).unwrap();
    let exported = sk.to_public_jwk().unwrap();
    assert_public_only(&exported);
    assert_eq!(exported.thumbprint().unwrap(), public.thumbprint().unwrap());
}

#[test]
fn rfc7520_3_5_symmetric_key_round_trips_and_has_no_public_form() {
    let (_, parsed) =
        assert_round_trips("jose-cookbook/jwk/3_5.symmetric_key_mac_computation.json");
    assert!(parsed.is_private());
    assert!(parsed.to_public().is_err());
    let sk = SigningKey::from_jwk(&parsed).unwrap();
    assert_eq!(sk.alg(), Algorithm::HS256);
    assert!(sk.to_public_jwk().is_none());
}
