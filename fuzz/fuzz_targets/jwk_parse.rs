//! JWK and JWKS parsing and import: serde parsing of `Jwk` / `JwkSet`, `KeySet::from_jwks`,
//! `VerifyingKey` / `SigningKey` import (with and without an explicit algorithm), public
//! conversion and RFC 7638 thumbprints.
#![no_main]

use libfuzzer_sys::fuzz_target;
use portcullis_jose::{Algorithm, Jwk, JwkSet, KeySet, SigningKey, VerifyingKey};

const MESSAGE: &[u8] = b"eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJmdXp6In0";

fn import(jwk: &Jwk) {
    let _ = jwk.is_private();
    if let Ok(thumbprint) = jwk.thumbprint() {
        // Thumbprints cover public members only: the public form has the same one.
        if let Ok(public) = jwk.to_public() {
            assert!(!public.is_private(), "public form keeps private members");
            if let Ok(t) = public.thumbprint() {
                assert_eq!(t, thumbprint, "public form changed the thumbprint");
            }
        }
    }
    let verifying = VerifyingKey::from_jwk(jwk);
    if let Ok(key) = &verifying {
        let _ = key.to_jwk();
        // Every algorithm except the key's own is refused, so the key decides the algorithm.
        for alg in Algorithm::ALL {
            if let Ok(other) = VerifyingKey::from_jwk_with_alg(jwk, alg) {
                assert!(jwk.alg.is_none() || other.alg() == key.alg());
            }
        }
    }
    if let Ok(signing) = SigningKey::from_jwk(jwk) {
        // An imported private key signs, and its own public half accepts the signature.
        let Ok(signature) = signing.sign(MESSAGE) else {
            return;
        };
        assert!(signing.verifying_key().verify(MESSAGE, &signature).is_ok());
        // A private JWK that also imports as a public key describes the same key.
        if let Ok(public) = &verifying {
            assert!(
                public.verify(MESSAGE, &signature).is_ok(),
                "the private key does not match the public members of the same JWK"
            );
        }
        let _ = signing.to_public_jwk();
    }
}

fuzz_target!(|data: &[u8]| {
    if let Ok(set) = serde_json::from_slice::<JwkSet>(data) {
        if let Ok(keys) = KeySet::from_jwks(&set) {
            assert!(keys.len() <= set.keys.len());
        }
        for jwk in set.keys.iter().take(4) {
            import(jwk);
        }
    } else if let Ok(jwk) = serde_json::from_slice::<Jwk>(data) {
        let _ = KeySet::from_jwks(&JwkSet {
            keys: vec![jwk.clone()],
        });
        import(&jwk);
    }
});
