//! Wycheproof JOSE vectors: json_web_signature_test and json_web_key_test, each case run as
//! "import the given JWK/JWKS into a KeySet, then verify_compact the token".
//!
//! Also the 49 JWS cases of json_web_crypto_test. Not run, because the library implements JWS
//! compact only: its 34 JWE cases, and json_web_encryption_test (139 JWE cases, not copied).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use crate::common;

use common::*;
use portcullis_jose::jws::verify_compact;
use portcullis_jose::{Error, JwkSet, KeySet};
use serde_json::{Value, json};

/// Cases where the library's documented policy differs from the Wycheproof verdict. Each entry
/// is asserted to behave exactly as listed (accepted = `true`), so a change either way is seen.
const SIGNATURE_DEVIATIONS: &[(u64, bool, &str)] = &[
    // The rfc7520 groups publish a key with "alg":"PS256" next to the cookbook's PS384 token.
    // Each key is bound to exactly one algorithm (JWT-4), so the token is refused.
    (
        346,
        false,
        "key alg PS256, token PS384: AlgorithmMismatch by design",
    ),
    (
        350,
        false,
        "key alg PS256, token PS384: AlgorithmMismatch by design",
    ),
    // ES512 / P-521 ("ES521" in the vector) is not in the supported algorithm set.
    (347, false, "P-521 / ES512 unsupported"),
    (351, false, "P-521 / ES512 unsupported"),
    // A '?' inside a segment: Wycheproof tolerates decoders that skip it; JWT-7 requires strict
    // base64url, so any character outside [A-Za-z0-9_-] is an error.
    (372, false, "strict base64url: '?' in header"),
    (373, false, "strict base64url: '?' in payload"),
    // key_ops is ["sign, verify"]: one string that is not "verify". key_ops values are exact
    // strings (RFC 7517 §4.3), so the key is not usable for verification and is skipped.
    (
        349,
        false,
        "key_ops [\"sign, verify\"] does not contain \"verify\"",
    ),
    // "invalidBase64Padding" cases whose data is byte-identical to the valid tcId 357 (the
    // modification is missing from the vector); see `wycheproof_padding_cases_equal_valid_357`.
    (367, true, "identical to valid tcId 357"),
    (370, true, "identical to valid tcId 357"),
];

const KEY_DEVIATIONS: &[(u64, bool, &str)] = &[];

#[derive(Debug)]
enum Outcome {
    KeyImport(Error),
    Verify(Result<(), Error>),
}

impl std::fmt::Display for Outcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Outcome::KeyImport(e) => write!(f, "key import failed: {e:?}"),
            Outcome::Verify(r) => write!(f, "verify: {r:?}"),
        }
    }
}

impl Outcome {
    fn accepted(&self) -> bool {
        matches!(self, Outcome::Verify(Ok(())))
    }
}

fn keyset_for(private: &Value) -> Result<KeySet, Error> {
    let set = if private.get("keys").is_some() {
        private.clone()
    } else {
        json!({ "keys": [private] })
    };
    let jwks: JwkSet = serde_json::from_value(set).map_err(|_| Error::Malformed("jwks json"))?;
    KeySet::from_jwks(&jwks)
}

fn run_case(private: &Value, jws: &Value) -> Outcome {
    let keys = match keyset_for(private) {
        Ok(k) => k,
        Err(e) => return Outcome::KeyImport(e),
    };
    // JSON-serialized JWS (the JsonSerialization flag) is handed over as its text: a caller
    // expecting a compact JWT must get an error.
    let token = match jws {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    Outcome::Verify(verify_compact(&token, &keys).map(|_| ()))
}

struct Report {
    passed: usize,
    skipped_jwe: usize,
    deviations: usize,
    failures: Vec<String>,
}

fn run_file(rel: &str, deviations: &[(u64, bool, &str)]) -> Report {
    let file = data_json(rel);
    let mut report = Report {
        passed: 0,
        skipped_jwe: 0,
        deviations: 0,
        failures: Vec::new(),
    };
    let mut seen = 0;
    for group in file["testGroups"].as_array().unwrap() {
        for tc in group["tests"].as_array().unwrap() {
            seen += 1;
            if tc.get("jws").is_none() {
                assert!(tc.get("jwe").is_some(), "{rel}: neither jws nor jwe");
                report.skipped_jwe += 1;
                continue;
            }
            let id = tc["tcId"].as_u64().unwrap();
            let outcome = run_case(&group["private"], &tc["jws"]);
            let want_ok = match deviations.iter().find(|(d, _, _)| *d == id) {
                Some((_, accepted, _)) => {
                    report.deviations += 1;
                    *accepted
                }
                None => match tc["result"].as_str().unwrap() {
                    "valid" => true,
                    "invalid" => false,
                    other => panic!("{rel}: unexpected result {other}"),
                },
            };
            if outcome.accepted() == want_ok {
                report.passed += 1;
            } else {
                report.failures.push(format!(
                    "{rel} tcId {id} ({}, flags {}): expected {}, got {outcome}",
                    tc["comment"],
                    tc["flags"],
                    if want_ok { "accept" } else { "reject" }
                ));
            }
        }
    }
    assert_eq!(seen, file["numberOfTests"].as_u64().unwrap() as usize);
    report
}

fn assert_clean(report: &Report) {
    assert!(
        report.failures.is_empty(),
        "{} failing cases:\n{}",
        report.failures.len(),
        report.failures.join("\n")
    );
}

#[test]
fn wycheproof_json_web_signature() {
    let r = run_file(
        "wycheproof/json_web_signature_test.json",
        SIGNATURE_DEVIATIONS,
    );
    assert_clean(&r);
    assert_eq!(r.deviations, SIGNATURE_DEVIATIONS.len());
    assert_eq!(r.passed, 401);
    assert_eq!(r.skipped_jwe, 0);
}

#[test]
fn wycheproof_json_web_key() {
    let r = run_file("wycheproof/json_web_key_test.json", KEY_DEVIATIONS);
    assert_clean(&r);
    assert_eq!(r.deviations, KEY_DEVIATIONS.len());
    assert_eq!(r.passed, 26);
    assert_eq!(r.skipped_jwe, 0);
}

const CRYPTO_DEVIATIONS: &[(u64, bool, &str)] = &[];

#[test]
fn wycheproof_json_web_crypto_jws_cases() {
    let r = run_file("wycheproof/json_web_crypto_test.json", CRYPTO_DEVIATIONS);
    assert_clean(&r);
    assert_eq!(r.skipped_jwe, 34);
    assert_eq!(r.deviations, CRYPTO_DEVIATIONS.len());
    assert_eq!(r.passed, 49);
}

fn jws_of(rel: &str, id: u64) -> Value {
    let file = data_json(rel);
    file["testGroups"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|g| g["tests"].as_array().unwrap())
        .find(|t| t["tcId"] == id)
        .unwrap()["jws"]
        .clone()
}

#[test]
fn wycheproof_padding_cases_equal_valid_357() {
    let rel = "wycheproof/json_web_signature_test.json";
    let valid = jws_of(rel, 357);
    assert_eq!(jws_of(rel, 367), valid);
    assert_eq!(jws_of(rel, 370), valid);
    // The modification those cases describe is rejected (see negative_jws.rs, JWT-7).
    let padded = format!("{}=", valid.as_str().unwrap());
    let keys = keyset_for(&json!({"kty": "oct", "kid": "hs256-key", "use": "sig",
        "alg": "HS256", "k": "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}))
    .unwrap();
    assert!(matches!(
        verify_compact(&padded, &keys),
        Err(Error::Malformed(_))
    ));
}

fn key_group(comment: &str) -> Value {
    let file = data_json("wycheproof/json_web_key_test.json");
    file["testGroups"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["comment"] == comment || g["tests"][0]["comment"] == comment)
        .unwrap_or_else(|| panic!("no group {comment}"))["private"]
        .clone()
}

/// A key outside policy is refused by the set: either `from_jwks` fails with `InvalidKey`, or the
/// key is left out so that nothing can select it. Direct imports are checked in keys.rs.
fn assert_refused(private: &Value) {
    let kid = private["keys"][0]["kid"].as_str().unwrap();
    match keyset_for(private) {
        Err(err) => assert!(matches!(err, Error::InvalidKey(_)), "{err:?}"),
        Ok(set) => assert!(!set.contains_kid(kid), "{kid} was imported"),
    }
}

#[test]
fn jwt_15_wycheproof_rejects_1024_bit_rsa_key_at_import() {
    assert_refused(&key_group("rejects1024bitRsaKey"));
}

#[test]
fn jwt_15_wycheproof_rejects_public_exponent_1_at_import() {
    assert_refused(&key_group("rejectsPublicExponent1"));
}

#[test]
fn key_2_wycheproof_rejects_duplicate_kid() {
    let err = keyset_for(&key_group("rejectsDuplicateKid")).unwrap_err();
    assert!(matches!(err, Error::InvalidKey(_)), "{err:?}");
}

#[test]
fn jwt_16_wycheproof_rejects_short_and_empty_hmac_keys() {
    let file = data_json("wycheproof/json_web_key_test.json");
    let mut n = 0;
    for group in file["testGroups"].as_array().unwrap() {
        let c = group["tests"][0]["comment"].as_str().unwrap();
        if c == "key_too_short" || c == "empty_key" {
            assert_refused(&group["private"]);
            n += 1;
        }
    }
    assert_eq!(n, 6);
}
