//! Per-node caches on the token-validation paths (userinfo, introspection), so a valid token
//! needs no store round trip: "not revoked" answers for at most one second, user records for
//! `user_cache_ttl` seconds, and access tokens whose signature and claims were verified.
//!
//! A verified access token is kept under the SHA-256 of its exact bytes, with the generation of
//! the key snapshot it was verified against: any other token, or the same one after the keys
//! were reloaded (a key withdrawn by `keys rotate --revoke-old` included), is verified in full.
//! Only successes are kept, and they stay true until `exp`, which is checked at every use:
//! `iat` and `nbf` only move further into the past.
//!
//! Bounds: a revocation made on another node (or by another process on the same store) is seen
//! here within one second — a "not revoked" answer is reused only within the clock second it was
//! read in, and "revoked" answers are never cached. A revocation made on this node clears the
//! cache at once ([`AppState::forget_unrevoked`], called wherever this node revokes). A user
//! record changed or removed elsewhere (e.g. by `portcullis users remove`) is seen within
//! `user_cache_ttl` seconds (default 5; 0 turns the cache off); wherever the server itself
//! changes a user record (signing out everywhere, a password change) it calls
//! [`AppState::forget_users`], so this node sees the change at once.

use std::collections::HashMap;
use std::sync::{Arc, PoisonError, RwLock};

use crate::domain::tokens::AccessTokenClaims;
use crate::state::AppState;
use crate::store::{StoreResult, UserRecord};

/// Upper bound on entries; a cache is cleared when it grows past it.
const MAX_ENTRIES: usize = 10_000;

/// `jti`s found not revoked, with the clock second they were read in.
#[derive(Debug, Default)]
pub(crate) struct RevocationCache {
    entries: RwLock<HashMap<String, i64>>,
}

impl RevocationCache {
    fn known_unrevoked(&self, jti: &str, now: i64) -> bool {
        let guard = self.entries.read().unwrap_or_else(PoisonError::into_inner);
        guard.get(jti).is_some_and(|at| *at == now)
    }

    fn remember_unrevoked(&self, jti: &str, now: i64) {
        let mut guard = self.entries.write().unwrap_or_else(PoisonError::into_inner);
        if guard.len() >= MAX_ENTRIES {
            // Entries of past seconds are useless: drop them first, everything if that is not
            // enough.
            guard.retain(|_, at| *at == now);
            if guard.len() >= MAX_ENTRIES {
                guard.clear();
            }
        }
        guard.insert(jti.to_owned(), now);
    }

    fn clear(&self) {
        self.entries
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .clear();
    }
}

/// User records by id, with the time they were read.
#[derive(Debug, Default)]
pub(crate) struct UserCache {
    entries: RwLock<HashMap<portcullis_types::Subject, (Arc<UserRecord>, i64)>>,
}

impl UserCache {
    fn fresh(&self, id: &str, now: i64, ttl: i64) -> Option<Arc<UserRecord>> {
        let guard = self.entries.read().unwrap_or_else(PoisonError::into_inner);
        guard
            .get(id)
            .filter(|(_, at)| now >= *at && now < at.saturating_add(ttl))
            .map(|(u, _)| Arc::clone(u))
    }

    fn insert(&self, user: Arc<UserRecord>, now: i64) {
        let mut guard = self.entries.write().unwrap_or_else(PoisonError::into_inner);
        if guard.len() >= MAX_ENTRIES {
            guard.clear();
        }
        guard.insert(user.id.clone(), (user, now));
    }

    fn clear(&self) {
        self.entries
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .clear();
    }
}

/// Upper bound on kept verified tokens (each a few hundred bytes).
const MAX_VERIFIED: usize = 4096;

/// A verified token's claims and the key-snapshot generation it was verified under.
type Verified = (Arc<AccessTokenClaims>, u64);

/// Verified access tokens by the SHA-256 of the token.
#[derive(Debug, Default)]
pub(crate) struct VerifiedTokens {
    entries: RwLock<HashMap<[u8; 32], Verified>>,
}

impl VerifiedTokens {
    /// The digest a token is kept under.
    pub(crate) fn digest(token: &str) -> [u8; 32] {
        let d = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, token.as_bytes());
        let mut out = [0u8; 32];
        out.copy_from_slice(d.as_ref());
        out
    }

    /// The claims of the token with `digest`, verified under key generation `generation`.
    pub(crate) fn get(&self, digest: &[u8; 32], generation: u64) -> Option<Arc<AccessTokenClaims>> {
        let guard = self.entries.read().unwrap_or_else(PoisonError::into_inner);
        guard
            .get(digest)
            .filter(|(_, g)| *g == generation)
            .map(|(c, _)| Arc::clone(c))
    }

    /// Keeps the claims of a token verified under key generation `generation`.
    pub(crate) fn insert(&self, digest: [u8; 32], claims: Arc<AccessTokenClaims>, generation: u64) {
        let mut guard = self.entries.write().unwrap_or_else(PoisonError::into_inner);
        if guard.len() >= MAX_VERIFIED {
            guard.clear();
        }
        guard.insert(digest, (claims, generation));
    }
}

/// The caches.
#[derive(Debug, Default)]
pub(crate) struct ValidationCache {
    revocations: RevocationCache,
    users: UserCache,
    /// Access tokens verified lately.
    pub(crate) verified: VerifiedTokens,
}

impl AppState {
    /// Whether the access token `jti` is revoked: a "not revoked" answer read in this same clock
    /// second is reused, anything else asks the store.
    pub(crate) async fn is_jti_revoked(&self, jti: &str) -> StoreResult<bool> {
        let now = self.now();
        if self.validation.revocations.known_unrevoked(jti, now) {
            return Ok(false);
        }
        let revoked = self.store.is_jti_revoked(jti, now).await?;
        if !revoked {
            self.validation.revocations.remember_unrevoked(jti, now);
        }
        Ok(revoked)
    }

    /// Forgets every cached "not revoked" answer: called whenever this node revokes something.
    pub(crate) fn forget_unrevoked(&self) {
        self.validation.revocations.clear();
    }

    /// A user by id, from the cache when read less than `user_cache_ttl` seconds ago.
    pub(crate) async fn user(&self, id: &str) -> StoreResult<Option<Arc<UserRecord>>> {
        let now = self.now();
        let ttl = self.config.user_cache_ttl;
        if let Some(u) = self.validation.users.fresh(id, now, ttl) {
            return Ok(Some(u));
        }
        match self.store.get_user(id).await? {
            Some(user) => {
                let user = Arc::new(user);
                if ttl > 0 {
                    self.validation.users.insert(Arc::clone(&user), now);
                }
                Ok(Some(user))
            }
            None => Ok(None),
        }
    }

    /// Forgets every cached user record: called whenever this node changes a user.
    pub(crate) fn forget_users(&self) {
        self.validation.users.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unrevoked_answers_last_one_clock_second() {
        let c = RevocationCache::default();
        c.remember_unrevoked("j1", 100);
        assert!(c.known_unrevoked("j1", 100));
        assert!(!c.known_unrevoked("j1", 101));
        assert!(!c.known_unrevoked("j2", 100));
        c.clear();
        assert!(!c.known_unrevoked("j1", 100));
    }

    fn claims(jti: &str) -> Arc<AccessTokenClaims> {
        Arc::new(
            serde_json::from_value(serde_json::json!({
                "iss": "https://issuer.example", "sub": "u1", "aud": "api", "exp": 200,
                "iat": 100, "jti": jti, "client_id": "web"
            }))
            .unwrap(),
        )
    }

    #[test]
    fn verified_tokens_are_kept_per_exact_token_and_key_generation() {
        let c = VerifiedTokens::default();
        let d = VerifiedTokens::digest("header.payload.signature");
        c.insert(d, claims("j1"), 7);
        assert_eq!(c.get(&d, 7).map(|a| a.jti.clone()).as_deref(), Some("j1"));
        assert!(c.get(&d, 8).is_none(), "keys reloaded since");
        let other = VerifiedTokens::digest("header.payload.signaturf");
        assert!(c.get(&other, 7).is_none(), "one byte differs");
        for i in 0..MAX_VERIFIED + 1 {
            c.insert(VerifiedTokens::digest(&i.to_string()), claims("j"), 7);
        }
        assert!(c.entries.read().unwrap().len() <= MAX_VERIFIED);
    }

    #[test]
    fn revocation_cache_stays_bounded() {
        let c = RevocationCache::default();
        for i in 0..MAX_ENTRIES + 10 {
            c.remember_unrevoked(&format!("j{i}"), 100);
        }
        let len = c.entries.read().unwrap().len();
        assert!(len <= MAX_ENTRIES);
    }
}
