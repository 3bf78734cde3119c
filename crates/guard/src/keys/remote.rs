//! Keys fetched from the issuer (the `discovery` feature): discovery, then the JWKS, cached
//! with its HTTP lifetime, refreshed in the background and refetched on an unknown `kid` at most
//! once per interval, one fetch at a time (RS-11).

use super::Snapshot;
use super::discovery;
use super::fetch::{FetchError, Fetcher};
use crate::config::FetchPolicy;
use portcullis_jose::time::{Clock, UnixTime};
use portcullis_jose::{JwkSet, KeySet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, PoisonError, RwLock, Weak};
use std::time::Duration;

struct Cache {
    keys: Option<Arc<KeySet>>,
    expires_at: UnixTime,
    generation: u64,
}

#[derive(Debug, Default)]
struct FetchState {
    jwks_uri: Option<String>,
    last_attempt: Option<UnixTime>,
}

/// Keys fetched from the issuer.
pub(crate) struct RemoteKeys {
    issuer: String,
    fetcher: Fetcher,
    policy: FetchPolicy,
    clock: Arc<dyn Clock>,
    cache: RwLock<Cache>,
    /// Held for the whole of a fetch: concurrent requests wait for one fetch (single flight).
    fetch: tokio::sync::Mutex<FetchState>,
    refresher_started: AtomicBool,
}

fn secs(d: Duration) -> i64 {
    i64::try_from(d.as_secs()).unwrap_or(i64::MAX)
}

impl RemoteKeys {
    pub(crate) fn new(
        issuer: String,
        fetcher: Fetcher,
        policy: FetchPolicy,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            issuer,
            fetcher,
            policy,
            clock,
            cache: RwLock::new(Cache {
                keys: None,
                expires_at: UnixTime(i64::MIN),
                generation: 0,
            }),
            fetch: tokio::sync::Mutex::new(FetchState::default()),
            refresher_started: AtomicBool::new(false),
        }
    }

    pub(super) fn issuer(&self) -> &str {
        &self.issuer
    }

    fn snapshot(&self) -> (Option<Snapshot>, UnixTime) {
        let cache = self.cache.read().unwrap_or_else(PoisonError::into_inner);
        let snapshot = cache.keys.as_ref().map(|keys| Snapshot {
            keys: Arc::clone(keys),
            generation: cache.generation,
        });
        (snapshot, cache.expires_at)
    }

    fn generation(&self) -> u64 {
        self.cache
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .generation
    }

    fn rate_limited(&self, state: &FetchState) -> bool {
        let now = self.clock.now();
        state
            .last_attempt
            .is_some_and(|last| now < last.plus(secs(self.policy.refetch_interval)))
    }

    pub(super) async fn current(self: &Arc<Self>) -> Result<Snapshot, FetchError> {
        let (snapshot, expires_at) = self.snapshot();
        if let Some(snapshot) = snapshot {
            if self.clock.now() >= expires_at {
                // Stale: one request refreshes while the others go on with the stale keys.
                if let Ok(mut state) = self.fetch.try_lock()
                    && self.clock.now() >= self.snapshot().1
                    && let Err(error) = self.fetch_locked(&mut state).await
                {
                    tracing::warn!(%error, issuer = %self.issuer, "key refresh failed; keeping the cached keys");
                }
                return Ok(self.snapshot().0.unwrap_or(snapshot));
            }
            return Ok(snapshot);
        }
        let mut state = self.fetch.lock().await;
        if let (Some(snapshot), _) = self.snapshot() {
            return Ok(snapshot);
        }
        if self.rate_limited(&state) {
            return Err(FetchError::RateLimited);
        }
        self.fetch_locked(&mut state).await?;
        self.snapshot().0.ok_or(FetchError::RateLimited)
    }

    pub(super) async fn refetch_for_unknown_kid(
        self: &Arc<Self>,
        seen_generation: u64,
    ) -> Option<Snapshot> {
        let mut state = self.fetch.lock().await;
        if self.generation() == seen_generation {
            if self.rate_limited(&state) {
                tracing::debug!(issuer = %self.issuer, "unknown kid; refetch skipped (rate limited)");
                return None;
            }
            if let Err(error) = self.fetch_locked(&mut state).await {
                tracing::warn!(%error, issuer = %self.issuer, "key refetch for an unknown kid failed");
                return None;
            }
        }
        drop(state);
        match self.snapshot().0 {
            Some(snapshot) if snapshot.generation != seen_generation => Some(snapshot),
            _ => None,
        }
    }

    /// Fetches (discovery when needed, then the JWKS) and installs the keys. The caller holds
    /// the fetch lock.
    async fn fetch_locked(self: &Arc<Self>, state: &mut FetchState) -> Result<(), FetchError> {
        let now = self.clock.now();
        state.last_attempt = Some(now);
        let result = self.fetch_keys(state).await;
        match result {
            Ok((keys, max_age)) => {
                let ttl = max_age
                    .map(Duration::from_secs)
                    .unwrap_or(self.policy.ttl_default)
                    .clamp(self.policy.ttl_min, self.policy.ttl_max);
                {
                    let mut cache = self.cache.write().unwrap_or_else(PoisonError::into_inner);
                    cache.keys = Some(Arc::new(keys));
                    cache.expires_at = now.plus(secs(ttl));
                    cache.generation = cache.generation.wrapping_add(1);
                }
                tracing::debug!(issuer = %self.issuer, ttl_secs = ttl.as_secs(), "verification keys loaded");
                self.start_refresher();
                Ok(())
            }
            Err(error) => {
                // Keep the keys we have; if they are stale, do not try again before the
                // refetch interval (a still-valid cache keeps its own lifetime).
                let mut cache = self.cache.write().unwrap_or_else(PoisonError::into_inner);
                if cache.keys.is_some() {
                    let retry_at = now.plus(secs(self.policy.refetch_interval));
                    cache.expires_at = cache.expires_at.max(retry_at);
                }
                Err(error)
            }
        }
    }

    async fn fetch_keys(
        &self,
        state: &mut FetchState,
    ) -> Result<(KeySet, Option<u64>), FetchError> {
        let jwks_uri = match &state.jwks_uri {
            Some(uri) => uri.clone(),
            None => {
                let uri = discovery::discover_jwks_uri(
                    &self.fetcher,
                    &self.issuer,
                    self.policy.allow_http,
                )
                .await?;
                state.jwks_uri = Some(uri.clone());
                uri
            }
        };
        let fetched = match self.fetcher.get(&jwks_uri).await {
            Ok(fetched) => fetched,
            Err(error) => {
                // The issuer may have moved its keys: discover again next time.
                state.jwks_uri = None;
                return Err(error);
            }
        };
        let set: JwkSet = serde_json::from_slice(&fetched.body)?;
        let keys = KeySet::from_jwks(&set).map_err(FetchError::Keys)?;
        Ok((keys, fetched.max_age))
    }

    fn start_refresher(self: &Arc<Self>) {
        if !self.policy.background_refresh || self.refresher_started.swap(true, Ordering::AcqRel) {
            return;
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            self.refresher_started.store(false, Ordering::Release);
            return;
        };
        let weak = Arc::downgrade(self);
        runtime.spawn(refresh_loop(weak));
    }
}

/// Refreshes the keys when their lifetime ends; stops when the guard is dropped.
async fn refresh_loop(weak: Weak<RemoteKeys>) {
    loop {
        let wait = {
            let Some(keys) = weak.upgrade() else {
                return;
            };
            let (_, expires_at) = keys.snapshot();
            let left = expires_at
                .as_secs()
                .saturating_sub(keys.clock.now().as_secs());
            u64::try_from(left).unwrap_or(0).max(1)
        };
        tokio::time::sleep(Duration::from_secs(wait)).await;
        let Some(keys) = weak.upgrade() else {
            return;
        };
        if keys.clock.now() >= keys.snapshot().1 {
            let mut state = keys.fetch.lock().await;
            if keys.clock.now() >= keys.snapshot().1
                && let Err(error) = keys.fetch_locked(&mut state).await
            {
                tracing::warn!(%error, issuer = %keys.issuer, "background key refresh failed");
            }
        }
    }
}
