//! The one verifier of tokens this server signed, built on [`portcullis_jose::Validator`]: access
//! tokens (userinfo, introspection, revocation), ID tokens presented as `id_token_hint`
//! (authorize, logout) and tokens presented for exchange (RFC 8693 subject and actor tokens).
//!
//! Every kind is checked for our signature (a published key), our exact issuer, a well-formed
//! `aud` (any audience: each caller applies its own rule to it, e.g. "issued to or addressed to
//! this client"), `nbf` and `iat` within [`LEEWAY_SECS`], and its `typ`: `at+jwt` for access
//! tokens (RFC 9068 §2.1), `JWT` or none for ID tokens. Our own tokens expire exactly at `exp`:
//! the leeway covers clock skew between our nodes on `iat`, never extra lifetime. Only an
//! `id_token_hint` may have expired (OpenID Connect RP-Initiated Logout §2).

use std::sync::Arc;

use portcullis_jose::{Error as JoseError, KeySet, UnixTime, Validator};
use portcullis_types::Audience;
use serde::Deserialize;
use serde_json::{Map, Value};

use super::tokens::{ACCESS_TOKEN_TYP, AccessTokenClaims};
use crate::state::AppState;
use crate::validation_cache::VerifiedTokens;

/// Clock-skew allowance on `iat` and `nbf` of tokens this server signed, seconds.
pub(crate) const LEEWAY_SECS: u64 = 30;

/// `typ` of ID tokens, which may also be untyped.
const ID_TOKEN_TYP: &str = "JWT";

/// Why a presented access token is not accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TokenRejection {
    /// Not a token this server signed, wrong type or issuer.
    Invalid,
    /// Signed by us but expired.
    Expired,
}

/// Claims of an ID token this server signed, as needed for `id_token_hint`.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct IdTokenHint {
    /// Subject.
    pub sub: String,
    /// Audience: the client(s) the ID token was issued to.
    pub aud: Audience,
    /// Session id. Nothing decides on it yet (logout matches the hint's `sub` to the session's
    /// user); it is parsed so that a session-bound check has it.
    #[serde(default)]
    #[allow(dead_code)]
    pub sid: Option<String>,
    /// The `nonce` of the authorization request, which the admin console checks.
    #[serde(default)]
    pub nonce: Option<String>,
}

/// What a token presented for exchange is expected to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ExchangeTokenKind {
    /// An access token (`typ` `at+jwt`).
    AccessToken,
    /// An ID token (`typ` `JWT` or none).
    IdToken,
}

/// A verified token presented for exchange.
#[derive(Debug, Clone)]
pub(crate) struct ExchangeToken {
    /// Its audience.
    pub aud: Audience,
    /// Its whole claims object.
    pub claims: Map<String, Value>,
}

/// Verifies tokens this server signed; see the module documentation for the rules.
#[derive(Debug, Clone)]
pub(crate) struct TokenVerifier {
    access: Validator,
    id_token: Validator,
    id_token_hint: Validator,
}

impl TokenVerifier {
    /// A verifier of tokens issued by `issuer` (compared exactly).
    pub(crate) fn new(issuer: &str) -> Self {
        // The issuer answers for every audience it wrote into its own tokens; callers apply
        // their own audience rule to what comes back.
        let own = || {
            Validator::builder()
                .issuer(issuer)
                .insecure_accept_any_audience()
                .leeway(LEEWAY_SECS)
        };
        Self {
            access: own().required_typ(ACCESS_TOKEN_TYP).build(),
            id_token: own().typ_or_untyped(ID_TOKEN_TYP).build(),
            // RP-Initiated Logout §2: an expired ID token still identifies the session.
            id_token_hint: own()
                .typ_or_untyped(ID_TOKEN_TYP)
                .insecure_allow_expired()
                .build(),
        }
    }

    /// Verifies an access token. Denylist checks are the caller's.
    ///
    /// # Errors
    /// [`TokenRejection::Expired`] for one of ours past its `exp`, [`TokenRejection::Invalid`]
    /// for anything else that fails.
    pub(crate) fn access_token(
        &self,
        token: &str,
        keys: &KeySet,
        now: UnixTime,
    ) -> Result<AccessTokenClaims, TokenRejection> {
        let claims = match self.access.verify::<AccessTokenClaims>(token, keys, now) {
            Ok(verified) => verified.into_parts().2,
            Err(JoseError::Expired) => return Err(TokenRejection::Expired),
            Err(_) => return Err(TokenRejection::Invalid),
        };
        if now.as_secs() >= claims.exp {
            return Err(TokenRejection::Expired);
        }
        Ok(claims)
    }

    /// Verifies an `id_token_hint`; its expiry is deliberately not checked. Access tokens are
    /// refused by `typ`.
    pub(crate) fn id_token_hint(
        &self,
        token: &str,
        keys: &KeySet,
        now: UnixTime,
    ) -> Option<IdTokenHint> {
        self.id_token_hint
            .verify::<IdTokenHint>(token, keys, now)
            .ok()
            .map(|verified| verified.into_parts().2)
    }

    /// Verifies a subject or actor token presented for exchange: unexpired, with integer `exp`
    /// and `iat` as this server writes them. Revocation and who may present it are the
    /// caller's.
    pub(crate) fn exchange_token(
        &self,
        token: &str,
        kind: ExchangeTokenKind,
        keys: &KeySet,
        now: UnixTime,
    ) -> Option<ExchangeToken> {
        let validator = match kind {
            ExchangeTokenKind::AccessToken => &self.access,
            ExchangeTokenKind::IdToken => &self.id_token,
        };
        let (_, registered, claims) = validator
            .verify::<Map<String, Value>>(token, keys, now)
            .ok()?
            .into_parts();
        let exp = claims.get("exp").and_then(Value::as_i64)?;
        claims.get("iat").and_then(Value::as_i64)?;
        if now.as_secs() >= exp {
            return None;
        }
        Some(ExchangeToken {
            aud: Audience::from(registered.aud.0),
            claims,
        })
    }
}

/// [`TokenVerifier::access_token`] with `state`'s issuer, published keys and clock, answered
/// from the verified-token cache when this exact token was verified under the same keys (see
/// [`crate::validation_cache`]).
///
/// # Errors
/// As [`TokenVerifier::access_token`].
pub(crate) async fn access_token(
    state: &AppState,
    token: &str,
) -> Result<Arc<AccessTokenClaims>, TokenRejection> {
    let keys = state.keys.snapshot().await;
    let now = UnixTime(state.now());
    let cache = &state.validation.verified;
    let digest = VerifiedTokens::digest(token);
    if let Some(claims) = cache.get(&digest, keys.generation()) {
        // Verified before under these very keys; only the expiry can have changed since.
        if now.as_secs() >= claims.exp {
            return Err(TokenRejection::Expired);
        }
        return Ok(claims);
    }
    let claims = Arc::new(
        state
            .verifier
            .access_token(token, keys.verification_keys(), now)?,
    );
    cache.insert(digest, Arc::clone(&claims), keys.generation());
    Ok(claims)
}

/// [`TokenVerifier::id_token_hint`] with `state`'s issuer, published keys and clock.
pub(crate) async fn id_token_hint(state: &AppState, token: &str) -> Option<IdTokenHint> {
    let keys = state.keys.snapshot().await;
    state
        .verifier
        .id_token_hint(token, keys.verification_keys(), UnixTime(state.now()))
}

/// [`TokenVerifier::exchange_token`] with `state`'s issuer, published keys and clock.
pub(crate) async fn exchange_token(
    state: &AppState,
    token: &str,
    kind: ExchangeTokenKind,
) -> Option<ExchangeToken> {
    let keys = state.keys.snapshot().await;
    state
        .verifier
        .exchange_token(token, kind, keys.verification_keys(), UnixTime(state.now()))
}

#[cfg(test)]
mod tests {
    use portcullis_jose::{Algorithm, SigningKey, jws, jwt};
    use serde_json::json;

    use super::*;

    const ISS: &str = "https://as.example";
    const NOW: i64 = 1_800_000_000;

    struct Fixture {
        key: SigningKey,
        keys: KeySet,
        verifier: TokenVerifier,
    }

    fn fixture() -> Fixture {
        let key = SigningKey::generate(Algorithm::ES256)
            .unwrap()
            .with_kid("k1");
        let mut keys = KeySet::new();
        keys.insert(key.verifying_key()).unwrap();
        Fixture {
            key,
            keys,
            verifier: TokenVerifier::new(ISS),
        }
    }

    fn access_claims() -> Value {
        json!({
            "iss": ISS, "sub": "alice", "aud": ["orders-api", "billing-api"], "exp": NOW + 300,
            "iat": NOW, "jti": "j1", "client_id": "web", "scope": "openid orders:read",
        })
    }

    fn id_claims() -> Value {
        json!({"iss": ISS, "sub": "alice", "aud": "web", "exp": NOW + 300, "iat": NOW, "sid": "s1"})
    }

    fn with(mut claims: Value, member: &str, value: Value) -> Value {
        claims[member] = value;
        claims
    }

    impl Fixture {
        fn sign(&self, typ: Option<&str>, claims: &Value) -> String {
            jws::sign_compact(&self.key, typ, claims.to_string().as_bytes()).unwrap()
        }

        fn access(&self, token: &str, now: i64) -> Result<AccessTokenClaims, TokenRejection> {
            self.verifier.access_token(token, &self.keys, UnixTime(now))
        }

        fn hint(&self, token: &str, now: i64) -> Option<IdTokenHint> {
            self.verifier
                .id_token_hint(token, &self.keys, UnixTime(now))
        }

        fn exchange(&self, token: &str, kind: ExchangeTokenKind, now: i64) -> bool {
            self.verifier
                .exchange_token(token, kind, &self.keys, UnixTime(now))
                .is_some()
        }
    }

    #[test]
    fn access_token_rules() {
        let f = fixture();
        let token = f.sign(Some("at+jwt"), &access_claims());
        let claims = f.access(&token, NOW).unwrap();
        assert_eq!(claims.sub, "alice");
        // Any audience of ours is accepted; the caller applies its own rule.
        assert!(claims.aud.contains("billing-api"));
        let other_aud = f.sign(Some("at+jwt"), &with(access_claims(), "aud", json!("x")));
        assert!(f.access(&other_aud, NOW).is_ok());
        // typ: at+jwt, case-insensitive, `application/` optional; required.
        let long_typ = f.sign(Some("application/AT+JWT"), &access_claims());
        assert!(f.access(&long_typ, NOW).is_ok());
        for typ in [Some("JWT"), Some("logout+jwt"), None] {
            let t = f.sign(typ, &access_claims());
            assert_eq!(
                f.access(&t, NOW).unwrap_err(),
                TokenRejection::Invalid,
                "{typ:?}"
            );
        }
        // Malformed audience.
        let bad_aud = f.sign(Some("at+jwt"), &with(access_claims(), "aud", json!(5)));
        assert_eq!(
            f.access(&bad_aud, NOW).unwrap_err(),
            TokenRejection::Invalid
        );
        // Issuer: exact.
        for iss in ["https://as.example/", "https://evil.example"] {
            let t = f.sign(Some("at+jwt"), &with(access_claims(), "iss", json!(iss)));
            assert_eq!(f.access(&t, NOW).unwrap_err(), TokenRejection::Invalid);
        }
        // Expiry: exactly at `exp`, no leeway.
        assert!(f.access(&token, NOW + 299).is_ok());
        assert_eq!(
            f.access(&token, NOW + 300).unwrap_err(),
            TokenRejection::Expired
        );
        assert_eq!(
            f.access(&token, NOW + 3_600).unwrap_err(),
            TokenRejection::Expired
        );
        // iat: up to LEEWAY_SECS in the future.
        assert!(f.access(&token, NOW - 30).is_ok());
        assert_eq!(
            f.access(&token, NOW - 31).unwrap_err(),
            TokenRejection::Invalid
        );
        // Claims of the wrong shape, and keys we do not publish.
        let mut no_jti = access_claims();
        no_jti.as_object_mut().unwrap().remove("jti");
        let t = f.sign(Some("at+jwt"), &no_jti);
        assert_eq!(f.access(&t, NOW).unwrap_err(), TokenRejection::Invalid);
        let stranger = SigningKey::generate(Algorithm::ES256)
            .unwrap()
            .with_kid("k1");
        let forged = jwt::encode(&stranger, "at+jwt", &access_claims()).unwrap();
        assert_eq!(f.access(&forged, NOW).unwrap_err(), TokenRejection::Invalid);
    }

    #[test]
    fn id_token_hint_rules() {
        let f = fixture();
        let token = f.sign(Some("JWT"), &id_claims());
        let hint = f.hint(&token, NOW).unwrap();
        assert_eq!(hint.sub, "alice");
        assert_eq!(hint.aud, Audience::from("web"));
        assert_eq!(hint.sid.as_deref(), Some("s1"));
        // Expired hints are accepted (logout), however old.
        assert!(f.hint(&token, NOW + 86_400 * 365).is_some());
        // Untyped ID tokens too; access tokens are refused by typ.
        assert!(f.hint(&f.sign(None, &id_claims()), NOW).is_some());
        assert!(f.hint(&f.sign(Some("at+jwt"), &id_claims()), NOW).is_none());
        let access = f.sign(Some("at+jwt"), &access_claims());
        assert!(f.hint(&access, NOW).is_none());
        // Any well-formed audience; a malformed one is refused.
        let other_aud = f.sign(Some("JWT"), &with(id_claims(), "aud", json!(["a", "b"])));
        assert_eq!(
            f.hint(&other_aud, NOW).unwrap().aud.as_slice(),
            ["a".to_owned(), "b".to_owned()]
        );
        let bad_aud = f.sign(Some("JWT"), &with(id_claims(), "aud", json!(["a", 1])));
        assert!(f.hint(&bad_aud, NOW).is_none());
        // Issuer: exact.
        let wrong_iss = f.sign(Some("JWT"), &with(id_claims(), "iss", json!("https://x")));
        assert!(f.hint(&wrong_iss, NOW).is_none());
    }

    #[test]
    fn exchange_token_rules() {
        use ExchangeTokenKind::{AccessToken, IdToken};
        let f = fixture();
        let access = f.sign(Some("at+jwt"), &access_claims());
        let verified = f
            .verifier
            .exchange_token(&access, AccessToken, &f.keys, UnixTime(NOW))
            .unwrap();
        assert!(verified.aud.contains("orders-api"));
        assert_eq!(verified.claims["client_id"], "web");
        let id = f.sign(Some("JWT"), &id_claims());
        assert!(f.exchange(&id, IdToken, NOW));
        assert!(f.exchange(&f.sign(None, &id_claims()), IdToken, NOW));
        // typ separates the kinds.
        assert!(!f.exchange(&id, AccessToken, NOW));
        assert!(!f.exchange(&access, IdToken, NOW));
        assert!(!f.exchange(&f.sign(None, &access_claims()), AccessToken, NOW));
        // Expired (no leeway) and iat in the future (beyond the leeway).
        assert!(f.exchange(&access, AccessToken, NOW + 299));
        assert!(!f.exchange(&access, AccessToken, NOW + 300));
        assert!(!f.exchange(&id, IdToken, NOW + 300));
        assert!(f.exchange(&id, IdToken, NOW - 30));
        assert!(!f.exchange(&id, IdToken, NOW - 31));
        // iat is required, exp and iat are integers.
        let mut no_iat = id_claims();
        no_iat.as_object_mut().unwrap().remove("iat");
        assert!(!f.exchange(&f.sign(None, &no_iat), IdToken, NOW));
        let float_exp = with(id_claims(), "exp", json!(NOW as f64 + 300.5));
        assert!(!f.exchange(&f.sign(None, &float_exp), IdToken, NOW));
        // Issuer: exact. Audience: any well-formed one.
        let wrong_iss = with(access_claims(), "iss", json!("https://evil.example"));
        assert!(!f.exchange(&f.sign(Some("at+jwt"), &wrong_iss), AccessToken, NOW));
        let other_aud = with(access_claims(), "aud", json!("payments-api"));
        assert!(f.exchange(&f.sign(Some("at+jwt"), &other_aud), AccessToken, NOW));
        let bad_aud = with(access_claims(), "aud", json!({"a": 1}));
        assert!(!f.exchange(&f.sign(Some("at+jwt"), &bad_aud), AccessToken, NOW));
    }
}
