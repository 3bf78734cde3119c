//! The shared state behind every handler: configuration, store, clock, signing keys and the
//! small in-memory caches (clients, client-authentication failures, device authorization
//! requests).

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, RwLock};

use portcullis_jose::Clock;

use crate::at_rest::Pepper;
use crate::config::{DeviceLimits, ServerConfig};
use crate::hashing::PasswordPool;
use crate::keys::KeyManager;
use crate::store::{ClientRecord, Denylist, Store, StoreResult};
use crate::validation_cache::ValidationCache;

/// Upper bound on cached entries; the caches are cleared when they grow past it.
const MAX_CACHE_ENTRIES: usize = 10_000;

/// Clients cached for a short TTL so the client-credentials path needs no store access.
#[derive(Debug, Default)]
pub(crate) struct ClientCache {
    entries: RwLock<HashMap<portcullis_types::ClientId, (Arc<ClientRecord>, i64)>>,
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

    /// Drops `client_id`, so that this node reads it anew after it changed here (the admin API
    /// replaced or deleted it); other nodes see the change within their cache lifetime.
    pub(crate) fn forget(&self, client_id: &str) {
        let mut guard = match self.entries.write() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        guard.remove(client_id);
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

/// Per-node record of device authorization requests, per client address and per client, for
/// [`crate::config::DeviceLimits`].
#[derive(Debug, Default)]
pub(crate) struct DeviceThrottle {
    /// Key → `(issued_at, expires_at)` of each admitted request still pending.
    entries: Mutex<HashMap<String, Vec<(i64, i64)>>>,
}

/// Seconds of the per-address rate window.
const DEVICE_RATE_WINDOW: i64 = 60;

impl DeviceThrottle {
    /// Admits one request of `client_id` from `addr` whose code expires at `expires_at`, or
    /// returns the seconds after which one may be admitted.
    pub(crate) fn admit(
        &self,
        client_id: &str,
        addr: Option<IpAddr>,
        now: i64,
        expires_at: i64,
        limits: &DeviceLimits,
    ) -> Result<(), i64> {
        let mut guard = match self.entries.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        if guard.len() >= MAX_CACHE_ENTRIES {
            guard.clear();
        }
        let client_key = format!("client:{client_id}");
        let addr_key = addr.map(|a| format!("addr:{a}"));
        let mut keys = vec![client_key.as_str()];
        keys.extend(addr_key.as_deref());
        for key in &keys {
            if let Some(list) = guard.get_mut(*key) {
                list.retain(|(_, exp)| *exp > now);
            }
        }
        let pending = |key: &str| guard.get(key).map_or(&[][..], Vec::as_slice);
        // The earliest moment the oldest of `list` stops counting.
        let wait = |list: &[(i64, i64)], ends: fn(&(i64, i64)) -> i64| {
            list.iter()
                .map(ends)
                .min()
                .map_or(1, |end| (end - now).max(1))
        };
        let by_client = pending(&client_key);
        if by_client.len() >= limit(limits.max_pending_per_client) {
            return Err(wait(by_client, |e| e.1));
        }
        if let Some(key) = addr_key.as_deref() {
            let by_addr = pending(key);
            if by_addr.len() >= limit(limits.max_pending_per_address) {
                return Err(wait(by_addr, |e| e.1));
            }
            let recent: Vec<(i64, i64)> = by_addr
                .iter()
                .filter(|(at, _)| now < at.saturating_add(DEVICE_RATE_WINDOW))
                .copied()
                .collect();
            if recent.len() >= limit(limits.per_address_per_minute) {
                return Err(wait(&recent, |e| e.0.saturating_add(DEVICE_RATE_WINDOW)));
            }
        }
        for key in keys {
            guard
                .entry(key.to_owned())
                .or_default()
                .push((now, expires_at));
        }
        Ok(())
    }
}

/// A configured count as a length.
fn limit(n: u32) -> usize {
    usize::try_from(n).unwrap_or(usize::MAX)
}

/// Everything a request needs.
#[derive(Debug)]
pub(crate) struct AppState {
    /// Validated configuration.
    pub(crate) config: Arc<ServerConfig>,
    /// The store.
    pub(crate) store: Arc<dyn Store>,
    /// The clock.
    pub(crate) clock: Arc<dyn Clock>,
    /// Signing keys.
    pub(crate) keys: KeyManager,
    /// The key of client-secret digests.
    pub(crate) pepper: Pepper,
    /// Client cache.
    pub(crate) clients: ClientCache,
    /// Client-authentication failure counts.
    pub(crate) client_throttle: ClientThrottle,
    /// Device authorization requests per client and client address.
    pub(crate) device_throttle: DeviceThrottle,
    /// Optional mirror of revoked `jti`s for resource servers (Redis).
    pub(crate) denylist: Option<Arc<dyn Denylist>>,
    /// Whether the denylist mirror answered lately (readiness says "degraded" when not).
    pub(crate) mirror_health: crate::domain::denylist::MirrorHealth,
    /// The bounded argon2id workers that check sign-in passwords.
    pub(crate) passwords: PasswordPool,
    /// Revocation answers, user records and verified tokens cached on the token-validation
    /// paths.
    pub(crate) validation: ValidationCache,
    /// The verifier of tokens this server signed, for its issuer.
    pub(crate) verifier: crate::domain::verify::TokenVerifier,
    /// The HTTP client of the token hooks; `None` when none is configured.
    pub(crate) hook_client: Option<reqwest::Client>,
    /// The HTTP client of sign-ins through upstream providers.
    pub(crate) upstream_http: crate::upstream::Fetcher,
    /// Discovery documents and keys of the OpenID providers upstream, kept for a while.
    pub(crate) upstream_docs: crate::upstream::ProviderDocs,
    /// The queue of outgoing self-service mail.
    pub(crate) mail: crate::mail::Mailer,
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
