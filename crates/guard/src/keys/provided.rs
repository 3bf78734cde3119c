//! Keys the service holds itself: an authorization server that protects an API of its own with
//! the guard gives it its live key set in-process instead of fetching its own JWKS.

use futures_util::future::BoxFuture;
use portcullis_jose::KeySet;
use std::sync::Arc;

/// The keys a [`KeyProvider`] hands out, and the generation they belong to.
#[derive(Debug, Clone)]
pub struct ProvidedKeys {
    /// The verification keys.
    pub keys: Arc<KeySet>,
    /// A number that changes whenever the keys do: a token naming an unknown `kid` is tried
    /// again only when a fresh call returns another generation.
    pub generation: u64,
}

/// A source of verification keys inside the process, for [`GuardBuilder::key_provider`].
///
/// It is asked on every verification, so it answers from memory (reloading on its own
/// schedule); it cannot fail, because the keys are the service's own.
///
/// [`GuardBuilder::key_provider`]: crate::GuardBuilder::key_provider
pub trait KeyProvider: Send + Sync {
    /// The keys to verify with now.
    fn keys(&self) -> BoxFuture<'_, ProvidedKeys>;
}
