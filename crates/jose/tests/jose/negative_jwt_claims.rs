//! Negative and boundary tests for JWT claim validation (JWT-9 .. JWT-12): NumericDate types,
//! exp/nbf/iat boundaries with leeway, exact iss/aud matching and explicit typing.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use crate::common;

use common::*;
use portcullis_jose::{Algorithm, Error, KeySet, SigningKey, UnixTime, Validator, jwt};
use serde_json::{Value, json};

fn key() -> SigningKey {
    SigningKey::hmac(HMAC_SECRET, Algorithm::HS256)
        .unwrap()
        .with_kid("hs")
}

fn keys() -> KeySet {
    keyset([key().verifying_key()])
}

fn token_with(claims: &Value) -> String {
    jwt::encode(&key(), "at+jwt", claims).unwrap()
}

fn verify(v: &Validator, token: &str) -> Result<(), Error> {
    v.verify::<Value>(token, &keys(), now()).map(|_| ())
}

fn with(field: &str, value: Value) -> Value {
    let mut c = good_claims();
    c[field] = value;
    c
}

fn without(field: &str) -> Value {
    let mut c = good_claims();
    c.as_object_mut().unwrap().remove(field);
    c
}

/// Claims text with one member spliced in verbatim (for numbers JSON libraries cannot hold).
fn raw_claims(member: &str) -> String {
    format!(r#"{{"iss":"{ISS}","aud":"{AUD}","sub":"u",{member}}}"#)
}

fn raw_token(claims: &str) -> String {
    sign_raw(
        &key(),
        r#"{"alg":"HS256","kid":"hs","typ":"at+jwt"}"#,
        claims.as_bytes(),
    )
}

#[test]
fn baseline_good_claims_verify() {
    let v = validator()
        .verify::<Value>(&token_with(&good_claims()), &keys(), now())
        .unwrap();
    assert_eq!(v.claims().iss, ISS);
    assert_eq!(v.claims().sub.as_deref(), Some("user-1"));
    assert!(v.claims().aud.contains(AUD));
    assert_eq!(v.claims().exp, NOW + 600);
    assert_eq!(v.claims().iat, Some(NOW - 10));
    assert_eq!(v.custom()["scope"], "orders:read");
}

#[test]
fn jwt_9_numeric_date_wrong_types_are_errors_not_absent() {
    let wrong = [
        ("string", r#""123""#.to_owned()),
        ("string of the right time", format!(r#""{}""#, NOW + 600)),
        ("true", "true".to_owned()),
        ("false", "false".to_owned()),
        ("null", "null".to_owned()),
        ("1e400", "1e400".to_owned()),
        ("-1e400", "-1e400".to_owned()),
        ("1e300", "1e300".to_owned()),
        ("array", format!("[{}]", NOW + 600)),
        ("object", format!(r#"{{"t":{}}}"#, NOW + 600)),
        ("u64 beyond i64", "18446744073709551615".to_owned()),
    ];
    for field in ["exp", "nbf", "iat"] {
        for (what, value) in &wrong {
            let exp = if field == "exp" {
                String::new()
            } else {
                format!(r#""exp":{},"#, NOW + 600)
            };
            let t = raw_token(&raw_claims(&format!(r#"{exp}"{field}":{value}"#)));
            let err = verify(&validator(), &t).unwrap_err();
            assert!(
                matches!(err, Error::InvalidClaim(_) | Error::Malformed(_)),
                "{field} = {what}: {err:?}"
            );
        }
    }
}

#[test]
fn jwt_9_numeric_date_accepts_integers_and_finite_decimals() {
    for value in [
        format!("{}", NOW + 600),
        format!("{}.5", NOW + 600),
        format!("{}.0", NOW + 600),
        format!("{}e0", NOW + 600),
    ] {
        let t = raw_token(&raw_claims(&format!(r#""exp":{value}"#)));
        verify(&validator(), &t).unwrap_or_else(|e| panic!("exp {value}: {e:?}"));
    }
    // Extremes inside i64 must not overflow when leeway is added or subtracted.
    let t = raw_token(&raw_claims(&format!(
        r#""exp":{},"nbf":{},"iat":{}"#,
        i64::MAX,
        i64::MIN,
        i64::MIN
    )));
    verify(&validator(), &t).unwrap();
    let t = raw_token(&raw_claims(&format!(r#""exp":{}"#, i64::MIN)));
    assert!(matches!(verify(&validator(), &t), Err(Error::Expired)));
}

#[test]
fn jwt_9_string_claims_must_be_strings() {
    let cases = [
        ("iss", json!(1)),
        ("iss", json!(null)),
        ("iss", json!({"iss": ISS})),
        ("sub", json!(42)),
        ("sub", json!(["user-1"])),
        ("jti", json!(7)),
        ("jti", json!(true)),
        ("aud", json!(5)),
        ("aud", json!([AUD, 5])),
        ("aud", json!({"aud": AUD})),
        ("aud", json!(null)),
    ];
    for (field, value) in cases {
        let err = verify(&validator(), &token_with(&with(field, value.clone()))).unwrap_err();
        assert!(
            matches!(
                err,
                Error::InvalidClaim(_)
                    | Error::Malformed(_)
                    | Error::InvalidIssuer
                    | Error::InvalidAudience
            ),
            "{field} = {value}: {err:?}"
        );
    }
}

#[test]
fn jwt_9_exp_is_required() {
    let err = verify(&validator(), &token_with(&without("exp"))).unwrap_err();
    assert!(matches!(err, Error::MissingClaim("exp")), "{err:?}");
}

fn leeway(secs: u64) -> Validator {
    Validator::builder()
        .issuer(ISS)
        .audience(AUD)
        .leeway(secs)
        .build()
}

#[test]
fn jwt_10_exp_boundaries_without_leeway() {
    let v = leeway(0);
    verify(&v, &token_with(&with("exp", json!(NOW + 1)))).unwrap();
    // now == exp: expired.
    assert!(matches!(
        verify(&v, &token_with(&with("exp", json!(NOW)))),
        Err(Error::Expired)
    ));
    assert!(matches!(
        verify(&v, &token_with(&with("exp", json!(NOW - 1)))),
        Err(Error::Expired)
    ));
}

#[test]
fn jwt_10_exp_boundaries_with_default_leeway() {
    let v = validator();
    assert_eq!(v.leeway_secs(), 30);
    // exp - 1, exp, exp + leeway - 1 are inside; exp + leeway is the first rejected second.
    for exp in [NOW + 1, NOW, NOW - 29] {
        verify(&v, &token_with(&with("exp", json!(exp))))
            .unwrap_or_else(|e| panic!("{exp}: {e:?}"));
    }
    for exp in [NOW - 30, NOW - 31, NOW - 3600] {
        let err = verify(&v, &token_with(&with("exp", json!(exp)))).unwrap_err();
        assert!(matches!(err, Error::Expired), "{exp}: {err:?}");
    }
}

#[test]
fn jwt_10_nbf_boundaries() {
    let v0 = leeway(0);
    verify(&v0, &token_with(&with("nbf", json!(NOW)))).unwrap();
    let err = verify(&v0, &token_with(&with("nbf", json!(NOW + 1)))).unwrap_err();
    assert!(matches!(err, Error::NotYetValid), "{err:?}");
    let v = validator();
    verify(&v, &token_with(&with("nbf", json!(NOW + 30)))).unwrap();
    let err = verify(&v, &token_with(&with("nbf", json!(NOW + 31)))).unwrap_err();
    assert!(matches!(err, Error::NotYetValid), "{err:?}");
}

#[test]
fn jwt_10_iat_in_the_future_is_rejected_beyond_leeway() {
    let v = validator();
    verify(&v, &token_with(&with("iat", json!(NOW + 30)))).unwrap();
    let err = verify(&v, &token_with(&with("iat", json!(NOW + 31)))).unwrap_err();
    assert!(matches!(err, Error::IssuedInFuture), "{err:?}");
}

#[test]
fn jwt_10_leeway_is_bounded() {
    let v = leeway(1_000_000);
    assert_eq!(v.leeway_secs(), 300);
    verify(&v, &token_with(&with("exp", json!(NOW - 299)))).unwrap();
    let err = verify(&v, &token_with(&with("exp", json!(NOW - 300)))).unwrap_err();
    assert!(matches!(err, Error::Expired), "{err:?}");
    let v = leeway(u64::MAX);
    assert_eq!(v.leeway_secs(), 300);
}

#[test]
fn jwt_10_time_travel_with_a_fixed_clock() {
    let clock = portcullis_jose::FixedClock::new(now());
    use portcullis_jose::Clock as _;
    let t = token_with(&good_claims());
    let v = leeway(0);
    assert!(v.verify::<Value>(&t, &keys(), clock.now()).is_ok());
    clock.advance(599);
    assert!(v.verify::<Value>(&t, &keys(), clock.now()).is_ok());
    clock.advance(1);
    assert!(matches!(
        v.verify::<Value>(&t, &keys(), clock.now()),
        Err(Error::Expired)
    ));
    clock.set(UnixTime(NOW));
    assert!(v.verify::<Value>(&t, &keys(), clock.now()).is_ok());
}

#[test]
fn jwt_10_insecure_allow_expired_still_checks_everything_else() {
    let v = Validator::builder()
        .issuer(ISS)
        .audience(AUD)
        .insecure_allow_expired()
        .build();
    verify(&v, &token_with(&with("exp", json!(NOW - 86_400)))).unwrap();
    let stale_wrong_iss = with("iss", json!("https://evil.example"));
    let mut c = stale_wrong_iss;
    c["exp"] = json!(NOW - 86_400);
    assert!(matches!(
        verify(&v, &token_with(&c)),
        Err(Error::InvalidIssuer)
    ));
    // Still type-checked, still required.
    assert!(verify(&v, &token_with(&with("exp", json!("1")))).is_err());
    assert!(verify(&v, &token_with(&without("exp"))).is_err());
}

#[test]
fn jwt_11_audience_rules() {
    let v = validator();
    verify(&v, &token_with(&with("aud", json!(AUD)))).unwrap();
    verify(&v, &token_with(&with("aud", json!(["other", AUD])))).unwrap();
    let rejected = [
        json!([]),
        json!(["other"]),
        json!("other"),
        json!("Orders-api"),
        json!("orders-api "),
        json!(" orders-api"),
        json!("orders"),
        json!("orders-api-evil"),
        json!("orders-api\u{0}"),
        json!(["ORDERS-API"]),
        json!(""),
    ];
    for aud in rejected {
        let err = verify(&v, &token_with(&with("aud", aud.clone()))).unwrap_err();
        assert!(matches!(err, Error::InvalidAudience), "{aud}: {err:?}");
    }
    let err = verify(&v, &token_with(&without("aud"))).unwrap_err();
    assert!(
        matches!(err, Error::InvalidAudience | Error::MissingClaim("aud")),
        "{err:?}"
    );
}

#[test]
fn jwt_11_several_accepted_audiences() {
    let v = Validator::builder()
        .issuer(ISS)
        .audience("a")
        .audience("b")
        .build();
    verify(&v, &token_with(&with("aud", json!("b")))).unwrap();
    verify(&v, &token_with(&with("aud", json!(["x", "a"])))).unwrap();
    assert!(matches!(
        verify(&v, &token_with(&with("aud", json!("c")))),
        Err(Error::InvalidAudience)
    ));
    let v = Validator::builder()
        .issuer(ISS)
        .audiences(["a", "b"])
        .build();
    verify(&v, &token_with(&with("aud", json!("a")))).unwrap();
}

#[test]
fn jwt_11_issuer_rules() {
    let v = validator();
    let rejected = [
        json!("https://as.example/"),
        json!("https://AS.example"),
        json!("https://as.example.evil"),
        json!("https://as.exampl"),
        json!("http://as.example"),
        json!("https://as.example "),
        json!("https://аs.example"),
        json!(""),
    ];
    for iss in rejected {
        let err = verify(&v, &token_with(&with("iss", iss.clone()))).unwrap_err();
        assert!(matches!(err, Error::InvalidIssuer), "{iss}: {err:?}");
    }
    for iss in [json!([ISS]), json!([ISS, "https://other"])] {
        let err = verify(&v, &token_with(&with("iss", iss.clone()))).unwrap_err();
        assert!(
            matches!(err, Error::InvalidIssuer | Error::InvalidClaim(_)),
            "{iss}: {err:?}"
        );
    }
    let err = verify(&v, &token_with(&without("iss"))).unwrap_err();
    assert!(
        matches!(err, Error::InvalidIssuer | Error::MissingClaim("iss")),
        "{err:?}"
    );
}

fn typed(typ: &str) -> Validator {
    Validator::builder()
        .issuer(ISS)
        .audience(AUD)
        .required_typ(typ)
        .build()
}

#[test]
fn jwt_12_required_typ_matching() {
    let v = typed("at+jwt");
    for typ in [
        "at+jwt",
        "AT+JWT",
        "application/at+jwt",
        "Application/At+Jwt",
    ] {
        let t = jwt::encode(&key(), typ, &good_claims()).unwrap();
        verify(&v, &t).unwrap_or_else(|e| panic!("{typ}: {e:?}"));
    }
    for typ in [
        "JWT",
        "jwt",
        "logout+jwt",
        "application/jwt",
        "at+jwt ",
        "at",
        "+jwt",
    ] {
        let t = jwt::encode(&key(), typ, &good_claims()).unwrap();
        let err = verify(&v, &t).unwrap_err();
        assert!(matches!(err, Error::InvalidType), "{typ}: {err:?}");
    }
    // No typ at all.
    let t = sign_json(
        &key(),
        &json!({"alg": "HS256", "kid": "hs"}),
        &good_claims(),
    );
    assert!(matches!(verify(&v, &t), Err(Error::InvalidType)));
    // typ of the wrong JSON type.
    let t = sign_json(
        &key(),
        &json!({"alg": "HS256", "kid": "hs", "typ": ["at+jwt"]}),
        &good_claims(),
    );
    assert!(verify(&v, &t).is_err());
}

#[test]
fn jwt_12_id_token_presented_where_access_token_required() {
    // An ID token from the same issuer, same key, audience set to the API: still refused.
    let mut id_claims = good_claims();
    id_claims["nonce"] = json!("n-0S6_WzA2Mj");
    id_claims["auth_time"] = json!(NOW - 60);
    let id_token = jwt::encode(&key(), "JWT", &id_claims).unwrap();
    let err = verify(&typed("at+jwt"), &id_token).unwrap_err();
    assert!(matches!(err, Error::InvalidType), "{err:?}");
    // And the reverse: an access token where a logout token is required.
    let at = jwt::encode(&key(), "at+jwt", &good_claims()).unwrap();
    let err = verify(&typed("logout+jwt"), &at).unwrap_err();
    assert!(matches!(err, Error::InvalidType), "{err:?}");
}
