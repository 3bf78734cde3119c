//! Fixed keys and small helpers shared by the fuzz targets. The keys are published test vectors
//! (`keys/`, with their SOURCE and LICENSE), built once per process.

pub mod server;

use std::sync::LazyLock;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use portcullis_jose::{Algorithm, Jwk, KeySet, SigningKey, UnixTime, Validator};

/// The issuer every `jwt_validate` token is checked against.
pub const ISS: &str = "https://as.example";
/// The audience every `jwt_validate` token is checked against.
pub const AUD: &str = "orders-api";
/// The instant tokens are evaluated at (before any shift the input asks for).
pub const NOW: i64 = 1_700_000_000;

/// RFC 7520 §3.4 (2048-bit RSA, kid `bilbo.baggins@hobbiton.example`), bound to RS256.
const RFC7520_RSA: &str = include_str!("../keys/rfc7520/3_4.rsa_private_key.json");
/// Wycheproof `kid-ec-sign` (P-256), bound to ES256.
const WYCHEPROOF_ES256: &str = include_str!("../keys/wycheproof/jws_es256_kid-ec-sign.json");
/// Wycheproof `kid-aes-sign` (HS256 secret).
const WYCHEPROOF_HS256: &str = include_str!("../keys/wycheproof/jws_hs256_kid-aes-sign.json");
/// Wycheproof `kid-rsa-sign` (2048-bit RSA public key), bound to RS256.
const WYCHEPROOF_RS256: &str = include_str!("../keys/wycheproof/jws_rs256_public.json");

// The keys are constants of this crate: failing to load one is a broken build, not a finding.
#[allow(clippy::expect_used)]
fn jwk(text: &str) -> Jwk {
    serde_json::from_str(text).expect("fixed test key is a JWK")
}

/// The fixed signing keys: ES256 first, then RS256.
#[allow(clippy::expect_used)]
pub static SIGNING: LazyLock<[SigningKey; 2]> = LazyLock::new(|| {
    [
        SigningKey::from_jwk(&jwk(WYCHEPROOF_ES256)).expect("ES256 test key imports"),
        SigningKey::from_jwk_with_alg(&jwk(RFC7520_RSA), Algorithm::RS256)
            .expect("RS256 test key imports"),
    ]
});

/// The public halves of [`SIGNING`]: the keys `jwt_validate` trusts.
#[allow(clippy::expect_used)]
pub static TRUSTED: LazyLock<KeySet> = LazyLock::new(|| {
    let mut set = KeySet::new();
    for key in SIGNING.iter() {
        set.insert(key.verifying_key()).expect("distinct kids");
    }
    set
});

/// [`TRUSTED`] plus the Wycheproof RS256 public key, so that its vectors reach signature
/// verification.
#[allow(clippy::expect_used)]
pub static ASYMMETRIC: LazyLock<KeySet> = LazyLock::new(|| {
    let mut set = TRUSTED.clone();
    let rs =
        portcullis_jose::VerifyingKey::from_jwk_with_alg(&jwk(WYCHEPROOF_RS256), Algorithm::RS256)
            .expect("Wycheproof RS256 key imports");
    set.insert(rs).expect("distinct kids");
    set
});

/// The Wycheproof HS256 key alone: symmetric keys are never mixed with public ones.
#[allow(clippy::expect_used)]
pub static SYMMETRIC: LazyLock<KeySet> = LazyLock::new(|| {
    let mut set = KeySet::new();
    let key = portcullis_jose::VerifyingKey::from_jwk(&jwk(WYCHEPROOF_HS256))
        .expect("HS256 test key imports");
    set.insert(key).expect("one key");
    set
});

/// The validators `jwt_validate` chooses among.
pub static VALIDATORS: LazyLock<[Validator; 3]> = LazyLock::new(|| {
    [
        Validator::builder()
            .issuer(ISS)
            .audience(AUD)
            .required_typ("at+jwt")
            .build(),
        Validator::builder()
            .issuer(ISS)
            .audiences(["other-api", AUD])
            .leeway(0)
            .build(),
        Validator::builder()
            .issuer(ISS)
            .audience(AUD)
            .insecure_allow_expired()
            .build(),
    ]
});

/// Unpadded base64url.
pub fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// [`NOW`] moved by `shift` seconds.
pub fn now(shift: i32) -> UnixTime {
    UnixTime(NOW.saturating_add(i64::from(shift)))
}
