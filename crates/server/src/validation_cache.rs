//! Per-node caches on the token-validation paths (userinfo, introspection), so a valid token
//! needs no store round trip: "not revoked" answers for at most one second, user records for
//! `user_cache_ttl` seconds.
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

/// Both caches.
#[derive(Debug, Default)]
pub(crate) struct ValidationCache {
    revocations: RevocationCache,
    users: UserCache,
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
