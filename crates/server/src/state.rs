//! The shared state behind every handler: configuration, store, clock, signing keys and the
//! small in-memory caches (clients, client-authentication failures).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};

use portcullis_jose::Clock;

use crate::config::ServerConfig;
use crate::hashing::PasswordPool;
use crate::keys::KeyManager;
use crate::store::{ClientRecord, Denylist, Store, StoreResult};
use crate::validation_cache::ValidationCache;

/// Upper bound on cached entries; the caches are cleared when they grow past it.
const MAX_CACHE_ENTRIES: usize = 10_000;

/// Clients cached for a short TTL so the client-credentials path needs no store access.
#[derive(Debug, Default)]
pub(crate) struct ClientCache {
    entries: RwLock<HashMap<String, (Arc<ClientRecord>, i64)>>,
}

impl ClientCache {
    fn fresh(&self, client_id: &str, now: i64, ttl: i64) -> Option<Arc<ClientRecord>> {
        let guard = match self.entries.read() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        guard
            .get(client_id)
            .filter(|(_, at)| now >= *at && now < at.saturating_add(ttl))
            .map(|(c, _)| Arc::clone(c))
    }

    fn insert(&self, client: Arc<ClientRecord>, now: i64) {
        let mut guard = match self.entries.write() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        if guard.len() >= MAX_CACHE_ENTRIES {
            guard.clear();
        }
        guard.insert(client.client_id.clone(), (client, now));
    }
}

/// Per-node count of client-authentication failures per client id.
#[derive(Debug, Default)]
pub(crate) struct ClientThrottle {
    entries: Mutex<HashMap<String, (u32, i64)>>,
}

impl ClientThrottle {
    /// Whether `client_id` has used up its failures in the current window.
    pub(crate) fn is_blocked(&self, client_id: &str, now: i64, max: u32, window: i64) -> bool {
        let guard = match self.entries.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        guard
            .get(client_id)
            .is_some_and(|(n, start)| now < start.saturating_add(window) && *n >= max)
    }

    /// Records one failure.
    pub(crate) fn record_failure(&self, client_id: &str, now: i64, window: i64) {
        let mut guard = match self.entries.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        if guard.len() >= MAX_CACHE_ENTRIES {
            guard.clear();
        }
        let entry = guard.entry(client_id.to_owned()).or_insert((0, now));
        if now >= entry.1.saturating_add(window) {
            *entry = (0, now);
        }
        entry.0 = entry.0.saturating_add(1);
    }
}

/// Everything a request needs.
#[derive(Debug)]
pub struct AppState {
    /// Validated configuration.
    pub(crate) config: Arc<ServerConfig>,
    /// The store.
    pub(crate) store: Arc<dyn Store>,
    /// The clock.
    pub(crate) clock: Arc<dyn Clock>,
    /// Signing keys.
    pub(crate) keys: KeyManager,
    /// Client cache.
    pub(crate) clients: ClientCache,
    /// Client-authentication failure counts.
    pub(crate) client_throttle: ClientThrottle,
    /// Optional mirror of revoked `jti`s for resource servers (Redis).
    pub(crate) denylist: Option<Arc<dyn Denylist>>,
    /// The bounded argon2id workers that check sign-in passwords.
    pub(crate) passwords: PasswordPool,
    /// Revocation answers and user records cached on the token-validation paths.
    pub(crate) validation: ValidationCache,
}

impl AppState {
    /// The current time in Unix seconds.
    pub(crate) fn now(&self) -> i64 {
        self.clock.now().as_secs()
    }

    /// A client by id: from the cache when fresh, else one store read.
    pub(crate) async fn client(&self, client_id: &str) -> StoreResult<Option<Arc<ClientRecord>>> {
        let now = self.now();
        if let Some(c) = self
            .clients
            .fresh(client_id, now, self.config.client_cache_ttl)
        {
            return Ok(Some(c));
        }
        match self.store.get_client(client_id).await? {
            Some(rec) => {
                let rec = Arc::new(rec);
                if self.config.client_cache_ttl > 0 {
                    self.clients.insert(Arc::clone(&rec), now);
                }
                Ok(Some(rec))
            }
            None => Ok(None),
        }
    }
}
