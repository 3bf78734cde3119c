//! `portcullis token`: `decode` marks its output unverified, and `verify` checks signature,
//! audience, issuer, type and expiry against a JWKS file.

use crate::common::*;
use portcullis_jose::{Algorithm, SigningKey};
use serde_json::{Value, json};

fn sign(key: &SigningKey, claims: &Value) -> String {
    portcullis_jose::jwt::encode(key, "at+jwt", claims).unwrap()
}

fn now() -> i64 {
    use portcullis_jose::time::Clock as _;
    portcullis_jose::SystemClock.now().as_secs()
}

#[test]
fn token_decode_marks_output_unverified() {
    let key = SigningKey::generate(Algorithm::ES256)
        .unwrap()
        .with_kid("k1");
    let token = sign(
        &key,
        &json!({"iss": "https://as.example", "sub": "alice", "aud": "api", "exp": now() + 60}),
    );
    let out = ok(&portcullis(&["token", "decode", &token]));
    assert!(out.starts_with("UNVERIFIED"), "{out}");
    let json_start = out.find('{').unwrap();
    let doc: Value = serde_json::from_str(&out[json_start..]).unwrap();
    assert_eq!(doc["header"]["alg"], "ES256");
    assert_eq!(doc["header"]["kid"], "k1");
    assert_eq!(doc["header"]["typ"], "at+jwt");
    assert_eq!(doc["claims"]["sub"], "alice");
    let bad = portcullis(&["token", "decode", "not-a-jwt"]);
    assert!(!bad.status.success());
    assert!(stderr(&bad).contains("error"));
}

#[test]
fn token_verify_against_jwks_file() {
    let dir = tempfile::tempdir().unwrap();
    let key = SigningKey::generate(Algorithm::ES256)
        .unwrap()
        .with_kid("k1");
    let jwks_path = dir.path().join("jwks.json");
    std::fs::write(
        &jwks_path,
        json!({"keys": [key.to_public_jwk().unwrap()]}).to_string(),
    )
    .unwrap();
    let jwks = jwks_path.to_str().unwrap();
    let claims = json!({"iss": "https://as.example", "sub": "alice", "aud": ["api", "other"], "exp": now() + 300, "iat": now()});
    let token = sign(&key, &claims);

    let out = ok(&portcullis(&[
        "token",
        "verify",
        &token,
        "--jwks",
        jwks,
        "--iss",
        "https://as.example",
        "--aud",
        "api",
        "--typ",
        "at+jwt",
    ]));
    assert!(out.starts_with("VERIFIED"), "{out}");
    let doc: Value = serde_json::from_str(&out[out.find('{').unwrap()..]).unwrap();
    assert_eq!(doc["claims"]["sub"], "alice");

    // Forged: same kid, another key.
    let forger = SigningKey::generate(Algorithm::ES256)
        .unwrap()
        .with_kid("k1");
    let forged = sign(&forger, &claims);
    let out = portcullis(&[
        "token",
        "verify",
        &forged,
        "--jwks",
        jwks,
        "--iss",
        "https://as.example",
        "--aud",
        "api",
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).to_lowercase().contains("signature"),
        "{}",
        stderr(&out)
    );
    assert!(stdout(&out).is_empty());

    // Wrong audience, issuer, type; expired.
    let out = portcullis(&[
        "token",
        "verify",
        &token,
        "--jwks",
        jwks,
        "--iss",
        "https://as.example",
        "--aud",
        "nope",
    ]);
    assert_eq!(out.status.code(), Some(1));
    // Both what was asked for and what the (signed) token says.
    assert!(
        stderr(&out).contains(r#"invalid audience: expected "nope", found ["api","other"]"#),
        "{}",
        stderr(&out)
    );
    let out = portcullis(&[
        "token",
        "verify",
        &token,
        "--jwks",
        jwks,
        "--iss",
        "https://as.example/",
        "--aud",
        "api",
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains(
            r#"invalid issuer: expected "https://as.example/", found "https://as.example""#
        ),
        "{}",
        stderr(&out)
    );
    let out = portcullis(&[
        "token",
        "verify",
        &token,
        "--jwks",
        jwks,
        "--iss",
        "https://as.example",
        "--aud",
        "api",
        "--typ",
        "logout+jwt",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let expired = sign(
        &key,
        &json!({"iss": "https://as.example", "aud": "api", "exp": now() - 3600}),
    );
    let out = portcullis(&[
        "token",
        "verify",
        &expired,
        "--jwks",
        jwks,
        "--iss",
        "https://as.example",
        "--aud",
        "api",
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).to_lowercase().contains("expired"),
        "{}",
        stderr(&out)
    );
    // A JWKS that is not one.
    let bad_path = dir.path().join("bad.json");
    std::fs::write(&bad_path, "{\"nope\": 1}").unwrap();
    let out = portcullis(&[
        "token",
        "verify",
        &token,
        "--jwks",
        bad_path.to_str().unwrap(),
        "--iss",
        "https://as.example",
        "--aud",
        "api",
    ]);
    assert!(!out.status.success());
}
