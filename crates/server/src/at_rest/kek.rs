//! The key-encryption key (KEK) and sealing with it: AES-256-GCM under a 256-bit key held outside
//! the database, a random 96-bit nonce per value, and the record's identity as associated data.
//!
//! Stored form: `pcs1:<kek id>:<base64url(nonce ‖ ciphertext ‖ tag)>`. The version prefix tells a
//! sealed value from a plaintext one written before encryption existed (a JSON JWK or a
//! base64url pepper never contains `:` at that place), and the KEK id (8 base64url characters of
//! a SHA-256 of the KEK) says which key sealed it, so a value under a previous or unknown KEK is
//! recognised without trying to decrypt it.

use std::fmt;

use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use aws_lc_rs::digest;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use zeroize::Zeroizing;

/// Version prefix of the sealed form.
const PREFIX: &str = "pcs1";
/// Length of a KEK in bytes.
const KEK_LEN: usize = 32;
/// Bytes of the KEK's SHA-256 that identify it (48 bits: tells keys apart, reveals nothing).
const KEK_ID_LEN: usize = 6;
/// Domain separation of the KEK id hash.
const KEK_ID_LABEL: &[u8] = b"portcullis key-encryption key id\0";

/// Why a secret could not be sealed or opened, or a KEK not read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SealError {
    /// The text given as a KEK is not 32 bytes of base64 or base64url.
    #[error("invalid key-encryption key: {0}")]
    InvalidKek(&'static str),
    /// The value is sealed but no KEK is configured.
    #[error(
        "it is encrypted but no key-encryption key is configured \
         (set PORTCULLIS_KEY_ENCRYPTION_KEY or [keys] encryption_key_file)"
    )]
    NoKek,
    /// The value is sealed under a KEK that is neither the current nor the previous one.
    #[error(
        "it is encrypted under key-encryption key {kek_id}, which is neither the current \
         (id {current}) nor the previous one"
    )]
    UnknownKek {
        /// Id of the KEK that sealed the value.
        kek_id: String,
        /// Id of the current KEK.
        current: String,
    },
    /// Authentication failed: the value was altered, or moved from another record.
    #[error("it cannot be decrypted: altered, or moved from another record")]
    Tampered,
    /// The value starts like a sealed one but does not parse.
    #[error("malformed encrypted value")]
    Malformed,
    /// The random generator or the cipher failed.
    #[error("encryption failed")]
    Crypto,
}

/// A 256-bit key-encryption key. `Debug` shows its id only; the bytes are zeroised on drop.
#[derive(Clone)]
pub struct Kek {
    key: Zeroizing<[u8; KEK_LEN]>,
    id: String,
}

impl fmt::Debug for Kek {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Kek").field("id", &self.id).finish()
    }
}

impl Kek {
    /// The KEK made of these bytes.
    pub fn from_bytes(bytes: [u8; KEK_LEN]) -> Self {
        let mut ctx = digest::Context::new(&digest::SHA256);
        ctx.update(KEK_ID_LABEL);
        ctx.update(&bytes);
        let hash = ctx.finish();
        let id = URL_SAFE_NO_PAD.encode(hash.as_ref().get(..KEK_ID_LEN).unwrap_or_default());
        Self {
            key: Zeroizing::new(bytes),
            id,
        }
    }

    /// Reads a KEK written as base64url or standard base64 (padded or not, e.g. the output of
    /// `openssl rand -base64 32`), surrounding whitespace ignored. It must decode to 32 bytes.
    pub fn parse(text: &str) -> Result<Self, SealError> {
        let normalised: Zeroizing<String> = Zeroizing::new(
            text.trim()
                .trim_end_matches('=')
                .chars()
                .map(|c| match c {
                    '+' => '-',
                    '/' => '_',
                    other => other,
                })
                .collect(),
        );
        let bytes = Zeroizing::new(
            URL_SAFE_NO_PAD
                .decode(normalised.as_bytes())
                .map_err(|_| SealError::InvalidKek("not base64 or base64url"))?,
        );
        let key: [u8; KEK_LEN] = bytes
            .as_slice()
            .try_into()
            .map_err(|_| SealError::InvalidKek("must be 32 bytes (44 base64 characters)"))?;
        Ok(Self::from_bytes(key))
    }

    /// A new random KEK.
    pub fn generate() -> Result<Self, SealError> {
        let mut bytes = [0u8; KEK_LEN];
        aws_lc_rs::rand::fill(&mut bytes).map_err(|_| SealError::Crypto)?;
        let kek = Self::from_bytes(bytes);
        zeroize::Zeroize::zeroize(&mut bytes);
        Ok(kek)
    }

    /// The KEK as base64url without padding, for writing it where it is kept.
    pub fn to_base64url(&self) -> Zeroizing<String> {
        Zeroizing::new(URL_SAFE_NO_PAD.encode(self.key.as_slice()))
    }

    /// The KEK's id: 8 base64url characters of a SHA-256 of it, stored beside what it seals.
    pub fn id(&self) -> &str {
        &self.id
    }

    fn cipher(&self) -> Result<LessSafeKey, SealError> {
        let key =
            UnboundKey::new(&AES_256_GCM, self.key.as_slice()).map_err(|_| SealError::Crypto)?;
        Ok(LessSafeKey::new(key))
    }

    /// Seals `plaintext` bound to `aad`.
    fn seal(&self, aad: &[u8], plaintext: &[u8]) -> Result<String, SealError> {
        let mut nonce = [0u8; NONCE_LEN];
        aws_lc_rs::rand::fill(&mut nonce).map_err(|_| SealError::Crypto)?;
        let mut body = Zeroizing::new(plaintext.to_vec());
        self.cipher()?
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(aad),
                &mut *body,
            )
            .map_err(|_| SealError::Crypto)?;
        let mut out = Vec::with_capacity(NONCE_LEN + body.len());
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&body);
        Ok(format!(
            "{PREFIX}:{}:{}",
            self.id,
            URL_SAFE_NO_PAD.encode(out)
        ))
    }

    /// Opens the base64url body of a value this KEK sealed.
    fn open(&self, aad: &[u8], body: &str) -> Result<Zeroizing<String>, SealError> {
        let mut raw = Zeroizing::new(
            URL_SAFE_NO_PAD
                .decode(body)
                .map_err(|_| SealError::Malformed)?,
        );
        if raw.len() < NONCE_LEN + AES_256_GCM.tag_len() {
            return Err(SealError::Malformed);
        }
        let (nonce, sealed) = raw.split_at_mut(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| SealError::Malformed)?;
        let plain = self
            .cipher()?
            .open_in_place(nonce, Aad::from(aad), sealed)
            .map_err(|_| SealError::Tampered)?;
        let text = std::str::from_utf8(plain).map_err(|_| SealError::Malformed)?;
        Ok(Zeroizing::new(text.to_owned()))
    }
}

/// How the server keeps the secrets it must be able to read back (private signing keys, the
/// client-secret pepper) in its store.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub enum KeyEncryption {
    /// Stored as they are: anyone with a copy of the database has the signing keys. For
    /// development, or when the operator explicitly allows it. A sealed value cannot be read.
    #[default]
    Plaintext,
    /// Sealed under `current`; values sealed under `previous` (before a KEK rotation) can still
    /// be read, and `portcullis keys rewrap` moves them to `current`.
    Sealed {
        /// Seals every new value, opens values it sealed.
        current: Kek,
        /// Opens values sealed before the rotation to `current`.
        previous: Option<Kek>,
    },
}

/// Which key a stored value was found under.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SealedUnder {
    /// Not sealed: written in plaintext.
    Nothing,
    /// The current KEK.
    Current,
    /// The previous KEK.
    Previous,
}

/// A stored value opened, with what it was sealed under.
#[derive(Debug)]
pub struct Opened {
    /// The plaintext (zeroised on drop).
    pub value: Zeroizing<String>,
    /// What it was sealed under.
    pub under: SealedUnder,
}

impl KeyEncryption {
    /// Sealed under `current`, with `previous` accepted for reading.
    pub fn sealed(current: Kek, previous: Option<Kek>) -> Self {
        Self::Sealed { current, previous }
    }

    /// Whether new values are sealed.
    pub fn is_sealed(&self) -> bool {
        matches!(self, Self::Sealed { .. })
    }

    /// The stored form of `plaintext` for the record identified by `aad`: sealed under the
    /// current KEK, or the plaintext itself without one.
    pub fn seal(&self, aad: &[u8], plaintext: &str) -> Result<String, SealError> {
        match self {
            Self::Plaintext => Ok(plaintext.to_owned()),
            Self::Sealed { current, .. } => current.seal(aad, plaintext.as_bytes()),
        }
    }

    /// Reads a stored value of the record identified by `aad`. A plaintext value (written
    /// before encryption was configured) is returned as it is, marked [`SealedUnder::Nothing`].
    pub fn open(&self, aad: &[u8], stored: &str) -> Result<Opened, SealError> {
        let Some(rest) = stored
            .strip_prefix(PREFIX)
            .and_then(|r| r.strip_prefix(':'))
        else {
            return Ok(Opened {
                value: Zeroizing::new(stored.to_owned()),
                under: SealedUnder::Nothing,
            });
        };
        let (kek_id, body) = rest.split_once(':').ok_or(SealError::Malformed)?;
        let Self::Sealed { current, previous } = self else {
            return Err(SealError::NoKek);
        };
        if kek_id == current.id() {
            return Ok(Opened {
                value: current.open(aad, body)?,
                under: SealedUnder::Current,
            });
        }
        match previous {
            Some(previous) if kek_id == previous.id() => Ok(Opened {
                value: previous.open(aad, body)?,
                under: SealedUnder::Previous,
            }),
            _ => Err(SealError::UnknownKek {
                kek_id: kek_id.to_owned(),
                current: current.id().to_owned(),
            }),
        }
    }

    /// Whether a value found under `under` should be sealed again under the current KEK.
    pub fn needs_rewrap(&self, under: SealedUnder) -> bool {
        self.is_sealed() && under != SealedUnder::Current
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kek(byte: u8) -> Kek {
        Kek::from_bytes([byte; KEK_LEN])
    }

    #[test]
    fn key_4_round_trip_and_fresh_nonce() {
        let enc = KeyEncryption::sealed(kek(1), None);
        let a = enc.seal(b"kid-1", "{\"d\":\"secret\"}").unwrap();
        let b = enc.seal(b"kid-1", "{\"d\":\"secret\"}").unwrap();
        assert_ne!(a, b, "a fresh nonce per seal");
        assert!(a.starts_with(&format!("pcs1:{}:", kek(1).id())), "{a}");
        assert!(!a.contains("secret"));
        let opened = enc.open(b"kid-1", &a).unwrap();
        assert_eq!(opened.value.as_str(), "{\"d\":\"secret\"}");
        assert_eq!(opened.under, SealedUnder::Current);
        assert!(!enc.needs_rewrap(opened.under));
    }

    #[test]
    fn key_4_tampered_ciphertext_refused() {
        let enc = KeyEncryption::sealed(kek(1), None);
        let sealed = enc.seal(b"kid-1", "private").unwrap();
        let (head, body) = sealed.rsplit_once(':').unwrap();
        let mut raw = URL_SAFE_NO_PAD.decode(body).unwrap();
        for i in [0, NONCE_LEN, raw.len() - 1] {
            raw[i] ^= 1;
            let altered = format!("{head}:{}", URL_SAFE_NO_PAD.encode(&raw));
            assert_eq!(
                enc.open(b"kid-1", &altered).unwrap_err(),
                SealError::Tampered
            );
            raw[i] ^= 1;
        }
        let truncated = format!("{head}:{}", URL_SAFE_NO_PAD.encode(&raw[..NONCE_LEN + 3]));
        assert_eq!(
            enc.open(b"kid-1", &truncated).unwrap_err(),
            SealError::Malformed
        );
        assert_eq!(
            enc.open(b"kid-1", "pcs1:nocolon").unwrap_err(),
            SealError::Malformed
        );
    }

    #[test]
    fn key_4_value_moved_to_another_kid_refused() {
        let enc = KeyEncryption::sealed(kek(1), None);
        let sealed = enc.seal(b"kid-1", "private").unwrap();
        assert_eq!(
            enc.open(b"kid-2", &sealed).unwrap_err(),
            SealError::Tampered
        );
    }

    #[test]
    fn key_4_wrong_and_previous_kek() {
        let old = KeyEncryption::sealed(kek(1), None);
        let sealed = old.seal(b"k", "private").unwrap();
        let other = KeyEncryption::sealed(kek(2), None);
        assert!(matches!(
            other.open(b"k", &sealed).unwrap_err(),
            SealError::UnknownKek { kek_id, .. } if kek_id == kek(1).id()
        ));
        assert_eq!(
            KeyEncryption::Plaintext.open(b"k", &sealed).unwrap_err(),
            SealError::NoKek
        );
        let rotated = KeyEncryption::sealed(kek(2), Some(kek(1)));
        let opened = rotated.open(b"k", &sealed).unwrap();
        assert_eq!(opened.value.as_str(), "private");
        assert_eq!(opened.under, SealedUnder::Previous);
        assert!(rotated.needs_rewrap(opened.under));
        // A KEK whose id matches but whose bytes differ cannot exist in practice; a different
        // key under a forged id fails authentication rather than returning garbage.
        let forged = sealed.replace(kek(1).id(), kek(2).id());
        assert_eq!(other.open(b"k", &forged).unwrap_err(), SealError::Tampered);
    }

    #[test]
    fn key_4_legacy_plaintext_is_recognised() {
        let enc = KeyEncryption::sealed(kek(1), None);
        let opened = enc.open(b"k", "{\"kty\":\"EC\",\"d\":\"x\"}").unwrap();
        assert_eq!(opened.under, SealedUnder::Nothing);
        assert!(enc.needs_rewrap(opened.under));
        assert!(!KeyEncryption::Plaintext.needs_rewrap(opened.under));
        assert_eq!(
            KeyEncryption::Plaintext.seal(b"k", "plain").unwrap(),
            "plain"
        );
    }

    #[test]
    fn kek_parses_base64_and_base64url_only_at_32_bytes() {
        let k = Kek::generate().unwrap();
        let url = k.to_base64url();
        let parsed = Kek::parse(&format!("  {}\n", url.as_str())).unwrap();
        assert_eq!(parsed.id(), k.id());
        let std = base64::engine::general_purpose::STANDARD.encode([0xfbu8; KEK_LEN]);
        assert!(std.contains('+') || std.contains('/'), "{std}");
        assert_eq!(Kek::parse(&std).unwrap().id(), kek(0xfb).id());
        assert!(Kek::parse("c2hvcnQ").is_err());
        assert!(Kek::parse("not base64!").is_err());
        assert!(!format!("{k:?}").contains(url.as_str()));
        assert_eq!(k.id().len(), 8);
    }
}
