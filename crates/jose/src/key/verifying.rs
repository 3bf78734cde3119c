//! Verification keys: parsed once at construction, bound to one algorithm, cheap to clone.
//! HMAC tags are compared in constant time by the backend.

use std::fmt;
use std::sync::Arc;

use aws_lc_rs::hmac;
use aws_lc_rs::signature::ParsedPublicKey;

use super::import::{self, Purpose};
use crate::{Algorithm, Error, Jwk};

/// A key that checks signatures (or MACs) for exactly one [`Algorithm`].
#[derive(Clone)]
pub struct VerifyingKey {
    alg: Algorithm,
    kid: Option<String>,
    inner: Arc<Inner>,
}

// `Inner` always sits behind an `Arc`, so its size is paid once per key; boxing the HMAC
// key would only add a pointer chase to every verification.
#[allow(clippy::large_enum_variant)]
enum Inner {
    Hmac(hmac::Key),
    Public {
        key: ParsedPublicKey,
        signature_len: usize,
        /// The public JWK (no kid/alg/use; those are added on export).
        jwk: Jwk,
    },
}

impl fmt::Debug for VerifyingKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VerifyingKey")
            .field("alg", &self.alg)
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

pub(crate) fn hmac_algorithm(alg: Algorithm) -> hmac::Algorithm {
    match alg {
        Algorithm::HS384 => hmac::HMAC_SHA384,
        Algorithm::HS512 => hmac::HMAC_SHA512,
        Algorithm::HS256 => hmac::HMAC_SHA256,
        // Not HMAC: never called with these. Listed, not wildcarded, so that a new algorithm
        // must be placed here.
        Algorithm::RS256
        | Algorithm::RS384
        | Algorithm::RS512
        | Algorithm::PS256
        | Algorithm::PS384
        | Algorithm::PS512
        | Algorithm::ES256
        | Algorithm::ES384
        | Algorithm::EdDSA => hmac::HMAC_SHA256,
    }
}

impl VerifyingKey {
    /// A verification key from a JWK. Private members, if any, are ignored.
    ///
    /// The algorithm comes from `alg`, or from `crv` for EC and OKP keys; RSA and `oct` keys
    /// without `alg` are refused.
    ///
    /// # Errors
    /// [`Error::InvalidKey`] for weak or malformed keys, [`Error::UnsupportedAlgorithm`] for
    /// algorithms or curves this crate does not support.
    pub fn from_jwk(jwk: &Jwk) -> Result<VerifyingKey, Error> {
        let alg = import::resolve_alg(jwk, None, Purpose::Verify)?;
        Self::build(jwk, alg)
    }

    /// Like [`VerifyingKey::from_jwk`] but bound to `alg`; a JWK `alg`, if present, must equal it.
    ///
    /// # Errors
    /// [`Error::AlgorithmMismatch`] if the JWK declares another algorithm; otherwise as `from_jwk`.
    pub fn from_jwk_with_alg(jwk: &Jwk, alg: Algorithm) -> Result<VerifyingKey, Error> {
        let alg = import::resolve_alg(jwk, Some(alg), Purpose::Verify)?;
        Self::build(jwk, alg)
    }

    fn build(jwk: &Jwk, alg: Algorithm) -> Result<VerifyingKey, Error> {
        let kid = jwk.kid.clone();
        if alg.is_symmetric() {
            let secret = import::oct_secret(jwk, alg)?;
            return Ok(Self::hmac(&secret, alg)?.with_kid_opt(kid));
        }
        let (key, signature_len) = import::public_key(jwk, alg)?;
        let public = Jwk {
            kty: jwk.kty.clone(),
            crv: jwk.crv.clone(),
            x: jwk.x.clone(),
            y: jwk.y.clone(),
            n: jwk.n.clone(),
            e: jwk.e.clone(),
            ..Jwk::default()
        };
        Ok(VerifyingKey {
            alg,
            kid,
            inner: Arc::new(Inner::Public {
                key,
                signature_len,
                jwk: public,
            }),
        })
    }

    /// An HMAC verification key.
    ///
    /// # Errors
    /// [`Error::InvalidKey`] if `alg` is not HS* or the secret is shorter than the hash output.
    pub fn hmac(secret: &[u8], alg: Algorithm) -> Result<VerifyingKey, Error> {
        import::check_hmac_secret(secret, alg)?;
        Ok(VerifyingKey {
            alg,
            kid: None,
            inner: Arc::new(Inner::Hmac(hmac::Key::new(hmac_algorithm(alg), secret))),
        })
    }

    pub(crate) fn from_hmac_key(key: hmac::Key, alg: Algorithm, kid: Option<String>) -> Self {
        VerifyingKey {
            alg,
            kid,
            inner: Arc::new(Inner::Hmac(key)),
        }
    }

    /// Sets the key id used to select this key.
    #[must_use]
    pub fn with_kid(self, kid: impl Into<String>) -> VerifyingKey {
        self.with_kid_opt(Some(kid.into()))
    }

    pub(crate) fn with_kid_opt(mut self, kid: Option<String>) -> VerifyingKey {
        self.kid = kid;
        self
    }

    /// The key id, if any.
    pub fn kid(&self) -> Option<&str> {
        self.kid.as_deref()
    }

    /// The one algorithm this key verifies.
    pub fn alg(&self) -> Algorithm {
        self.alg
    }

    /// The public JWK (with `alg`, `kid` and `use: "sig"`), or `None` for HMAC keys.
    pub fn to_jwk(&self) -> Option<Jwk> {
        match &*self.inner {
            Inner::Hmac(_) => None,
            Inner::Public { jwk, .. } => {
                let mut out = jwk.clone();
                out.alg = Some(self.alg.as_str().to_owned());
                out.kid.clone_from(&self.kid);
                out.use_ = Some("sig".to_owned());
                Some(out)
            }
        }
    }

    /// Checks `signature` over `signing_input` with this key's algorithm.
    ///
    /// # Errors
    /// [`Error::InvalidSignature`] on any mismatch, including a wrong signature length (so a
    /// DER-encoded ECDSA signature fails).
    pub fn verify(&self, signing_input: &[u8], signature: &[u8]) -> Result<(), Error> {
        match &*self.inner {
            Inner::Hmac(key) => {
                hmac::verify(key, signing_input, signature).map_err(|_| Error::InvalidSignature)
            }
            Inner::Public {
                key, signature_len, ..
            } => {
                if signature.len() != *signature_len {
                    return Err(Error::InvalidSignature);
                }
                key.verify_sig(signing_input, signature)
                    .map_err(|_| Error::InvalidSignature)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jwt_16_short_or_empty_hmac_secret_refused() {
        assert!(matches!(
            VerifyingKey::hmac(b"", Algorithm::HS256),
            Err(Error::InvalidKey(_))
        ));
        assert!(VerifyingKey::hmac(&[7; 31], Algorithm::HS256).is_err());
        assert!(VerifyingKey::hmac(&[7; 32], Algorithm::HS256).is_ok());
        assert!(VerifyingKey::hmac(&[7; 47], Algorithm::HS384).is_err());
        assert!(VerifyingKey::hmac(&[7; 63], Algorithm::HS512).is_err());
        assert!(VerifyingKey::hmac(&[7; 64], Algorithm::ES256).is_err());
    }

    #[test]
    fn rsa_and_oct_need_alg() {
        let jwk = Jwk {
            kty: "oct".into(),
            k: Some("A".repeat(43)),
            ..Jwk::default()
        };
        assert!(matches!(
            VerifyingKey::from_jwk(&jwk),
            Err(Error::InvalidKey(_))
        ));
        assert!(VerifyingKey::from_jwk_with_alg(&jwk, Algorithm::HS256).is_ok());
    }

    #[test]
    fn jwt_17_point_not_on_curve_rejected() {
        let jwk = Jwk {
            kty: "EC".into(),
            crv: Some("P-256".into()),
            x: Some(crate::b64::encode(&[1; 32])),
            y: Some(crate::b64::encode(&[2; 32])),
            ..Jwk::default()
        };
        assert!(matches!(
            VerifyingKey::from_jwk(&jwk),
            Err(Error::InvalidKey(_))
        ));
    }

    #[test]
    fn debug_has_no_secret() {
        let key = VerifyingKey::hmac(&[0x5a; 32], Algorithm::HS256).unwrap();
        let dbg = format!("{key:?}");
        assert!(dbg.contains("HS256"));
        assert!(!dbg.contains("90"));
    }
}
