//! Wycheproof primitive vectors (ECDSA P1363 P-256/P-384, Ed25519, RSA PKCS#1 v1.5 and PSS,
//! HMAC-SHA256) run through VerifyingKey, with keys imported as JWKs built from the raw material.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use crate::common;

use common::*;
use portcullis_jose::{Algorithm, Error, VerifyingKey};
use serde_json::{Value, json};

#[derive(Default, Debug)]
struct Tally {
    verified: usize,
    rejected: usize,
    key_rejected: usize,
    failures: Vec<String>,
}

impl Tally {
    fn check(&mut self, file: &str, tc: &Value, outcome: Result<(), Error>, expect_ok: bool) {
        match (&outcome, expect_ok) {
            (Ok(()), true) => self.verified += 1,
            (Err(_), false) => self.rejected += 1,
            _ => self.failures.push(format!(
                "{file} tcId {} ({}; flags {}): expected {}, got {outcome:?}",
                tc["tcId"],
                tc["comment"],
                tc["flags"],
                if expect_ok { "ok" } else { "error" }
            )),
        }
    }

    fn finish(&self, total: usize) {
        assert!(
            self.failures.is_empty(),
            "{} failing cases:\n{}",
            self.failures.len(),
            self.failures.join("\n")
        );
        assert_eq!(self.verified + self.rejected + self.key_rejected, total);
    }
}

fn expected(tc: &Value) -> bool {
    match tc["result"].as_str().unwrap() {
        "valid" => true,
        "invalid" => false,
        // PKCS#1 v1.5 "MissingNull" is the only acceptable case in these files. JWT-15 asks
        // for verification by full re-encoding, which requires the NULL parameter: reject.
        "acceptable" => false,
        other => panic!("unknown result {other}"),
    }
}

fn total(file: &Value) -> usize {
    usize::try_from(file["numberOfTests"].as_u64().unwrap()).unwrap()
}

fn run_ecdsa(rel: &str, crv: &str, coord: usize, alg: Algorithm) -> Tally {
    let file = data_json(rel);
    let mut tally = Tally::default();
    for group in file["testGroups"].as_array().unwrap() {
        // Every group gives the uncompressed point (some omit the JWK): 04 || x || y.
        let point = hex(group["publicKey"]["uncompressed"].as_str().unwrap());
        assert_eq!(point.len(), 1 + 2 * coord);
        let key = jwk(json!({
            "kty": "EC",
            "crv": crv,
            "x": b64(&point[1..=coord]),
            "y": b64(&point[1 + coord..]),
        }));
        let vk = VerifyingKey::from_jwk(&key).unwrap();
        assert_eq!(vk.alg(), alg);
        for tc in group["tests"].as_array().unwrap() {
            let msg = hex(tc["msg"].as_str().unwrap());
            let sig = hex(tc["sig"].as_str().unwrap());
            tally.check(rel, tc, vk.verify(&msg, &sig), expected(tc));
        }
    }
    tally.finish(total(&file));
    tally
}

#[test]
fn wycheproof_ecdsa_p256_sha256_p1363() {
    let t = run_ecdsa(
        "wycheproof/ecdsa_secp256r1_sha256_p1363_test.json",
        "P-256",
        32,
        Algorithm::ES256,
    );
    assert_eq!((t.verified, t.rejected), (173, 89));
}

#[test]
fn wycheproof_ecdsa_p384_sha384_p1363() {
    let t = run_ecdsa(
        "wycheproof/ecdsa_secp384r1_sha384_p1363_test.json",
        "P-384",
        48,
        Algorithm::ES384,
    );
    assert_eq!((t.verified, t.rejected), (193, 87));
}

#[test]
fn wycheproof_ed25519() {
    let rel = "wycheproof/ed25519_test.json";
    let file = data_json(rel);
    let mut tally = Tally::default();
    for group in file["testGroups"].as_array().unwrap() {
        let pk = hex(group["publicKey"]["pk"].as_str().unwrap());
        let key = jwk(json!({"kty": "OKP", "crv": "Ed25519", "x": b64(&pk)}));
        let vk = VerifyingKey::from_jwk(&key).unwrap();
        assert_eq!(vk.alg(), Algorithm::EdDSA);
        for tc in group["tests"].as_array().unwrap() {
            let msg = hex(tc["msg"].as_str().unwrap());
            let sig = hex(tc["sig"].as_str().unwrap());
            tally.check(rel, tc, vk.verify(&msg, &sig), expected(tc));
        }
    }
    assert_eq!((tally.verified, tally.rejected), (88, 63));
    tally.finish(total(&file));
}

fn rsa_jwk(group: &Value) -> Value {
    let pk = &group["publicKey"];
    let n = hex(pk["modulus"].as_str().unwrap());
    let e = hex(pk["publicExponent"].as_str().unwrap());
    // The ASN.1 integers carry a leading zero when the top bit is set; JWK uses the unsigned form.
    let strip = |v: &[u8]| -> Vec<u8> {
        let first = v.iter().position(|b| *b != 0).unwrap_or(v.len());
        v[first..].to_vec()
    };
    json!({"kty": "RSA", "n": b64(&strip(&n)), "e": b64(&strip(&e))})
}

fn run_rsa(rel: &str, alg: Algorithm) -> Tally {
    let file = data_json(rel);
    let mut tally = Tally::default();
    for group in file["testGroups"].as_array().unwrap() {
        let tests = group["tests"].as_array().unwrap();
        let key = jwk(rsa_jwk(group));
        let vk = match VerifyingKey::from_jwk_with_alg(&key, alg) {
            Ok(vk) => vk,
            Err(e) => {
                // Keys outside policy (modulus < 2048 bits, bad exponent) are refused at import;
                // none of their signatures may be expected to verify.
                assert!(
                    tests.iter().all(|tc| !expected(tc)),
                    "{rel}: key with valid cases refused: {e:?}"
                );
                tally.key_rejected += tests.len();
                continue;
            }
        };
        for tc in tests {
            let msg = hex(tc["msg"].as_str().unwrap());
            let sig = hex(tc["sig"].as_str().unwrap());
            tally.check(rel, tc, vk.verify(&msg, &sig), expected(tc));
        }
    }
    tally.finish(total(&file));
    tally
}

#[test]
fn wycheproof_rsa_pkcs1_2048_sha256() {
    let t = run_rsa(
        "wycheproof/rsa_signature_2048_sha256_test.json",
        Algorithm::RS256,
    );
    // All three keys are 2048-bit (e = 65537 and e = 3), so no case is refused at import.
    assert_eq!(t.key_rejected, 0);
    // 9 valid; 249 invalid + 1 acceptable (MissingNull) rejected.
    assert_eq!((t.verified, t.rejected), (9, 250));
}

#[test]
fn wycheproof_rsa_pss_2048_sha256_mgf1_32() {
    let t = run_rsa(
        "wycheproof/rsa_pss_2048_sha256_mgf1_32_test.json",
        Algorithm::PS256,
    );
    assert_eq!(t.key_rejected, 0);
    assert_eq!((t.verified, t.rejected), (63, 45));
}

#[test]
fn wycheproof_rsa_keys_are_bound_to_their_algorithm() {
    // The PKCS#1 v1.5 vectors' valid signatures must not pass as PSS and vice versa.
    let file = data_json("wycheproof/rsa_signature_2048_sha256_test.json");
    let group = &file["testGroups"][0];
    let key = jwk(rsa_jwk(group));
    let pss = VerifyingKey::from_jwk_with_alg(&key, Algorithm::PS256).unwrap();
    let rs512 = VerifyingKey::from_jwk_with_alg(&key, Algorithm::RS512).unwrap();
    let mut checked = 0;
    for tc in group["tests"].as_array().unwrap() {
        if tc["result"] == "valid" {
            let msg = hex(tc["msg"].as_str().unwrap());
            let sig = hex(tc["sig"].as_str().unwrap());
            assert!(pss.verify(&msg, &sig).is_err());
            assert!(rs512.verify(&msg, &sig).is_err());
            checked += 1;
        }
    }
    assert!(checked > 0);
}

#[test]
fn wycheproof_hmac_sha256() {
    let rel = "wycheproof/hmac_sha256_test.json";
    let file = data_json(rel);
    let mut tally = Tally::default();
    let mut truncated_tags = 0;
    for group in file["testGroups"].as_array().unwrap() {
        let key_bits = group["keySize"].as_u64().unwrap();
        let tag_bits = group["tagSize"].as_u64().unwrap();
        let tests = group["tests"].as_array().unwrap();
        for tc in tests {
            let key = hex(tc["key"].as_str().unwrap());
            let msg = hex(tc["msg"].as_str().unwrap());
            let tag = hex(tc["tag"].as_str().unwrap());
            let vk = match VerifyingKey::hmac(&key, Algorithm::HS256) {
                Ok(vk) => vk,
                Err(e) => {
                    // JWT-16: HS256 secrets shorter than 256 bits are refused at import.
                    assert!(key_bits < 256, "{rel} tcId {}: {e:?}", tc["tcId"]);
                    assert!(matches!(e, Error::InvalidKey(_)), "{e:?}");
                    tally.key_rejected += 1;
                    continue;
                }
            };
            assert!(key_bits >= 256, "{rel}: {key_bits}-bit key accepted");
            // JWS HS256 always carries the full 32-byte tag: truncated tags (tagSize 128),
            // though valid HMAC-SHA256-128 values, must be rejected.
            let expect_ok = expected(tc) && tag_bits == 256;
            if tag_bits < 256 {
                truncated_tags += 1;
            }
            tally.check(rel, tc, vk.verify(&msg, &tag), expect_ok);
        }
    }
    assert_eq!(tally.key_rejected, 6, "128-bit keys");
    assert_eq!(truncated_tags, 84, "tagSize 128 cases");
    // 27 valid cases with a 256-bit key, 3 with a 520-bit key.
    assert_eq!(tally.verified, 27 + 3, "full-tag valid cases");
    tally.finish(total(&file));
}
