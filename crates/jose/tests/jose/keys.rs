//! Key handling: public output never carries private members (KEY-1), kid uniqueness and use
//! filtering (KEY-2), RFC 7638 thumbprints (POP-7) and the signer's output rules (JWT-21).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use crate::common;

use aws_lc_rs::digest;
use common::*;
use portcullis_jose::jws::{sign_compact, verify_compact};
use portcullis_jose::{
    Algorithm, Error, Jwk, JwkSet, KeySet, SigningKey, VerifyingKey, dangerous, jwt,
};
use serde_json::{Value, json};

const PRIVATE_MEMBERS: [&str; 7] = ["d", "p", "q", "dp", "dq", "qi", "k"];

fn assert_no_private(v: &Value) {
    for m in PRIVATE_MEMBERS {
        assert!(v.get(m).is_none(), "`{m}` in public output: {v}");
    }
}

const ASYMMETRIC: [Algorithm; 9] = [
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

#[test]
fn key_1_public_jwks_never_carry_private_members() {
    let mut published = Vec::new();
    for alg in ASYMMETRIC {
        let key = signing_key(alg).with_kid(format!("kid-{}", alg.as_str()));
        let private = jwk_value(&key.to_private_jwk());
        assert!(private.get("d").is_some(), "{}", alg.as_str());
        assert_eq!(private["alg"], alg.as_str());
        assert_eq!(private["use"], "sig");
        let public = key.to_public_jwk().unwrap();
        let pv = jwk_value(&public);
        assert_no_private(&pv);
        assert!(!public.is_private());
        assert_eq!(pv["alg"], alg.as_str());
        assert_eq!(pv["kid"], format!("kid-{}", alg.as_str()));
        assert_eq!(pv["use"], "sig");
        // Jwk::to_public gives the same members.
        assert_eq!(jwk_value(&key.to_private_jwk().to_public().unwrap()), pv);
        published.push(public);
    }
    let set = JwkSet { keys: published };
    let text = serde_json::to_string(&set).unwrap();
    let v: Value = serde_json::from_str(&text).unwrap();
    for k in v["keys"].as_array().unwrap() {
        assert_no_private(k);
    }
    // The published set imports as a verifying set.
    assert_eq!(KeySet::from_jwks(&set).unwrap().len(), ASYMMETRIC.len());
}

#[test]
fn key_1_symmetric_keys_are_never_published() {
    for alg in [Algorithm::HS256, Algorithm::HS384, Algorithm::HS512] {
        let key = SigningKey::generate(alg).unwrap();
        assert!(key.to_public_jwk().is_none());
        assert!(key.to_private_jwk().to_public().is_err());
    }
}

#[test]
fn key_1_debug_output_is_redacted() {
    for alg in [
        Algorithm::HS256,
        Algorithm::ES256,
        Algorithm::EdDSA,
        Algorithm::RS256,
    ] {
        let key = signing_key(alg);
        let private = jwk_value(&key.to_private_jwk());
        let secret = private["d"]
            .as_str()
            .or_else(|| private["k"].as_str())
            .unwrap()
            .to_owned();
        let dbg = format!("{key:?} {:?}", key.verifying_key());
        assert!(!dbg.contains(&secret), "{}: secret in Debug", alg.as_str());
        // Nor in hex or raw-byte form.
        let raw = unb64(&secret);
        let hex: String = raw.iter().map(|b| format!("{b:02x}")).collect();
        assert!(!dbg.contains(&hex));
        assert!(!dbg.contains(&format!("{:?}", &raw[..8])));
    }
}

#[test]
fn key_1_keys_are_send_sync_clone() {
    fn check<T: Send + Sync + Clone + std::fmt::Debug>() {}
    check::<SigningKey>();
    check::<VerifyingKey>();
}

fn hs(kid: &str, fill: u8) -> VerifyingKey {
    let sk = SigningKey::hmac(&[fill; 32], Algorithm::HS256)
        .unwrap()
        .with_kid(kid);
    sk.verifying_key()
}

#[test]
fn key_2_duplicate_kid_is_rejected() {
    let mut set = KeySet::new();
    assert!(set.is_empty());
    set.insert(hs("a", 1)).unwrap();
    set.insert(hs("b", 2)).unwrap();
    let err = set.insert(hs("a", 3)).unwrap_err();
    assert!(matches!(err, Error::InvalidKey(_)), "{err:?}");
    // Even with a different algorithm, a kid names one key.
    let es = SigningKey::generate(Algorithm::ES256)
        .unwrap()
        .with_kid("b");
    assert!(matches!(
        set.insert(es.verifying_key()),
        Err(Error::InvalidKey(_))
    ));
    assert_eq!(set.len(), 2);
    assert!(set.contains_kid("a") && set.contains_kid("b") && !set.contains_kid("c"));
    assert_eq!(set.iter().count(), 2);

    let a = jwk_value(
        &SigningKey::generate(Algorithm::ES256)
            .unwrap()
            .with_kid("x")
            .to_public_jwk()
            .unwrap(),
    );
    let b = jwk_value(
        &SigningKey::generate(Algorithm::ES256)
            .unwrap()
            .with_kid("x")
            .to_public_jwk()
            .unwrap(),
    );
    let jwks: JwkSet = serde_json::from_value(json!({"keys": [a, b]})).unwrap();
    assert!(matches!(
        KeySet::from_jwks(&jwks),
        Err(Error::InvalidKey(_))
    ));
}

#[test]
fn key_2_encryption_keys_and_unusable_keys_are_skipped() {
    let sig = SigningKey::generate(Algorithm::ES256)
        .unwrap()
        .with_kid("sig");
    let enc = SigningKey::generate(Algorithm::ES256)
        .unwrap()
        .with_kid("enc");
    let mut enc_jwk = jwk_value(&enc.to_public_jwk().unwrap());
    enc_jwk["use"] = json!("enc");
    enc_jwk.as_object_mut().unwrap().remove("alg");
    let mut x25519 = jwk_value(
        &SigningKey::generate(Algorithm::EdDSA)
            .unwrap()
            .to_public_jwk()
            .unwrap(),
    );
    x25519["crv"] = json!("X25519");
    x25519["kid"] = json!("x25519");
    x25519.as_object_mut().unwrap().remove("alg");
    let mut rsa_no_alg = jwk_value(&cookbook_rsa_jwk().to_public().unwrap());
    rsa_no_alg["kid"] = json!("rsa-no-alg");
    let jwks: JwkSet = serde_json::from_value(json!({"keys": [
        jwk_value(&sig.to_public_jwk().unwrap()),
        enc_jwk,
        x25519,
        rsa_no_alg,
        {"kty": "oct", "kid": "oct-no-alg", "k": b64(&[1u8; 32])},
        {"kty": "XYZ", "kid": "future"}
    ]}))
    .unwrap();
    let set = KeySet::from_jwks(&jwks).unwrap();
    assert_eq!(set.len(), 1);
    assert!(set.contains_kid("sig"));
    // A token signed by the encryption key, naming it, finds nothing to verify with.
    let t = sign_compact(&enc, None, b"{}").unwrap();
    assert!(matches!(verify_compact(&t, &set), Err(Error::KeyNotFound)));
}

#[test]
fn key_2_key_ops_without_verify_is_not_used_for_verification() {
    let key = SigningKey::generate(Algorithm::ES256)
        .unwrap()
        .with_kid("ops");
    let mut public = jwk_value(&key.to_public_jwk().unwrap());
    public.as_object_mut().unwrap().remove("use");
    public["key_ops"] = json!(["encrypt", "decrypt"]);
    let jwks: JwkSet = serde_json::from_value(json!({ "keys": [public] })).unwrap();
    let t = sign_compact(&key, None, b"{}").unwrap();
    match KeySet::from_jwks(&jwks) {
        Ok(set) => assert!(verify_compact(&t, &set).is_err()),
        Err(e) => assert!(matches!(e, Error::InvalidKey(_)), "{e:?}"),
    }
}

#[test]
fn pop_7_rfc7638_rsa_thumbprint_known_answer() {
    // RFC 7638 §3.1.
    let k = jwk(json!({
        "kty": "RSA",
        "n": "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw",
        "e": "AQAB",
        "alg": "RS256",
        "kid": "2011-04-29"
    }));
    assert_eq!(
        k.thumbprint().unwrap(),
        "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
    );
}

#[test]
fn pop_7_rfc8037_ed25519_thumbprint_known_answer() {
    // RFC 8037 Appendix A.3.
    let k = jwk(json!({
        "kty": "OKP",
        "crv": "Ed25519",
        "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo",
        "d": "nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A"
    }));
    assert_eq!(
        k.thumbprint().unwrap(),
        "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"
    );
}

fn expected_thumbprint(required: &str) -> String {
    b64(digest::digest(&digest::SHA256, required.as_bytes()).as_ref())
}

#[test]
fn pop_7_ec_thumbprint_uses_required_members_in_order() {
    for alg in [Algorithm::ES256, Algorithm::ES384] {
        let key = SigningKey::generate(alg).unwrap().with_kid("ignored");
        let public = key.to_public_jwk().unwrap();
        let v = jwk_value(&public);
        let required = format!(
            r#"{{"crv":"{}","kty":"EC","x":"{}","y":"{}"}}"#,
            v["crv"].as_str().unwrap(),
            v["x"].as_str().unwrap(),
            v["y"].as_str().unwrap()
        );
        assert_eq!(public.thumbprint().unwrap(), expected_thumbprint(&required));
        // Private members, kid, alg and use do not change it.
        assert_eq!(
            key.to_private_jwk().thumbprint().unwrap(),
            public.thumbprint().unwrap()
        );
    }
    let key = SigningKey::generate(Algorithm::EdDSA)
        .unwrap()
        .with_kid("ignored");
    let v = jwk_value(&key.to_public_jwk().unwrap());
    let required = format!(
        r#"{{"crv":"Ed25519","kty":"OKP","x":"{}"}}"#,
        v["x"].as_str().unwrap()
    );
    assert_eq!(
        key.to_public_jwk().unwrap().thumbprint().unwrap(),
        expected_thumbprint(&required)
    );
}

#[test]
fn pop_7_oct_thumbprint_and_incomplete_keys() {
    let k = jwk(
        json!({"kty": "oct", "k": "hJtXIZ2uSN5kbQfbtTNWbpdmhkV8FJG-Onbc6mxCcYg", "alg": "HS256"}),
    );
    assert_eq!(
        k.thumbprint().unwrap(),
        expected_thumbprint(r#"{"k":"hJtXIZ2uSN5kbQfbtTNWbpdmhkV8FJG-Onbc6mxCcYg","kty":"oct"}"#)
    );
    let missing: Jwk = jwk(json!({"kty": "EC", "crv": "P-256", "x": "AAAA"}));
    assert!(missing.thumbprint().is_err());
    let unknown: Jwk = jwk(json!({"kty": "XYZ"}));
    assert!(unknown.thumbprint().is_err());
}

#[test]
fn jwt_21_signer_output_lengths_are_exact() {
    let expected = [
        (Algorithm::HS256, 32usize),
        (Algorithm::HS384, 48),
        (Algorithm::HS512, 64),
        (Algorithm::RS256, 256),
        (Algorithm::PS512, 256),
        (Algorithm::ES256, 64),
        (Algorithm::ES384, 96),
        (Algorithm::EdDSA, 64),
    ];
    for (alg, len) in expected {
        let key = signing_key(alg);
        for msg in [&b""[..], b"x", &[0u8; 1000]] {
            let sig = key.sign(msg).unwrap();
            assert_eq!(sig.len(), len, "{}", alg.as_str());
            key.verifying_key().verify(msg, &sig).unwrap();
        }
    }
}

#[test]
fn jwt_21_encoder_emits_alg_kid_typ_in_compact_form() {
    for alg in ALL_ALGS {
        let key = signing_key(alg).with_kid("k");
        let token = jwt::encode(&key, "at+jwt", &good_claims()).unwrap();
        assert_eq!(token.split('.').count(), 3);
        assert!(
            token
                .bytes()
                .all(|c| c.is_ascii_alphanumeric() || b"-_.".contains(&c))
        );
        let (header, claims) = dangerous::decode_unverified(&token).unwrap();
        assert_eq!(header["alg"], alg.as_str());
        assert_eq!(header["kid"], "k");
        assert_eq!(header["typ"], "at+jwt");
        assert_eq!(claims, good_claims());
        let raw = sign_compact(&key, None, b"payload").unwrap();
        let h: Value = serde_json::from_slice(&unb64(raw.split('.').next().unwrap())).unwrap();
        assert!(h.get("typ").is_none());
        assert_ne!(h["alg"], "none");
        // Round trip through our own verifier.
        let keys = keyset([key.verifying_key()]);
        let (vh, payload) = verify_compact(&raw, &keys).unwrap();
        assert_eq!(vh.alg, alg);
        assert_eq!(payload, b"payload");
    }
}

#[test]
fn jwt_21_generated_keys_are_distinct_and_bound() {
    for alg in [
        Algorithm::ES256,
        Algorithm::ES384,
        Algorithm::EdDSA,
        Algorithm::HS512,
    ] {
        let a = SigningKey::generate(alg).unwrap();
        let b = SigningKey::generate(alg).unwrap();
        assert_eq!(a.alg(), alg);
        assert_eq!(a.verifying_key().alg(), alg);
        let sig = a.sign(b"m").unwrap();
        assert!(b.verifying_key().verify(b"m", &sig).is_err());
    }
    // One RSA generation (slow in debug builds): 2048-bit modulus.
    let rsa = SigningKey::generate(Algorithm::PS256).unwrap();
    let n = unb64(
        jwk_value(&rsa.to_public_jwk().unwrap())["n"]
            .as_str()
            .unwrap(),
    );
    assert_eq!(n.len(), 256);
}

#[test]
fn dangerous_decode_unverified_does_not_check_signature_but_is_strict() {
    let key = signing_key(Algorithm::HS256);
    let t = jwt::encode(&key, "at+jwt", &good_claims()).unwrap();
    let forged = replace_segment(&t, 2, "AAAA");
    let (h, c) = dangerous::decode_unverified(&forged).unwrap();
    assert_eq!(h["alg"], "HS256");
    assert_eq!(c["iss"], ISS);
    assert!(dangerous::decode_unverified(&format!("{t}=")).is_err());
    assert!(dangerous::decode_unverified("a.b").is_err());
}
