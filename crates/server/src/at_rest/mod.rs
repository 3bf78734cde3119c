//! Secrets at rest beyond one-way hashes: the private signing keys and the client-secret pepper
//! are sealed in the store under a key-encryption key held outside it ([`Kek`],
//! [`KeyEncryption`]), and client secrets are stored as HMAC-SHA-256 digests under that pepper.
//!
//! Sits just above `store` and below `config`: it knows the store, nothing of signing keys,
//! requests or protocols.

pub(crate) mod kek;
pub(crate) mod pepper;

pub use kek::{Kek, KeyEncryption, Opened, SealError, SealedUnder};
pub(crate) use pepper::{Pepper, PepperError, SecretMatch};
