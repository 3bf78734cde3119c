//! Signing keys: generated or imported from a private JWK, bound to one algorithm, with a
//! redacted `Debug` and private members wiped when the last clone is dropped.

use std::fmt;
use std::sync::Arc;

use aws_lc_rs::encoding::{AsBigEndian, AsDer};
use aws_lc_rs::hmac;
use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use aws_lc_rs::rsa::KeySize;
use aws_lc_rs::signature::{self, EcdsaKeyPair, Ed25519KeyPair, KeyPair, RsaKeyPair};
use zeroize::Zeroizing;

use super::der;
use super::import::{self, Purpose};
use super::verifying::{VerifyingKey, hmac_algorithm};
use crate::{Algorithm, Error, Jwk, b64};

/// A private key (or HMAC secret) that signs for exactly one [`Algorithm`].
///
/// Cloning is cheap (shared). `Debug` shows only the algorithm and key id.
#[derive(Clone)]
pub struct SigningKey {
    alg: Algorithm,
    kid: Option<String>,
    inner: Arc<Inner>,
    verifying: VerifyingKey,
}

struct Inner {
    pair: Pair,
    /// Key members of the private JWK (no kid/alg/use); wiped on drop.
    private_jwk: Jwk,
}

impl Drop for Inner {
    fn drop(&mut self) {
        self.private_jwk.wipe_private();
    }
}

enum Pair {
    Hmac(Box<hmac::Key>),
    Rsa(RsaKeyPair),
    Ecdsa(EcdsaKeyPair),
    Ed25519(Ed25519KeyPair),
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKey")
            .field("alg", &self.alg)
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

fn rsa_encoding(alg: Algorithm) -> &'static dyn signature::RsaEncoding {
    match alg {
        Algorithm::RS384 => &signature::RSA_PKCS1_SHA384,
        Algorithm::RS512 => &signature::RSA_PKCS1_SHA512,
        Algorithm::PS256 => &signature::RSA_PSS_SHA256,
        Algorithm::PS384 => &signature::RSA_PSS_SHA384,
        Algorithm::PS512 => &signature::RSA_PSS_SHA512,
        Algorithm::RS256 => &signature::RSA_PKCS1_SHA256,
        // Not RSA: never called with these. Listed, not wildcarded, so that a new
        // algorithm must be placed here.
        Algorithm::HS256
        | Algorithm::HS384
        | Algorithm::HS512
        | Algorithm::ES256
        | Algorithm::ES384
        | Algorithm::EdDSA => &signature::RSA_PKCS1_SHA256,
    }
}

fn b64_opt(bytes: &[u8]) -> Option<String> {
    Some(b64::encode(bytes))
}

impl SigningKey {
    /// A fresh random key: HS* a secret of the hash size, RS*/PS* 2048-bit RSA, ES256/ES384
    /// on P-256/P-384, EdDSA on Ed25519.
    ///
    /// # Errors
    /// [`Error::Crypto`] if the backend fails.
    pub fn generate(alg: Algorithm) -> Result<SigningKey, Error> {
        match alg {
            Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512 => {
                let len = alg.hmac_min_len().ok_or(Error::Crypto)?;
                let mut secret = Zeroizing::new(vec![0u8; len]);
                SystemRandom::new().fill(&mut secret)?;
                Self::hmac(&secret, alg)
            }
            Algorithm::ES256 | Algorithm::ES384 => {
                let pair = EcdsaKeyPair::generate(import::ecdsa_signing(alg))?;
                Self::from_pair(Pair::Ecdsa(pair), alg, None)
            }
            Algorithm::EdDSA => {
                Self::from_pair(Pair::Ed25519(Ed25519KeyPair::generate()?), alg, None)
            }
            Algorithm::RS256
            | Algorithm::RS384
            | Algorithm::RS512
            | Algorithm::PS256
            | Algorithm::PS384
            | Algorithm::PS512 => {
                let pair = RsaKeyPair::generate(KeySize::Rsa2048)?;
                Self::from_pair(Pair::Rsa(pair), alg, None)
            }
        }
    }

    /// A signing key from a private JWK. The algorithm comes from `alg`, or from `crv` for
    /// EC and OKP keys; RSA and `oct` keys without `alg` are refused.
    ///
    /// # Errors
    /// [`Error::InvalidKey`] for missing, weak or inconsistent key material,
    /// [`Error::UnsupportedAlgorithm`] for unsupported algorithms or curves.
    pub fn from_jwk(jwk: &Jwk) -> Result<SigningKey, Error> {
        let alg = import::resolve_alg(jwk, None, Purpose::Sign)?;
        Self::build(jwk, alg)
    }

    /// Like [`SigningKey::from_jwk`] but bound to `alg`; a JWK `alg`, if present, must equal it.
    ///
    /// # Errors
    /// [`Error::AlgorithmMismatch`] if the JWK declares another algorithm; otherwise as `from_jwk`.
    pub fn from_jwk_with_alg(jwk: &Jwk, alg: Algorithm) -> Result<SigningKey, Error> {
        let alg = import::resolve_alg(jwk, Some(alg), Purpose::Sign)?;
        Self::build(jwk, alg)
    }

    fn build(jwk: &Jwk, alg: Algorithm) -> Result<SigningKey, Error> {
        let kid = jwk.kid.clone();
        let pair = match alg {
            Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512 => {
                let secret = import::oct_secret(jwk, alg)?;
                return Ok(Self::hmac(&secret, alg)?.with_kid_opt(kid));
            }
            Algorithm::ES256 | Algorithm::ES384 => Pair::Ecdsa(import::ecdsa_key_pair(jwk, alg)?),
            Algorithm::EdDSA => Pair::Ed25519(import::ed25519_key_pair(jwk)?),
            Algorithm::RS256
            | Algorithm::RS384
            | Algorithm::RS512
            | Algorithm::PS256
            | Algorithm::PS384
            | Algorithm::PS512 => Pair::Rsa(import::rsa_key_pair(jwk)?),
        };
        Self::from_pair(pair, alg, kid)
    }

    /// An HMAC signing key.
    ///
    /// # Errors
    /// [`Error::InvalidKey`] if `alg` is not HS* or the secret is shorter than the hash output.
    pub fn hmac(secret: &[u8], alg: Algorithm) -> Result<SigningKey, Error> {
        import::check_hmac_secret(secret, alg)?;
        let key = hmac::Key::new(hmac_algorithm(alg), secret);
        let private_jwk = Jwk {
            kty: "oct".into(),
            k: b64_opt(secret),
            ..Jwk::default()
        };
        Ok(SigningKey {
            alg,
            kid: None,
            verifying: VerifyingKey::from_hmac_key(key.clone(), alg, None),
            inner: Arc::new(Inner {
                pair: Pair::Hmac(Box::new(key)),
                private_jwk,
            }),
        })
    }

    /// Exports the key pair's members, then derives the verifying key from the public part.
    fn from_pair(pair: Pair, alg: Algorithm, kid: Option<String>) -> Result<SigningKey, Error> {
        let private_jwk = match &pair {
            Pair::Hmac(_) => return Err(Error::Crypto),
            Pair::Rsa(rsa) => {
                let pkcs8 = AsDer::<aws_lc_rs::encoding::Pkcs8V1Der<'static>>::as_der(rsa)?;
                let parts = der::rsa_from_pkcs8(pkcs8.as_ref())?;
                Jwk {
                    kty: "RSA".into(),
                    n: b64_opt(parts.n),
                    e: b64_opt(parts.e),
                    d: b64_opt(parts.d),
                    p: b64_opt(parts.p),
                    q: b64_opt(parts.q),
                    dp: b64_opt(parts.dp),
                    dq: b64_opt(parts.dq),
                    qi: b64_opt(parts.qi),
                    ..Jwk::default()
                }
            }
            Pair::Ecdsa(ec) => {
                let len = import::ec_field_len(alg);
                let point = ec.public_key().as_ref();
                let x = point.get(1..=len).ok_or(Error::Crypto)?;
                let y = point.get(1 + len..).ok_or(Error::Crypto)?;
                let d = AsBigEndian::<aws_lc_rs::encoding::EcPrivateKeyBin<'static>>::as_be_bytes(
                    &ec.private_key(),
                )?;
                Jwk {
                    kty: "EC".into(),
                    crv: alg.curve().map(str::to_owned),
                    x: b64_opt(x),
                    y: b64_opt(y),
                    d: b64_opt(d.as_ref()),
                    ..Jwk::default()
                }
            }
            Pair::Ed25519(ed) => {
                let seed = ed.seed()?;
                let seed =
                    AsBigEndian::<aws_lc_rs::encoding::Curve25519SeedBin<'static>>::as_be_bytes(
                        &seed,
                    )?;
                Jwk {
                    kty: "OKP".into(),
                    crv: Some("Ed25519".into()),
                    x: b64_opt(ed.public_key().as_ref()),
                    d: b64_opt(seed.as_ref()),
                    ..Jwk::default()
                }
            }
        };
        let public = private_jwk.to_public()?;
        let verifying = VerifyingKey::from_jwk_with_alg(&public, alg)?.with_kid_opt(kid.clone());
        Ok(SigningKey {
            alg,
            kid,
            verifying,
            inner: Arc::new(Inner { pair, private_jwk }),
        })
    }

    /// Sets the key id written into token headers and JWKs.
    #[must_use]
    pub fn with_kid(self, kid: impl Into<String>) -> SigningKey {
        self.with_kid_opt(Some(kid.into()))
    }

    fn with_kid_opt(mut self, kid: Option<String>) -> SigningKey {
        self.verifying = self.verifying.with_kid_opt(kid.clone());
        self.kid = kid;
        self
    }

    /// The key id, if any.
    pub fn kid(&self) -> Option<&str> {
        self.kid.as_deref()
    }

    /// The one algorithm this key signs with.
    pub fn alg(&self) -> Algorithm {
        self.alg
    }

    /// The private JWK, with `alg`, `kid` and `use: "sig"`. Handle it as a secret.
    pub fn to_private_jwk(&self) -> Jwk {
        let mut jwk = self.inner.private_jwk.clone();
        jwk.alg = Some(self.alg.as_str().to_owned());
        jwk.kid.clone_from(&self.kid);
        jwk.use_ = Some("sig".to_owned());
        jwk
    }

    /// The public JWK for publication, or `None` for HMAC keys (never published).
    pub fn to_public_jwk(&self) -> Option<Jwk> {
        self.verifying.to_jwk()
    }

    /// The matching verification key (same algorithm and kid).
    pub fn verifying_key(&self) -> VerifyingKey {
        self.verifying.clone()
    }

    /// Signs `signing_input`. ECDSA signatures are raw `r || s` (64 or 96 bytes).
    ///
    /// # Errors
    /// [`Error::Crypto`] if the backend fails.
    pub fn sign(&self, signing_input: &[u8]) -> Result<Vec<u8>, Error> {
        match &self.inner.pair {
            Pair::Hmac(key) => Ok(hmac::sign(key, signing_input).as_ref().to_vec()),
            Pair::Rsa(rsa) => {
                let mut sig = vec![0u8; rsa.public_modulus_len()];
                rsa.sign(
                    rsa_encoding(self.alg),
                    &SystemRandom::new(),
                    signing_input,
                    &mut sig,
                )?;
                Ok(sig)
            }
            Pair::Ecdsa(ec) => Ok(ec
                .sign(&SystemRandom::new(), signing_input)?
                .as_ref()
                .to_vec()),
            Pair::Ed25519(ed) => Ok(ed.sign(signing_input).as_ref().to_vec()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sign_verify_roundtrip_every_algorithm() {
        for alg in Algorithm::ALL {
            let key = SigningKey::generate(alg).unwrap().with_kid("k1");
            let sig = key.sign(b"payload").unwrap();
            let vk = key.verifying_key();
            assert_eq!(vk.alg(), alg);
            assert_eq!(vk.kid(), Some("k1"));
            vk.verify(b"payload", &sig).unwrap();
            assert_eq!(
                vk.verify(b"payloae", &sig),
                Err(Error::InvalidSignature),
                "{alg}"
            );
            // The exported private JWK imports back to an equivalent key.
            let again = SigningKey::from_jwk(&key.to_private_jwk()).unwrap();
            assert_eq!(again.alg(), alg);
            let sig2 = again.sign(b"payload").unwrap();
            vk.verify(b"payload", &sig2).unwrap();
        }
    }

    #[test]
    fn jwt_14_ecdsa_signatures_are_raw_fixed_length() {
        assert_eq!(
            SigningKey::generate(Algorithm::ES256)
                .unwrap()
                .sign(b"x")
                .unwrap()
                .len(),
            64
        );
        assert_eq!(
            SigningKey::generate(Algorithm::ES384)
                .unwrap()
                .sign(b"x")
                .unwrap()
                .len(),
            96
        );
    }

    #[test]
    fn key_1_public_jwk_has_no_private_members() {
        for alg in [Algorithm::RS256, Algorithm::ES384, Algorithm::EdDSA] {
            let key = SigningKey::generate(alg).unwrap();
            assert!(key.to_private_jwk().is_private());
            let public = key.to_public_jwk().unwrap();
            assert!(!public.is_private(), "{alg}");
            assert_eq!(public.alg.as_deref(), Some(alg.as_str()));
            assert_eq!(public.use_.as_deref(), Some("sig"));
            VerifyingKey::from_jwk(&public).unwrap();
        }
        assert!(
            SigningKey::generate(Algorithm::HS256)
                .unwrap()
                .to_public_jwk()
                .is_none()
        );
    }

    #[test]
    fn debug_is_redacted() {
        let key = SigningKey::generate(Algorithm::HS256).unwrap();
        let k = key.to_private_jwk().k.unwrap();
        assert!(!format!("{key:?}").contains(&k));
    }

    #[test]
    fn jwk_alg_must_match_requested() {
        let jwk = SigningKey::generate(Algorithm::ES256)
            .unwrap()
            .to_private_jwk();
        assert_eq!(
            SigningKey::from_jwk_with_alg(&jwk, Algorithm::ES384).unwrap_err(),
            Error::AlgorithmMismatch
        );
        let mut no_alg = jwk.clone();
        no_alg.alg = None;
        assert!(matches!(
            SigningKey::from_jwk_with_alg(&no_alg, Algorithm::ES384),
            Err(Error::InvalidKey(_))
        ));
    }
}
