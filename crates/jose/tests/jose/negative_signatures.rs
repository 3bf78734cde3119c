//! Negative tests for signature encodings and key import (JWT-14 .. JWT-17, JWT-19): raw ECDSA
//! only, psychic signatures, RSA and HMAC key policy, curve validation, malleability.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use crate::common;

use common::*;
use portcullis_jose::jws::{sign_compact, verify_compact};
use portcullis_jose::{Algorithm, Error, SigningKey, VerifyingKey, jwt};
use serde_json::{Value, json};

fn der_int(v: &[u8]) -> Vec<u8> {
    let start = v.iter().position(|b| *b != 0).unwrap_or(v.len() - 1);
    let mut body = v[start..].to_vec();
    if body[0] & 0x80 != 0 {
        body.insert(0, 0);
    }
    let mut out = vec![0x02, u8::try_from(body.len()).unwrap()];
    out.extend(body);
    out
}

fn ecdsa_der(raw: &[u8]) -> Vec<u8> {
    let (r, s) = raw.split_at(raw.len() / 2);
    let mut body = der_int(r);
    body.extend(der_int(s));
    let mut out = vec![0x30];
    if body.len() >= 0x80 {
        out.push(0x81);
    }
    out.push(u8::try_from(body.len()).unwrap());
    out.extend(body);
    out
}

fn assert_bad_signature(alg: Algorithm, sig_for: impl Fn(&[u8]) -> Vec<u8>, what: &str) {
    let key = SigningKey::generate(alg).unwrap().with_kid("ec");
    let keys = keyset([key.verifying_key()]);
    let token = sign_compact(&key, None, b"{\"sub\":\"x\"}").unwrap();
    verify_compact(&token, &keys).unwrap();
    let raw = unb64(token.rsplit('.').next().unwrap());
    let forged = replace_segment(&token, 2, &b64(&sig_for(&raw)));
    let err = verify_compact(&forged, &keys).unwrap_err();
    assert!(
        matches!(err, Error::InvalidSignature | Error::Malformed(_)),
        "{} {what}: {err:?}",
        alg.as_str()
    );
}

#[test]
fn jwt_14_ecdsa_der_signature_is_rejected() {
    for alg in [Algorithm::ES256, Algorithm::ES384] {
        assert_bad_signature(alg, ecdsa_der, "DER");
    }
}

#[test]
fn jwt_14_psychic_signature_r_s_zero_is_rejected() {
    for (alg, len) in [(Algorithm::ES256, 64), (Algorithm::ES384, 96)] {
        assert_bad_signature(alg, |_| vec![0u8; len], "r=s=0");
        // r = 0 with the genuine s, and the genuine r with s = 0.
        assert_bad_signature(
            alg,
            |raw| {
                let mut v = raw.to_vec();
                v[..len / 2].fill(0);
                v
            },
            "r=0",
        );
        assert_bad_signature(
            alg,
            |raw| {
                let mut v = raw.to_vec();
                v[len / 2..].fill(0);
                v
            },
            "s=0",
        );
    }
    // Directly on the key as well, for P-256 r = s = n.
    let key = SigningKey::generate(Algorithm::ES256).unwrap();
    let n = hex(P256_N);
    let mut rs = n.clone();
    rs.extend(&n);
    assert!(key.verifying_key().verify(b"msg", &rs).is_err());
    assert!(key.verifying_key().verify(b"msg", &[0u8; 64]).is_err());
}

#[test]
fn jwt_14_ecdsa_signature_length_is_exact() {
    for (alg, len) in [(Algorithm::ES256, 64usize), (Algorithm::ES384, 96)] {
        assert_bad_signature(alg, |raw| raw[..len - 1].to_vec(), "short by one");
        assert_bad_signature(
            alg,
            |raw| {
                let mut v = raw.to_vec();
                v.push(0);
                v
            },
            "long by one",
        );
        assert_bad_signature(
            alg,
            |raw| {
                let mut v = vec![0];
                v.extend(raw);
                v
            },
            "leading zero",
        );
    }
    // A P-384-sized signature against a P-256 key and vice versa.
    assert_bad_signature(Algorithm::ES256, |_| vec![1u8; 96], "96 bytes for ES256");
    assert_bad_signature(Algorithm::ES384, |_| vec![1u8; 64], "64 bytes for ES384");
}

#[test]
fn jwt_15_rsa_signature_length_must_equal_modulus_length() {
    let key = rsa_signing(Algorithm::RS256);
    let keys = keyset([key.verifying_key()]);
    let token = sign_compact(&key, None, b"{}").unwrap();
    let sig = unb64(token.rsplit('.').next().unwrap());
    assert_eq!(sig.len(), 256);
    let mut prefixed = vec![0u8];
    prefixed.extend(&sig);
    let err = verify_compact(&replace_segment(&token, 2, &b64(&prefixed)), &keys).unwrap_err();
    assert!(matches!(err, Error::InvalidSignature), "{err:?}");
    let mut suffixed = sig.clone();
    suffixed.push(0);
    let err = verify_compact(&replace_segment(&token, 2, &b64(&suffixed)), &keys).unwrap_err();
    assert!(matches!(err, Error::InvalidSignature), "{err:?}");
}

fn wycheproof_key(comment: &str) -> Value {
    let file = data_json("wycheproof/json_web_key_test.json");
    file["testGroups"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["tests"][0]["comment"] == comment)
        .unwrap()["private"]["keys"][0]
        .clone()
}

#[test]
fn jwt_15_rsa_1024_bit_key_is_rejected() {
    let private = wycheproof_key("rejects1024bitRsaKey");
    assert_eq!(unb64(private["n"].as_str().unwrap()).len(), 128);
    let err = VerifyingKey::from_jwk(&jwk(private.clone())).unwrap_err();
    assert!(matches!(err, Error::InvalidKey(_)), "{err:?}");
    let err = SigningKey::from_jwk(&jwk(private)).unwrap_err();
    assert!(matches!(err, Error::InvalidKey(_)), "{err:?}");
}

#[test]
fn jwt_15_rsa_exponent_1_and_even_exponents_are_rejected() {
    let private = wycheproof_key("rejectsPublicExponent1");
    assert_eq!(private["e"], "AQ");
    let err = VerifyingKey::from_jwk(&jwk(private)).unwrap_err();
    assert!(matches!(err, Error::InvalidKey(_)), "{err:?}");

    let public = jwk_value(&cookbook_rsa_jwk().to_public().unwrap());
    for e in ["AQ", "Ag", "AQAA", "AAEAAQ", ""] {
        let mut k = public.clone();
        k["e"] = json!(e);
        let err = VerifyingKey::from_jwk_with_alg(&jwk(k), Algorithm::RS256).unwrap_err();
        assert!(matches!(err, Error::InvalidKey(_)), "e={e}: {err:?}");
    }
    // The cookbook key itself (e = 65537) is fine.
    VerifyingKey::from_jwk_with_alg(&jwk(public), Algorithm::RS256).unwrap();
}

#[test]
fn jwt_16_hmac_secret_shorter_than_hash_is_rejected() {
    for (alg, size) in [
        (Algorithm::HS256, 32usize),
        (Algorithm::HS384, 48),
        (Algorithm::HS512, 64),
    ] {
        for len in [0, 1, size / 2, size - 1] {
            let secret = vec![0x5a; len];
            let err = SigningKey::hmac(&secret, alg).unwrap_err();
            assert!(
                matches!(err, Error::InvalidKey(_)),
                "{} {len}: {err:?}",
                alg.as_str()
            );
            let err = VerifyingKey::hmac(&secret, alg).unwrap_err();
            assert!(
                matches!(err, Error::InvalidKey(_)),
                "{} {len}: {err:?}",
                alg.as_str()
            );
            let oct = jwk(json!({"kty": "oct", "alg": alg.as_str(), "k": b64(&secret)}));
            assert!(SigningKey::from_jwk(&oct).is_err());
            assert!(VerifyingKey::from_jwk(&oct).is_err());
        }
        SigningKey::hmac(&vec![0x5a; size], alg).unwrap();
        VerifyingKey::hmac(&vec![0x5a; size], alg).unwrap();
    }
}

#[test]
fn jwt_16_generated_hmac_secrets_are_random_and_full_size() {
    for (alg, size) in [
        (Algorithm::HS256, 32usize),
        (Algorithm::HS384, 48),
        (Algorithm::HS512, 64),
    ] {
        let a = jwk_value(&SigningKey::generate(alg).unwrap().to_private_jwk());
        let b = jwk_value(&SigningKey::generate(alg).unwrap().to_private_jwk());
        let ka = unb64(a["k"].as_str().unwrap());
        assert_eq!(ka.len(), size);
        assert_ne!(a["k"], b["k"]);
        assert_eq!(a["alg"], alg.as_str());
    }
}

#[test]
fn jwt_17_ec_point_must_be_on_the_curve_and_match_alg() {
    let key = SigningKey::generate(Algorithm::ES256).unwrap();
    let public = jwk_value(&key.to_public_jwk().unwrap());
    VerifyingKey::from_jwk(&jwk(public.clone())).unwrap();

    let mut y = unb64(public["y"].as_str().unwrap());
    y[31] ^= 1;
    let x = unb64(public["x"].as_str().unwrap());
    let cases = [
        ("y off curve", json!({"y": b64(&y)})),
        ("crv P-384", json!({"crv": "P-384"})),
        ("crv P-521", json!({"crv": "P-521"})),
        ("crv secp256k1", json!({"crv": "secp256k1"})),
        ("alg ES384", json!({"alg": "ES384"})),
        ("alg EdDSA", json!({"alg": "EdDSA"})),
        ("alg HS256", json!({"alg": "HS256"})),
        ("x short", json!({"x": b64(&x[1..])})),
        ("x long", json!({"x": b64(&[&[0u8][..], &x[..]].concat())})),
        (
            "zero point",
            json!({"x": b64(&[0u8; 32]), "y": b64(&[0u8; 32])}),
        ),
        ("missing y", json!({"y": null})),
        ("kty OKP", json!({"kty": "OKP"})),
        ("kty RSA", json!({"kty": "RSA"})),
    ];
    for (what, patch) in cases {
        let mut k = public.clone();
        for (m, v) in patch.as_object().unwrap() {
            if v.is_null() {
                k.as_object_mut().unwrap().remove(m);
            } else {
                k[m] = v.clone();
            }
        }
        let result = serde_json::from_value::<portcullis_jose::Jwk>(k.clone());
        if let Ok(parsed) = result {
            assert!(VerifyingKey::from_jwk(&parsed).is_err(), "{what}: {k}");
        }
    }
}

#[test]
fn jwt_17_ed25519_key_must_be_well_formed() {
    let key = SigningKey::generate(Algorithm::EdDSA).unwrap();
    let public = jwk_value(&key.to_public_jwk().unwrap());
    assert_eq!(public["crv"], "Ed25519");
    let x = unb64(public["x"].as_str().unwrap());
    let cases = [
        json!({"kty": "OKP", "crv": "Ed25519", "x": b64(&x[1..])}),
        json!({"kty": "OKP", "crv": "Ed25519", "x": b64(&[&x[..], &[0u8][..]].concat())}),
        json!({"kty": "OKP", "crv": "X25519", "x": b64(&x)}),
        json!({"kty": "OKP", "crv": "Ed448", "x": b64(&x)}),
        json!({"kty": "OKP", "crv": "Ed25519", "x": b64(&x), "alg": "ES256"}),
        json!({"kty": "EC", "crv": "Ed25519", "x": b64(&x)}),
        json!({"kty": "OKP", "x": b64(&x)}),
    ];
    for k in cases {
        assert!(VerifyingKey::from_jwk(&jwk(k.clone())).is_err(), "{k}");
    }
}

#[test]
fn jwt_17_private_scalar_must_match_public_point() {
    let a = jwk_value(
        &SigningKey::generate(Algorithm::ES256)
            .unwrap()
            .to_private_jwk(),
    );
    let b = jwk_value(
        &SigningKey::generate(Algorithm::ES256)
            .unwrap()
            .to_private_jwk(),
    );
    let mut mixed = a.clone();
    mixed["d"] = b["d"].clone();
    assert!(SigningKey::from_jwk(&jwk(mixed)).is_err());
    let a = jwk_value(
        &SigningKey::generate(Algorithm::EdDSA)
            .unwrap()
            .to_private_jwk(),
    );
    let b = jwk_value(
        &SigningKey::generate(Algorithm::EdDSA)
            .unwrap()
            .to_private_jwk(),
    );
    let mut mixed = a.clone();
    mixed["d"] = b["d"].clone();
    assert!(SigningKey::from_jwk(&jwk(mixed)).is_err());
}

#[test]
fn jwt_19_malleated_ecdsa_signature_keeps_the_same_iss_and_jti() {
    // (r, n - s) is a second valid encoding of the same ECDSA signature. Whatever the verifier
    // decides about it, a denylist keyed on (iss, jti) sees the same entry, never a new one.
    let key = SigningKey::generate(Algorithm::ES256)
        .unwrap()
        .with_kid("ec");
    let keys = keyset([key.verifying_key()]);
    let token = jwt::encode(&key, "at+jwt", &good_claims()).unwrap();
    let first = validator().verify::<Value>(&token, &keys, now()).unwrap();
    let raw = unb64(token.rsplit('.').next().unwrap());
    let (r, s) = raw.split_at(32);
    let mut malleated = r.to_vec();
    malleated.extend(be_sub(&hex(P256_N), s));
    let twin = replace_segment(&token, 2, &b64(&malleated));
    assert_ne!(twin, token);
    match validator().verify::<Value>(&twin, &keys, now()) {
        Ok(second) => {
            assert_eq!(second.claims().iss, first.claims().iss);
            assert_eq!(second.claims().jti, first.claims().jti);
            assert_eq!(second.claims().jti.as_deref(), Some("jti-1"));
        }
        Err(e) => assert!(matches!(e, Error::InvalidSignature), "{e:?}"),
    }
}
