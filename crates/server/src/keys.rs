//! Signing keys: generated on first start and kept in the store, one active key per enabled
//! algorithm, rotation with a publication delay, and an in-memory cache reloaded periodically.
//!
//! Lifecycle of a key record: published from `created_at`; signs from `activate_at` until
//! `retire_at`; published until `expire_at` (after every token it signed has expired).
//!
//! The private JWK is stored sealed under the key-encryption key ([`KeyEncryption`]), bound to
//! its `kid`; a key that cannot be opened stops the start with an error naming it, so new keys are
//! never generated over keys the server merely failed to read.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

use portcullis_jose::{Algorithm, Clock, Jwk, JwkSet, KeySet, SigningKey};

use portcullis_types::denylist::retain_until;

use crate::at_rest::{KeyEncryption, SealError, SealedUnder};
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
    /// A stored private key cannot be opened or sealed with the configured key-encryption key.
    #[error("signing key {kid}: {source}")]
    Sealed {
        /// The key's id.
        kid: String,
        /// Why.
        source: SealError,
    },
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
    generation: u64,
}

/// The generation of the next snapshot built: every snapshot gets its own, in this process.
static NEXT_GENERATION: AtomicU64 = AtomicU64::new(1);

impl KeySnapshot {
    /// A number no other snapshot built in this process has: what a token was verified
    /// against, so that an answer kept from a verification is not reused under other keys.
    pub(crate) fn generation(&self) -> u64 {
        self.generation
    }

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

/// The associated data of a sealed private key: its `kid`, so a sealed key cannot be moved to
/// another record.
fn signing_key_aad(kid: &str) -> Vec<u8> {
    [b"portcullis signing key\0".as_slice(), kid.as_bytes()].concat()
}

fn sealed_err(kid: &str) -> impl FnOnce(SealError) -> KeyError + '_ {
    move |source| KeyError::Sealed {
        kid: kid.to_owned(),
        source,
    }
}

/// Opens and parses a stored key, saying what it was sealed under.
fn open_key(
    rec: &SigningKeyRecord,
    enc: &KeyEncryption,
) -> Result<(SigningKey, SealedUnder), KeyError> {
    let alg: Algorithm = rec
        .alg
        .parse()
        .map_err(|_| KeyError::unusable(&"stored key has an unknown alg"))?;
    let opened = enc
        .open(&signing_key_aad(&rec.kid), &rec.private_jwk)
        .map_err(sealed_err(&rec.kid))?;
    let jwk: Jwk = serde_json::from_str(&opened.value).map_err(|e| KeyError::unusable(&e))?;
    let key = SigningKey::from_jwk_with_alg(&jwk, alg)?.with_kid(rec.kid.clone());
    Ok((key, opened.under))
}

/// Checks at start that every key still published can be opened and parsed: a wrong or missing
/// key-encryption key is an error naming the first key it fails on. Keys not under the current
/// KEK are reported so the operator runs `portcullis keys rewrap`.
fn check_readable(
    records: &[SigningKeyRecord],
    now: i64,
    enc: &KeyEncryption,
) -> Result<(), KeyError> {
    for rec in records.iter().filter(|r| r.is_published(now)) {
        let (_, under) = open_key(rec, enc)?;
        if enc.needs_rewrap(under) {
            tracing::warn!(kid = %rec.kid, ?under, "signing key is not encrypted under the current key-encryption key; run `portcullis keys rewrap`");
        }
    }
    Ok(())
}

/// Seals every stored private key under the current key-encryption key that is in plaintext or
/// under the previous one. Returns the ids of the keys rewritten.
pub(crate) async fn rewrap(
    store: &dyn Store,
    enc: &KeyEncryption,
) -> Result<Vec<String>, KeyError> {
    let mut rewritten = Vec::new();
    for rec in store.list_signing_keys().await? {
        let aad = signing_key_aad(&rec.kid);
        let opened = enc
            .open(&aad, &rec.private_jwk)
            .map_err(sealed_err(&rec.kid))?;
        if !enc.needs_rewrap(opened.under) {
            continue;
        }
        let mut updated = rec.clone();
        updated.private_jwk = enc
            .seal(&aad, &opened.value)
            .map_err(sealed_err(&rec.kid))?;
        store.update_signing_key(updated).await?;
        tracing::info!(target: "audit", event = "signing_key_rewrapped", kid = %rec.kid);
        rewritten.push(rec.kid);
    }
    Ok(rewritten)
}

/// Builds a snapshot from the stored records at `now`.
fn build_snapshot(
    records: &[SigningKeyRecord],
    now: i64,
    enc: &KeyEncryption,
) -> Result<KeySnapshot, KeyError> {
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
        if !rec.is_published(now) {
            continue;
        }
        let key = match open_key(rec, enc) {
            Ok((k, _)) => k,
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
        if rec.signs_at(now) {
            // The most recently activated key of an algorithm wins.
            match active.iter_mut().find(|(_, k)| k.alg() == key.alg()) {
                Some(slot) if slot.0 < rec.activate_at => *slot = (rec.activate_at, key),
                Some(_) => {}
                None => active.push((rec.activate_at, key)),
            }
        }
    }
    for (activated, key) in &active {
        let age = now.saturating_sub(*activated) as f64;
        metrics::gauge!("portcullis_signing_key_age_seconds", "alg" => key.alg().to_string())
            .set(age);
    }
    Ok(KeySnapshot {
        active: active.into_iter().map(|(_, k)| k).collect(),
        verify,
        jwks,
        loaded_at: now,
        next_change,
        generation: NEXT_GENERATION.fetch_add(1, Ordering::Relaxed),
    })
}

/// Generates a key for `alg` as a store record that signs from `activate_at`.
pub(crate) fn generate_record(
    alg: Algorithm,
    now: i64,
    activate_at: i64,
    enc: &KeyEncryption,
) -> Result<SigningKeyRecord, KeyError> {
    let key = SigningKey::generate(alg)?;
    let public = key
        .to_public_jwk()
        .ok_or_else(|| KeyError::unusable(&"symmetric signing key"))?;
    let kid = public.thumbprint()?;
    let key = key.with_kid(kid.clone());
    let plain = zeroize::Zeroizing::new(
        serde_json::to_string(&key.to_private_jwk()).map_err(|e| KeyError::unusable(&e))?,
    );
    let private_jwk = enc
        .seal(&signing_key_aad(&kid), &plain)
        .map_err(sealed_err(&kid))?;
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

/// Inserts an immediately active key for every algorithm of `algs` that has none, after checking
/// that every stored key can be read ([`check_readable`]). The store decides atomically whether
/// the key is still needed, so nodes starting together on one database agree on one key per
/// algorithm.
pub(crate) async fn ensure_keys(
    store: &dyn Store,
    algs: &[Algorithm],
    now: i64,
    enc: &KeyEncryption,
) -> Result<(), KeyError> {
    let records = store.list_signing_keys().await?;
    check_readable(&records, now, enc)?;
    for alg in algs {
        let has_active = records
            .iter()
            .any(|r| r.alg == alg.as_str() && r.signs_at(now));
        if !has_active {
            let rec = generate_record(*alg, now, now, enc)?;
            let kid = rec.kid.clone();
            if store.insert_signing_key_unless_active(rec, now).await? {
                tracing::info!(target: "audit", event = "signing_key_created", kid = %kid, alg = alg.as_str());
            }
        }
    }
    Ok(())
}

/// The longest lifetime a token signed now can have: the configured access- and ID-token
/// lifetimes and every client's own access-token lifetime. A retired key stays published that
/// long (plus the validators' leeway).
pub(crate) async fn longest_token_ttl(
    store: &dyn Store,
    config: &ServerConfig,
) -> Result<i64, KeyError> {
    Ok(store
        .list_clients()
        .await?
        .iter()
        .filter_map(|c| c.access_token_ttl)
        .fold(config.max_signed_token_ttl(), i64::max))
}

/// How a rotation replaces the current keys.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Rotation {
    /// Now, Unix seconds.
    pub now: i64,
    /// Seconds between publishing the new key and signing with it (0: sign at once).
    pub delay: i64,
    /// The longest lifetime of a token the old keys signed: they stay published that long
    /// (plus the validators' leeway) after they stop signing.
    pub max_token_ttl: i64,
    /// Unpublish the old keys at once (a leaked key): every token they signed stops verifying
    /// as soon as resource servers refresh their key sets.
    pub revoke_old: bool,
}

impl Rotation {
    /// When the new key starts signing.
    fn switch_at(&self) -> i64 {
        self.now.saturating_add(self.delay)
    }

    /// When the replaced keys are unpublished.
    fn expire_at(&self) -> i64 {
        if self.revoke_old {
            self.now
        } else {
            retain_until(self.switch_at().saturating_add(self.max_token_ttl))
        }
    }
}

/// Rotates the keys of `algs` (and of every other algorithm that has a live key): a new key per
/// algorithm, published now and signing from `rotation.switch_at()`; the replaced keys stop
/// signing then and stay published until the tokens they signed expired (or go at once with
/// `revoke_old`). Expired keys are deleted. Returns the new key ids.
pub(crate) async fn rotate(
    store: &dyn Store,
    algs: &[Algorithm],
    rotation: Rotation,
    enc: &KeyEncryption,
) -> Result<Vec<String>, KeyError> {
    let now = rotation.now;
    let records = store.list_signing_keys().await?;
    check_readable(&records, now, enc)?;
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
        let rec = generate_record(*alg, now, rotation.switch_at(), enc)?;
        let kid = rec.kid.clone();
        store.insert_signing_key(rec).await?;
        retire_others(store, *alg, &kid, rotation).await?;
        tracing::info!(target: "audit", event = "signing_key_rotated", kid = %kid, alg = alg.as_str(), activate_at = rotation.switch_at(), revoke_old = rotation.revoke_old);
        new_kids.push(kid);
    }
    Ok(new_kids)
}

/// The algorithms of `algs` whose newest published key in `records` was created `every`
/// seconds before `now` or earlier: due for a scheduled rotation.
pub(crate) fn due_for_rotation(
    records: &[SigningKeyRecord],
    algs: &[Algorithm],
    every: i64,
    now: i64,
) -> Vec<Algorithm> {
    let due_before = now.saturating_sub(every);
    algs.iter()
        .copied()
        .filter(|alg| {
            records
                .iter()
                .filter(|r| r.alg == alg.as_str() && r.is_published(now))
                .map(|r| r.created_at)
                .max()
                .is_some_and(|created| created <= due_before)
        })
        .collect()
}

/// Rotates, on a schedule, each algorithm of `due` ([`due_for_rotation`]). Nodes due at the
/// same moment make one new key per algorithm ([`KeyStore::insert_signing_key_unless_newer`]:
/// none if a key was created within the last `every` seconds); the winner retires the others.
/// Returns the new key ids (empty when another node was first).
pub(crate) async fn rotate_due(
    store: &dyn Store,
    due: &[Algorithm],
    every: i64,
    rotation: Rotation,
    enc: &KeyEncryption,
) -> Result<Vec<String>, KeyError> {
    let now = rotation.now;
    let due_before = now.saturating_sub(every);
    let mut new_kids = Vec::new();
    for alg in due {
        let rec = generate_record(*alg, now, rotation.switch_at(), enc)?;
        let kid = rec.kid.clone();
        if store
            .insert_signing_key_unless_newer(rec, due_before, now)
            .await?
        {
            retire_others(store, *alg, &kid, rotation).await?;
            tracing::info!(target: "audit", event = "signing_key_rotated", kid = %kid, alg = alg.as_str(), activate_at = rotation.switch_at(), scheduled = true);
            new_kids.push(kid);
        }
    }
    Ok(new_kids)
}

/// Makes every published key of `alg` but `keep` stop signing when the new one starts and go
/// unpublished per `rotation`.
async fn retire_others(
    store: &dyn Store,
    alg: Algorithm,
    keep: &str,
    rotation: Rotation,
) -> Result<(), KeyError> {
    let now = rotation.now;
    let switch_at = rotation.switch_at();
    let expire_at = rotation.expire_at();
    for rec in store.list_signing_keys().await? {
        if rec.alg != alg.as_str() || rec.kid == keep || !rec.is_published(now) {
            continue;
        }
        let retire_at = switch_at;
        let changed_retire = rec.retire_at.is_none_or(|r| r > retire_at);
        let changed_expire = rec.expire_at.is_none_or(|e| e > expire_at);
        if changed_retire || changed_expire {
            let mut updated = rec.clone();
            if changed_retire {
                updated.retire_at = Some(retire_at);
            }
            if changed_expire {
                updated.expire_at = Some(expire_at.max(now));
            }
            store.update_signing_key(updated).await?;
        }
    }
    Ok(())
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
        let enc = &config.key_encryption;
        ensure_keys(store.as_ref(), config.signing_algs(), now, enc).await?;
        let records = store.list_signing_keys().await?;
        let snapshot = build_snapshot(&records, now, enc)?;
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

    /// Reloads the keys from the store now, e.g. right after this process rotated them, so
    /// that this node publishes and signs with the new keys without waiting for its reload.
    pub(crate) async fn reload_now(&self) -> Result<(), KeyError> {
        self.reload(self.clock.now().as_secs()).await.map(|_| ())
    }

    async fn reload(&self, now: i64) -> Result<Arc<KeySnapshot>, KeyError> {
        let mut records = self.store.list_signing_keys().await?;
        // A scheduled rotation, when one is due: only then are the clients read (for the
        // longest token lifetime) and the keys read again.
        if let Some(every) = self.config.key_rotate_every {
            let due = due_for_rotation(&records, self.config.signing_algs(), every, now);
            if !due.is_empty() {
                let rotation = Rotation {
                    now,
                    delay: self.config.key_rotation_delay,
                    max_token_ttl: longest_token_ttl(self.store.as_ref(), &self.config).await?,
                    revoke_old: false,
                };
                rotate_due(
                    self.store.as_ref(),
                    &due,
                    every,
                    rotation,
                    &self.config.key_encryption,
                )
                .await?;
                records = self.store.list_signing_keys().await?;
            }
        }
        let snapshot = Arc::new(build_snapshot(&records, now, &self.config.key_encryption)?);
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
        ensure_keys(
            self.store.as_ref(),
            &[alg],
            now,
            &self.config.key_encryption,
        )
        .await?;
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
    use crate::at_rest::Kek;
    use crate::store::ClientRecord;
    use crate::store::KeyStore as _;
    use crate::store::memory::MemoryStore;

    const PLAIN: KeyEncryption = KeyEncryption::Plaintext;

    fn rotation(now: i64, delay: i64, max_token_ttl: i64) -> Rotation {
        Rotation {
            now,
            delay,
            max_token_ttl,
            revoke_old: false,
        }
    }

    fn sealed(kek: &Kek, previous: Option<&Kek>) -> KeyEncryption {
        KeyEncryption::sealed(kek.clone(), previous.cloned())
    }

    #[tokio::test]
    async fn key_3_rotation_publishes_first_and_retires_later() {
        let store = MemoryStore::new();
        let algs = [Algorithm::ES256];
        ensure_keys(&store, &algs, 1000, &PLAIN).await.unwrap();
        let recs = store.list_signing_keys().await.unwrap();
        assert_eq!(recs.len(), 1);
        let old_kid = recs[0].kid.clone();

        let new_kids = rotate(&store, &algs, rotation(2000, 3600, 900), &PLAIN)
            .await
            .unwrap();
        let recs = store.list_signing_keys().await.unwrap();

        // Right after rotation: both published, the old one still signs.
        let snap = build_snapshot(&recs, 2001, &PLAIN).unwrap();
        assert_eq!(snap.jwks().keys.len(), 2);
        assert_eq!(
            snap.signing_key(Algorithm::ES256).unwrap().kid(),
            Some(old_kid.as_str())
        );

        // After the delay: the new key signs, the old one is still published.
        let snap = build_snapshot(&recs, 2000 + 3600, &PLAIN).unwrap();
        assert_eq!(
            snap.signing_key(Algorithm::ES256).unwrap().kid(),
            Some(new_kids[0].as_str())
        );
        assert!(snap.verification_keys().contains_kid(&old_kid));

        // After every token the old key signed has expired: no longer published.
        let snap = build_snapshot(&recs, 2000 + 3600 + 900 + 61, &PLAIN).unwrap();
        assert!(!snap.verification_keys().contains_kid(&old_kid));
        assert_eq!(snap.jwks().keys.len(), 1);
        assert!(snap.next_change == i64::MAX || snap.next_change > 2000 + 3600 + 900 + 61);
    }

    #[tokio::test]
    async fn key_3_emergency_rotation_signs_at_once_and_unpublishes_the_old_key() {
        let store = MemoryStore::new();
        let algs = [Algorithm::ES256];
        ensure_keys(&store, &algs, 1000, &PLAIN).await.unwrap();
        let old_kid = store.list_signing_keys().await.unwrap()[0].kid.clone();
        let emergency = Rotation {
            now: 2000,
            delay: 0,
            max_token_ttl: 900,
            revoke_old: true,
        };
        let new_kids = rotate(&store, &algs, emergency, &PLAIN).await.unwrap();
        let snap = build_snapshot(&store.list_signing_keys().await.unwrap(), 2000, &PLAIN).unwrap();
        assert_eq!(
            snap.signing_key(Algorithm::ES256).unwrap().kid(),
            Some(new_kids[0].as_str())
        );
        assert!(!snap.verification_keys().contains_kid(&old_kid));
        assert_eq!(snap.jwks().keys.len(), 1);
    }

    #[tokio::test]
    async fn key_3_scheduled_rotation_is_due_after_the_period_only() {
        let store = MemoryStore::new();
        let algs = [Algorithm::ES256];
        ensure_keys(&store, &algs, 1000, &PLAIN).await.unwrap();
        let at = |now| Rotation {
            now,
            delay: 120,
            max_token_ttl: 900,
            revoke_old: false,
        };
        async fn due(store: &MemoryStore, now: i64) -> Vec<Algorithm> {
            let records = store.list_signing_keys().await.unwrap();
            due_for_rotation(&records, &[Algorithm::ES256], 3600, now)
        }
        assert!(due(&store, 4599).await.is_empty());
        assert_eq!(due(&store, 4600).await, algs);
        let rotated = rotate_due(&store, &algs, 3600, at(4600), &PLAIN)
            .await
            .unwrap();
        assert_eq!(rotated.len(), 1);
        // A node that found the same algorithm due a moment later stands down.
        assert!(
            rotate_due(&store, &algs, 3600, at(4601), &PLAIN)
                .await
                .unwrap()
                .is_empty()
        );
        // Published before use: the old key signs until the delay has passed.
        let recs = store.list_signing_keys().await.unwrap();
        let snap = build_snapshot(&recs, 4600, &PLAIN).unwrap();
        assert_ne!(
            snap.signing_key(Algorithm::ES256).unwrap().kid(),
            Some(rotated[0].as_str())
        );
        assert!(snap.verification_keys().contains_kid(&rotated[0]));
        let snap = build_snapshot(&recs, 4720, &PLAIN).unwrap();
        assert_eq!(
            snap.signing_key(Algorithm::ES256).unwrap().kid(),
            Some(rotated[0].as_str())
        );
        // Not due again until a whole period after the new key.
        assert!(due(&store, 8199).await.is_empty());
        assert_eq!(due(&store, 8200).await, algs);
    }

    #[tokio::test]
    async fn key_3_a_node_rotates_on_schedule_when_it_reloads_its_keys() {
        let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
        let clock = Arc::new(portcullis_jose::FixedClock::new(portcullis_jose::UnixTime(
            1000,
        )));
        let mut settings = crate::config::ServerSettings::new("https://id.example");
        settings.key_rotate_every = Some(7200);
        let config = Arc::new(ServerConfig::new(settings).unwrap());
        let dyn_clock: Arc<dyn Clock> = clock.clone();
        let keys = KeyManager::load(Arc::clone(&store), dyn_clock, config)
            .await
            .unwrap();
        let first = store.list_signing_keys().await.unwrap().len();
        clock.advance(7199);
        keys.snapshot().await;
        assert_eq!(
            store.list_signing_keys().await.unwrap().len(),
            first,
            "not due yet"
        );
        // Due from 8200; seen at this node's next reload (every `key_reload_interval`).
        clock.advance(60);
        let snapshot = keys.snapshot().await;
        let records = store.list_signing_keys().await.unwrap();
        assert_eq!(records.len(), 2 * first, "one new key per algorithm");
        for rec in records.iter().filter(|r| r.created_at == 8259) {
            assert!(
                snapshot.verification_keys().contains_kid(&rec.kid),
                "published at once"
            );
        }
    }

    #[tokio::test]
    async fn key_3_retired_keys_outlive_the_longest_client_token() {
        let store = MemoryStore::new();
        let mut settings = crate::config::ServerSettings::new("https://id.example");
        settings.access_token_ttl = 900;
        let config = ServerConfig::new(settings).unwrap();
        let mut long: ClientRecord = serde_json::from_value(serde_json::json!({
            "client_id": "long", "token_endpoint_auth_method": "none", "created_at": 0,
        }))
        .unwrap();
        long.access_token_ttl = Some(7200);
        crate::store::ClientStore::put_client(&store, long)
            .await
            .unwrap();
        assert_eq!(longest_token_ttl(&store, &config).await.unwrap(), 7200);
        let algs = [Algorithm::ES256];
        ensure_keys(&store, &algs, 1000, &PLAIN).await.unwrap();
        let old_kid = store.list_signing_keys().await.unwrap()[0].kid.clone();
        rotate(&store, &algs, rotation(2000, 3600, 7200), &PLAIN)
            .await
            .unwrap();
        let recs = store.list_signing_keys().await.unwrap();
        // A token signed just before the switch with 7200 s to live still verifies near its end.
        let snap = build_snapshot(&recs, 2000 + 3600 + 7200 + 59, &PLAIN).unwrap();
        assert!(snap.verification_keys().contains_kid(&old_kid));
        let snap = build_snapshot(&recs, 2000 + 3600 + 7200 + 61, &PLAIN).unwrap();
        assert!(!snap.verification_keys().contains_kid(&old_kid));
    }

    #[tokio::test]
    async fn key_1_snapshot_jwks_is_public() {
        let store = MemoryStore::new();
        ensure_keys(&store, &[Algorithm::RS256, Algorithm::ES256], 10, &PLAIN)
            .await
            .unwrap();
        let recs = store.list_signing_keys().await.unwrap();
        let snap = build_snapshot(&recs, 10, &PLAIN).unwrap();
        assert_eq!(snap.jwks().keys.len(), 2);
        for k in &snap.jwks().keys {
            assert!(!k.is_private());
            assert!(k.kid.is_some());
        }
    }

    #[tokio::test]
    async fn key_4_private_keys_sealed_and_bound_to_their_kid() {
        let store = MemoryStore::new();
        let kek = Kek::generate().unwrap();
        let enc = sealed(&kek, None);
        ensure_keys(&store, &[Algorithm::ES256, Algorithm::RS256], 10, &enc)
            .await
            .unwrap();
        let recs = store.list_signing_keys().await.unwrap();
        for rec in &recs {
            assert!(rec.private_jwk.starts_with(&format!("pcs1:{}:", kek.id())));
            assert!(!rec.private_jwk.contains("\"d\""));
        }
        check_readable(&recs, 10, &enc).unwrap();
        assert_eq!(
            build_snapshot(&recs, 10, &enc).unwrap().jwks().keys.len(),
            2
        );

        // A sealed key moved to another record is refused, naming the record.
        let mut swapped = recs[0].clone();
        swapped.private_jwk.clone_from(&recs[1].private_jwk);
        let err = check_readable(&[swapped.clone()], 10, &enc).unwrap_err();
        assert!(
            matches!(&err, KeyError::Sealed { kid, source: SealError::Tampered } if *kid == swapped.kid),
            "{err}"
        );
    }

    #[tokio::test]
    async fn key_4_wrong_kek_refused_at_start_naming_the_key() {
        let store = MemoryStore::new();
        let kek = Kek::generate().unwrap();
        ensure_keys(&store, &[Algorithm::ES256], 10, &sealed(&kek, None))
            .await
            .unwrap();
        let kid = store.list_signing_keys().await.unwrap()[0].kid.clone();
        let wrong = Kek::generate().unwrap();
        let config = Arc::new(
            ServerConfig::new({
                let mut s = crate::config::ServerSettings::new("https://id.example");
                s.access_token_alg = Algorithm::ES256;
                s.id_token_alg = Algorithm::ES256;
                s.key_encryption = sealed(&wrong, None);
                s
            })
            .unwrap(),
        );
        let store: Arc<dyn Store> = Arc::new(store);
        let clock: Arc<dyn Clock> = Arc::new(portcullis_jose::FixedClock::new(
            portcullis_jose::UnixTime(10),
        ));
        let err = KeyManager::load(Arc::clone(&store), clock, config)
            .await
            .unwrap_err();
        let shown = err.to_string();
        assert!(shown.contains(&kid), "{shown}");
        assert!(shown.contains(kek.id()), "{shown}");
        // Nothing was generated over the key it could not read, nor is by a rotation.
        let err = rotate(
            store.as_ref(),
            &[Algorithm::ES256],
            rotation(20, 60, 60),
            &sealed(&wrong, None),
        )
        .await
        .unwrap_err();
        assert!(err.to_string().contains(&kid), "{err}");
        assert_eq!(store.list_signing_keys().await.unwrap().len(), 1);
        // Without any KEK the sealed key is refused too.
        assert!(matches!(
            check_readable(&store.list_signing_keys().await.unwrap(), 10, &PLAIN).unwrap_err(),
            KeyError::Sealed {
                source: SealError::NoKek,
                ..
            }
        ));
    }

    #[tokio::test]
    async fn key_4_previous_kek_read_then_rewrap_moves_all_to_current() {
        let store = MemoryStore::new();
        let (old, new) = (Kek::generate().unwrap(), Kek::generate().unwrap());
        ensure_keys(&store, &[Algorithm::ES256], 10, &sealed(&old, None))
            .await
            .unwrap();
        // A legacy record written in plaintext before encryption existed.
        let legacy = generate_record(Algorithm::EdDSA, 10, 10, &PLAIN).unwrap();
        assert!(legacy.private_jwk.contains("\"d\""));
        store.insert_signing_key(legacy).await.unwrap();
        let rotated = sealed(&new, Some(&old));
        let recs = store.list_signing_keys().await.unwrap();
        check_readable(&recs, 10, &rotated).unwrap();
        assert_eq!(
            build_snapshot(&recs, 10, &rotated)
                .unwrap()
                .jwks()
                .keys
                .len(),
            2
        );

        let rewritten = rewrap(&store, &rotated).await.unwrap();
        assert_eq!(rewritten.len(), 2);
        assert!(rewrap(&store, &rotated).await.unwrap().is_empty());
        let recs = store.list_signing_keys().await.unwrap();
        let only_new = sealed(&new, None);
        check_readable(&recs, 10, &only_new).unwrap();
        for rec in &recs {
            assert!(rec.private_jwk.starts_with(&format!("pcs1:{}:", new.id())));
        }
        assert!(check_readable(&recs, 10, &sealed(&old, None)).is_err());
    }
}
