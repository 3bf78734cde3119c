//! Interoperability with the `jsonwebtoken` crate (aws-lc-rs backend): tokens we sign verify
//! there and tokens it signs verify here, for every algorithm both implement.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use crate::common;

use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_FIXED_SIGNING, ECDSA_P384_SHA384_FIXED_SIGNING, EcdsaKeyPair, Ed25519KeyPair,
};
use common::*;
use jsonwebtoken::{DecodingKey, EncodingKey, Header, Validation};
use portcullis_jose::{Algorithm, SigningKey, jwt};
use serde_json::{Value, json};

/// jsonwebtoken checks `exp` against the wall clock, so these claims expire far in the future.
fn interop_claims() -> Value {
    json!({
        "iss": ISS,
        "sub": "user-1",
        "aud": AUD,
        "exp": 4_000_000_000_i64,
        "iat": NOW,
        "jti": "interop-1",
        "scope": "orders:read orders:write"
    })
}

fn their_alg(alg: Algorithm) -> jsonwebtoken::Algorithm {
    alg.as_str().parse().unwrap()
}

fn der_len(len: usize) -> Vec<u8> {
    if len < 0x80 {
        vec![u8::try_from(len).unwrap()]
    } else {
        let bytes: Vec<u8> = len
            .to_be_bytes()
            .into_iter()
            .skip_while(|b| *b == 0)
            .collect();
        let mut out = vec![0x80 | u8::try_from(bytes.len()).unwrap()];
        out.extend(bytes);
        out
    }
}

fn der_uint(value: &[u8]) -> Vec<u8> {
    let start = value.iter().position(|b| *b != 0).unwrap_or(value.len());
    let mut body = value[start..].to_vec();
    if body.first().is_none_or(|b| b & 0x80 != 0) {
        body.insert(0, 0);
    }
    let mut out = vec![0x02];
    out.extend(der_len(body.len()));
    out.extend(body);
    out
}

/// PKCS#1 RSAPrivateKey DER from the members of a private RSA JWK.
fn rsa_pkcs1_der(jwk: &Value) -> Vec<u8> {
    let mut body = der_uint(&[0]);
    for m in ["n", "e", "d", "p", "q", "dp", "dq", "qi"] {
        body.extend(der_uint(&unb64(jwk[m].as_str().unwrap())));
    }
    let mut out = vec![0x30];
    out.extend(der_len(body.len()));
    out.extend(body);
    out
}

/// The same private key in the form jsonwebtoken takes for signing.
fn their_encoding_key(key: &SigningKey) -> EncodingKey {
    let private = jwk_value(&key.to_private_jwk());
    let field = |m: &str| unb64(private[m].as_str().unwrap());
    match key.alg() {
        Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512 => {
            EncodingKey::from_secret(&field("k"))
        }
        Algorithm::ES256 | Algorithm::ES384 => {
            let signing = if key.alg() == Algorithm::ES256 {
                &ECDSA_P256_SHA256_FIXED_SIGNING
            } else {
                &ECDSA_P384_SHA384_FIXED_SIGNING
            };
            let mut point = vec![4u8];
            point.extend(field("x"));
            point.extend(field("y"));
            let pair = EcdsaKeyPair::from_private_key_and_public_key(signing, &field("d"), &point)
                .unwrap();
            EncodingKey::from_ec_der(pair.to_pkcs8v1().unwrap().as_ref())
        }
        Algorithm::EdDSA => {
            let pair = Ed25519KeyPair::from_seed_and_public_key(&field("d"), &field("x")).unwrap();
            EncodingKey::from_ed_der(pair.to_pkcs8v1().unwrap().as_ref())
        }
        _ => EncodingKey::from_rsa_der(&rsa_pkcs1_der(&private)),
    }
}

/// jsonwebtoken's verification key, built from our published JWK (HMAC: from the secret).
fn their_decoding_key(key: &SigningKey) -> DecodingKey {
    match key.to_public_jwk() {
        Some(public) => {
            let theirs: jsonwebtoken::jwk::Jwk =
                serde_json::from_value(jwk_value(&public)).unwrap();
            DecodingKey::from_jwk(&theirs).unwrap()
        }
        None => DecodingKey::from_secret(HMAC_SECRET),
    }
}

fn their_validation(alg: Algorithm) -> Validation {
    let mut v = Validation::new(their_alg(alg));
    v.set_issuer(&[ISS]);
    v.set_audience(&[AUD]);
    v
}

/// Algorithms jsonwebtoken implements that we implement too: all twelve.
const SHARED: [Algorithm; 12] = ALL_ALGS;

#[test]
fn ours_to_jsonwebtoken_every_shared_algorithm() {
    for alg in SHARED {
        let key = signing_key(alg).with_kid(format!("k-{}", alg.as_str()));
        let token = jwt::encode(&key, "at+jwt", &interop_claims()).unwrap();
        let data = jsonwebtoken::decode::<Value>(
            &token,
            &their_decoding_key(&key),
            &their_validation(alg),
        )
        .unwrap_or_else(|e| panic!("{}: {e:?}", alg.as_str()));
        assert_eq!(data.claims, interop_claims(), "{}", alg.as_str());
        assert_eq!(data.header.alg, their_alg(alg));
        assert_eq!(data.header.typ.as_deref(), Some("at+jwt"));
        assert_eq!(
            data.header.kid.as_deref(),
            Some(format!("k-{}", alg.as_str()).as_str())
        );
    }
}

#[test]
fn jsonwebtoken_to_ours_every_shared_algorithm() {
    for alg in SHARED {
        let kid = format!("k-{}", alg.as_str());
        let key = signing_key(alg).with_kid(kid.clone());
        let mut header = Header::new(their_alg(alg));
        header.kid = Some(kid.clone());
        let token =
            jsonwebtoken::encode(&header, &interop_claims(), &their_encoding_key(&key)).unwrap();
        let keys = keyset([key.verifying_key()]);
        let verified = validator()
            .verify::<Value>(&token, &keys, now())
            .unwrap_or_else(|e| panic!("{}: {e:?}", alg.as_str()));
        assert_eq!(verified.header().alg, alg);
        assert_eq!(verified.header().kid.as_deref(), Some(kid.as_str()));
        assert_eq!(verified.claims().iss, ISS);
        assert_eq!(verified.claims().jti.as_deref(), Some("interop-1"));
        assert_eq!(verified.custom()["scope"], "orders:read orders:write");
    }
}

#[test]
fn jsonwebtoken_to_ours_without_kid_selects_by_alg() {
    for alg in [Algorithm::ES256, Algorithm::EdDSA, Algorithm::PS256] {
        let key = signing_key(alg);
        let token = jsonwebtoken::encode(
            &Header::new(their_alg(alg)),
            &interop_claims(),
            &their_encoding_key(&key),
        )
        .unwrap();
        let keys = keyset([key.verifying_key()]);
        let verified = validator().verify::<Value>(&token, &keys, now()).unwrap();
        assert_eq!(verified.header().typ.as_deref(), Some("JWT"));
    }
}

#[test]
fn jsonwebtoken_token_under_a_different_key_is_rejected() {
    for alg in [Algorithm::ES256, Algorithm::EdDSA, Algorithm::HS256] {
        let ours = signing_key(alg);
        let other = match alg {
            Algorithm::HS256 => SigningKey::hmac(&[7u8; 32], alg).unwrap(),
            _ => SigningKey::generate(alg).unwrap(),
        };
        let token = jsonwebtoken::encode(
            &Header::new(their_alg(alg)),
            &interop_claims(),
            &their_encoding_key(&other),
        )
        .unwrap();
        let keys = keyset([ours.verifying_key()]);
        let err = validator()
            .verify::<Value>(&token, &keys, now())
            .unwrap_err();
        assert!(
            matches!(err, portcullis_jose::Error::InvalidSignature),
            "{}: {err:?}",
            alg.as_str()
        );
    }
}

#[test]
fn our_public_jwks_parse_as_jsonwebtoken_jwk_set() {
    let mut keys = Vec::new();
    for alg in [
        Algorithm::RS256,
        Algorithm::ES256,
        Algorithm::ES384,
        Algorithm::EdDSA,
    ] {
        let key = signing_key(alg).with_kid(alg.as_str());
        keys.push(jwk_value(&key.to_public_jwk().unwrap()));
    }
    let set: jsonwebtoken::jwk::JwkSet = serde_json::from_value(json!({ "keys": keys })).unwrap();
    assert_eq!(set.keys.len(), 4);
    for k in &set.keys {
        DecodingKey::from_jwk(k).unwrap();
    }
}
