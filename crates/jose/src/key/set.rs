//! The set of verification keys a verifier trusts. Tokens only select among them: by `kid`
//! when present, otherwise by algorithm.

use super::VerifyingKey;
use crate::{Algorithm, Error, JwkSet};

/// At most this many keys are tried for a token without `kid`.
const MAX_CANDIDATES: usize = 4;

/// Trusted verification keys, with unique key ids.
#[derive(Clone, Debug, Default)]
pub struct KeySet {
    keys: Vec<VerifyingKey>,
}

impl KeySet {
    /// An empty set.
    pub fn new() -> KeySet {
        KeySet::default()
    }

    /// Builds a set from a JWKS, skipping keys that cannot verify signatures here
    /// (`use` other than `sig`, `key_ops` without `verify`, unsupported `kty`/`crv`/`alg`,
    /// RSA or `oct` keys without `alg`).
    ///
    /// # Errors
    /// [`Error::InvalidKey`] for a duplicate `kid`, a usable-looking key whose material is
    /// invalid (e.g. a 1024-bit RSA modulus or an EC point off the curve), or a set that mixes
    /// symmetric (`oct`) keys with public keys: a published set must not carry secrets, and
    /// such a mix makes it ambiguous which keys are secret.
    pub fn from_jwks(jwks: &JwkSet) -> Result<KeySet, Error> {
        let mut set = KeySet::new();
        for jwk in &jwks.keys {
            if jwk.use_.as_deref().is_some_and(|u| u != "sig")
                || jwk
                    .key_ops
                    .as_ref()
                    .is_some_and(|ops| !ops.iter().any(|o| o == "verify"))
            {
                continue;
            }
            // A key that names no algorithm (and has no curve to imply one) cannot be bound.
            if jwk.alg.is_none() && matches!(jwk.kty.as_str(), "RSA" | "oct") {
                continue;
            }
            match VerifyingKey::from_jwk(jwk) {
                Ok(key) => set.insert(key)?,
                Err(Error::UnsupportedAlgorithm) => {}
                Err(e) => return Err(e),
            }
        }
        let symmetric = set.keys.iter().filter(|k| k.alg().is_symmetric()).count();
        if symmetric != 0 && symmetric != set.keys.len() {
            return Err(Error::InvalidKey(
                "JWKS mixes symmetric and asymmetric keys",
            ));
        }
        Ok(set)
    }

    /// Adds a key.
    ///
    /// # Errors
    /// [`Error::InvalidKey`] if another key already has the same `kid`.
    pub fn insert(&mut self, key: VerifyingKey) -> Result<(), Error> {
        if let Some(kid) = key.kid()
            && self.contains_kid(kid)
        {
            return Err(Error::InvalidKey("duplicate kid"));
        }
        self.keys.push(key);
        Ok(())
    }

    /// The number of keys.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// True if there are no keys.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// True if a key has this `kid`.
    pub fn contains_kid(&self, kid: &str) -> bool {
        self.get(kid).is_some()
    }

    /// The key with this `kid`.
    pub fn get(&self, kid: &str) -> Option<&VerifyingKey> {
        self.keys.iter().find(|k| k.kid() == Some(kid))
    }

    /// The keys, in insertion order.
    pub fn iter(&self) -> impl Iterator<Item = &VerifyingKey> {
        self.keys.iter()
    }

    /// The keys to try for a token with header `alg` and `kid`, in order.
    ///
    /// With a `kid`, exactly that key, whose algorithm must equal `alg`; without, the keys
    /// bound to `alg` (at most a handful).
    pub(crate) fn select<'a>(
        &'a self,
        alg: Algorithm,
        kid: Option<&str>,
    ) -> Result<impl Iterator<Item = &'a VerifyingKey>, Error> {
        let (by_kid, by_alg) = match kid {
            Some(kid) => {
                let key = self.get(kid).ok_or(Error::KeyNotFound)?;
                if key.alg() != alg {
                    return Err(Error::AlgorithmMismatch);
                }
                (Some(key), None)
            }
            None => {
                if !self.keys.iter().any(|k| k.alg() == alg) {
                    return Err(Error::KeyNotFound);
                }
                (
                    None,
                    Some(
                        self.keys
                            .iter()
                            .filter(move |k| k.alg() == alg)
                            .take(MAX_CANDIDATES),
                    ),
                )
            }
        };
        Ok(by_kid.into_iter().chain(by_alg.into_iter().flatten()))
    }
}

impl<'a> IntoIterator for &'a KeySet {
    type Item = &'a VerifyingKey;
    type IntoIter = std::slice::Iter<'a, VerifyingKey>;

    fn into_iter(self) -> Self::IntoIter {
        self.keys.iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Jwk, SigningKey};

    #[test]
    fn key_2_duplicate_kid_rejected() {
        let a = SigningKey::generate(Algorithm::ES256)
            .unwrap()
            .with_kid("k");
        let b = SigningKey::generate(Algorithm::EdDSA)
            .unwrap()
            .with_kid("k");
        let mut set = KeySet::new();
        set.insert(a.verifying_key()).unwrap();
        assert!(matches!(
            set.insert(b.verifying_key()),
            Err(Error::InvalidKey(_))
        ));
        let jwks = JwkSet {
            keys: vec![a.to_public_jwk().unwrap(), b.to_public_jwk().unwrap()],
        };
        assert!(KeySet::from_jwks(&jwks).is_err());
    }

    #[test]
    fn key_2_jwks_skips_keys_not_for_signatures() {
        let sig = SigningKey::generate(Algorithm::ES256)
            .unwrap()
            .with_kid("sig");
        let mut enc = SigningKey::generate(Algorithm::ES256)
            .unwrap()
            .with_kid("enc")
            .to_public_jwk()
            .unwrap();
        enc.use_ = Some("enc".into());
        let mut rsa_no_alg = SigningKey::generate(Algorithm::RS256)
            .unwrap()
            .with_kid("rsa")
            .to_public_jwk()
            .unwrap();
        rsa_no_alg.alg = None;
        let unknown = Jwk {
            kty: "EC".into(),
            crv: Some("P-521".into()),
            kid: Some("p521".into()),
            ..Jwk::default()
        };
        let jwks = JwkSet {
            keys: vec![sig.to_public_jwk().unwrap(), enc, rsa_no_alg, unknown],
        };
        let set = KeySet::from_jwks(&jwks).unwrap();
        assert_eq!(set.len(), 1);
        assert!(set.contains_kid("sig"));
        assert!(!set.contains_kid("enc"));
    }

    #[test]
    fn selection_by_kid_checks_alg() {
        let key = SigningKey::generate(Algorithm::ES256)
            .unwrap()
            .with_kid("k");
        let mut set = KeySet::new();
        set.insert(key.verifying_key()).unwrap();
        assert!(set.select(Algorithm::ES256, Some("k")).is_ok());
        assert!(matches!(
            set.select(Algorithm::HS256, Some("k")),
            Err(Error::AlgorithmMismatch)
        ));
        assert!(matches!(
            set.select(Algorithm::ES256, Some("x")),
            Err(Error::KeyNotFound)
        ));
        assert!(matches!(
            set.select(Algorithm::ES384, None),
            Err(Error::KeyNotFound)
        ));
        assert_eq!(set.select(Algorithm::ES256, None).unwrap().count(), 1);
    }
}
