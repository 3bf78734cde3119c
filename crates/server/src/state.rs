//! The shared state behind every handler: configuration, store, clock, signing keys and the
//! small in-memory caches (clients, client-authentication failures).

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, RwLock};

use portcullis_jose::Clock;

use crate::config::ServerConfig;
use crate::keys::KeyManager;
use crate::store::{ClientRecord, Denylist, Store, StoreResult};

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

/// Who a client-authentication failure is counted against: the source address together with the
/// client the credentials name, or, for a client assertion, the source address alone (an
/// assertion's claimed client is not known until its signature is verified, so it must never count
/// against that client). Failures from one source never block another source.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct ThrottleKey {
    source: Option<IpAddr>,
    client_id: Option<String>,
}

impl ThrottleKey {
    /// Failures of credentials that name `client_id` outright (secret or public client).
    pub(crate) fn client(source: Option<IpAddr>, client_id: &str) -> Self {
        Self {
            source,
            client_id: Some(client_id.to_owned()),
        }
    }

    /// Failures of client assertions from `source`, whatever client they claim to be.
    pub(crate) fn assertion(source: Option<IpAddr>) -> Self {
        Self {
            source,
            client_id: None,
        }
    }
}

/// Per-node count of client-authentication failures per [`ThrottleKey`], each in a window that
/// starts at its first failure. When full, expired windows are dropped first, then the entry with
/// the fewest failures (the oldest among equals): a flood of made-up ids cannot reset a counter.
#[derive(Debug, Default)]
pub(crate) struct ClientThrottle {
    entries: Mutex<HashMap<ThrottleKey, (u32, i64)>>,
}

impl ClientThrottle {
    /// Whether `key` has used up its failures in the current window.
    pub(crate) fn is_blocked(&self, key: &ThrottleKey, now: i64, max: u32, window: i64) -> bool {
        let guard = match self.entries.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        guard
            .get(key)
            .is_some_and(|(n, start)| now < start.saturating_add(window) && *n >= max)
    }

    /// Records one failure.
    pub(crate) fn record_failure(&self, key: &ThrottleKey, now: i64, window: i64) {
        let mut guard = match self.entries.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        if !guard.contains_key(key) && guard.len() >= MAX_CACHE_ENTRIES {
            guard.retain(|_, (_, start)| now < start.saturating_add(window));
            if guard.len() >= MAX_CACHE_ENTRIES {
                let weakest = guard
                    .iter()
                    .min_by_key(|(_, (n, start))| (*n, *start))
                    .map(|(k, _)| k.clone());
                if let Some(k) = weakest {
                    guard.remove(&k);
                }
            }
        }
        let entry = guard.entry(key.clone()).or_insert((0, now));
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dos_4_made_up_client_ids_do_not_reset_a_counter() {
        let throttle = ClientThrottle::default();
        let source = Some(IpAddr::from([192, 0, 2, 1]));
        let victim = ThrottleKey::client(source, "svc");
        for _ in 0..3 {
            throttle.record_failure(&victim, 100, 60);
        }
        assert!(throttle.is_blocked(&victim, 100, 3, 60));
        for i in 0..=MAX_CACHE_ENTRIES {
            throttle.record_failure(
                &ThrottleKey::client(source, &format!("made-up-{i}")),
                101,
                60,
            );
        }
        assert!(
            throttle.is_blocked(&victim, 101, 3, 60),
            "a flood of made-up client ids reset an existing counter"
        );
        let len = match throttle.entries.lock() {
            Ok(g) => g.len(),
            Err(p) => p.into_inner().len(),
        };
        assert!(len <= MAX_CACHE_ENTRIES);
    }

    #[test]
    fn dos_4_expired_windows_are_evicted_first() {
        let throttle = ClientThrottle::default();
        let old = ThrottleKey::client(None, "old");
        throttle.record_failure(&old, 0, 60);
        for i in 0..MAX_CACHE_ENTRIES {
            throttle.record_failure(&ThrottleKey::client(None, &format!("c{i}")), 100, 60);
        }
        let guard = throttle.entries.lock().unwrap();
        assert!(!guard.contains_key(&old));
        assert!(guard.contains_key(&ThrottleKey::client(None, "c0")));
    }
}
