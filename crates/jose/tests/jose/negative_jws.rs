//! Negative JWS tests for the algorithm and header rules (JWT-1 .. JWT-6, JWT-13): `none`, case
//! games, key/algorithm confusion, keys carried in the token, `crit`, JWE and nested tokens.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use crate::common;

use aws_lc_rs::hmac;
use common::*;
use portcullis_jose::jws::{sign_compact, verify_compact};
use portcullis_jose::{Algorithm, Error, SigningKey, VerifyingKey};
use serde_json::{Value, json};

fn hs256() -> SigningKey {
    SigningKey::hmac(HMAC_SECRET, Algorithm::HS256)
        .unwrap()
        .with_kid("hs")
}

fn hmac_token(secret: &[u8], header: &Value, payload: &[u8]) -> String {
    let input = format!("{}.{}", b64(header.to_string().as_bytes()), b64(payload));
    let tag = hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, secret), input.as_bytes());
    format!("{input}.{}", b64(tag.as_ref()))
}

#[test]
fn jwt_1_keyset_is_the_algorithm_allow_list() {
    // The verifier trusts one ES256 key; a correctly signed token of any other algorithm,
    // with or without a kid naming the trusted key, is refused.
    let trusted = SigningKey::generate(Algorithm::ES256)
        .unwrap()
        .with_kid("k1");
    let keys = keyset([trusted.verifying_key()]);
    for alg in ALL_ALGS.into_iter().filter(|a| *a != Algorithm::ES256) {
        let other = signing_key(alg);
        let no_kid = sign_compact(&other, None, b"{}").unwrap();
        let err = verify_compact(&no_kid, &keys).unwrap_err();
        assert!(
            matches!(err, Error::KeyNotFound),
            "{}: {err:?}",
            alg.as_str()
        );
        let with_kid = sign_compact(&other.with_kid("k1"), None, b"{}").unwrap();
        let err = verify_compact(&with_kid, &keys).unwrap_err();
        assert!(
            matches!(err, Error::AlgorithmMismatch),
            "{}: {err:?}",
            alg.as_str()
        );
    }
    let ok = sign_compact(&trusted, None, b"{}").unwrap();
    verify_compact(&ok, &keys).unwrap();
}

#[test]
fn jwt_2_alg_none_is_rejected_in_every_spelling() {
    let keys = keyset([hs256().verifying_key()]);
    let good = sign_compact(&hs256(), None, b"{}").unwrap();
    let good_sig = good.rsplit('.').next().unwrap().to_owned();
    let headers = [
        r#"{"alg":"none"}"#,
        r#"{"alg":"None"}"#,
        r#"{"alg":"NONE"}"#,
        r#"{"alg":"nOnE"}"#,
        r#"{"alg":"none "}"#,
        r#"{"alg":"\u006eone"}"#,
        r#"{"alg":"none","kid":"hs"}"#,
        r#"{"alg":"\u006e\u006f\u006e\u0065","kid":"hs"}"#,
        r#"{"alg":null,"kid":"hs"}"#,
        r#"{"alg":"","kid":"hs"}"#,
        r#"{"kid":"hs"}"#,
    ];
    for header in headers {
        let input = format!("{}.{}", b64(header.as_bytes()), b64(b"{}"));
        for sig in ["", good_sig.as_str(), "AA"] {
            let token = format!("{input}.{sig}");
            let err = verify_compact(&token, &keys).unwrap_err();
            assert!(
                matches!(err, Error::UnsupportedAlgorithm | Error::Malformed(_)),
                "{header} sig {sig:?}: {err:?}"
            );
        }
    }
    for s in ["none", "None", "NONE"] {
        assert!(s.parse::<Algorithm>().is_err(), "{s}");
    }
}

#[test]
fn jwt_3_alg_is_compared_case_sensitively() {
    let key = hs256();
    let keys = keyset([key.verifying_key()]);
    for alg in ["hs256", "HS256 ", " HS256", "Hs256", "HS256\u{0}", "HS 256"] {
        assert!(alg.parse::<Algorithm>().is_err(), "{alg:?} parsed");
        let token = sign_json(&key, &json!({"alg": alg, "kid": "hs"}), &json!({}));
        let err = verify_compact(&token, &keys).unwrap_err();
        assert!(
            matches!(err, Error::UnsupportedAlgorithm | Error::Malformed(_)),
            "{alg:?}: {err:?}"
        );
    }
    for alg in ALL_ALGS {
        assert_eq!(alg.as_str().parse::<Algorithm>().unwrap(), alg);
    }
}

/// Byte strings an attacker may use as "the public key" when forging an HMAC token.
fn public_key_renderings(public_jwk: &Value) -> Vec<Vec<u8>> {
    let mut out = vec![
        public_jwk.to_string().into_bytes(),
        serde_json::to_vec_pretty(public_jwk).unwrap(),
    ];
    for m in ["n", "x", "y"] {
        if let Some(s) = public_jwk[m].as_str() {
            out.push(unb64(s));
            out.push(s.as_bytes().to_vec());
        }
    }
    out
}

fn assert_public_key_as_hmac_secret_rejected(key: &SigningKey) {
    let kid = key.kid().unwrap().to_owned();
    let keys = keyset([key.verifying_key()]);
    let public = jwk_value(&key.to_public_jwk().unwrap());
    for secret in public_key_renderings(&public) {
        let claims = serde_json::to_vec(&good_claims()).unwrap();
        let with_kid = hmac_token(&secret, &json!({"alg": "HS256", "kid": kid}), &claims);
        let err = verify_compact(&with_kid, &keys).unwrap_err();
        assert!(matches!(err, Error::AlgorithmMismatch), "{err:?}");
        let err = validator()
            .verify::<Value>(&with_kid, &keys, now())
            .unwrap_err();
        assert!(matches!(err, Error::AlgorithmMismatch), "{err:?}");
        let no_kid = hmac_token(&secret, &json!({"alg": "HS256"}), &claims);
        let err = verify_compact(&no_kid, &keys).unwrap_err();
        assert!(matches!(err, Error::KeyNotFound), "{err:?}");
    }
}

#[test]
fn jwt_4_rs256_key_rejects_hs256_token_signed_with_public_key() {
    assert_public_key_as_hmac_secret_rejected(&rsa_signing(Algorithm::RS256));
}

#[test]
fn jwt_4_ec_key_rejects_hs256_token_signed_with_public_key() {
    let key = SigningKey::generate(Algorithm::ES256)
        .unwrap()
        .with_kid("ec");
    assert_public_key_as_hmac_secret_rejected(&key);
}

#[test]
fn jwt_4_ed25519_key_rejects_hs256_token_signed_with_public_key() {
    let key = SigningKey::generate(Algorithm::EdDSA)
        .unwrap()
        .with_kid("ed");
    assert_public_key_as_hmac_secret_rejected(&key);
}

#[test]
fn jwt_4_jwk_alg_rs256_rejects_rs512_token() {
    let mut public = jwk_value(&cookbook_rsa_jwk().to_public().unwrap());
    public["alg"] = json!("RS256");
    let vk = VerifyingKey::from_jwk(&jwk(public.clone())).unwrap();
    assert_eq!(vk.alg(), Algorithm::RS256);
    // from_jwk_with_alg must not override a JWK's own alg either.
    assert!(VerifyingKey::from_jwk_with_alg(&jwk(public), Algorithm::RS512).is_err());
    let keys = keyset([vk]);
    // Same RSA private key, RS512 signature, kid pointing at the RS256-bound key.
    let rs512 = rsa_signing(Algorithm::RS512);
    let token = sign_compact(&rs512, None, b"{}").unwrap();
    assert_eq!(
        rs512.kid(),
        Some("bilbo.baggins@hobbiton.example"),
        "cookbook kid kept"
    );
    let err = verify_compact(&token, &keys).unwrap_err();
    assert!(matches!(err, Error::AlgorithmMismatch), "{err:?}");
    // And PS256 with the same modulus.
    let token = sign_compact(&rsa_signing(Algorithm::PS256), None, b"{}").unwrap();
    let err = verify_compact(&token, &keys).unwrap_err();
    assert!(matches!(err, Error::AlgorithmMismatch), "{err:?}");
}

#[test]
fn jwt_4_signing_key_alg_cannot_be_overridden_by_jwk_mismatch() {
    let mut private = jwk_value(&cookbook_rsa_jwk());
    private["alg"] = json!("RS256");
    let err = SigningKey::from_jwk_with_alg(&jwk(private), Algorithm::PS256).unwrap_err();
    assert!(
        matches!(err, Error::InvalidKey(_) | Error::AlgorithmMismatch),
        "{err:?}"
    );
    // An HMAC key is never usable for an asymmetric algorithm.
    assert!(SigningKey::hmac(HMAC_SECRET, Algorithm::RS256).is_err());
    assert!(VerifyingKey::hmac(HMAC_SECRET, Algorithm::ES256).is_err());
}

#[test]
fn jwt_5_embedded_jwk_header_is_never_trusted() {
    let legit = SigningKey::generate(Algorithm::ES256)
        .unwrap()
        .with_kid("legit");
    let keys = keyset([legit.verifying_key()]);
    let attacker = SigningKey::generate(Algorithm::ES256).unwrap();
    let attacker_jwk = jwk_value(&attacker.to_public_jwk().unwrap());
    let claims = good_claims();

    // Attacker key in `jwk`, no kid: the trusted ES256 key is tried and fails.
    let t = sign_json(
        &attacker,
        &json!({"alg": "ES256", "jwk": attacker_jwk}),
        &claims,
    );
    assert!(matches!(
        verify_compact(&t, &keys),
        Err(Error::InvalidSignature)
    ));
    // Same with the legit kid.
    let t = sign_json(
        &attacker,
        &json!({"alg": "ES256", "kid": "legit", "jwk": attacker_jwk}),
        &claims,
    );
    assert!(matches!(
        verify_compact(&t, &keys),
        Err(Error::InvalidSignature)
    ));
    // Attacker's own kid: not in the set.
    let mut with_kid = attacker_jwk.clone();
    with_kid["kid"] = json!("evil");
    let t = sign_json(
        &attacker,
        &json!({"alg": "ES256", "kid": "evil", "jwk": with_kid}),
        &claims,
    );
    assert!(matches!(verify_compact(&t, &keys), Err(Error::KeyNotFound)));
    let err = validator().verify::<Value>(&t, &keys, now()).unwrap_err();
    assert!(matches!(err, Error::KeyNotFound), "{err:?}");
}

#[test]
fn jwt_5_jku_x5u_x5c_headers_are_never_used() {
    let legit = SigningKey::generate(Algorithm::ES256)
        .unwrap()
        .with_kid("legit");
    let keys = keyset([legit.verifying_key()]);
    let attacker = SigningKey::generate(Algorithm::ES256)
        .unwrap()
        .with_kid("legit");
    let headers = [
        json!({"alg": "ES256", "kid": "legit", "jku": "https://evil.example/jwks.json"}),
        json!({"alg": "ES256", "kid": "legit", "x5u": "https://evil.example/cert.pem"}),
        json!({"alg": "ES256", "kid": "legit", "x5c": ["MIIBszCCAVmgAwIBAgIUAA=="]}),
        json!({"alg": "ES256", "jku": "https://evil.example/jwks.json", "kid": "other"}),
    ];
    for h in headers {
        let t = sign_json(&attacker, &h, &good_claims());
        let err = verify_compact(&t, &keys).unwrap_err();
        assert!(
            matches!(err, Error::InvalidSignature | Error::KeyNotFound),
            "{h}: {err:?}"
        );
    }
}

#[test]
fn jwt_6_crit_rules() {
    let key = hs256();
    let keys = keyset([key.verifying_key()]);
    // Baseline: the same header without crit verifies.
    let ok = sign_json(
        &key,
        &json!({"alg": "HS256", "kid": "hs", "exp": 1}),
        &json!({}),
    );
    verify_compact(&ok, &keys).unwrap();

    let unknown = sign_json(
        &key,
        &json!({"alg": "HS256", "kid": "hs", "crit": ["exp"], "exp": 1}),
        &json!({}),
    );
    assert!(matches!(
        verify_compact(&unknown, &keys),
        Err(Error::UnknownCritical)
    ));
    let b64_false = sign_json(
        &key,
        &json!({"alg": "HS256", "kid": "hs", "crit": ["b64"], "b64": false}),
        &json!({}),
    );
    assert!(matches!(
        verify_compact(&b64_false, &keys),
        Err(Error::UnknownCritical)
    ));

    let bad = [
        json!({"alg": "HS256", "kid": "hs", "crit": []}),
        json!({"alg": "HS256", "kid": "hs", "crit": ["alg"]}),
        json!({"alg": "HS256", "kid": "hs", "crit": ["kid"]}),
        json!({"alg": "HS256", "kid": "hs", "crit": ["foo"]}),
        json!({"alg": "HS256", "kid": "hs", "crit": "foo", "foo": 1}),
        json!({"alg": "HS256", "kid": "hs", "crit": [1], "foo": 1}),
        json!({"alg": "HS256", "kid": "hs", "crit": null}),
        json!({"alg": "HS256", "kid": "hs", "crit": ["foo", "foo"], "foo": 1}),
    ];
    for h in bad {
        let t = sign_json(&key, &h, &json!({}));
        let err = verify_compact(&t, &keys).unwrap_err();
        assert!(
            matches!(err, Error::UnknownCritical | Error::Malformed(_)),
            "{h}: {err:?}"
        );
    }
}

fn malformed(token: &str, keys: &portcullis_jose::KeySet, what: &str) {
    let err = verify_compact(token, keys).unwrap_err();
    assert!(matches!(err, Error::Malformed(_)), "{what}: {err:?}");
}

#[test]
fn jwt_13_jwe_compact_is_never_accepted_as_a_signed_token() {
    let key = hs256();
    let keys = keyset([key.verifying_key()]);
    // A JWE (alg "dir") wrapping unsigned claims: five segments, never a JWS.
    let jwe_header = b64(br#"{"alg":"dir","enc":"A256GCM","kid":"hs"}"#);
    let jwe = format!(
        "{jwe_header}..AAAAAAAAAAAAAAAA.{}.AAAAAAAAAAAAAAAAAAAAAA",
        b64(b"ct")
    );
    malformed(&jwe, &keys, "JWE compact");
    let err = validator().verify::<Value>(&jwe, &keys, now()).unwrap_err();
    assert!(matches!(err, Error::Malformed(_)), "{err:?}");
    // A JWE header squeezed into three segments is refused on its `alg`.
    let t = sign_json(
        &key,
        &json!({"alg": "dir", "enc": "A256GCM", "kid": "hs"}),
        &good_claims(),
    );
    let err = verify_compact(&t, &keys).unwrap_err();
    assert!(
        matches!(err, Error::UnsupportedAlgorithm | Error::Malformed(_)),
        "{err:?}"
    );
}

#[test]
fn jwt_13_nested_token_payload_is_not_taken_as_claims() {
    // A genuine outer signature over an inner, unsigned token (cty "JWT"): the validator wants a
    // claims object and must not unwrap or trust the inner layer.
    let key = hs256();
    let keys = keyset([key.verifying_key()]);
    let inner = format!(
        "{}.{}.",
        b64(br#"{"alg":"none"}"#),
        b64(good_claims().to_string().as_bytes())
    );
    let outer = sign_raw(
        &key,
        r#"{"alg":"HS256","kid":"hs","cty":"JWT"}"#,
        inner.as_bytes(),
    );
    let (header, payload) = verify_compact(&outer, &keys).unwrap();
    assert_eq!(header.cty.as_deref(), Some("JWT"));
    assert_eq!(payload, inner.as_bytes());
    let err = validator()
        .verify::<Value>(&outer, &keys, now())
        .unwrap_err();
    assert!(
        matches!(err, Error::Malformed(_) | Error::InvalidClaim(_)),
        "{err:?}"
    );
}
