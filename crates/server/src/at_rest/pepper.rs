//! Client secrets as keyed digests (TOK-10): HMAC-SHA-256 under a server-wide random pepper, so a
//! copy of the database alone does not let guesses be tested offline. The pepper is made once,
//! kept in the store sealed under the KEK (plaintext only where keys are), and read at start.
//!
//! Digest form: `hmac-sha256:<base64url>`. A bare base64url SHA-256 (43 characters, written
//! before peppering) is still accepted and reported as [`SecretMatch::Legacy`] so the caller,
//! which holds the plaintext then, can store the keyed digest instead.

use std::fmt;

use aws_lc_rs::{digest, hmac};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use portcullis_types::secret::constant_time_eq;
use zeroize::Zeroizing;

use super::kek::{KeyEncryption, SealError};
use crate::store::{Store, StoreError};

/// Name of the pepper among the server secrets in the store.
pub(crate) const PEPPER_NAME: &str = "client_secret_pepper";
/// Prefix of a keyed digest.
const KEYED_PREFIX: &str = "hmac-sha256:";
/// Bytes of pepper.
const PEPPER_LEN: usize = 32;

/// Why the pepper could not be read, made or re-sealed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub(crate) enum PepperError {
    /// The store failed.
    #[error("store: {0}")]
    Store(#[from] StoreError),
    /// The stored pepper cannot be opened (wrong or missing KEK, altered value).
    #[error("client-secret pepper: {0}")]
    Sealed(#[from] SealError),
    /// The stored pepper opened but is not 32 bytes of base64url.
    #[error("client-secret pepper: stored value is not a pepper")]
    Corrupt,
}

/// The associated data binding a server secret's sealed form to its name.
pub(crate) fn server_secret_aad(name: &str) -> Vec<u8> {
    [b"portcullis server secret\0".as_slice(), name.as_bytes()].concat()
}

/// The server-wide HMAC key for client-secret digests. `Debug` shows nothing of it.
#[derive(Clone)]
pub(crate) struct Pepper {
    key: hmac::Key,
}

impl fmt::Debug for Pepper {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Pepper(<redacted>)")
    }
}

/// How a presented client secret compares with its stored digest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SecretMatch {
    /// It does not match.
    Mismatch,
    /// It matches a keyed digest.
    Keyed,
    /// It matches a bare SHA-256 digest written before peppering: store [`Pepper::digest`] of it.
    Legacy,
}

impl Pepper {
    /// The pepper made of these bytes.
    pub(crate) fn from_bytes(bytes: &[u8; PEPPER_LEN]) -> Self {
        Self {
            key: hmac::Key::new(hmac::HMAC_SHA256, bytes),
        }
    }

    /// The stored form of a client secret: `hmac-sha256:` and the base64url HMAC-SHA-256.
    pub(crate) fn digest(&self, secret: &str) -> String {
        let tag = hmac::sign(&self.key, secret.as_bytes());
        format!("{KEYED_PREFIX}{}", URL_SAFE_NO_PAD.encode(tag.as_ref()))
    }

    /// Compares `presented` with a stored digest of either form, in constant time.
    pub(crate) fn verify(&self, presented: &str, stored: &str) -> SecretMatch {
        let (computed, kind) = if stored.starts_with(KEYED_PREFIX) {
            (self.digest(presented), SecretMatch::Keyed)
        } else {
            let bare = digest::digest(&digest::SHA256, presented.as_bytes());
            (URL_SAFE_NO_PAD.encode(bare), SecretMatch::Legacy)
        };
        if constant_time_eq(computed.as_bytes(), stored.as_bytes()) {
            kind
        } else {
            SecretMatch::Mismatch
        }
    }
}

/// Reads the pepper from the store, making and storing one first when there is none (the first
/// start; concurrent first starts agree on one through [`insert_server_secret`]).
///
/// [`insert_server_secret`]: crate::store::KeyStore::insert_server_secret
pub(crate) async fn load_or_create(
    store: &dyn Store,
    enc: &KeyEncryption,
) -> Result<Pepper, PepperError> {
    let aad = server_secret_aad(PEPPER_NAME);
    if store.get_server_secret(PEPPER_NAME).await?.is_none() {
        let mut bytes = Zeroizing::new([0u8; PEPPER_LEN]);
        aws_lc_rs::rand::fill(bytes.as_mut_slice()).map_err(|_| SealError::Crypto)?;
        let encoded = Zeroizing::new(URL_SAFE_NO_PAD.encode(bytes.as_slice()));
        let sealed = enc.seal(&aad, &encoded)?;
        if store.insert_server_secret(PEPPER_NAME, &sealed).await? {
            tracing::info!(target: "audit", event = "client_secret_pepper_created", sealed = enc.is_sealed());
        }
    }
    let stored = store
        .get_server_secret(PEPPER_NAME)
        .await?
        .ok_or(StoreError::NotFound)?;
    let opened = enc.open(&aad, &stored)?;
    if enc.needs_rewrap(opened.under) {
        tracing::warn!(
            "the client-secret pepper is not encrypted under the current key-encryption key; \
             run `portcullis keys rewrap`"
        );
    }
    let bytes = Zeroizing::new(
        URL_SAFE_NO_PAD
            .decode(opened.value.as_bytes())
            .map_err(|_| PepperError::Corrupt)?,
    );
    let bytes: &[u8; PEPPER_LEN] = bytes
        .as_slice()
        .try_into()
        .map_err(|_| PepperError::Corrupt)?;
    Ok(Pepper::from_bytes(bytes))
}

/// Seals the stored pepper again under the current KEK when it is under another or in
/// plaintext; `true` if it was rewritten.
pub(crate) async fn rewrap(store: &dyn Store, enc: &KeyEncryption) -> Result<bool, PepperError> {
    let aad = server_secret_aad(PEPPER_NAME);
    let Some(stored) = store.get_server_secret(PEPPER_NAME).await? else {
        return Ok(false);
    };
    let opened = enc.open(&aad, &stored)?;
    if !enc.needs_rewrap(opened.under) {
        return Ok(false);
    }
    let sealed = enc.seal(&aad, &opened.value)?;
    store.update_server_secret(PEPPER_NAME, &sealed).await?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::at_rest::Kek;
    use crate::store::KeyStore as _;
    use crate::store::memory::MemoryStore;

    #[test]
    fn tok_10_keyed_digest_is_not_bare_sha256_and_needs_the_pepper() {
        let pepper = Pepper::from_bytes(&[7; PEPPER_LEN]);
        let stored = pepper.digest("client-secret-0123456789");
        let bare = crate::store::secret_hash("client-secret-0123456789");
        assert!(stored.starts_with("hmac-sha256:"), "{stored}");
        assert!(!stored.contains(&bare));
        assert_eq!(
            pepper.verify("client-secret-0123456789", &stored),
            SecretMatch::Keyed
        );
        assert_eq!(
            pepper.verify("client-secret-012345678", &stored),
            SecretMatch::Mismatch
        );
        let other = Pepper::from_bytes(&[8; PEPPER_LEN]);
        assert_eq!(
            other.verify("client-secret-0123456789", &stored),
            SecretMatch::Mismatch
        );
        assert_eq!(format!("{pepper:?}"), "Pepper(<redacted>)");
    }

    #[test]
    fn tok_10_legacy_bare_sha256_recognised() {
        let pepper = Pepper::from_bytes(&[7; PEPPER_LEN]);
        let legacy = crate::store::secret_hash("abc");
        assert_eq!(pepper.verify("abc", &legacy), SecretMatch::Legacy);
        assert_eq!(pepper.verify("abd", &legacy), SecretMatch::Mismatch);
        // A keyed digest never verifies as a bare one, nor the other way round.
        let keyed = pepper.digest("abc");
        let bare_of_keyed = keyed.trim_start_matches("hmac-sha256:");
        assert_eq!(pepper.verify("abc", bare_of_keyed), SecretMatch::Mismatch);
    }

    #[tokio::test]
    async fn key_4_pepper_made_once_sealed_and_rewrapped() {
        let store = MemoryStore::new();
        let (old_kek, new_kek) = (Kek::generate().unwrap(), Kek::generate().unwrap());
        let old = KeyEncryption::sealed(old_kek.clone(), None);
        let a = load_or_create(&store, &old).await.unwrap();
        let b = load_or_create(&store, &old).await.unwrap();
        assert_eq!(a.digest("s"), b.digest("s"), "made once, then read back");
        let stored = store.get_server_secret(PEPPER_NAME).await.unwrap().unwrap();
        assert!(stored.starts_with("pcs1:"), "{stored}");

        let rotated = KeyEncryption::sealed(new_kek.clone(), Some(old_kek));
        assert_eq!(
            load_or_create(&store, &rotated).await.unwrap().digest("s"),
            a.digest("s")
        );
        assert!(rewrap(&store, &rotated).await.unwrap());
        assert!(!rewrap(&store, &rotated).await.unwrap());
        let only_new = KeyEncryption::sealed(new_kek, None);
        assert_eq!(
            load_or_create(&store, &only_new).await.unwrap().digest("s"),
            a.digest("s")
        );
        assert!(matches!(
            load_or_create(&store, &old).await.unwrap_err(),
            PepperError::Sealed(SealError::UnknownKek { .. })
        ));
    }

    #[tokio::test]
    async fn key_4_plaintext_pepper_read_then_sealed_by_rewrap() {
        let store = MemoryStore::new();
        let plain = load_or_create(&store, &KeyEncryption::Plaintext)
            .await
            .unwrap();
        let stored = store.get_server_secret(PEPPER_NAME).await.unwrap().unwrap();
        assert_eq!(stored.len(), 43, "plaintext pepper without a KEK");
        let enc = KeyEncryption::sealed(Kek::generate().unwrap(), None);
        assert!(rewrap(&store, &enc).await.unwrap());
        let stored = store.get_server_secret(PEPPER_NAME).await.unwrap().unwrap();
        assert!(stored.starts_with("pcs1:"));
        assert_eq!(
            load_or_create(&store, &enc).await.unwrap().digest("s"),
            plain.digest("s")
        );
    }
}
