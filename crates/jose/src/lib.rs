//! Strict, sans-IO JOSE on aws-lc-rs: compact JWS, JWK/JWKS and JWT validation.
//! Every key is bound to one algorithm; tokens only ever select among trusted keys.
//!
//! # Example
//!
//! ```
//! use portcullis_jose::{Algorithm, KeySet, SigningKey, UnixTime, Validator, jwt};
//! use serde_json::json;
//!
//! # fn main() -> Result<(), portcullis_jose::Error> {
//! // The issuer signs.
//! let key = SigningKey::generate(Algorithm::ES256)?.with_kid("2026-01");
//! let now = UnixTime(1_800_000_000);
//! let claims = json!({
//!     "iss": "https://as.example",
//!     "aud": "orders-api",
//!     "sub": "alice",
//!     "exp": now.plus(300).as_secs(),
//!     "scope": "orders:read",
//! });
//! let token = jwt::encode(&key, "at+jwt", &claims)?;
//!
//! // The resource server trusts the published public key...
//! let mut keys = KeySet::new();
//! keys.insert(key.verifying_key())?;
//!
//! // ...and validates with an explicit policy.
//! let validator = Validator::builder()
//!     .issuer("https://as.example")
//!     .audience("orders-api")
//!     .required_typ("at+jwt")
//!     .build();
//! let verified = validator.verify::<serde_json::Value>(&token, &keys, now)?;
//! assert_eq!(verified.claims().sub.as_deref(), Some("alice"));
//! assert_eq!(verified.custom()["scope"], "orders:read");
//!
//! // Five minutes later it has expired (after the 30 s leeway).
//! let later = now.plus(331);
//! assert_eq!(
//!     validator.verify::<serde_json::Value>(&token, &keys, later).unwrap_err(),
//!     portcullis_jose::Error::Expired,
//! );
//! # Ok(())
//! # }
//! ```
//!
//! # Policy
//!
//! - **The key decides the algorithm.** Each [`SigningKey`] / [`VerifyingKey`] is bound to one
//!   [`Algorithm`]; there is no `none`. A header `alg` that differs from the selected key's is
//!   [`Error::AlgorithmMismatch`]; a token whose `kid` (or, without `kid`, whose `alg`) matches no
//!   trusted key is [`Error::KeyNotFound`]. `jwk`, `jku`, `x5u` and `x5c` are never consulted.
//! - **Strict format.** At most [`jws::MAX_TOKEN_LEN`] bytes, checked first; exactly three
//!   segments; base64url without padding, whitespace or non-zero trailing bits; UTF-8 JSON
//!   objects with no repeated member name at any depth, in the header and in the claims.
//! - **`crit`.** No extensions are understood, so a well-formed `crit` is
//!   [`Error::UnknownCritical`]; a malformed one (not an array, empty, non-string entries,
//!   standard names, names absent from the header, repeats) is [`Error::Malformed`].
//! - **Key import.** RSA moduli of 2048–8192 bits without leading zeros, odd public exponent
//!   greater than 1, no ROCA fingerprint; EC points on the named curve with exact coordinate
//!   lengths and `crv` matching `alg`; Ed25519 keys of 32 bytes; HMAC secrets at least as long
//!   as the hash output. `use` must be `sig` and `key_ops`, when present, must allow the
//!   operation. [`KeySet::from_jwks`] refuses sets that mix `oct` keys with public keys.
//! - **Claims.** [`Validator`] always requires `iss` (exact), `aud` (string or non-empty array of
//!   strings, one of which must be accepted) and `exp`; honours `nbf` and `iat`; wrong types are
//!   [`Error::InvalidClaim`], never treated as absent. Time is passed in ([`UnixTime`]) and all
//!   arithmetic saturates.
#![forbid(unsafe_code)]

pub mod alg;
mod b64;
pub mod dangerous;
pub mod error;
mod json;
pub mod jwk;
pub mod jws;
pub mod jwt;
pub mod key;
pub mod time;

pub use alg::Algorithm;
pub use error::Error;
pub use jwk::{Jwk, JwkSet};
pub use jws::Header;
pub use jwt::{Audience, RegisteredClaims, Validator, ValidatorBuilder, Verified};
pub use key::{KeySet, SigningKey, VerifyingKey};
pub use time::{Clock, FixedClock, SystemClock, UnixTime};
