//! The verification keys: a static set, or the issuer's JWKS found through discovery, cached
//! with its HTTP lifetime, refreshed in the background and refetched on an unknown `kid` at
//! most once per interval, one fetch at a time (RS-11).

#[cfg(feature = "discovery")]
mod discovery;
#[cfg(any(feature = "discovery", feature = "introspection"))]
pub(crate) mod fetch;
mod provided;
#[cfg(feature = "discovery")]
mod remote;

pub use provided::{KeyProvider, ProvidedKeys};

#[cfg(feature = "discovery")]
pub(crate) use remote::RemoteKeys;

use portcullis_jose::KeySet;
use std::sync::Arc;

/// Why the keys could not be loaded.
#[cfg(feature = "discovery")]
pub(crate) type LoadError = fetch::FetchError;
/// Why the keys could not be loaded: static keys always load.
#[cfg(not(feature = "discovery"))]
pub(crate) type LoadError = std::convert::Infallible;

/// Where the guard gets its keys.
#[derive(Clone)]
pub(crate) enum KeyStore {
    Static(Arc<KeySet>),
    Provided(Arc<dyn KeyProvider>),
    #[cfg(feature = "discovery")]
    Remote(Arc<RemoteKeys>),
}

/// A snapshot of the keys and the generation it belongs to.
pub(crate) struct Snapshot {
    pub(crate) keys: Arc<KeySet>,
    pub(crate) generation: u64,
}

impl KeyStore {
    /// The keys to verify with now; loads them on first use.
    pub(crate) async fn current(&self) -> Result<Snapshot, LoadError> {
        match self {
            Self::Static(keys) => Ok(Snapshot {
                keys: Arc::clone(keys),
                generation: 0,
            }),
            Self::Provided(provider) => {
                let provided = provider.keys().await;
                Ok(Snapshot {
                    keys: provided.keys,
                    generation: provided.generation,
                })
            }
            #[cfg(feature = "discovery")]
            Self::Remote(remote) => remote.current().await,
        }
    }

    /// Called when a token names a `kid` that `seen` does not hold. Returns the new keys when
    /// they changed since `seen` (fetched now, or by a concurrent request), else `None`.
    pub(crate) async fn refetch_for_unknown_kid(&self, seen: &Snapshot) -> Option<Snapshot> {
        #[cfg(not(feature = "discovery"))]
        let _ = seen.generation;
        match self {
            Self::Static(_) => None,
            Self::Provided(provider) => {
                let provided = provider.keys().await;
                (provided.generation != seen.generation).then_some(Snapshot {
                    keys: provided.keys,
                    generation: provided.generation,
                })
            }
            #[cfg(feature = "discovery")]
            Self::Remote(remote) => remote.refetch_for_unknown_kid(seen.generation).await,
        }
    }
}

impl std::fmt::Debug for KeyStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Static(keys) => write!(f, "KeyStore::Static({} keys)", keys.len()),
            Self::Provided(_) => f.write_str("KeyStore::Provided"),
            #[cfg(feature = "discovery")]
            Self::Remote(remote) => write!(f, "KeyStore::Remote({:?})", remote.issuer()),
        }
    }
}
