//! JSON Web Tokens (RFC 7519) over compact JWS: encoding, and validation with an explicit
//! policy ([`Validator`]) that always checks issuer, audience and expiry.

mod claims;
mod validator;

pub use claims::{Audience, RegisteredClaims};
pub use validator::{
    DEFAULT_LEEWAY, HasAudience, HasIssuer, MAX_LEEWAY, NoAudience, NoIssuer, Validator,
    ValidatorBuilder, Verified,
};

use serde::Serialize;

use crate::{Error, SigningKey, jws};

/// Serializes `claims` and signs them as a compact JWS with header `{alg, kid?, typ}`.
///
/// # Errors
/// [`Error::InvalidClaim`] if the claims cannot be serialized; [`Error::Crypto`] if signing fails.
pub fn encode<T: Serialize>(key: &SigningKey, typ: &str, claims: &T) -> Result<String, Error> {
    let payload = serde_json::to_vec(claims)
        .map_err(|_| Error::InvalidClaim("claims cannot be serialized"))?;
    jws::sign_compact(key, Some(typ), &payload)
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;
    use serde_json::{Value, json};

    use super::*;
    use crate::{Algorithm, KeySet, UnixTime, b64};

    const NOW: i64 = 1_800_000_000;

    fn setup(alg: Algorithm) -> (SigningKey, KeySet) {
        let key = SigningKey::generate(alg).unwrap().with_kid("k");
        let mut keys = KeySet::new();
        keys.insert(key.verifying_key()).unwrap();
        (key, keys)
    }

    fn validator() -> Validator {
        Validator::builder()
            .issuer("https://as.example")
            .audience("api")
            .build()
    }

    fn base() -> Value {
        json!({"iss": "https://as.example", "aud": "api", "sub": "alice", "exp": NOW + 60})
    }

    fn check(claims: &Value, now: i64) -> Result<Verified<Value>, Error> {
        let (key, keys) = setup(Algorithm::HS256);
        let token = encode(&key, "at+jwt", claims).unwrap();
        validator().verify::<Value>(&token, &keys, UnixTime(now))
    }

    fn with(member: &str, value: Value) -> Value {
        let mut claims = base();
        claims[member] = value;
        claims
    }

    #[test]
    fn roundtrip_every_algorithm_with_custom_claims() {
        #[derive(Deserialize)]
        struct Custom {
            sub: String,
            scope: String,
        }
        for alg in Algorithm::ALL {
            let (key, keys) = setup(alg);
            let token = encode(&key, "at+jwt", &with("scope", json!("read"))).unwrap();
            let verified = validator()
                .verify::<Custom>(&token, &keys, UnixTime(NOW))
                .unwrap();
            assert_eq!(verified.header().alg, alg);
            assert_eq!(verified.claims().aud, Audience::from("api"));
            assert_eq!(verified.custom().scope, "read");
            let (_, registered, custom) = verified.into_parts();
            assert_eq!(registered.sub.as_deref(), Some(custom.sub.as_str()));
        }
    }

    #[test]
    fn jwt_10_exp_boundaries_with_leeway() {
        let exp = NOW + 60;
        assert!(check(&base(), exp - 1).is_ok());
        assert!(check(&base(), exp).is_ok());
        assert!(check(&base(), exp + 29).is_ok());
        assert_eq!(check(&base(), exp + 30).unwrap_err(), Error::Expired);
        let huge = with("exp", json!(i64::MAX));
        assert!(check(&huge, i64::MAX - 1).is_ok());
        assert_eq!(
            check(&with("exp", json!(i64::MIN)), NOW).unwrap_err(),
            Error::Expired
        );
    }

    #[test]
    fn jwt_10_nbf_and_iat() {
        let nbf = with("nbf", json!(NOW + 100));
        assert_eq!(check(&nbf, NOW + 69).unwrap_err(), Error::NotYetValid);
        assert!(check(&nbf, NOW + 70).is_ok());
        assert_eq!(
            check(&with("nbf", json!(i64::MAX)), NOW).unwrap_err(),
            Error::NotYetValid
        );
        let iat = with("iat", json!(NOW + 31));
        assert_eq!(check(&iat, NOW).unwrap_err(), Error::IssuedInFuture);
        assert!(check(&with("iat", json!(NOW + 30)), NOW).is_ok());
    }

    #[test]
    fn jwt_11_issuer_and_audience_exact() {
        for iss in [
            "https://as.example/",
            "https://AS.example",
            "https://as.example.evil",
            "",
        ] {
            assert_eq!(
                check(&with("iss", json!(iss)), NOW).unwrap_err(),
                Error::InvalidIssuer
            );
        }
        for aud in [json!("api2"), json!("API"), json!(["x", "y"])] {
            assert_eq!(
                check(&with("aud", aud), NOW).unwrap_err(),
                Error::InvalidAudience
            );
        }
        assert!(check(&with("aud", json!(["x", "api"])), NOW).is_ok());
        assert_eq!(
            check(&with("iss", json!(["https://as.example"])), NOW).unwrap_err(),
            Error::InvalidClaim("iss")
        );
    }

    #[test]
    fn jwt_12_required_typ() {
        let (key, keys) = setup(Algorithm::ES256);
        let strict = Validator::builder()
            .issuer("https://as.example")
            .audiences(["other", "api"])
            .required_typ("at+jwt")
            .build();
        let id_token = encode(&key, "JWT", &base()).unwrap();
        assert_eq!(
            strict
                .verify::<Value>(&id_token, &keys, UnixTime(NOW))
                .unwrap_err(),
            Error::InvalidType
        );
        let untyped = jws::sign_compact(&key, None, base().to_string().as_bytes()).unwrap();
        assert_eq!(
            strict
                .verify::<Value>(&untyped, &keys, UnixTime(NOW))
                .unwrap_err(),
            Error::InvalidType
        );
        let at = encode(&key, "application/AT+JWT", &base()).unwrap();
        assert!(strict.verify::<Value>(&at, &keys, UnixTime(NOW)).is_ok());
    }

    #[test]
    fn audience_is_required_unless_explicitly_waived() {
        let (key, keys) = setup(Algorithm::ES256);
        let other = encode(&key, "at+jwt", &with("aud", json!(["x", "y"]))).unwrap();
        // The default: the audience must match, even with other checks relaxed.
        let default = Validator::builder()
            .issuer("https://as.example")
            .audience("api")
            .insecure_allow_expired()
            .build();
        assert_eq!(
            default
                .verify::<Value>(&other, &keys, UnixTime(NOW))
                .unwrap_err(),
            Error::InvalidAudience
        );
        let any = Validator::builder()
            .issuer("https://as.example")
            .insecure_accept_any_audience()
            .build();
        let verified = any.verify::<Value>(&other, &keys, UnixTime(NOW)).unwrap();
        assert!(verified.claims().aud.contains("y"));
        // Everything else is still checked, and `aud` must still be present and well formed.
        let wrong_iss = encode(&key, "at+jwt", &with("iss", json!("x"))).unwrap();
        assert_eq!(
            any.verify::<Value>(&wrong_iss, &keys, UnixTime(NOW))
                .unwrap_err(),
            Error::InvalidIssuer
        );
        assert_eq!(
            any.verify::<Value>(&other, &keys, UnixTime(NOW + 3_600))
                .unwrap_err(),
            Error::Expired
        );
        let mut no_aud = base();
        no_aud.as_object_mut().unwrap().remove("aud");
        let no_aud = encode(&key, "at+jwt", &no_aud).unwrap();
        assert_eq!(
            any.verify::<Value>(&no_aud, &keys, UnixTime(NOW))
                .unwrap_err(),
            Error::MissingClaim("aud")
        );
        let empty = encode(&key, "at+jwt", &with("aud", json!([]))).unwrap();
        assert_eq!(
            any.verify::<Value>(&empty, &keys, UnixTime(NOW))
                .unwrap_err(),
            Error::InvalidAudience
        );
        let numeric = encode(&key, "at+jwt", &with("aud", json!(5))).unwrap();
        assert_eq!(
            any.verify::<Value>(&numeric, &keys, UnixTime(NOW))
                .unwrap_err(),
            Error::InvalidClaim("aud")
        );
    }

    #[test]
    fn jwt_12_typ_or_untyped() {
        let (key, keys) = setup(Algorithm::ES256);
        let v = Validator::builder()
            .issuer("https://as.example")
            .audience("api")
            .typ_or_untyped("JWT")
            .build();
        for typ in ["JWT", "jwt", "application/JWT"] {
            let token = encode(&key, typ, &base()).unwrap();
            assert!(
                v.verify::<Value>(&token, &keys, UnixTime(NOW)).is_ok(),
                "{typ}"
            );
        }
        let untyped = jws::sign_compact(&key, None, base().to_string().as_bytes()).unwrap();
        assert!(v.verify::<Value>(&untyped, &keys, UnixTime(NOW)).is_ok());
        for typ in ["at+jwt", "logout+jwt", "text/jwt", ""] {
            let token = encode(&key, typ, &base()).unwrap();
            assert_eq!(
                v.verify::<Value>(&token, &keys, UnixTime(NOW)).unwrap_err(),
                Error::InvalidType,
                "{typ}"
            );
        }
    }

    #[test]
    fn insecure_allow_expired_only_skips_exp() {
        let (key, keys) = setup(Algorithm::EdDSA);
        let token = encode(&key, "JWT", &base()).unwrap();
        let lenient = Validator::builder()
            .issuer("https://as.example")
            .audience("api")
            .insecure_allow_expired()
            .build();
        assert!(
            lenient
                .verify::<Value>(&token, &keys, UnixTime(NOW + 86_400))
                .is_ok()
        );
        let wrong_iss = encode(&key, "JWT", &with("iss", json!("x"))).unwrap();
        assert_eq!(
            lenient
                .verify::<Value>(&wrong_iss, &keys, UnixTime(NOW + 86_400))
                .unwrap_err(),
            Error::InvalidIssuer
        );
    }

    #[test]
    fn custom_type_mismatch_is_an_error() {
        #[derive(Debug, Deserialize)]
        struct NeedsScope {
            #[allow(dead_code)]
            scope: String,
        }
        let (key, keys) = setup(Algorithm::HS256);
        let token = encode(&key, "JWT", &base()).unwrap();
        assert!(matches!(
            validator().verify::<NeedsScope>(&token, &keys, UnixTime(NOW)),
            Err(Error::InvalidClaim(_))
        ));
    }

    #[test]
    fn jwt_8_duplicate_claim_rejected_even_when_signed() {
        let (key, keys) = setup(Algorithm::HS256);
        let payload = br#"{"iss":"https://as.example","aud":"api","exp":1,"exp":1900000000}"#;
        let token = jws::sign_compact(&key, None, payload).unwrap();
        assert!(matches!(
            validator().verify::<Value>(&token, &keys, UnixTime(NOW)),
            Err(Error::Malformed(_))
        ));
    }

    #[test]
    fn dos_2_deep_nesting_in_claims_is_an_error() {
        let (key, keys) = setup(Algorithm::HS256);
        let deep = format!(
            r#"{{"iss":"https://as.example","aud":"api","exp":{},"x":{}}}"#,
            NOW + 60,
            "[".repeat(5_000)
        );
        let token = jws::sign_compact(&key, None, deep.as_bytes()).unwrap();
        assert!(matches!(
            validator().verify::<Value>(&token, &keys, UnixTime(NOW)),
            Err(Error::Malformed(_))
        ));
        let header =
            b64::encode(format!(r#"{{"alg":"HS256","x":{}}}"#, "[".repeat(5_000)).as_bytes());
        let token = format!("{header}.e30.AAAA");
        assert!(matches!(
            validator().verify::<Value>(&token, &keys, UnixTime(NOW)),
            Err(Error::Malformed(_))
        ));
    }

    #[test]
    fn keys_are_send_and_sync() {
        fn assert_send_sync<T: Send + Sync + Clone>() {}
        assert_send_sync::<SigningKey>();
        assert_send_sync::<crate::VerifyingKey>();
        assert_send_sync::<KeySet>();
        assert_send_sync::<Validator>();
    }
}
