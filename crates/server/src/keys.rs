//! Signing keys: generated on first start and kept in the store, one active key per enabled
//! algorithm, rotation with a publication delay, and an in-memory cache reloaded periodically.
//!
//! Lifecycle of a key record: published from `created_at`; signs from `activate_at` until
//! `retire_at`; published until `expire_at` (after every token it signed has expired).

use std::sync::{Arc, RwLock};

use portcullis_jose::{Algorithm, Clock, Jwk, JwkSet, KeySet, SigningKey};

use crate::config::ServerConfig;
use crate::store::{SigningKeyRecord, Store, StoreError};

/// Why signing keys could not be loaded, generated or rotated. Never shown to clients: the
/// protocol layer logs it and answers `server_error`.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    /// The store failed.
    #[error("store: {0}")]
    Store(#[from] StoreError),
    /// Key generation, parsing or thumbprinting failed.
    #[error("jose: {0}")]
    Jose(#[from] portcullis_jose::Error),
    /// A stored or requested key cannot be used (unknown or disallowed algorithm, bad JWK).
    #[error("{0}")]
    Unusable(String),
}

impl KeyError {
    fn unusable(cause: &dyn std::fmt::Display) -> Self {
        Self::Unusable(cause.to_string())
    }
}

/// What the cache holds: the active signing keys, the published verification keys and JWKS.
#[derive(Debug, Clone)]
pub(crate) struct KeySnapshot {
    active: Vec<SigningKey>,
    verify: KeySet,
    jwks: JwkSet,
    loaded_at: i64,
    next_change: i64,
}

impl KeySnapshot {
    /// The active signing key for `alg`.
    pub(crate) fn signing_key(&self, alg: Algorithm) -> Option<&SigningKey> {
        self.active.iter().find(|k| k.alg() == alg)
    }

    /// Every published verification key (for tokens this server signed).
    pub(crate) fn verification_keys(&self) -> &KeySet {
        &self.verify
    }

    /// The public JWK Set.
    pub(crate) fn jwks(&self) -> &JwkSet {
        &self.jwks
    }
}

fn is_published(rec: &SigningKeyRecord, now: i64) -> bool {
    rec.expire_at.is_none_or(|e| now < e)
}

fn is_active(rec: &SigningKeyRecord, now: i64) -> bool {
    rec.activate_at <= now && rec.retire_at.is_none_or(|r| now < r) && is_published(rec, now)
}

fn parse_key(rec: &SigningKeyRecord) -> Result<SigningKey, KeyError> {
    let alg: Algorithm = rec
        .alg
        .parse()
        .map_err(|_| KeyError::unusable(&"stored key has an unknown alg"))?;
    let jwk: Jwk = serde_json::from_str(&rec.private_jwk).map_err(|e| KeyError::unusable(&e))?;
    Ok(SigningKey::from_jwk_with_alg(&jwk, alg)?.with_kid(rec.kid.clone()))
}

/// Builds a snapshot from the stored records at `now`.
fn build_snapshot(records: &[SigningKeyRecord], now: i64) -> Result<KeySnapshot, KeyError> {
    let mut active: Vec<(i64, SigningKey)> = Vec::new();
    let mut verify = KeySet::new();
    let mut jwks = JwkSet::default();
    let mut next_change = i64::MAX;
    for rec in records {
        for t in [Some(rec.activate_at), rec.retire_at, rec.expire_at]
            .into_iter()
            .flatten()
        {
            if t > now {
                next_change = next_change.min(t);
            }
        }
        if !is_published(rec, now) {
            continue;
        }
        let key = match parse_key(rec) {
            Ok(k) => k,
            Err(e) => {
                tracing::error!(context = "keys", kid = %rec.kid, error = %e, "stored signing key skipped");
                continue;
            }
        };
        if let Some(public) = key.to_public_jwk()
            && verify.insert(key.verifying_key()).is_ok()
        {
            jwks.keys.push(public);
        }
        if is_active(rec, now) {
            // The most recently activated key of an algorithm wins.
            match active.iter_mut().find(|(_, k)| k.alg() == key.alg()) {
                Some(slot) if slot.0 < rec.activate_at => *slot = (rec.activate_at, key),
                Some(_) => {}
                None => active.push((rec.activate_at, key)),
            }
        }
    }
    Ok(KeySnapshot {
        active: active.into_iter().map(|(_, k)| k).collect(),
        verify,
        jwks,
        loaded_at: now,
        next_change,
    })
}

/// Generates a key for `alg` as a store record that signs from `activate_at`.
pub(crate) fn generate_record(
    alg: Algorithm,
    now: i64,
    activate_at: i64,
) -> Result<SigningKeyRecord, KeyError> {
    let key = SigningKey::generate(alg)?;
    let public = key
        .to_public_jwk()
        .ok_or_else(|| KeyError::unusable(&"symmetric signing key"))?;
    let kid = public.thumbprint()?;
    let key = key.with_kid(kid.clone());
    let private_jwk =
        serde_json::to_string(&key.to_private_jwk()).map_err(|e| KeyError::unusable(&e))?;
    Ok(SigningKeyRecord {
        kid,
        alg: alg.as_str().to_owned(),
        private_jwk,
        created_at: now,
        activate_at,
        retire_at: None,
        expire_at: None,
    })
}

/// Inserts an immediately active key for every algorithm of `algs` that has none.
pub(crate) async fn ensure_keys(
    store: &dyn Store,
    algs: &[Algorithm],
    now: i64,
) -> Result<(), KeyError> {
    let records = store.list_signing_keys().await?;
    for alg in algs {
        let has_active = records
            .iter()
            .any(|r| r.alg == alg.as_str() && is_active(r, now));
        if !has_active {
            let rec = generate_record(*alg, now, now)?;
            tracing::info!(target: "audit", event = "signing_key_created", kid = %rec.kid, alg = alg.as_str());
            match store.insert_signing_key(rec).await {
                Ok(()) | Err(StoreError::Conflict(_)) => {}
                Err(e) => return Err(e.into()),
            }
        }
    }
    Ok(())
}

/// Rotates the keys of `algs` and of every other algorithm that still has a published key (e.g.
/// one generated for a client's ID-token algorithm): a new key per algorithm is published now and signs after
/// `delay` seconds; the current keys stop signing then and stay published for
/// `max_token_ttl` more seconds. Expired keys are deleted. Returns the new key ids.
pub(crate) async fn rotate(
    store: &dyn Store,
    algs: &[Algorithm],
    now: i64,
    delay: i64,
    max_token_ttl: i64,
) -> Result<Vec<String>, KeyError> {
    let switch_at = now.saturating_add(delay);
    let expire_at = switch_at.saturating_add(max_token_ttl).saturating_add(60);
    let records = store.list_signing_keys().await?;
    for rec in &records {
        if rec.expire_at.is_some_and(|e| e <= now) {
            store.delete_signing_key(&rec.kid).await?;
        }
    }
    let mut all: Vec<Algorithm> = algs.to_vec();
    for rec in &records {
        if rec.expire_at.is_some_and(|e| e <= now) {
            continue;
        }
        if let Ok(alg) = rec.alg.parse::<Algorithm>()
            && crate::config::SIGNING_ALGS.contains(&alg)
            && !all.contains(&alg)
        {
            all.push(alg);
        }
    }
    let mut new_kids = Vec::new();
    for alg in &all {
        for rec in records.iter().filter(|r| r.alg == alg.as_str()) {
            if rec.expire_at.is_some_and(|e| e <= now) {
                continue;
            }
            if rec.retire_at.is_none_or(|r| r > switch_at) {
                let mut updated = rec.clone();
                updated.retire_at = Some(switch_at.max(rec.activate_at));
                updated.expire_at = Some(expire_at.max(rec.activate_at));
                store.update_signing_key(updated).await?;
            }
        }
        let rec = generate_record(*alg, now, switch_at)?;
        tracing::info!(target: "audit", event = "signing_key_rotated", kid = %rec.kid, alg = alg.as_str(), activate_at = switch_at);
        new_kids.push(rec.kid.clone());
        store.insert_signing_key(rec).await?;
    }
    Ok(new_kids)
}

/// The signing-key cache shared by the request handlers.
#[derive(Debug)]
pub(crate) struct KeyManager {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    config: Arc<ServerConfig>,
    cache: RwLock<Arc<KeySnapshot>>,
}

impl KeyManager {
    /// Ensures every enabled algorithm has a key, then loads the cache.
    pub(crate) async fn load(
        store: Arc<dyn Store>,
        clock: Arc<dyn Clock>,
        config: Arc<ServerConfig>,
    ) -> Result<Self, KeyError> {
        let now = clock.now().as_secs();
        ensure_keys(store.as_ref(), config.signing_algs(), now).await?;
        let records = store.list_signing_keys().await?;
        let snapshot = build_snapshot(&records, now)?;
        Ok(Self {
            store,
            clock,
            config,
            cache: RwLock::new(Arc::new(snapshot)),
        })
    }

    fn cached(&self) -> Arc<KeySnapshot> {
        match self.cache.read() {
            Ok(guard) => Arc::clone(&guard),
            Err(poisoned) => Arc::clone(&poisoned.into_inner()),
        }
    }

    async fn reload(&self, now: i64) -> Result<Arc<KeySnapshot>, KeyError> {
        let records = self.store.list_signing_keys().await?;
        let snapshot = Arc::new(build_snapshot(&records, now)?);
        match self.cache.write() {
            Ok(mut guard) => *guard = Arc::clone(&snapshot),
            Err(poisoned) => *poisoned.into_inner() = Arc::clone(&snapshot),
        }
        Ok(snapshot)
    }

    /// The current snapshot, reloaded from the store when stale or when a scheduled key
    /// change is due. A failed reload keeps the cached keys (logged).
    pub(crate) async fn snapshot(&self) -> Arc<KeySnapshot> {
        let now = self.clock.now().as_secs();
        let cached = self.cached();
        let stale = now
            >= cached
                .loaded_at
                .saturating_add(self.config.key_reload_interval)
            || now >= cached.next_change
            || now < cached.loaded_at;
        if !stale {
            return cached;
        }
        match self.reload(now).await {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!(error = %e, "signing key reload failed; using cached keys");
                cached
            }
        }
    }

    /// The active signing key for `alg`. An algorithm without a key (e.g. one a client
    /// registered for ID tokens) gets one generated on first use.
    pub(crate) async fn signing_key(&self, alg: Algorithm) -> Result<SigningKey, KeyError> {
        if let Some(k) = self.snapshot().await.signing_key(alg) {
            return Ok(k.clone());
        }
        if !crate::config::SIGNING_ALGS.contains(&alg) {
            return Err(KeyError::unusable(&"algorithm not allowed for signing"));
        }
        let now = self.clock.now().as_secs();
        ensure_keys(self.store.as_ref(), &[alg], now).await?;
        self.reload(now)
            .await?
            .signing_key(alg)
            .cloned()
            .ok_or_else(|| KeyError::unusable(&"no active key after generation"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::KeyStore as _;
    use crate::store::memory::MemoryStore;

    #[tokio::test]
    async fn key_3_rotation_publishes_first_and_retires_later() {
        let store = MemoryStore::new();
        let algs = [Algorithm::ES256];
        ensure_keys(&store, &algs, 1000).await.unwrap();
        let recs = store.list_signing_keys().await.unwrap();
        assert_eq!(recs.len(), 1);
        let old_kid = recs[0].kid.clone();

        let new_kids = rotate(&store, &algs, 2000, 3600, 900).await.unwrap();
        let recs = store.list_signing_keys().await.unwrap();

        // Right after rotation: both published, the old one still signs.
        let snap = build_snapshot(&recs, 2001).unwrap();
        assert_eq!(snap.jwks().keys.len(), 2);
        assert_eq!(
            snap.signing_key(Algorithm::ES256).unwrap().kid(),
            Some(old_kid.as_str())
        );

        // After the delay: the new key signs, the old one is still published.
        let snap = build_snapshot(&recs, 2000 + 3600).unwrap();
        assert_eq!(
            snap.signing_key(Algorithm::ES256).unwrap().kid(),
            Some(new_kids[0].as_str())
        );
        assert!(snap.verification_keys().contains_kid(&old_kid));

        // After every token the old key signed has expired: no longer published.
        let snap = build_snapshot(&recs, 2000 + 3600 + 900 + 61).unwrap();
        assert!(!snap.verification_keys().contains_kid(&old_kid));
        assert_eq!(snap.jwks().keys.len(), 1);
        assert!(snap.next_change == i64::MAX || snap.next_change > 2000 + 3600 + 900 + 61);
    }

    #[tokio::test]
    async fn key_1_snapshot_jwks_is_public() {
        let store = MemoryStore::new();
        ensure_keys(&store, &[Algorithm::RS256, Algorithm::ES256], 10)
            .await
            .unwrap();
        let recs = store.list_signing_keys().await.unwrap();
        let snap = build_snapshot(&recs, 10).unwrap();
        assert_eq!(snap.jwks().keys.len(), 2);
        for k in &snap.jwks().keys {
            assert!(!k.is_private());
            assert!(k.kid.is_some());
        }
    }
}
